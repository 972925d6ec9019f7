using Acd.Core.Configuration;
using Acd.Core.Domain;

namespace Acd.Core.Routing;

/// <summary>
/// The agent state machine (SPEC section 2). Commands may move an agent:
/// <code>
/// LoggedOut ──Login──▶ Ready | NotReady(reason) | Standby
/// Ready ◀──SetState──▶ NotReady ◀──SetState──▶ Standby ◀──SetState──▶ Ready
/// WrapUp ──EndWrapUp / SetState(ready)──▶ Ready;  WrapUp ──SetState──▶ NotReady | Standby;  WrapUp ──ExtendWrapUp──▶ WrapUp
/// NotReady | Ready | Standby | WrapUp ──Logout──▶ LoggedOut
/// </code>
/// The router moves it: Ready → Reserved (offer) or Talking (SIP hand-off); Reserved → Talking (answered);
/// Reserved → NotReady("rona") (ring-no-answer); Reserved → Ready (caller abandoned); Talking → WrapUp (end, transfer;
/// straight to Ready with no wrap-up); WrapUp → Ready (wrap-up over). Everything else is refused with FailedPrecondition.
/// Asking for the state one is already in is accepted and changes nothing (a not-ready reason is updated).
/// </summary>
public sealed partial class Router
{
    private const int MaxReasonLength = 64;
    private const string DefaultNotReadyReason = "unspecified";

    private Agent AddAgent(AgentDefinition definition)
    {
        var a = _agents.Add(definition);
        a.State = AgentState.LoggedOut;
        RefreshRouting(a);
        foreach (var m in a.Skills)
        {
            _skills[m.Skill].AgentsByState[(int)AgentState.LoggedOut]++;
        }

        return a;
    }

    private void ChangeState(Agent a, AgentState to, string? reason)
    {
        var from = a.State;
        var loggingIn = from == AgentState.LoggedOut && to != AgentState.LoggedOut;
        var loggingOut = from != AgentState.LoggedOut && to == AgentState.LoggedOut;
        foreach (var m in a.Skills)
        {
            var s = _skills[m.Skill];
            s.AgentsByState[(int)from]--;
            s.AgentsByState[(int)to]++;
            if (loggingIn)
            {
                s.StaffedByLevel[m.Level]++;
            }
            else if (loggingOut)
            {
                s.StaffedByLevel[m.Level]--;
            }
        }

        a.State = to;
        a.Reason = to == AgentState.NotReady ? reason ?? DefaultNotReadyReason : null;
        a.StateSinceMs = _now;
        {
            ref var e = ref Emit(EventKind.AgentStateChanged);
            e.AgentId = a.Id;
            e.FromState = from;
            e.ToState = to;
            e.Reason = a.Reason;
        }
    }

    private CommandResult LoginRosterAgents()
    {
        for (var i = 0; i < _agents.Count; i++)
        {
            var a = _agents.Items[i];
            var initial = a.Definition.InitialState;
            if (a.State == AgentState.LoggedOut && initial != AgentState.LoggedOut)
            {
                DoLogin(a, initial, null);
            }
        }

        return CommandResult.Ok;
    }

    private void DoLogin(Agent a, AgentState state, string? reason)
    {
        a.CallsHandled = 0;
        a.ReturnToStandby = false;
        ChangeState(a, state, reason);
        if (MayServe(a))
        {
            BecomeAvailable(a);
        }
    }

