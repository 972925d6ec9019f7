using Acd.Api.V1;
using Acd.Core.Domain;
using Acd.Core.Routing;
using Acd.Host.Routing;
using Grpc.Core;
using static Acd.Host.Grpc.EngineCalls;

namespace Acd.Host.Grpc;

/// <summary>acd.v1.CallService: the same routing as a SIP INVITE, with ring semantics.</summary>
public sealed class CallApi(DomainDirectory domains) : CallService.CallServiceBase
{
    public override async Task<OfferResponse> Offer(OfferRequest request, ServerCallContext context)
    {
        Require(request.CallId, "call_id");
        var domain = Domain(domains, request.Domain);
        var command = new OfferCall
        {
            CallId = request.CallId,
            Caller = Given(request.Caller),
            ServiceNumber = Given(request.ServiceNumber),
            Skill = Given(request.Skill),
            Priority = request.HasPriority ? request.Priority : -1,
            Language = Given(request.Language),
            Vip = request.Vip,
            IvrDigits = Given(request.IvrDigits),
            Mode = OfferMode.Api,
        };
        var result = await RunUncheckedAsync(domain, command, context.CancellationToken).ConfigureAwait(false);
        if (!result.IsOk && result.Outcome != OfferOutcome.Rejected)
        {
            throw Fail(ApiMapping.ToStatus(result.Code), result.Message ?? result.Code.ToString());
        }

        if (result.Code == ResultCode.ResourceExhausted)
        {
            // A full queue or a domain at capacity refuses with the status SPEC section 6 gives it.
            throw Fail(StatusCode.ResourceExhausted, result.Message ?? "queue full");
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

    public override Task<Call> Answered(CallRequest request, ServerCallContext context) =>
        ChangeAsync(request.CallId, request.Domain, id => new CallCommand(CommandKind.Answered, id), context);

    public override Task<Call> NoAnswer(CallRequest request, ServerCallContext context) =>
        ChangeAsync(request.CallId, request.Domain, id => new CallCommand(CommandKind.NoAnswer, id), context);

    public override Task<Ack> End(CallRequest request, ServerCallContext context) =>
        AckAsync(request.CallId, request.Domain, new CallCommand(CommandKind.End, request.CallId), context);

    public override Task<Ack> Abandon(CallRequest request, ServerCallContext context) =>
        AckAsync(request.CallId, request.Domain, new CallCommand(CommandKind.Abandon, request.CallId), context);

    public override Task<Call> Transfer(TransferRequest request, ServerCallContext context) =>
        ChangeAsync(request.CallId, request.Domain, id => new TransferCall { CallId = id, ToSkill = Given(request.ToSkill), ToAgent = Given(request.ToAgent) }, context);

    public override async Task<Call> GetCall(CallRequest request, ServerCallContext context)
    {
        Require(request.CallId, "call_id");
        var domain = Domain(domains, request.Domain, domains.ForCall(request.CallId));
        return ApiMapping.ToApi(await AskAsync(domain, new CallQuery(request.CallId), context.CancellationToken).ConfigureAwait(false));
    }

    public override async Task<Ack> SetVip(SetVipRequest request, ServerCallContext context)
    {
        var domain = Domain(domains, request.Domain);
        await RunAsync(domain, new SetCallerVip(request.Caller, request.Vip), context.CancellationToken).ConfigureAwait(false);
        return new Ack();
    }

    private async Task<Call> ChangeAsync(string callId, string domainName, Func<string, Command> command, ServerCallContext context)
    {
        Require(callId, "call_id");
        var domain = Domain(domains, domainName, domains.ForCall(callId));
        var call = await RunThenQueryAsync(domain, command(callId), new CallQuery(callId), context.CancellationToken).ConfigureAwait(false);
        return ApiMapping.ToApi(call);
    }

    private async Task<Ack> AckAsync(string callId, string domainName, Command command, ServerCallContext context)
    {
        Require(callId, "call_id");
        var domain = Domain(domains, domainName, domains.ForCall(callId));
        await RunAsync(domain, command, context.CancellationToken).ConfigureAwait(false);
        return new Ack();
    }
}
