using System.Net;
using Acd.Api.V1;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;

namespace Acd.Host.Tests.Support;

/// <summary>The outcome of a gRPC call: its status, and the response when it is OK.</summary>
public sealed record GrpcResult<T>(StatusCode Status, string Message, T? Response)
{
    public T Ok => Status == StatusCode.OK ? Response! : throw new InvalidOperationException($"{Status}: {Message}");
}

/// <summary>
/// The generated acd.v1 clients on a Grpc.Net.Client channel over HTTP/2 (h2c, or TLS that trusts any certificate),
/// with <c>authorization: Bearer</c> when a token is given.
/// </summary>
public sealed class GrpcTestClient : IDisposable
{
    public GrpcTestClient(IPEndPoint endpoint, string? token = null, bool tls = false, string? compression = null)
    {
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        if (tls)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        }

        Channel = GrpcChannel.ForAddress($"{(tls ? "https" : "http")}://{endpoint}", new GrpcChannelOptions { HttpHandler = handler, MaxReceiveMessageSize = null });
        Invoker = Channel.Intercept(metadata =>
        {
            if (token is not null)
            {
                metadata.Add("authorization", "Bearer " + token);
            }

            if (compression is not null)
            {
                // Grpc.Net.Client compresses a request whose metadata names the algorithm.
                metadata.Add("grpc-internal-encoding-request", compression);
            }

            return metadata;
        });
        Agents = new AgentService.AgentServiceClient(Invoker);
        Calls = new CallService.CallServiceClient(Invoker);
        Queues = new QueueService.QueueServiceClient(Invoker);
        Events = new EventService.EventServiceClient(Invoker);
        Surge = new SurgeService.SurgeServiceClient(Invoker);
        Callbacks = new CallbackService.CallbackServiceClient(Invoker);
        Health = new global::Grpc.Health.V1.Health.HealthClient(Invoker);
    }

    public GrpcChannel Channel { get; }

    public CallInvoker Invoker { get; }

    public AgentService.AgentServiceClient Agents { get; }

    public CallService.CallServiceClient Calls { get; }

    public QueueService.QueueServiceClient Queues { get; }

    public EventService.EventServiceClient Events { get; }

    public SurgeService.SurgeServiceClient Surge { get; }

    public CallbackService.CallbackServiceClient Callbacks { get; }

    public global::Grpc.Health.V1.Health.HealthClient Health { get; }

    /// <summary>Awaits a unary call and returns its status (and response), whatever the status.</summary>
    public static async Task<GrpcResult<T>> Try<T>(AsyncUnaryCall<T> call)
    {
        ArgumentNullException.ThrowIfNull(call);
        using (call)
        {
            try
            {
                return new GrpcResult<T>(StatusCode.OK, string.Empty, await call.ResponseAsync);
            }
            catch (RpcException e)
            {
                return new GrpcResult<T>(e.StatusCode, e.Status.Detail, default);
            }
        }
    }

    /// <summary>The status a unary call ends with.</summary>
    public static async Task<StatusCode> StatusOf<T>(AsyncUnaryCall<T> call) => (await Try(call)).Status;

    public void Dispose() => Channel.Dispose();
}