    private CommandResult Login(LoginAgent cmd)
    {
        if (!DomainCompiler.IsToken(cmd.AgentId))
        {
            return Fail(ResultCode.InvalidArgument, $"agent id '{cmd.AgentId}' is not a valid work number");
        }

        if (cmd.InitialState is not (AgentState.Ready or AgentState.NotReady or AgentState.Standby))
        {
            return Fail(ResultCode.InvalidArgument, $"an agent logs in to ready, not-ready or standby, not {Names.Of(cmd.InitialState)}");
        }

        if (cmd.Reason is { Length: > MaxReasonLength })
        {
            return Fail(ResultCode.InvalidArgument, $"reason longer than {MaxReasonLength} characters");
        }

        if (cmd.Contact is not null && !DomainCompiler.IsContact(cmd.Contact))
        {
            return Fail(ResultCode.InvalidArgument, $"contact '{cmd.Contact}' is not a sip:, sips: or tel: URI");
        }

        var role = AgentRole.Agent;
        if (cmd.Role is not null && !Names.TryParseRole(cmd.Role, out role))
        {
            return Fail(ResultCode.InvalidArgument, $"unknown role '{cmd.Role}' (agent, team-lead, supervisor)");
        }

        SkillLevel[]? skills = null;
        if (cmd.Skills is not null)
        {
            string? problem = null;
            skills = DomainCompiler.CompileSkills(
                new Dictionary<string, int>(cmd.Skills, StringComparer.Ordinal),
                "skills",
                _config.SkillIndex,
                (key, message) => problem ??= $"{key}: {message}");
            if (skills is null)
            {
                return Fail(ResultCode.InvalidArgument, problem ?? "invalid skills");
            }
        }

        var a = _agents.Find(cmd.AgentId);
        if (a is null)
        {
            if (skills is null)
            {
                return Fail(ResultCode.NotFound, $"unknown agent '{cmd.AgentId}' (not in the roster; log in with skills to add one)");
            }

            if (_agents.Count >= _config.MaxAgents)
            {
                return Fail(ResultCode.ResourceExhausted, $"the domain holds its maximum of {_config.MaxAgents} agents");
            }

            a = AddAgent(new AgentDefinition(
                cmd.AgentId, null, null, role, cmd.Outbound ?? false, skills, cmd.Contact ?? $"sip:{cmd.AgentId}@agents.invalid", AgentState.LoggedOut));
        }
        else
        {
            if (a.State != AgentState.LoggedOut)
            {
                if (cmd.Refresh)
                {
                    var previous = a.Contact;
                    if (cmd.Contact is not null && !string.Equals(cmd.Contact, previous, StringComparison.Ordinal))
                    {
                        if (!cmd.MayMoveContact)
                        {
                            return Fail(ResultCode.PermissionDenied, $"agent '{a.Id}' is logged in at {previous}; moving it to {cmd.Contact} needs an authenticated registration");
                        }

                        a.Contact = cmd.Contact;
                    }

                    return new CommandResult { Contact = previous };
                }

                return Fail(ResultCode.FailedPrecondition, $"agent '{a.Id}' is already logged in ({Names.Of(a.State)})");
            }

            if (skills is not null)
            {
                foreach (var m in a.Skills)
                {
                    _skills[m.Skill].AgentsByState[(int)AgentState.LoggedOut]--;
                }

                _agents.FitMemberships(skills.Length);
                a.Skills = Agent.ToMemberships(skills);
                foreach (var m in a.Skills)
                {
                    _skills[m.Skill].AgentsByState[(int)AgentState.LoggedOut]++;
                }

                RefreshRouting(a);
            }

            if (cmd.Role is not null)
            {
                a.Role = role;
            }

            if (cmd.Outbound is { } outbound)
            {
                a.Outbound = outbound;
            }

            if (cmd.Contact is not null)
            {
                a.Contact = cmd.Contact;
            }
        }

        DoLogin(a, cmd.InitialState, cmd.Reason);
        return CommandResult.Ok;
    }

    private CommandResult Logout(string agentId)
    {
        var a = _agents.Find(agentId);
        if (a is null)
        {
            return UnknownAgent(agentId);
        }

        switch (a.State)
        {
            case AgentState.LoggedOut:
                return Fail(ResultCode.FailedPrecondition, $"agent '{a.Id}' is not logged in");
            case AgentState.Reserved or AgentState.Talking:
                return Busy(a, "log out");
            case AgentState.WrapUp:
                FinishWrap(a);
                break;
        }

        if (a.InPool)
        {
            RemoveFromPool(a);
        }

        a.ReturnToStandby = false;
        ChangeState(a, AgentState.LoggedOut, null);
        ReleasePersonalQueue(a);
        return CommandResult.Ok;
    }

