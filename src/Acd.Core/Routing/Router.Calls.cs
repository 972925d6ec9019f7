using Acd.Core.Domain;

namespace Acd.Core.Routing;

/// <summary>
/// The call life cycle (SPEC sections 2, 3 and 5): Queued → Offered(agent) → Talking → Ended, or Abandoned,
/// TimedOut, Rejected. A call's place in line (its first-enqueue order) is kept across ring-no-answer, transfer
/// and a dropped connection.
/// </summary>
public sealed partial class Router
{
    private const int MaxCallIdLength = 256;
    private const int MaxFieldLength = 128;
    private const int MaxSharedValues = 256;
    private const ushort UnsharedCode = ushort.MaxValue;

    private CommandResult Offer(OfferCall cmd)
    {
        if (string.IsNullOrEmpty(cmd.CallId) || cmd.CallId.Length > MaxCallIdLength)
        {
            return Fail(ResultCode.InvalidArgument, $"a call id is 1 to {MaxCallIdLength} characters");
        }

        if (cmd.Priority is < -1 or > 9)
        {
            return Fail(ResultCode.InvalidArgument, $"priority must be 0 to 9, not {cmd.Priority}");
        }

        if (cmd.Vip is < 0 or > 9)
        {
            return Fail(ResultCode.InvalidArgument, $"VIP class must be 0 to 9, not {cmd.Vip}");
        }

        if (cmd.Caller is { Length: > MaxFieldLength } || cmd.ServiceNumber is { Length: > MaxFieldLength }
            || cmd.Language is { Length: > MaxFieldLength } || cmd.IvrDigits is { Length: > MaxFieldLength })
        {
            return Fail(ResultCode.InvalidArgument, $"caller, service number, language and IVR digits are at most {MaxFieldLength} characters");
        }

        var existing = _callIndex.Find(cmd.CallId, out var hash);
        if (existing >= 0)
        {
            return cmd.Mode == OfferMode.Sip
                ? Reoffer(existing, cmd)
                : Fail(ResultCode.AlreadyExists, $"call '{cmd.CallId}' is already known ({Names.Of(_calls.Records[existing].State)})");
        }

        if (Classify(cmd, out var k) is { } unknownSkill)
        {
            return unknownSkill;
        }

        var skillIndex = k.Skill;
        var s = _skills[skillIndex];
        var priority = k.Priority;
        _offered++;
        s.Stats.OnOffered(_now, transfer: false);
        CountArrival(skillIndex);
        {
            ref var e = ref Emit(EventKind.CallOffered);
            e.CallId = cmd.CallId;
            e.Caller = cmd.Caller;
            e.Skill = s.Definition.Name;
            e.Priority = priority;
            e.Owner = cmd.Owner;
            e.AnswerRoute = cmd.AnswerRoute;
        }

        var agent = -1;
        var waitFor = -1;
        var refusal = RejectReason.None;
        if (_calls.Live >= _config.MaxLiveCalls)
        {
            refusal = RejectReason.Capacity;
        }
        else if (!HasStaff(s))
        {
            refusal = RejectReason.NoAgents;
        }
        else
        {
            (agent, waitFor) = Owner(k.History, skillIndex);
            if (agent < 0 && waitFor < 0)
            {
                agent = FindAgent(skillIndex, _now, -1);
            }

            if (agent < 0 && s.Waiting >= s.Definition.MaxQueueLength)
            {
                refusal = RejectReason.QueueFull;
            }
        }

        if (refusal != RejectReason.None)
        {
            return Reject(cmd, s, priority, refusal);
        }

        if (agent < 0 && waitFor < 0 && k.Vip == 0 && _surge.EffectiveTier(skillIndex) >= SurgeMonitor.MaxTier)
        {
            var estimate = EstimateWait(s, WaitingAtOrAbove(s, priority) + 1);
            if (estimate > _config.Hotline.DeflectWaitMs)
            {
                return Deflect(cmd, s, priority, estimate);
            }
        }

        var slot = _calls.Allocate();
        ref var c = ref _calls.Records[slot];
        c.StoredId = cmd.CallId;
        c.StoredCaller = cmd.Caller;
        SetServiceAndLanguage(slot, cmd.ServiceNumber, cmd.Language);
        c.Owner = cmd.Owner;
        c.Connection = cmd.Connection;
        c.AnswerRoute = cmd.AnswerRoute ?? c.AnswerRoute;
        c.Seq = ++_callSeq;
        c.FirstEnqueueMs = _now;
        c.MaxWaitDueMs = _now + s.Definition.MaxWaitMs;
        c.Skill = skillIndex;
        c.Agent = -1;
        c.TargetAgent = -1;
        c.History = k.History;
        c.TimerDueMs = long.MaxValue;
        c.Priority = (byte)priority;
        c.Vip = (byte)k.Vip;
        c.Flags = (cmd.Mode == OfferMode.Sip ? CallFlags.Handoff : CallFlags.None) | (cmd.OwesCallback ? CallFlags.None : CallFlags.NoCallback);
        _callIndex.Add(hash, slot);
        if (waitFor >= 0)
        {
            // First-contact ownership: the caller's last agent is busy; the call waits for it a few seconds.
            c.Flags |= CallFlags.Targeted;
            c.TargetAgent = waitFor;
            c.AuxDueMs = _now + _config.Hotline.OwnershipWaitMs;
            return EnterWaiting(slot);
        }

        return EnterWaiting(slot, counted: false, agentHint: agent);
    }

