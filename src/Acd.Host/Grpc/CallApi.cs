using Acd.Api.V1;
using Acd.Core.Domain;
using Acd.Core.Routing;
using Acd.Host.Routing;

namespace Acd.Host.Grpc;

/// <summary>acd.v1.CallService: the same routing as a SIP INVITE, with ring semantics.</summary>
public sealed class CallApi(DomainDirectory domains)
{
    public void Register(GrpcEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        const string Service = "acd.v1.CallService";
        endpoint.Unary<OfferRequest, OfferResponse>(Service, "Offer", OfferRequest.Parser, OfferAsync);
        endpoint.Unary<CallRequest, Call>(Service, "Answered", CallRequest.Parser, (r, c) => ChangeAsync(r.CallId, r.Domain, new CallCommand(CommandKind.Answered, r.CallId), c));
        endpoint.Unary<CallRequest, Call>(Service, "NoAnswer", CallRequest.Parser, (r, c) => ChangeAsync(r.CallId, r.Domain, new CallCommand(CommandKind.NoAnswer, r.CallId), c));
        endpoint.Unary<CallRequest, Ack>(Service, "End", CallRequest.Parser, (r, c) => AckAsync(r.CallId, r.Domain, new CallCommand(CommandKind.End, r.CallId), c));
        endpoint.Unary<CallRequest, Ack>(Service, "Abandon", CallRequest.Parser, (r, c) => AckAsync(r.CallId, r.Domain, new CallCommand(CommandKind.Abandon, r.CallId), c));
        endpoint.Unary<TransferRequest, Call>(Service, "Transfer", TransferRequest.Parser, TransferAsync);
        endpoint.Unary<CallRequest, Call>(Service, "GetCall", CallRequest.Parser, GetAsync);
        endpoint.Unary<SetVipRequest, Ack>(Service, "SetVip", SetVipRequest.Parser, SetVipAsync);
    }

    private async Task<Ack> SetVipAsync(SetVipRequest r, GrpcContext context)
    {
        var domain = EngineCalls.Domain(domains, r.Domain);
        await EngineCalls.RunAsync(domain, new SetVipCommand(r.Caller, r.Vip), context.Cancelled).ConfigureAwait(false);
        return new Ack();
    }

    private async Task<OfferResponse> OfferAsync(OfferRequest r, GrpcContext context)
    {
        RequireId(r.CallId);
        var domain = EngineCalls.Domain(domains, r.Domain);
        var command = new OfferCall
        {
            CallId = r.CallId,
            Caller = Empty(r.Caller),
            ServiceNumber = Empty(r.ServiceNumber),
            Skill = Empty(r.Skill),
            Priority = r.HasPriority ? r.Priority : -1,
            Language = Empty(r.Language),
            Vip = r.Vip,
            IvrDigits = Empty(r.IvrDigits),
            Mode = OfferMode.Api,
        };
        var result = await EngineCalls.RunUncheckedAsync(domain, command, context.Cancelled).ConfigureAwait(false);
        if (!result.IsOk && result.Outcome != OfferOutcome.Rejected)
        {
            throw new GrpcException(ApiMapping.ToStatus(result.Code), result.Message ?? result.Code.ToString());
        }

        if (result.Code == ResultCode.ResourceExhausted)
        {
            // A full queue or a domain at capacity refuses with the status SPEC section 6 gives it.
            throw new GrpcException(GrpcStatus.ResourceExhausted, result.Message ?? "queue full");
        }

        return new OfferResponse
        {
            Outcome = result.Outcome switch
            {
                OfferOutcome.Routed => OfferResponse.Types.Outcome.Routed,
                OfferOutcome.Queued => OfferResponse.Types.Outcome.Queued,
                OfferOutcome.Rejected => OfferResponse.Types.Outcome.Rejected,
                OfferOutcome.Deflected => OfferResponse.Types.Outcome.Deflected,
                _ => OfferResponse.Types.Outcome.Unspecified,
            },
            AgentId = result.AgentId ?? string.Empty,
            Contact = result.Contact ?? string.Empty,
            Skill = result.Skill ?? string.Empty,
            Position = result.Position,
            EstimatedWaitMs = result.EstimatedWaitMs,
            Reason = result.Outcome switch
            {
                OfferOutcome.Rejected => Names.Of(result.RejectReason),
                OfferOutcome.Deflected => "deflect",
                _ => string.Empty,
            },
        };
    }

    private async Task<Call> ChangeAsync(string callId, string domainName, Command command, GrpcContext context)
    {
        RequireId(callId);
        var domain = EngineCalls.Domain(domains, domainName, domains.ForCall(callId));
        var call = await EngineCalls.RunThenQueryAsync<CallSnapshot>(domain, command, new QueryCommand(QueryKind.Call, callId), context.Cancelled).ConfigureAwait(false);
        return ApiMapping.ToApi(call);
    }

    private async Task<Ack> AckAsync(string callId, string domainName, Command command, GrpcContext context)
    {
        RequireId(callId);
        var domain = EngineCalls.Domain(domains, domainName, domains.ForCall(callId));
        await EngineCalls.RunAsync(domain, command, context.Cancelled).ConfigureAwait(false);
        return new Ack();
    }

    private Task<Call> TransferAsync(TransferRequest r, GrpcContext context)
        => ChangeAsync(r.CallId, r.Domain, new TransferCall { CallId = r.CallId, ToSkill = Empty(r.ToSkill), ToAgent = Empty(r.ToAgent) }, context);

    private async Task<Call> GetAsync(CallRequest r, GrpcContext context)
    {
        RequireId(r.CallId);
        var domain = EngineCalls.Domain(domains, r.Domain, domains.ForCall(r.CallId));
        var result = await EngineCalls.RunAsync(domain, new QueryCommand(QueryKind.Call, r.CallId), context.Cancelled).ConfigureAwait(false);
        return ApiMapping.ToApi((CallSnapshot)result.Data!);
    }

    private static string? Empty(string value) => string.IsNullOrEmpty(value) ? null : value;

    private static void RequireId(string callId)
    {
        if (string.IsNullOrEmpty(callId))
        {
            throw new GrpcException(GrpcStatus.InvalidArgument, "call_id is required");
        }
    }
}
