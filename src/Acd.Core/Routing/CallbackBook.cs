using System.Globalization;
using Acd.Core.Configuration;
using Acd.Core.Durability;

namespace Acd.Core.Routing;

/// <summary>One callback owed to a caller (SPEC 4.2).</summary>
internal sealed class CallbackTask
{
    public required string Id { get; init; }

    public required string Caller { get; init; }

    public int Skill { get; init; }

    public long CreatedMs { get; init; }

    public long Seq { get; init; }

    public int Attempts { get; set; }

    public CallbackState State { get; set; }

    /// <summary>The agent dialing it (index in the router's agent table), or -1.</summary>
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
}

/// <summary>Heap positions of due callbacks.</summary>
internal readonly struct CallbackDueIndex(List<CallbackTask?> tasks) : IHeapIndex
{
    public void Set(int id, int position) => tasks[id]!.DuePos = position;
}

/// <summary>Heap positions of callback timers (the next attempt, or the wait for an outcome).</summary>
internal readonly struct CallbackTimerIndex(List<CallbackTask?> tasks) : IHeapIndex
{
    public void Set(int id, int position) => tasks[id]!.TimerPos = position;
}

/// <summary>
/// The callbacks owed (来电必复): one open per caller (a later one merges into it, keeping the earliest time), each due
/// when created and at each retry, oldest first per skill; assigned to an agent for one attempt; reached, retried after
/// the back-off, exhausted once the attempts run out (an SMS is owed), or cancelled. The book owns the tasks, their
/// indexes, due heaps and timers, the recently closed ones, the counts, its part of a snapshot and its invariant. Which
/// agent dials what, and when, is the router's policy; the book only answers "the oldest due callback among these skills".
/// </summary>
internal sealed class CallbackBook
{
    /// <summary>Recently closed callbacks kept for queries.</summary>
    public const int ClosedKept = 10_000;

    /// <summary>Timer keys of callbacks sort after the call and agent timers due at the same moment.</summary>
    public const long TimerKeyBase = 1L << 41;

    private readonly string _domain;
    private readonly HotlineConfig _hotline;
    private readonly IReadOnlyList<string> _skillNames;
    private readonly Func<int, string> _agentId;
    private readonly List<CallbackTask?> _table = [];
    private readonly Stack<int> _free = new();
    private readonly Dictionary<string, CallbackTask> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CallbackTask> _openByCaller = new(StringComparer.Ordinal);
    private readonly Queue<CallbackView> _closed = new();
    private readonly IndexedHeap<CallbackDueIndex>[] _due;
    private readonly IndexedHeap<CallbackTimerIndex> _timers;
    private CallbackTask? _oldest;
    private CallbackTask? _newest;
    private long _seq;
    private long _created;
    private long _merged;
    private long _reached;
    private long _exhausted;
    private long _cancelled;
    private long _dropped;

    /// <summary>An empty book for a domain's skills; <paramref name="agentId"/> names an agent by its index.</summary>
    public CallbackBook(string domain, HotlineConfig hotline, IReadOnlyList<string> skillNames, Func<int, string> agentId)
    {
        _domain = domain;
        _hotline = hotline;
        _skillNames = skillNames;
        _agentId = agentId;
        _due = new IndexedHeap<CallbackDueIndex>[skillNames.Count];
        for (var i = 0; i < _due.Length; i++)
        {
            _due[i] = new IndexedHeap<CallbackDueIndex>(new CallbackDueIndex(_table), 4);
        }

        _timers = new IndexedHeap<CallbackTimerIndex>(new CallbackTimerIndex(_table), 16);
    }

    /// <summary>Callbacks due now (waiting for an agent).</summary>
    public int DueCount { get; private set; }

    /// <summary>The counts: created, merged, reached, exhausted, cancelled, dropped, owed now.</summary>
    public CallbackTotals Figures => new(_created, _merged, _reached, _exhausted, _cancelled, _dropped, _openByCaller.Count);