    /// <summary>Calls waiting in a skill's queue at <paramref name="priority"/> or above.</summary>
    private static int WaitingAtOrAbove(SkillRuntime s, int priority)
    {
        var n = 0;
        for (var p = priority; p < SkillRuntime.Priorities; p++)
        {
            n += s.Queue[p].Count;
        }

        return n;
    }

    /// <summary>Tier 3: a new arrival that would wait too long is sent to self-service, and owed a callback.</summary>
    private CommandResult Deflect(OfferCall cmd, SkillRuntime s, int priority, long estimate)
    {
        var hotline = _config.Hotline;
        _deflected++;
        s.Stats.OnDeflected();
        {
            ref var e = ref Emit(EventKind.CallDeflected);
            e.CallId = cmd.CallId;
            e.Caller = cmd.Caller;
            e.Skill = s.Definition.Name;
            e.Priority = priority;
            e.Contact = hotline.IvrUri;
            e.EstimatedWaitMs = estimate;
            e.Tier = _surge.EffectiveTier(s.Index);
            e.Owner = cmd.Owner;
            e.AnswerRoute = cmd.AnswerRoute;
        }

        OweCallback(cmd.OwesCallback ? cmd.Caller : null, s.Index, "deflected");
        return new CommandResult
        {
            Outcome = OfferOutcome.Deflected,
            Contact = hotline.IvrUri,
            Skill = s.Definition.Name,
            EstimatedWaitMs = estimate,
            Message = $"surge tier {_surge.EffectiveTier(s.Index)}: predicted wait {estimate / 1000} s is over {hotline.DeflectWaitMs / 1000} s; sent to self-service",
        };
    }

    /// <summary>A SIP INVITE for a call already known: the proxy's failure route (ring-no-answer), a resume after a dropped connection, or a retransmission.</summary>
    private CommandResult Reoffer(int slot, OfferCall cmd)
    {
        ref var c = ref _calls.Records[slot];
        c.Owner = cmd.Owner;
        c.Connection = cmd.Connection;
        SetRoute(ref c, cmd.AnswerRoute ?? c.AnswerRoute);
        switch (c.State)
        {
            case CallState.Queued when c.Has(CallFlags.Detached):
                c.Flags &= ~CallFlags.Detached;
                {
                    ref var e = ref Emit(EventKind.CallResumed);
                    e.CallId = IdOf(in c);
                    e.Caller = CallerOf(in c);
                    e.Skill = _skills[c.Skill].Definition.Name;
                    e.Owner = c.Owner;
                    e.AnswerRoute = c.AnswerRoute;
                }
                return EnterWaiting(slot, counted: true);
            case CallState.Queued:
                return Requeued(slot);
            case CallState.Offered:
            case CallState.Talking when c.Has(CallFlags.Handoff):
                return RingNoAnswer(slot);
            default:
                return Fail(ResultCode.FailedPrecondition, $"call '{IdOf(in c)}' is {Names.Of(c.State)}");
        }
    }

