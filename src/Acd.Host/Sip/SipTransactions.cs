using Acd.Core.Domain;
using Acd.Core.Engine;
using Acd.Core.Routing;
using Acd.Core.Sip;
using Acd.Host.Routing;

namespace Acd.Host.Sip;

/// <summary>
/// The answers of an INVITE transaction. The router keeps nothing of a waiting call's transaction but its answer route
/// (<see cref="SipTransactionEcho.Route"/>, one byte array) and its owner, the connection it came on (shared by every
/// call of the connection): each routing event that still carries the route is answered from it — 182 while the call
/// waits, then one final answer: 302 to the agent (or, deflected in surge tier 3, to the IVR), 480/503 refused, 480
/// timed out, 487 cancelled. The router stops handing out the route with the final answer, so no answer follows it.
/// </summary>
internal static class SipInviteAnswers
{
    /// <summary>A routing event of a call whose owner is <paramref name="target"/> (on the domain's delivery thread).</summary>
    public static void OnEvent(ISipAnswerTarget target, in RoutingEvent e, SipServer server, DomainRuntime domain)
    {
        if (e.AnswerRoute is not { } route || e.Kind is not (EventKind.CallQueued or EventKind.CallRouted or EventKind.CallDeflected
            or EventKind.CallRejected or EventKind.CallTimedOut or EventKind.CallAbandoned))
        {
            return;
        }

        SipTransactionEcho echo;
        try
        {
            echo = SipTransactionEcho.FromRoute(route, e.CallId);
        }
        catch (InvalidDataException)
        {
            return; // not written by this daemon's SIP port (a gRPC client's bytes): nothing to answer
        }

        switch (e.Kind)
        {
            case EventKind.CallQueued:
                target.Send(new OutboundItem { Echo = echo, Status = 182, Phrase = "Queued", Extras = ResponseExtras.Queued, Number = e.Position, Estimate = e.EstimatedWaitMs });
                break;
            case EventKind.CallRouted:
                target.Send(new OutboundItem
                {
                    Echo = echo, Status = 302, Phrase = "Moved Temporarily", Extras = ResponseExtras.Redirect,
                    Contact = e.Contact, AgentId = e.AgentId, Skill = e.Skill, Number = e.WaitMs,
                    HandedOff = e.AgentId is null ? null : e.CallId, Domain = domain,
                });
                break;
            case EventKind.CallDeflected:
                target.Send(new OutboundItem
                {
                    Echo = echo, Status = 302, Phrase = "Moved Temporarily", Extras = ResponseExtras.Deflect, Contact = e.Contact, Skill = e.Skill,
                });
                break;
            case EventKind.CallRejected when e.RejectReason == RejectReason.NoAgents:
                target.Send(new OutboundItem
                {
                    Echo = echo, Status = 480, Phrase = "Temporarily Unavailable", Extras = ResponseExtras.RetryAfter,
                    Number = server.Settings.RetryAfterNoAgentsSeconds, Warning = $"no agent for {e.Skill} is logged in",
                });
                break;
            case EventKind.CallRejected:
                target.Send(new OutboundItem
                {
                    Echo = echo, Status = 503, Phrase = "Service Unavailable", Extras = ResponseExtras.RetryAfter,
                    Number = server.Settings.RetryAfterBusySeconds, Warning = e.RejectReason == RejectReason.QueueFull ? $"queue {e.Skill} is full" : "at capacity",
                });
                break;
            case EventKind.CallTimedOut:
                target.Send(new OutboundItem { Echo = echo, Status = 480, Phrase = "Temporarily Unavailable", Warning = "maximum wait reached" });
                break;
            case EventKind.CallAbandoned:
                target.Send(new OutboundItem { Echo = echo, Status = 487, Phrase = "Request Terminated" });
                break;
        }
    }

    /// <summary>
    /// A final answer reached no one (its connection gone and no new one could be opened): a call it handed to an agent
    /// is abandoned — the agent is free at once, the caller owed a callback.
    /// </summary>
    public static void Undeliverable(in OutboundItem item)
    {
        if (item.HandedOff is { } callId && item.Domain is { } domain)
        {
            domain.Engine.TryPost(new CallCommand(CommandKind.End, callId) { AbandonIfWaiting = true, Unanswered = true });
        }
    }
}