    /// <summary>The earliest callback timer: its due time and key (<see cref="long.MaxValue"/> when none).</summary>
    public (long DueMs, long Key) NextTimer => _timers.Count > 0 ? (_timers.Top.K1, _timers.Top.K2) : (long.MaxValue, long.MaxValue);

    /// <summary>The task with this handle (an agent's <see cref="Agent.Callback"/>).</summary>
    public CallbackTask this[int handle] => _table[handle]!;

    /// <summary>The task with this handle, or null (for checks: a handle that holds nothing).</summary>
    public CallbackTask? At(int handle) => handle >= 0 && handle < _table.Count ? _table[handle] : null;

    /// <summary>
    /// A call that did not reach an agent owes its caller a callback: a new task, due at once; or null when the caller is
    /// owed one already (merged), callbacks are off, there is no caller number, or the book is full (dropped).
    /// </summary>
    public CallbackTask? Owe(string? caller, int skill, string reason, long now)
    {
        if (!_hotline.CallbacksEnabled || string.IsNullOrEmpty(caller))
        {
            return null;
        }

        if (_openByCaller.ContainsKey(caller))
        {
            _merged++;
            return null;
        }

        if (_openByCaller.Count >= _hotline.CallbackMaxOpen)
        {
            _dropped++;
            return null;
        }

        var task = new CallbackTask
        {
            Id = string.Create(CultureInfo.InvariantCulture, $"cb-{++_seq}@{_domain}"),
            Caller = caller,
            Skill = skill,
            CreatedMs = now,
            Seq = _seq,
            Reason = reason,
            State = CallbackState.Open,
            NextAttemptMs = now,
        };
        Add(task);
        _created++;
        MakeDue(task);
        return task;
    }

    /// <summary>A task's attempt time came (it is new, or its retry is due): it joins its skill's due callbacks, oldest first.</summary>
    public void MakeDue(CallbackTask task)
    {
        _due[task.Skill].Push(task.CreatedMs, task.Seq, task.Handle);
        DueCount++;
        Schedule(task);
    }

    /// <summary>
    /// The oldest due callback among the skills <paramref name="skills"/> gives (all skills when null); with
    /// <paramref name="escalatedBefore"/>, only one created at or before that time. Null when none.
    /// </summary>
    public CallbackTask? OldestDue(ReadOnlySpan<Membership> skills, bool allSkills, long escalatedBefore = long.MaxValue)
    {
        CallbackTask? best = null;
        if (allSkills)
        {
            foreach (var heap in _due)
            {
                Consider(heap, ref best, escalatedBefore);
            }
        }
        else
        {
            foreach (var m in skills)
            {
                Consider(_due[m.Skill], ref best, escalatedBefore);
            }
        }

        return best;
    }

    /// <summary>A due task is given to agent <paramref name="agent"/> for one attempt.</summary>
    public void Assign(CallbackTask task, int agent, long now)
    {
        _due[task.Skill].RemoveAt(task.DuePos);
        DueCount--;
        task.State = CallbackState.Assigned;
        task.AssignedMs = now;
        task.Attempts++;
        task.Agent = agent;
        Schedule(task);
    }

    /// <summary>The dialer reached the caller: the task is done.</summary>
    public void Reached(CallbackTask task)
    {
        _reached++;
        Close(task, CallbackState.Completed);
    }

    /// <summary>
    /// An attempt failed: once the attempts run out the task is exhausted (returns null; an SMS is owed), else it is
    /// open again and retried after the back-off it returns.
    /// </summary>
    public long? NotReached(CallbackTask task, long now)
    {
        task.Agent = -1;
        if (task.Attempts >= _hotline.CallbackMaxAttempts)
        {
            _exhausted++;
            Close(task, CallbackState.Exhausted);
            return null;
        }

        var backoff = _hotline.CallbackBackoffMs[Math.Min(task.Attempts - 1, _hotline.CallbackBackoffMs.Count - 1)];
        task.State = CallbackState.Open;
        task.NextAttemptMs = now + backoff;
        Schedule(task);
        return backoff;
    }