    /// <summary>Tells a waiting call's owner its place again (an INVITE retransmission).</summary>
    private CommandResult Requeued(int slot)
    {
        ref var c = ref _calls.Records[slot];
        var s = _skills[c.Skill];
        var position = PositionOf(slot);
        var estimate = EstimateWait(s, position);
        {
            ref var e = ref Emit(EventKind.CallQueued);
            e.CallId = IdOf(in c);
            e.Caller = CallerOf(in c);
            e.Skill = s.Definition.Name;
            e.Priority = c.Priority;
            e.Position = position;
            e.EstimatedWaitMs = estimate;
            e.WaitMs = _now - c.FirstEnqueueMs;
            e.AgentId = c.Has(CallFlags.Targeted) ? _agents.Items[c.TargetAgent].Id : null;
            e.Owner = c.Owner;
            e.AnswerRoute = c.AnswerRoute;
        }

        KeepIdentityInRoute(ref c);
        return new CommandResult { Outcome = OfferOutcome.Queued, Skill = s.Definition.Name, Position = position, EstimatedWaitMs = estimate };
    }

    private CommandResult Reject(OfferCall cmd, SkillRuntime s, int priority, RejectReason reason)
    {
        _rejected++;
        s.Stats.OnRejected();
        {
            ref var e = ref Emit(EventKind.CallRejected);
            e.CallId = cmd.CallId;
            e.Caller = cmd.Caller;
            e.Skill = s.Definition.Name;
            e.Priority = priority;
            e.RejectReason = reason;
            e.Owner = cmd.Owner;
            e.AnswerRoute = cmd.AnswerRoute;
        }

        OweCallback(cmd.OwesCallback ? cmd.Caller : null, s.Index, "rejected");
        return new CommandResult
        {
            Code = reason == RejectReason.QueueFull || reason == RejectReason.Capacity ? ResultCode.ResourceExhausted : ResultCode.Ok,
            Message = reason switch
            {
                RejectReason.QueueFull => $"queue '{s.Definition.Name}' is full ({s.Definition.MaxQueueLength} waiting)",
                RejectReason.Capacity => $"the domain holds its maximum of {_config.MaxLiveCalls} live calls",
                _ => $"no agent for '{s.Definition.Name}' is logged in",
            },
            Outcome = OfferOutcome.Rejected,
            Skill = s.Definition.Name,
            RejectReason = reason,
        };
    }

    private bool TryFindCall(string callId, out int slot) => (slot = _callIndex.Find(callId)) >= 0;

    private static CommandResult UnknownCall(string callId) => Fail(ResultCode.NotFound, $"unknown call '{callId}'");

    private CommandResult Answered(string callId)
    {
        if (!TryFindCall(callId, out var slot))
        {
            return UnknownCall(callId);
        }

        ref var c = ref _calls.Records[slot];
        if (c.State == CallState.Talking && c.Has(CallFlags.AnswerPending))
        {
            ConfirmAnswer(slot);
            return CommandResult.Ok;
        }

        if (c.State != CallState.Offered)
        {
            return Fail(ResultCode.FailedPrecondition, $"call '{callId}' is {Names.Of(c.State)}, not offered");
        }

        var a = _agents.Items[c.Agent];
        a.CallsHandled++;
        c.State = CallState.Talking;
        c.AnsweredMs = _now;
        _ringing--;
        _talking++;
        var s = _skills[c.Skill];
        var wait = _now - c.FirstEnqueueMs;
        s.Stats.OnAnswered(_now, wait);
        {
            ref var e = ref Emit(EventKind.CallAnswered);
            e.CallId = IdOf(in c);
            e.Caller = CallerOf(in c);
            e.AgentId = a.Id;
            e.Skill = s.Definition.Name;
            e.WaitMs = wait;
            e.Owner = c.Owner;
            e.AnswerRoute = c.AnswerRoute;
        }
        ChangeState(a, AgentState.Talking, null);
        ScheduleCall(slot);
        return CommandResult.Ok;
    }