/// <summary>The result of an INVITE's offer: only a refusal that produced no routing event is answered here (every other answer comes with an event).</summary>
internal sealed class SipInviteReply(ISipAnswerTarget session, SipTransactionEcho echo) : ICommandReply
{
    public void Complete(in CommandResult result)
    {
        if (result.IsOk || result.Outcome != OfferOutcome.None)
        {
            return;
        }

        var status = result.Code switch
        {
            ResultCode.NotFound => 404,
            ResultCode.InvalidArgument => 400,
            ResultCode.FailedPrecondition => 403,
            ResultCode.ResourceExhausted => 503,
            _ => 500,
        };
        session.Send(new OutboundItem { Echo = echo, Status = status, Phrase = OutboundItem.PhraseOf(status), Warning = result.Message });
    }
}

/// <summary>What a non-INVITE request's answer depends on.</summary>
internal enum ReplyKind : byte
{
    /// <summary>CANCEL: 200 when the call was known, 481 when not.</summary>
    Cancel,

    /// <summary>BYE: 200 when the call was known, 481 when not.</summary>
    Bye,

    /// <summary>REGISTER binding an agent.</summary>
    Register,

    /// <summary>REGISTER with Expires 0.</summary>
    Unregister,
}

/// <summary>A non-INVITE request waiting for its command's result to be answered.</summary>
internal sealed class SipReply(SipSession session, SipTransactionEcho echo, ReplyKind kind, string? contact = null, int expires = 0, string? agent = null, SipServer? server = null) : ICommandReply
{
    public void Complete(in CommandResult result)
    {
        if (agent is not null && server is not null)
        {
            Audit(agent, server, in result);
        }

        var status = (kind, result.Code) switch
        {
            (_, ResultCode.Ok) => 200,
            (ReplyKind.Cancel, ResultCode.FailedPrecondition) => 200, // already answered: the CANCEL has no effect
            (ReplyKind.Cancel or ReplyKind.Bye, ResultCode.NotFound) => 481,
            (_, ResultCode.NotFound) => 404,
            (_, ResultCode.InvalidArgument) => 400,
            (_, ResultCode.FailedPrecondition or ResultCode.PermissionDenied) => 403,
            _ => 500,
        };
        session.Send(new OutboundItem
        {
            Echo = echo,
            Status = status,
            Phrase = OutboundItem.PhraseOf(status),
            Extras = status == 200 && kind == ReplyKind.Register && contact is not null ? ResponseExtras.Registered : ResponseExtras.None,
            Contact = contact,
            Number = expires,
            Warning = result.IsOk ? null : result.Message,
        });
    }

    /// <summary>Every login, logout and contact change is logged with the peer it came from, and counted; so is a refusal.</summary>
    private void Audit(string agentId, SipServer server, in CommandResult result)
    {
        var registrations = server.Registrations;
        if (kind == ReplyKind.Register && result.IsOk)
        {
            registrations.Bound(agentId, expires);
            var action = result.Contact is null ? RegistrationAction.Login
                : string.Equals(result.Contact, contact, StringComparison.Ordinal) ? RegistrationAction.Refresh
                : RegistrationAction.ContactChange;
            server.Counters.Registered(action);
            if (action != RegistrationAction.Refresh)
            {
                SipServer.LogRegistration(server.Logger, agentId, action == RegistrationAction.Login ? "logged in" : "moved", session.Remote, contact, action == RegistrationAction.ContactChange ? $" (was {result.Contact})" : string.Empty);
            }
        }
        else if (kind == ReplyKind.Register && result.Code == ResultCode.PermissionDenied)
        {
            server.Counters.Refused(SipRefusal.ContactChange);
            server.Counters.Registered(RegistrationAction.Refused);
            SipServer.LogRegistrationRefused(server.Logger, agentId, session.Remote, result.Message ?? "refused");
        }
        else if (kind == ReplyKind.Unregister && (result.IsOk || result.Code == ResultCode.FailedPrecondition))
        {
            registrations.Unbound(agentId);
            if (result.IsOk)
            {
                server.Counters.Registered(RegistrationAction.Logout);
                SipServer.LogRegistration(server.Logger, agentId, "logged out", session.Remote, null, string.Empty);
            }
        }
    }
}
