using Acd.Api.V1;
using Acd.Core.Routing;
using Acd.Host.Routing;

namespace Acd.Host.Grpc;

/// <summary>acd.v1.QueueService: live statistics per skill (Forecast comes with hotline operations).</summary>
public sealed class QueueApi(DomainDirectory domains)
{
    public void Register(GrpcEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        const string Service = "acd.v1.QueueService";
        endpoint.Unary<ListQueuesRequest, ListQueuesResponse>(Service, "ListQueues", ListQueuesRequest.Parser, ListAsync);
        endpoint.Unary<QueueRequest, QueueStats>(Service, "GetQueue", QueueRequest.Parser, GetAsync);
    }

    private async Task<ListQueuesResponse> ListAsync(ListQueuesRequest r, GrpcContext context)
    {
        var response = new ListQueuesResponse();
        foreach (var domain in string.IsNullOrEmpty(r.Domain) ? domains.All : [EngineCalls.Domain(domains, r.Domain)])
        {
            var result = await EngineCalls.RunAsync(domain, new QueryCommand(QueryKind.Queues), context.Cancelled).ConfigureAwait(false);
            foreach (var q in (IReadOnlyList<QueueSnapshot>)result.Data!)
            {
                response.Queues.Add(ApiMapping.ToApi(q, domain.Name));
            }
        }

        return response;
    }

    private async Task<QueueStats> GetAsync(QueueRequest r, GrpcContext context)
    {
        if (string.IsNullOrEmpty(r.Skill))
        {
            throw new GrpcException(GrpcStatus.InvalidArgument, "skill is required");
        }

        var domain = EngineCalls.Domain(domains, r.Domain);
        var result = await EngineCalls.RunAsync(domain, new QueryCommand(QueryKind.Queues, r.Skill), context.Cancelled).ConfigureAwait(false);
        return ApiMapping.ToApi(((IReadOnlyList<QueueSnapshot>)result.Data!)[0], domain.Name);
    }
}