    /// <summary>A handed-off call had no failure report within the ring timeout (or was reported answered or ended): it counts as answered at the hand-off.</summary>
    private void ConfirmAnswer(int slot)
    {
        ref var c = ref _calls.Records[slot];
        c.Flags &= ~CallFlags.AnswerPending;
        _agents.Items[c.Agent].CallsHandled++;
        var s = _skills[c.Skill];
        var wait = c.RoutedMs - c.FirstEnqueueMs;
        s.Stats.OnAnswered(_now, wait);
        {
            ref var e = ref Emit(EventKind.CallAnswered);
            e.CallId = IdOf(in c);
            e.Caller = CallerOf(in c);
            e.AgentId = _agents.Items[c.Agent].Id;
            e.Skill = s.Definition.Name;
            e.WaitMs = wait;
            e.Owner = c.Owner;
            e.AnswerRoute = c.AnswerRoute;
        }
        ScheduleCall(slot);
    }

    private CommandResult NoAnswer(string callId)
    {
        if (!TryFindCall(callId, out var slot))
        {
            return UnknownCall(callId);
        }

        ref var c = ref _calls.Records[slot];
        if (c.State == CallState.Offered || (c.State == CallState.Talking && c.Has(CallFlags.Handoff)))
        {
            RingNoAnswer(slot);
            return CommandResult.Ok;
        }

        return Fail(ResultCode.FailedPrecondition, $"call '{callId}' is {Names.Of(c.State)}, not offered");
    }

    /// <summary>Ring-no-answer: the agent goes NotReady("rona") and the call goes back to its place.</summary>
    private CommandResult RingNoAnswer(int slot)
    {
        ref var c = ref _calls.Records[slot];
        var a = _agents.Items[c.Agent];
        if (c.State == CallState.Offered)
        {
            _ringing--;
        }
        else
        {
            _talking--;
        }

        c.Flags &= ~CallFlags.AnswerPending;
        c.Agent = -1;
        a.Call = -1;
        var s = _skills[c.Skill];
        s.Stats.OnRingNoAnswer();
        {
            ref var e = ref Emit(EventKind.CallRingNoAnswer);
            e.CallId = IdOf(in c);
            e.Caller = CallerOf(in c);
            e.AgentId = a.Id;
            e.Skill = s.Definition.Name;
            e.Owner = c.Owner;
            e.AnswerRoute = c.AnswerRoute;
        }
        a.ReturnToStandby = false;
        ChangeState(a, AgentState.NotReady, "rona");
        return EnterWaiting(slot);
    }

    private CommandResult End(CallCommand cmd)
    {
        if (!TryFindCall(cmd.CallId, out var slot))
        {
            return UnknownCall(cmd.CallId);
        }

        if (cmd.Reason is { Length: > MaxReasonLength })
        {
            return Fail(ResultCode.InvalidArgument, $"reason longer than {MaxReasonLength} characters");
        }

        ref var c = ref _calls.Records[slot];
        if (c.State != CallState.Talking)
        {
            return cmd.AbandonIfWaiting
                ? Abandon(cmd.CallId)
                : Fail(ResultCode.FailedPrecondition, $"call '{cmd.CallId}' is {Names.Of(c.State)}, not connected; a waiting call is abandoned, not ended");
        }

        if (c.Has(CallFlags.AnswerPending))
        {
            if (cmd.Unanswered)
            {
                return Abandon(cmd.CallId);
            }

            ConfirmAnswer(slot);
            c = ref _calls.Records[slot];
        }

        var a = _agents.Items[c.Agent];
        var skill = c.Skill;
        var s = _skills[skill];
        s.Stats.OnTalkEnded(_now - c.AnsweredMs);
        _talking--;
        _ended++;
        {
            ref var e = ref Emit(EventKind.CallEnded);
            e.CallId = IdOf(in c);
            e.Caller = CallerOf(in c);
            e.AgentId = a.Id;
            e.Skill = s.Definition.Name;
            e.WaitMs = _now - c.AnsweredMs;
            e.Reason = cmd.Reason;
            e.Owner = c.Owner;
            e.AnswerRoute = c.AnswerRoute;
        }

        a.Call = -1;
        Release(slot);
        StartWrap(a, skill);
        return CommandResult.Ok;
    }

