using Acd.Core.Domain;

namespace Acd.Core.Routing;

/// <summary>One callback owed to a caller (SPEC 4.2).</summary>
internal sealed class CallbackTask
{
    public required string Id { get; init; }

    public required string Caller { get; init; }

    public int Skill { get; set; }

    public long CreatedMs { get; init; }

    public long Seq { get; init; }

    public int Attempts { get; set; }

    public CallbackState State { get; set; }

    public int Agent { get; set; } = -1;

    public required string Reason { get; init; }

    public long NextAttemptMs { get; set; }

    public long AssignedMs { get; set; }

    public int Handle { get; set; }

    public int DuePos { get; set; } = -1;

    public int TimerPos { get; set; } = -1;

    public long TimerDueMs { get; set; } = long.MaxValue;

    /// <summary>The callback owed before this one (creation order), or null.</summary>
    public CallbackTask? Older { get; set; }

    /// <summary>The callback owed after this one, or null.</summary>
    public CallbackTask? Newer { get; set; }

    public bool Due => State == CallbackState.Open && DuePos >= 0;
}

/// <summary>Heap positions of due callbacks.</summary>
internal readonly struct CallbackDueIndex(List<CallbackTask?> tasks) : IHeapIndex
{
    public void Set(int id, int position) => tasks[id]!.DuePos = position;
}

/// <summary>Heap positions of available outbound agents.</summary>
internal readonly struct OutboundPoolIndex(AgentTable agents) : IHeapIndex
{
    public void Set(int id, int position) => agents.Items[id].OutboundPos = position;
}

/// <summary>
/// Callbacks (来电必复). Every call that did not reach an agent — abandoned after a minimum wait, timed out, refused
/// for want of a staffed agent, deflected in tier 3 — owes its caller a callback, one open per caller (a later one
/// merges into it, which keeps the earliest time). A callback is due when created and at each retry. Outbound agents
/// dial callbacks first, oldest first; any other agent (unless configured otherwise) dials those of its skills that
/// have aged past the escalation time before live calls, and the rest only when no live call of its own is waiting.
/// The dialer reports the outcome: reached closes it; not reached retries after the back-off, until the attempts run
/// out (exhausted: an SMS is owed).
/// </summary>
public sealed partial class Router
{
    private readonly List<CallbackTask?> _callbackTable = [];
    private readonly Stack<int> _freeCallbacks = new();
    private readonly Dictionary<string, CallbackTask> _callbacksById = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CallbackTask> _openByCaller = new(StringComparer.Ordinal);
    private readonly Queue<CallbackSnapshot> _closedCallbacks = new();
    private IndexedHeap<CallbackDueIndex>[] _dueCallbacks = [];
    private IndexedHeap<OutboundPoolIndex> _outboundPool = null!;
    private CallbackTask? _oldestCallback;
    private CallbackTask? _newestCallback;
    private long _callbackSeq;
    private int _callbacksDue;
    private long _callbacksCreated;
    private long _callbacksMerged;
    private long _callbacksReached;
    private long _callbacksExhausted;
    private long _callbacksCancelled;
    private long _callbacksDropped;

    private const int ClosedCallbacksKept = 10_000;

    /// <summary>Callback figures.</summary>
    public CallbackTotals CallbackFigures => new(_callbacksCreated, _callbacksMerged, _callbacksReached, _callbacksExhausted, _callbacksCancelled, _callbacksDropped, _openByCaller.Count);

    private void InitCallbacks()
    {
        _dueCallbacks = new IndexedHeap<CallbackDueIndex>[_skills.Length];
        for (var i = 0; i < _dueCallbacks.Length; i++)
        {
            _dueCallbacks[i] = new IndexedHeap<CallbackDueIndex>(new CallbackDueIndex(_callbackTable), 4);
        }

        _outboundPool = new IndexedHeap<OutboundPoolIndex>(new OutboundPoolIndex(_agents), 16);
    }

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
        var hotline = _config.Hotline;
        if (!hotline.CallbacksEnabled || string.IsNullOrEmpty(caller))
        {
            return;
        }

        if (_openByCaller.ContainsKey(caller))
        {
            _callbacksMerged++;
            return;
        }

        if (_openByCaller.Count >= hotline.CallbackMaxOpen)
        {
            _callbacksDropped++;
            return;
        }