    private CommandResult SetState(AgentCommand cmd)
    {
        var a = _agents.Find(cmd.AgentId);
        if (a is null)
        {
            return UnknownAgent(cmd.AgentId);
        }

        var to = cmd.State;
        if (to is not (AgentState.Ready or AgentState.NotReady or AgentState.Standby))
        {
            return Fail(ResultCode.InvalidArgument, $"state {Names.Of(to)} cannot be asked for; an agent may ask for ready, not-ready or standby");
        }

        if (cmd.Reason is { Length: > MaxReasonLength })
        {
            return Fail(ResultCode.InvalidArgument, $"reason longer than {MaxReasonLength} characters");
        }

        switch (a.State)
        {
            case AgentState.LoggedOut:
                return Fail(ResultCode.FailedPrecondition, $"agent '{a.Id}' is logged out; log in first");
            case AgentState.Reserved or AgentState.Talking:
                return Busy(a, $"go {Names.Of(to)}");
        }

        if (a.State == to && (to != AgentState.NotReady || string.Equals(a.Reason, cmd.Reason ?? DefaultNotReadyReason, StringComparison.Ordinal)))
        {
            return CommandResult.Ok;
        }

        if (a.InPool)
        {
            RemoveFromPool(a);
        }
        else if (a.State == AgentState.WrapUp)
        {
            FinishWrap(a);
        }

        a.ReturnToStandby = false;
        ChangeState(a, to, cmd.Reason);
        if (MayServe(a))
        {
            BecomeAvailable(a);
        }

        return CommandResult.Ok;
    }

    private CommandResult EndWrapUp(string agentId)
    {
        var a = _agents.Find(agentId);
        if (a is null)
        {
            return UnknownAgent(agentId);
        }

        if (a.State != AgentState.WrapUp)
        {
            return Fail(ResultCode.FailedPrecondition, $"agent '{a.Id}' is not in wrap-up ({Names.Of(a.State)})");
        }

        FinishWrap(a);
        ReturnFromWork(a);
        return CommandResult.Ok;
    }

    private CommandResult ExtendWrapUp(AgentCommand cmd)
    {
        var a = _agents.Find(cmd.AgentId);
        if (a is null)
        {
            return UnknownAgent(cmd.AgentId);
        }

        if (cmd.Seconds is < 1 or > 3600)
        {
            return Fail(ResultCode.InvalidArgument, $"a wrap-up extension is 1 to 3600 seconds, not {cmd.Seconds}");
        }

        if (a.State != AgentState.WrapUp)
        {
            return Fail(ResultCode.FailedPrecondition, $"agent '{a.Id}' is not in wrap-up ({Names.Of(a.State)})");
        }

        var extra = cmd.Seconds * 1000L;
        if (a.WrapExtendedMs + extra > _config.MaxWrapUpExtensionMs)
        {
            return Fail(ResultCode.FailedPrecondition, $"agent '{a.Id}' would exceed the wrap-up extension limit of {_config.MaxWrapUpExtensionMs / 1000} s");
        }

        a.WrapExtendedMs += extra;
        a.WrapDueMs += extra;
        ScheduleAgent(a);
        return CommandResult.Ok;
    }

    /// <summary>After a call: wrap-up for the skill's time, or straight back to Ready when it has none.</summary>
    private void StartWrap(Agent a, int skill)
    {
        var wrapMs = _skills[skill].Definition.WrapUpMs;
        if (wrapMs == 0)
        {
            ReturnFromWork(a);
            return;
        }

        a.WrapStartMs = _now;
        a.WrapDueMs = _now + wrapMs;
        a.WrapExtendedMs = 0;
        a.WrapSkill = skill;
        ChangeState(a, AgentState.WrapUp, null);
        ScheduleAgent(a);
    }

    private void FinishWrap(Agent a)
    {
        if (a.WrapSkill >= 0)
        {
            _skills[a.WrapSkill].Stats.OnWrapEnded(_now - a.WrapStartMs);
        }

        a.WrapSkill = -1;
        if (RouterTimers.IsSet(a.TimerPos))
        {
            _timers.Remove(~a.Index, a.TimerPos);
        }
    }

    /// <summary>An agent left: calls waiting for it in particular go to their skills' queues.</summary>
    private void ReleasePersonalQueue(Agent a)
    {
        var personal = a.Personal;
        while (personal is { Count: > 0 })
        {
            var slot = personal.Top.Id;
            Untarget(slot);
            RouteOrHold(slot);
        }
    }

    private static CommandResult UnknownAgent(string agentId) => Fail(ResultCode.NotFound, $"unknown agent '{agentId}'");

    private CommandResult Busy(Agent a, string what) => Fail(
        ResultCode.FailedPrecondition,
        a.Call >= 0
            ? $"agent '{a.Id}' cannot {what} while {Names.Of(a.State)} on call '{IdOf(in _calls.Records[a.Call])}'"
            : $"agent '{a.Id}' cannot {what} while dialing callback '{_callbacks[a.Callback].Id}'");
}