    private CommandResult Abandon(string callId)
    {
        if (!TryFindCall(callId, out var slot))
        {
            return UnknownCall(callId);
        }

        ref var c = ref _calls.Records[slot];
        switch (c.State)
        {
            case CallState.Queued:
                AbandonCall(slot, "caller");
                return CommandResult.Ok;
            case CallState.Offered:
            case CallState.Talking when c.Has(CallFlags.AnswerPending):
                // The caller left while the agent's phone rang (offered; or handed off to the proxy and not yet answered):
                // abandoned, and the agent is free at once — not ring-no-answer, the agent did nothing wrong.
                var a = _agents.Items[c.Agent];
                a.Call = -1;
                AbandonCall(slot, "caller");
                ReturnFromWork(a);
                return CommandResult.Ok;
            default:
                return Fail(ResultCode.FailedPrecondition, $"call '{callId}' is {Names.Of(c.State)}; a connected call is ended, not abandoned");
        }
    }

    /// <summary>A waiting or ringing call ends unanswered.</summary>
    private void AbandonCall(int slot, string reason)
    {
        ref var c = ref _calls.Records[slot];
        var s = _skills[c.Skill];
        if (c.State == CallState.Queued)
        {
            Dequeue(slot);
            s.Waiting--;
            _waiting--;
        }
        else if (c.State == CallState.Offered)
        {
            _ringing--;
        }
        else
        {
            _talking--; // handed off, answer not yet confirmed
        }

        var wait = _now - c.FirstEnqueueMs;
        s.Stats.OnAbandoned(_now, wait);
        _abandoned++;
        {
            ref var e = ref Emit(EventKind.CallAbandoned);
            e.CallId = IdOf(in c);
            e.Caller = CallerOf(in c);
            e.Skill = s.Definition.Name;
            e.WaitMs = wait;
            e.Reason = reason;
            e.Owner = c.Owner;
            e.AnswerRoute = c.AnswerRoute;
        }

        if (wait >= _config.Hotline.CallbackMinAbandonWaitMs && !c.Has(CallFlags.NoCallback))
        {
            OweCallback(CallerOf(in c), c.Skill, string.Equals(reason, "caller", StringComparison.Ordinal) ? "abandoned" : reason);
        }

        Release(slot);
    }

    private void TimeOutCall(int slot)
    {
        ref var c = ref _calls.Records[slot];
        var s = _skills[c.Skill];
        Dequeue(slot);
        s.Waiting--;
        _waiting--;
        s.Stats.OnTimedOut(_now);
        _timedOut++;
        {
            ref var e = ref Emit(EventKind.CallTimedOut);
            e.CallId = IdOf(in c);
            e.Caller = CallerOf(in c);
            e.Skill = s.Definition.Name;
            e.WaitMs = _now - c.FirstEnqueueMs;
            e.Owner = c.Owner;
            e.AnswerRoute = c.AnswerRoute;
        }

        if (!c.Has(CallFlags.NoCallback))
        {
            OweCallback(CallerOf(in c), c.Skill, "timed-out");
        }

        Release(slot);
    }

    private void Release(int slot)
    {
        var timerPos = _calls.Links[slot].TimerPos;
        if (RouterTimers.IsSet(timerPos))
        {
            _timers.Remove(slot, timerPos);
        }

        _callIndex.Remove(slot);
        ref readonly var c = ref _calls.Records[slot];
        if (c.ServiceCode == UnsharedCode || c.LanguageCode == UnsharedCode)
        {
            _unshared.Remove(slot);
        }

        _calls.Release(slot);
    }