    /// <summary>A duty manager or the dialer cancels an open task.</summary>
    public void Cancel(CallbackTask task)
    {
        _cancelled++;
        Close(task, CallbackState.Cancelled);
    }

    /// <summary>Takes the earliest timer (due by <see cref="NextTimer"/>): an open task whose retry is due, or an assigned one whose outcome never came.</summary>
    public CallbackTask PopTimer()
    {
        var task = _table[_timers.Pop().Id]!;
        task.TimerDueMs = long.MaxValue;
        return task;
    }

    /// <summary>An open or assigned task by id, or null.</summary>
    public CallbackTask? Find(string callbackId) => _byId.GetValueOrDefault(callbackId);

    /// <summary>One callback, open or among the recently closed; null if unknown.</summary>
    public CallbackView? Get(string callbackId)
    {
        if (_byId.TryGetValue(callbackId, out var task))
        {
            return View(task);
        }

        return _closed.LastOrDefault(c => string.Equals(c.CallbackId, callbackId, StringComparison.Ordinal));
    }

    /// <summary>
    /// Open and assigned callbacks, oldest first, at most <paramref name="limit"/>, starting after the one numbered
    /// <paramref name="afterSeq"/> (the N of <c>cb-N@domain</c>; 0: from the oldest); with <paramref name="closedToo"/>,
    /// the recently closed after them.
    /// </summary>
    public IReadOnlyList<CallbackView> List(bool closedToo, int limit, long afterSeq)
    {
        var list = new List<CallbackView>(Math.Min(limit, _byId.Count + (closedToo ? _closed.Count : 0)));
        var start = _oldest;
        if (afterSeq > 0)
        {
            // Open callbacks are linked in creation order: resume right after the last one listed if it is still open,
            // else after the last older one.
            start = _byId.TryGetValue(string.Create(CultureInfo.InvariantCulture, $"cb-{afterSeq}@{_domain}"), out var last) ? last.Newer : _oldest;
            while (start is not null && start.Seq <= afterSeq)
            {
                start = start.Newer;
            }
        }

        for (var t = start; t is not null && list.Count < limit; t = t.Newer)
        {
            list.Add(View(t));
        }

        if (closedToo)
        {
            list.AddRange(_closed.Take(limit - list.Count));
        }

        return list;
    }

    /// <summary>Writes the book (a snapshot's callback section): the counts, the open tasks in creation order, the recently closed.</summary>
    public void Write(StateWriter w)
    {
        foreach (var v in (ReadOnlySpan<long>)[_seq, _created, _merged, _reached, _exhausted, _cancelled, _dropped])
        {
            w.WriteVarInt(v);
        }

        w.WriteVarInt(_byId.Count);
        for (var t = _oldest; t is not null; t = t.Newer)
        {
            w.WriteString(t.Id);
            w.WriteString(t.Caller);
            w.WriteVarInt(t.Skill);
            w.WriteVarInt(t.CreatedMs);
            w.WriteVarInt(t.Seq);
            w.WriteVarInt(t.Attempts);
            w.WriteByte((byte)t.State);
            w.WriteVarInt(t.Agent);
            w.WriteString(t.Reason);
            w.WriteVarInt(t.NextAttemptMs);
            w.WriteVarInt(t.AssignedMs);
            w.WriteBool(t.DuePos >= 0);
        }

        w.WriteVarInt(_closed.Count);
        foreach (var c in _closed)
        {
            w.WriteString(c.CallbackId);
            w.WriteString(c.Caller);
            w.WriteString(c.Skill);
            w.WriteVarInt(c.CreatedMs);
            w.WriteVarInt(c.Attempts);
            w.WriteByte((byte)c.State);
            w.WriteString(c.AgentId);
            w.WriteString(c.Reason);
            w.WriteVarInt(c.NextAttemptMs);
        }
    }