        var task = new CallbackTask
        {
            Id = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"cb-{++_callbackSeq}@{_config.Name}"),
            Caller = caller,
            Skill = skill,
            CreatedMs = _now,
            Seq = _callbackSeq,
            Reason = reason,
            State = CallbackState.Open,
            NextAttemptMs = _now,
        };
        task.Handle = _freeCallbacks.Count > 0 ? _freeCallbacks.Pop() : _callbackTable.Count;
        if (task.Handle == _callbackTable.Count)
        {
            _callbackTable.Add(task);
        }
        else
        {
            _callbackTable[task.Handle] = task;
        }

        _callbacksById.Add(task.Id, task);
        _openByCaller.Add(caller, task);
        task.Older = _newestCallback;
        if (_newestCallback is not null)
        {
            _newestCallback.Newer = task;
        }
        else
        {
            _oldestCallback = task;
        }

        _newestCallback = task;
        _callbacksCreated++;
        {
            EmitCallback(EventKind.CallbackCreated, task, reason);
        }

        MakeDue(task);
    }

    /// <summary>A callback's attempt time came: it joins its skill's due callbacks and goes to an available agent if there is one.</summary>
    private void MakeDue(CallbackTask task)
    {
        _dueCallbacks[task.Skill].Push(task.CreatedMs, task.Seq, task.Handle);
        _callbacksDue++;
        ScheduleCallback(task);

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
        CallbackTask? best = null;
        var escalated = _now - _config.Hotline.CallbackEscalationMs;
        if (a.Outbound)
        {
            foreach (var heap in _dueCallbacks)
            {
                Consider(heap);
            }
        }
        else if (_config.Hotline.CallbackSkillAgentsDial)
        {
            foreach (var m in a.Skills)
            {
                Consider(_dueCallbacks[m.Skill]);
            }
        }

        return best;

        void Consider(IndexedHeap<CallbackDueIndex> heap)
        {
            if (heap.Count == 0)
            {
                return;
            }

            ref readonly var top = ref heap.Top;
            if ((!escalatedOnly || top.K1 <= escalated) && (best is null || top.K1 < best.CreatedMs || (top.K1 == best.CreatedMs && top.K2 < best.Seq)))
            {
                best = _callbackTable[top.Id];
            }
        }
    }

    private void AssignCallback(Agent a, CallbackTask task)
    {
        _dueCallbacks[task.Skill].RemoveAt(task.DuePos);
        _callbacksDue--;
        if (a.InPool)
        {
            RemoveFromPool(a);
        }

        a.ReturnToStandby = a.State == AgentState.Standby;
        task.State = CallbackState.Assigned;
        task.AssignedMs = _now;
        task.Attempts++;
        task.Agent = a.Index;
        a.Callback = task.Handle;
        {
            ref var e = ref EmitCallback(EventKind.CallbackAssigned, task, null);
            e.AgentId = a.Id;
            e.Contact = a.Contact;
        }

        ChangeState(a, AgentState.Talking, null);
        ScheduleCallback(task);
    }

    private long CallbackDue(CallbackTask task) => task.State switch
    {
        CallbackState.Open when task.DuePos < 0 => task.NextAttemptMs,
        CallbackState.Assigned => task.AssignedMs + _config.Hotline.CallbackOutcomeTimeoutMs,
        _ => long.MaxValue,
    };

    private void ScheduleCallback(CallbackTask task)
    {
        var due = CallbackDue(task);
        if (task.TimerPos >= 0)
        {
            if (task.TimerDueMs == due)
            {
                return;
            }

            _opsTimers.RemoveAt(task.TimerPos);
        }

        task.TimerDueMs = due;
        if (due != long.MaxValue)
        {
            _opsTimers.Push(due, CallbackTimerBase + task.Seq, task.Handle);
        }
    }

    private void FireCallbackTimer(CallbackTask task)
    {
        task.TimerDueMs = long.MaxValue;
        if (task.State == CallbackState.Open)
        {
            MakeDue(task);
        }
        else if (task.State == CallbackState.Assigned)
        {
            CallbackNotReached(task, "no outcome reported");
        }
    }

    private CommandResult CompleteCallback(CompleteCallbackCommand cmd)
    {
        if (!_callbacksById.TryGetValue(cmd.CallbackId, out var task))
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
        _callbacksReached++;
        {
            EmitCallback(EventKind.CallbackCompleted, task, "reached").AgentId = a.Id;
        }

        CloseCallback(task, CallbackState.Completed);
        StartWrap(a, task.Skill);
        return CommandResult.Ok;
    }

    /// <summary>An attempt failed: retried after the back-off, or exhausted once the attempts run out; the agent is free again.</summary>
    private void CallbackNotReached(CallbackTask task, string why)
    {
        var hotline = _config.Hotline;
        var a = _agents.Items[task.Agent];
        a.Callback = -1;
        task.Agent = -1;
        if (task.Attempts >= hotline.CallbackMaxAttempts)
        {
            _callbacksExhausted++;
            {
                EmitCallback(EventKind.CallbackExhausted, task, "sms").AgentId = a.Id;
            }

            CloseCallback(task, CallbackState.Exhausted);
        }
        else
        {
            var backoff = hotline.CallbackBackoffMs[Math.Min(task.Attempts - 1, hotline.CallbackBackoffMs.Count - 1)];
            task.State = CallbackState.Open;
            task.NextAttemptMs = _now + backoff;
            {
                ref var e = ref EmitCallback(EventKind.CallbackRescheduled, task, why);
                e.AgentId = a.Id;
                e.WaitMs = backoff;
            }

            ScheduleCallback(task);
        }

        ReturnFromWork(a);
    }

    private CommandResult CancelCallback(CancelCallbackCommand cmd)
    {
        if (!_callbacksById.TryGetValue(cmd.CallbackId, out var task))
        {
            return UnknownOrClosed(cmd.CallbackId);
        }

        if (task.State != CallbackState.Open)
        {
            return Fail(ResultCode.FailedPrecondition, $"callback '{task.Id}' is assigned to agent '{_agents.Items[task.Agent].Id}'; report its outcome instead");
        }

        _callbacksCancelled++;
        {
            EmitCallback(EventKind.CallbackCompleted, task, "cancelled");
        }

        CloseCallback(task, CallbackState.Cancelled);
        return CommandResult.Ok;
    }

    /// <summary>A callback not open: closed a while ago (its state is told), or never known.</summary>
    private CommandResult UnknownOrClosed(string callbackId) => GetCallback(callbackId) is { } closed
        ? Fail(ResultCode.FailedPrecondition, $"callback '{callbackId}' is already {closed.State.ToString().ToLowerInvariant()}")
        : Fail(ResultCode.NotFound, $"unknown callback '{callbackId}'");

    private void CloseCallback(CallbackTask task, CallbackState state)
    {
        if (task.DuePos >= 0)
        {
            _dueCallbacks[task.Skill].RemoveAt(task.DuePos);
            _callbacksDue--;
        }

        if (task.TimerPos >= 0)
        {
            _opsTimers.RemoveAt(task.TimerPos);
        }

        task.State = state;
        if (task.Older is not null)
        {
            task.Older.Newer = task.Newer;
        }
        else
        {
            _oldestCallback = task.Newer;
        }

        if (task.Newer is not null)
        {
            task.Newer.Older = task.Older;
        }
        else
        {
            _newestCallback = task.Older;
        }

        task.Older = task.Newer = null;
        _callbacksById.Remove(task.Id);
        _openByCaller.Remove(task.Caller);
        _callbackTable[task.Handle] = null;
        _freeCallbacks.Push(task.Handle);
        _closedCallbacks.Enqueue(Snapshot(task));
        if (_closedCallbacks.Count > ClosedCallbacksKept)
        {
            _closedCallbacks.Dequeue();
        }
    }

    private CallbackSnapshot Snapshot(CallbackTask t) => new(
        t.Id, t.Caller, _skills[t.Skill].Definition.Name, t.CreatedMs, t.Attempts, t.State,
        t.Agent >= 0 ? _agents.Items[t.Agent].Id : null, t.Reason, t.State == CallbackState.Open ? t.NextAttemptMs : 0);

    /// <summary>
    /// Open and assigned callbacks, oldest first, at most <paramref name="limit"/>, starting after the one numbered
    /// <paramref name="afterSeq"/> (the N of <c>cb-N@domain</c>; 0: from the oldest); with <paramref name="closedToo"/>,
    /// the recently closed after them.
    /// </summary>
    public IReadOnlyList<CallbackSnapshot> ListCallbacks(bool closedToo, int limit = int.MaxValue, long afterSeq = 0)
    {
        var list = new List<CallbackSnapshot>(Math.Min(limit, _callbacksById.Count + (closedToo ? _closedCallbacks.Count : 0)));
        var start = _oldestCallback;
        if (afterSeq > 0)
        {
            // Open callbacks are linked in creation order: resume right after the last one listed if it is still open,
            // else after the last older one.
            start = _callbacksById.TryGetValue(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"cb-{afterSeq}@{_config.Name}"), out var last)
                ? last.Newer
                : _oldestCallback;
            while (start is not null && start.Seq <= afterSeq)
            {
                start = start.Newer;
            }
        }

        for (var t = start; t is not null && list.Count < limit; t = t.Newer)
        {
            list.Add(Snapshot(t));
        }

        if (closedToo)
        {
            list.AddRange(_closedCallbacks.Take(limit - list.Count));
        }

        return list;
    }

    /// <summary>One callback, open or among the recently closed; null if unknown.</summary>
    public CallbackSnapshot? GetCallback(string callbackId)
    {
        if (_callbacksById.TryGetValue(callbackId, out var task))
        {
            return Snapshot(task);
        }

        return _closedCallbacks.LastOrDefault(c => string.Equals(c.CallbackId, callbackId, StringComparison.Ordinal));
    }
}