    private CommandResult Transfer(TransferCall cmd)
    {
        if (!TryFindCall(cmd.CallId, out var slot))
        {
            return UnknownCall(cmd.CallId);
        }

        if (cmd.ToSkill is null && cmd.ToAgent is null)
        {
            return Fail(ResultCode.InvalidArgument, "a transfer names a skill, an agent, or both");
        }

        ref var c = ref _calls.Records[slot];
        if (c.State != CallState.Talking)
        {
            return Fail(ResultCode.FailedPrecondition, $"call '{cmd.CallId}' is {Names.Of(c.State)}; only a connected call is transferred");
        }

        var skill = c.Skill;
        if (cmd.ToSkill is not null)
        {
            skill = _config.FindSkill(cmd.ToSkill);
            if (skill < 0)
            {
                return Fail(ResultCode.NotFound, $"unknown skill '{cmd.ToSkill}'");
            }
        }

        var from = _agents.Items[c.Agent];
        Agent? target = null;
        if (cmd.ToAgent is not null)
        {
            target = _agents.Find(cmd.ToAgent);
            if (target is null)
            {
                return UnknownAgent(cmd.ToAgent);
            }

            if (target == from)
            {
                return Fail(ResultCode.FailedPrecondition, $"agent '{from.Id}' cannot transfer a call to itself");
            }

            if (target.State == AgentState.LoggedOut)
            {
                return Fail(ResultCode.FailedPrecondition, $"agent '{target.Id}' is logged out");
            }
        }

        if (c.Has(CallFlags.AnswerPending))
        {
            ConfirmAnswer(slot);
            c = ref _calls.Records[slot];
        }

        var previous = c.Skill;
        _skills[previous].Stats.OnTalkEnded(_now - c.AnsweredMs);
        _talking--;
        var s = _skills[skill];
        {
            ref var e = ref Emit(EventKind.CallTransferred);
            e.CallId = IdOf(in c);
            e.Caller = CallerOf(in c);
            e.AgentId = from.Id;
            e.Skill = s.Definition.Name;
            e.Reason = target?.Id;
            e.Owner = c.Owner;
            e.AnswerRoute = c.AnswerRoute;
        }
        from.Call = -1;
        c.Agent = -1;
        c.Skill = skill;
        c.StepsFired = 0;
        c.MaxWaitDueMs = _now + s.Definition.MaxWaitMs;
        s.Stats.OnOffered(_now, transfer: true);
        if (target is not null)
        {
            c.Flags |= CallFlags.Targeted;
            c.TargetAgent = target.Index;
            c.AuxDueMs = _now + _config.TransferWaitMs;
        }

        EnterWaiting(slot);
        StartWrap(from, previous);
        return CommandResult.Ok;
    }

    /// <summary>
    /// Holds every waiting SIP call of a dropped connection (0: of every connection), in place order; with
    /// <paramref name="keepAnswerable"/>, not the calls whose INVITE can be answered over a new connection (their route is known).
    /// </summary>
    private CommandResult DetachConnection(long connection, bool keepAnswerable)
    {
        var held = new List<(long Seq, int Slot)>();
        var records = _calls.Records;
        for (var slot = 0; slot < records.Length; slot++)
        {
            ref readonly var c = ref records[slot];
            if (c.StoredId is not null && c.State == CallState.Queued && c.Has(CallFlags.Handoff) && !c.Has(CallFlags.Detached)
                && (connection == 0 || c.Connection == connection) && !(keepAnswerable && c.AnswerRoute is not null))
            {
                held.Add((c.Seq, slot));
            }
        }

        held.Sort();
        foreach (var (_, slot) in held)
        {
            Detach(slot);
        }

        return CommandResult.Ok;
    }

    private void Detach(int slot)
    {
        Dequeue(slot);
        ref var c = ref _calls.Records[slot];
        c.Flags = (c.Flags & ~CallFlags.Targeted) | CallFlags.Detached;
        c.TargetAgent = -1;
        c.Owner = null;
        c.AuxDueMs = _now + _config.DetachGraceMs;
        {
            ref var e = ref Emit(EventKind.CallDetached);
            e.CallId = IdOf(in c);
            e.Caller = CallerOf(in c);
            e.Skill = _skills[c.Skill].Definition.Name;
        }

        if (_config.DetachGraceMs == 0)
        {
            AbandonCall(slot, "disconnected");
        }
        else
        {
            ScheduleCall(slot);
        }
    }

    /// <summary>A call waiting for one agent stops doing so and joins its skill's queue (not yet routed).</summary>
    private void Untarget(int slot)
    {
        Dequeue(slot);
        ref var c = ref _calls.Records[slot];
        c.Flags &= ~CallFlags.Targeted;
        c.TargetAgent = -1;
        CatchUpSteps(ref c);
    }
}