    /// <summary>Reads what <see cref="Write"/> wrote into an empty book; <paramref name="agents"/> agents exist.</summary>
    public void Read(StateReader r, int agents)
    {
        _seq = r.ReadVarInt();
        _created = r.ReadVarInt();
        _merged = r.ReadVarInt();
        _reached = r.ReadVarInt();
        _exhausted = r.ReadVarInt();
        _cancelled = r.ReadVarInt();
        _dropped = r.ReadVarInt();
        var open = r.ReadInt(0, _hotline.CallbackMaxOpen);
        for (var i = 0; i < open; i++)
        {
            var task = new CallbackTask
            {
                Id = r.ReadRequiredString(),
                Caller = r.ReadRequiredString(),
                Skill = r.ReadInt(0, _due.Length - 1),
                CreatedMs = r.ReadVarInt(),
                Seq = r.ReadVarInt(),
                Attempts = r.ReadInt(0),
                State = r.ReadEnum<CallbackState>(),
                Agent = r.ReadInt(-1, agents - 1),
                Reason = r.ReadRequiredString(),
                NextAttemptMs = r.ReadVarInt(),
                AssignedMs = r.ReadVarInt(),
            };
            var due = r.ReadBool();
            if (_byId.ContainsKey(task.Id) || _openByCaller.ContainsKey(task.Caller))
            {
                throw new InvalidDataException($"callback '{task.Id}' is in the snapshot twice");
            }

            if (task.State == CallbackState.Assigned && task.Agent < 0)
            {
                throw new InvalidDataException($"callback '{task.Id}' is assigned to nobody");
            }

            Add(task);
            if (due)
            {
                _due[task.Skill].Push(task.CreatedMs, task.Seq, task.Handle);
                DueCount++;
            }

            Schedule(task);
        }

        var closed = r.ReadInt(0, ClosedKept);
        for (var i = 0; i < closed; i++)
        {
            _closed.Enqueue(new CallbackView(
                r.ReadRequiredString(), r.ReadRequiredString(), r.ReadRequiredString(), r.ReadVarInt(), r.ReadInt(0),
                r.ReadEnum<CallbackState>(), r.ReadString(), r.ReadRequiredString(), r.ReadVarInt()));
        }
    }

    /// <summary>Every open and assigned task, in no particular order (the router checks its agents against them).</summary>
    public IEnumerable<CallbackTask> Tasks => _table.Where(t => t is not null)!;

    /// <summary>The book's own invariant: indexes, due heaps, timers, the creation-order list and the counts agree.</summary>
    public void Check(List<string> problems)
    {
        var open = 0;
        var due = 0;
        foreach (var task in _table)
        {
            if (task is null)
            {
                continue;
            }

            open++;
            if (!_byId.TryGetValue(task.Id, out var byId) || byId != task
                || !_openByCaller.TryGetValue(task.Caller, out var byCaller) || byCaller != task)
            {
                problems.Add($"callback {task.Id} is not indexed");
            }

            if (task.DuePos >= 0)
            {
                due++;
                if (task.State != CallbackState.Open || _due[task.Skill][task.DuePos].Id != task.Handle)
                {
                    problems.Add($"callback {task.Id} ({task.State}) is not where it thinks among the due");
                }
            }

            if ((task.State == CallbackState.Assigned) != (task.Agent >= 0))
            {
                problems.Add($"callback {task.Id} is {task.State} with agent {task.Agent}");
            }

            var dueAt = TimerDue(task);
            if ((dueAt != long.MaxValue) != (task.TimerPos >= 0) || (task.TimerPos >= 0 && (task.TimerDueMs != dueAt || _timers[task.TimerPos].Id != task.Handle)))
            {
                problems.Add($"callback {task.Id} ({task.State}) should be due at {dueAt}, its timer is at {task.TimerDueMs} (pos {task.TimerPos})");
            }
        }

        var listed = 0;
        for (var t = _oldest; t is not null && listed <= open; t = t.Newer)
        {
            listed++;
            if ((t.Newer is null ? _newest : t.Newer.Older) != t || (t.Newer is not null && t.Newer.Seq <= t.Seq))
            {
                problems.Add($"callback {t.Id} is out of the creation-order list");
            }
        }

        if (listed != open)
        {
            problems.Add($"{listed} callbacks in the creation-order list, {open} open");
        }

        if (open != _byId.Count || open != _openByCaller.Count)
        {
            problems.Add($"{open} callbacks in the table, {_byId.Count} by id, {_openByCaller.Count} by caller");
        }

        if (due != DueCount || due != _due.Sum(h => h.Count))
        {
            problems.Add($"{due} callbacks due, counter {DueCount}, heaps {_due.Sum(h => h.Count)}");
        }

        if (_timers.Count != _table.Count(t => t is not null && t.TimerPos >= 0))
        {
            problems.Add($"{_timers.Count} callback timers for {_table.Count(t => t is not null && t.TimerPos >= 0)} tasks with one");
        }

        if (_created - _reached - _exhausted - _cancelled != open)
        {
            problems.Add($"callbacks do not conserve: {Figures}");
        }
    }

