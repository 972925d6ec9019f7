using Acd.Api.V1;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;

namespace Acd.LoadGen;

/// <summary>The generated acd.v1 clients the load generator uses, on one Grpc.Net.Client channel (h2c, optional bearer token).</summary>
internal sealed class GrpcClients : IDisposable
{
    private readonly GrpcChannel _channel;

    public GrpcClients(string endpoint, string? token)
    {
        _channel = GrpcChannel.ForAddress($"http://{endpoint}", new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true } });
        var invoker = _channel.Intercept(metadata =>
        {
            if (token is not null)
            {
                metadata.Add("authorization", "Bearer " + token);
            }

            return metadata;
        });
        Agents = new AgentService.AgentServiceClient(invoker);
        Queues = new QueueService.QueueServiceClient(invoker);
        Surge = new SurgeService.SurgeServiceClient(invoker);
    }

    public AgentService.AgentServiceClient Agents { get; }

    public QueueService.QueueServiceClient Queues { get; }

    public SurgeService.SurgeServiceClient Surge { get; }

    public void Dispose() => _channel.Dispose();
}
