using Acd.Core.Domain;

namespace Acd.Core.Routing;

/// <summary>Heap positions of available outbound agents.</summary>
internal readonly struct OutboundPoolIndex(AgentTable agents) : IHeapIndex
{
    public void Set(int id, int position) => agents.Items[id].OutboundPos = position;
}

/// <summary>
/// The policy that ties the callbacks owed (<see cref="CallbackBook"/>) to agents (来电必复). A callback is due when
/// created and at each retry. Outbound agents dial callbacks first, oldest first; any other agent (unless configured
/// otherwise) dials those of its skills that have aged past the escalation time before live calls, and the rest only
/// when no live call of its own is waiting. The dialer reports the outcome: reached closes it; not reached retries
/// after the back-off, until the attempts run out (exhausted: an SMS is owed).
/// </summary>
public sealed partial class Router
{
    private readonly CallbackBook _callbacks;
    private readonly IndexedHeap<OutboundPoolIndex> _outboundPool;

    /// <summary>Callback figures.</summary>
    public CallbackTotals CallbackFigures => _callbacks.Figures;

    /// <summary>A callback event with what every one of them carries: the callback, its caller, skill and attempts so far.</summary>
    private ref RoutingEvent EmitCallback(EventKind kind, CallbackTask task, string? reason)
    {
        ref var e = ref Emit(kind);
        e.CallbackId = task.Id;
        e.Caller = task.Caller;
        e.Skill = _skills[task.Skill].Definition.Name;
        e.Attempts = task.Attempts;
        e.Reason = reason;
        return ref e;
    }

    /// <summary>An unanswered call owes its caller a callback (or merges into the one owed already).</summary>
    private void OweCallback(string? caller, int skill, string reason)
    {
        if (_callbacks.Owe(caller, skill, reason, _now) is { } task)
        {
            EmitCallback(EventKind.CallbackCreated, task, reason);
            DialIfAnyoneFree(task);
        }
    }

    /// <summary>A callback just became due: an available agent dials it at once, if there is one.</summary>
    private void DialIfAnyoneFree(CallbackTask task)
    {
        // Outbound agents first (they dial callbacks), the longest idle of them; else an agent of the skill by its strategy.
        var agent = _outboundPool.Count > 0 ? _outboundPool.Top.Id
            : _config.Hotline.CallbackSkillAgentsDial ? _skills[task.Skill].PickAgent(1)
            : -1;
        if (agent >= 0)
        {
            AssignCallback(_agents.Items[agent], task);
        }
    }

    /// <summary>The due callback agent <paramref name="a"/> should dial now: oldest first; null if none.</summary>
    private CallbackTask? BestCallbackFor(Agent a, bool escalatedOnly)
    {
        if (_callbacks.DueCount == 0 || (!a.Outbound && !_config.Hotline.CallbackSkillAgentsDial))
        {
            return null;
        }

        return _callbacks.OldestDue(a.Skills, allSkills: a.Outbound, escalatedOnly ? _now - _config.Hotline.CallbackEscalationMs : long.MaxValue);
    }

    private void AssignCallback(Agent a, CallbackTask task)
    {
        _callbacks.Assign(task, a.Index, _now);
        if (a.InPool)
        {
            RemoveFromPool(a);
        }

        a.ReturnToStandby = a.State == AgentState.Standby;
        a.Callback = task.Handle;
        ref var e = ref EmitCallback(EventKind.CallbackAssigned, task, null);
        e.AgentId = a.Id;
        e.Contact = a.Contact;
        ChangeState(a, AgentState.Talking, null);
    }

    /// <summary>A callback timer: an open callback's retry is due, or an assigned one's outcome never came.</summary>
    private void FireCallbackTimer()
    {
        var task = _callbacks.PopTimer();
        if (task.State == CallbackState.Open)
        {
            _callbacks.MakeDue(task);
            DialIfAnyoneFree(task);
        }
        else if (task.State == CallbackState.Assigned)
        {
            CallbackNotReached(task, "no outcome reported");
        }
    }

    private CommandResult ReportOutcome(ReportCallbackOutcome cmd)
    {
        if (_callbacks.Find(cmd.CallbackId) is not { } task)
        {
            return UnknownOrClosed(cmd.CallbackId);
        }

        if (task.State != CallbackState.Assigned)
        {
            return Fail(ResultCode.FailedPrecondition, $"callback '{task.Id}' is {task.State.ToString().ToLowerInvariant()}, not assigned to an agent");
        }

        if (!cmd.Reached)
        {
            CallbackNotReached(task, "not reached");
            return CommandResult.Ok;
        }

        var a = _agents.Items[task.Agent];
        a.Callback = -1;
        EmitCallback(EventKind.CallbackCompleted, task, "reached").AgentId = a.Id;
        _callbacks.Reached(task);
        StartWrap(a, task.Skill);
        return CommandResult.Ok;
    }

    /// <summary>An attempt failed: retried after the back-off, or exhausted once the attempts run out; the agent is free again.</summary>
    private void CallbackNotReached(CallbackTask task, string why)
    {
        var a = _agents.Items[task.Agent];
        a.Callback = -1;
        if (_callbacks.NotReached(task, _now) is { } backoff)
        {
            ref var e = ref EmitCallback(EventKind.CallbackRescheduled, task, why);
            e.AgentId = a.Id;
            e.WaitMs = backoff;
        }
        else
        {
            EmitCallback(EventKind.CallbackExhausted, task, "sms").AgentId = a.Id;
        }

        ReturnFromWork(a);
    }

    private CommandResult CancelOwed(CancelCallback cmd)
    {
        if (_callbacks.Find(cmd.CallbackId) is not { } task)
        {
            return UnknownOrClosed(cmd.CallbackId);
        }

        if (task.State != CallbackState.Open)
        {
            return Fail(ResultCode.FailedPrecondition, $"callback '{task.Id}' is assigned to agent '{_agents.Items[task.Agent].Id}'; report its outcome instead");
        }

        EmitCallback(EventKind.CallbackCompleted, task, "cancelled");
        _callbacks.Cancel(task);
        return CommandResult.Ok;
    }

    /// <summary>A callback not open: closed a while ago (its state is told), or never known.</summary>
    private CommandResult UnknownOrClosed(string callbackId) => _callbacks.Get(callbackId) is { } closed
        ? Fail(ResultCode.FailedPrecondition, $"callback '{callbackId}' is already {closed.State.ToString().ToLowerInvariant()}")
        : Fail(ResultCode.NotFound, $"unknown callback '{callbackId}'");

    /// <summary>
    /// Open and assigned callbacks, oldest first, at most <paramref name="limit"/>, starting after the one numbered
    /// <paramref name="afterSeq"/> (the N of <c>cb-N@domain</c>; 0: from the oldest); with <paramref name="closedToo"/>,
    /// the recently closed after them.
    /// </summary>
    public IReadOnlyList<CallbackView> ListCallbacks(bool closedToo, int limit = int.MaxValue, long afterSeq = 0) => _callbacks.List(closedToo, limit, afterSeq);

    /// <summary>One callback, open or among the recently closed; null if unknown.</summary>
    public CallbackView? GetCallback(string callbackId) => _callbacks.Get(callbackId);
}