    /// <summary>What a task looks like from outside.</summary>
    public CallbackView View(CallbackTask t) => new(
        t.Id, t.Caller, _skillNames[t.Skill], t.CreatedMs, t.Attempts, t.State,
        t.Agent >= 0 ? _agentId(t.Agent) : null, t.Reason, t.State == CallbackState.Open ? t.NextAttemptMs : 0);

    private void Consider(IndexedHeap<CallbackDueIndex> heap, ref CallbackTask? best, long escalatedBefore)
    {
        if (heap.Count == 0)
        {
            return;
        }

        ref readonly var top = ref heap.Top;
        if (top.K1 <= escalatedBefore && (best is null || top.K1 < best.CreatedMs || (top.K1 == best.CreatedMs && top.K2 < best.Seq)))
        {
            best = _table[top.Id];
        }
    }

    /// <summary>When a task's timer is due: an open task not yet due at its next attempt, an assigned one when its outcome is overdue.</summary>
    private long TimerDue(CallbackTask task) => task.State switch
    {
        CallbackState.Open when task.DuePos < 0 => task.NextAttemptMs,
        CallbackState.Assigned => task.AssignedMs + _hotline.CallbackOutcomeTimeoutMs,
        _ => long.MaxValue,
    };

    private void Schedule(CallbackTask task)
    {
        var due = TimerDue(task);
        if (task.TimerPos >= 0)
        {
            if (task.TimerDueMs == due)
            {
                return;
            }

            _timers.RemoveAt(task.TimerPos);
        }

        task.TimerDueMs = due;
        if (due != long.MaxValue)
        {
            _timers.Push(due, TimerKeyBase + task.Seq, task.Handle);
        }
    }

    /// <summary>Files a task: a table slot, the indexes, the end of the creation-order list.</summary>
    private void Add(CallbackTask task)
    {
        task.Handle = _free.Count > 0 ? _free.Pop() : _table.Count;
        if (task.Handle == _table.Count)
        {
            _table.Add(task);
        }
        else
        {
            _table[task.Handle] = task;
        }

        _byId.Add(task.Id, task);
        _openByCaller.Add(task.Caller, task);
        task.Older = _newest;
        if (_newest is not null)
        {
            _newest.Newer = task;
        }
        else
        {
            _oldest = task;
        }

        _newest = task;
    }

    private void Close(CallbackTask task, CallbackState state)
    {
        if (task.DuePos >= 0)
        {
            _due[task.Skill].RemoveAt(task.DuePos);
            DueCount--;
        }

        if (task.TimerPos >= 0)
        {
            _timers.RemoveAt(task.TimerPos);
        }

        task.State = state;
        if (task.Older is not null)
        {
            task.Older.Newer = task.Newer;
        }
        else
        {
            _oldest = task.Newer;
        }

        if (task.Newer is not null)
        {
            task.Newer.Older = task.Older;
        }
        else
        {
            _newest = task.Older;
        }

        task.Older = task.Newer = null;
        _byId.Remove(task.Id);
        _openByCaller.Remove(task.Caller);
        _table[task.Handle] = null;
        _free.Push(task.Handle);
        _closed.Enqueue(View(task));
        if (_closed.Count > ClosedKept)
        {
            _closed.Dequeue();
        }
    }
}
