using System.Security.Cryptography;
using Acd.Core.Configuration;
using Acd.Core.Domain;
using Acd.Core.Durability;

namespace Acd.Core.Routing;

/// <summary>
/// Snapshots: the router's whole logical state written canonically (agents in their order, calls and callbacks in
/// their place order, the caller history entry by entry), and read back into a router that behaves exactly as the
/// one written — same events, same state — for every command after. What can be derived (queues, pools, heaps,
/// timers, counts, indexes) is rebuilt, not stored; where a structure's internal layout could differ (a call's slot),
/// nothing observable depends on it. <see cref="StateDigest"/> is a hash of the same bytes without the clock.
/// </summary>
public sealed partial class Router
{
    private const uint SnapshotMagic = 0x5344_4341; // "ACDS"
    private const int SnapshotVersion = 1;

    /// <summary>Writes the state (a snapshot's body).</summary>
    public void WriteState(StateWriter w)
    {
        ArgumentNullException.ThrowIfNull(w);
        w.WriteUInt32(SnapshotMagic);
        w.WriteVarInt(SnapshotVersion);
        w.WriteVarInt(_now);
        WriteLogicalState(w);
    }

    /// <summary>
    /// A SHA-256 over the state, the clock excepted (a query moves the clock and nothing else): two routers with the
    /// same digest hold the same agents, calls, callbacks, surge tiers, statistics and caller history.
    /// </summary>
    public string StateDigest()
    {
        var w = new StateWriter(64 * 1024);
        WriteLogicalState(w);
        return Convert.ToHexString(SHA256.HashData(w.Written));
    }

    /// <summary>A router for <paramref name="config"/> in the state <see cref="WriteState"/> wrote.</summary>
    public static Router ReadState(DomainConfig config, StateReader r)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(r);
        if (r.ReadUInt32() != SnapshotMagic || r.ReadVarInt() != SnapshotVersion)
        {
            throw new InvalidDataException("not a router snapshot of this version");
        }

        var router = new Router(config);
        router._now = r.ReadVarInt();
        router.ReadLogicalState(r);
        if (!r.AtEnd)
        {
            throw new InvalidDataException("the snapshot has bytes after the state");
        }

        return router;
    }

    private void WriteLogicalState(StateWriter w)
    {
        w.WriteString(_config.Fingerprint);
        foreach (var v in (ReadOnlySpan<long>)[_eventSeq, _callSeq, _readySeq, _nextDayMs, _offered, _rejected, _deflected, _abandoned, _timedOut, _ended])
        {
            w.WriteVarInt(v);
        }

        foreach (var s in _skills)
        {
            s.Stats.Write(w);
        }

        w.WriteBool(_surgeStarted);
        w.WriteVarInt(_surgeSlot.Position >= 0 ? _opsTimers[_surgeSlot.Position].K1 : -1);
        WriteScope(w, _domainSurge);
        foreach (var scope in _skillSurge)
        {
            WriteScope(w, scope);
        }

        _history.Write(w);
        w.WriteVarInt(_vipClass.Count);
        foreach (var (caller, vip) in _vipClass.OrderBy(v => v.Key, StringComparer.Ordinal))
        {
            w.WriteString(caller);
            w.WriteVarInt(vip);
        }

        // Agents: the roster's are created from the configuration; those who logged in with their own skills follow.
        w.WriteVarInt(_agents.Count);
        for (var i = 0; i < _agents.Count; i++)
        {
            var a = _agents.Items[i];
            w.WriteString(a.Id);
            if (i >= _config.Roster.Count)
            {
                w.WriteString(a.Definition.Name);
                w.WriteString(a.Definition.Team);
                w.WriteString(a.Definition.Contact);
            }

            w.WriteByte((byte)a.Role);
            w.WriteBool(a.Outbound);
            w.WriteString(a.Contact);
            w.WriteVarInt(a.Skills.Length);
            foreach (var m in a.Skills)
            {
                w.WriteVarInt(m.Skill);
                w.WriteVarInt(m.Level);
            }

            w.WriteByte((byte)a.State);
            w.WriteString(a.Reason);
            w.WriteVarInt(a.StateSinceMs);
            w.WriteVarInt(a.ReadySeq);
            w.WriteVarInt(a.CallsHandled);
            w.WriteVarInt(a.WrapDueMs);
            w.WriteVarInt(a.WrapStartMs);
            w.WriteVarInt(a.WrapExtendedMs);
            w.WriteVarInt(a.WrapSkill);
            w.WriteBool(a.ReturnToStandby);
        }

        // Calls in place order; agents and targets by index.
        var calls = new List<int>(_calls.Live);
        for (var slot = 0; slot < _calls.Records.Length; slot++)
        {
            if (_calls.Records[slot].Id is not null)
            {
                calls.Add(slot);
            }
        }

        calls.Sort((x, y) => _calls.Records[x].Seq.CompareTo(_calls.Records[y].Seq));
        w.WriteVarInt(calls.Count);
        foreach (var slot in calls)
        {
            ref readonly var c = ref _calls.Records[slot];
            w.WriteString(c.Id);
            w.WriteString(c.Caller);
            w.WriteString(c.ServiceNumber);
            w.WriteString(c.Language);
            w.WriteVarInt(c.Connection);
            w.WriteVarInt(c.Seq);
            w.WriteVarInt(c.FirstEnqueueMs);
            w.WriteVarInt(c.MaxWaitDueMs);
            w.WriteVarInt(c.AuxDueMs);
            w.WriteVarInt(c.RoutedMs);
            w.WriteVarInt(c.AnsweredMs);
            w.WriteVarInt(c.Skill);
            w.WriteVarInt(c.Agent);
            w.WriteVarInt(c.TargetAgent);
            w.WriteVarInt(c.History);
            w.WriteByte(c.StepsFired);
            w.WriteByte(c.Priority);
            w.WriteByte(c.Vip);
            w.WriteByte((byte)c.State);
            w.WriteByte((byte)c.Flags);
        }

        // Callbacks in creation order, then the recently closed ones.
        foreach (var v in (ReadOnlySpan<long>)[_callbackSeq, _callbacksCreated, _callbacksMerged, _callbacksReached, _callbacksExhausted, _callbacksCancelled, _callbacksDropped])
        {
            w.WriteVarInt(v);
        }

        w.WriteVarInt(_callbacksById.Count);
        for (var t = _oldestCallback; t is not null; t = t.Newer)
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

        w.WriteVarInt(_closedCallbacks.Count);
        foreach (var c in _closedCallbacks)
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

    private static void WriteScope(StateWriter w, SurgeScope s)
    {
        w.WriteVarInt(s.Tier);
        w.WriteVarInt(s.SinceMs);
        w.WriteString(s.Reason);
        w.WriteVarInt(s.ForcedTier);
        w.WriteVarInt(s.ForcedUntilMs);
        w.WriteVarInt(s.Arrivals);
        w.WriteVarInt(s.Window.Length);
        foreach (var n in s.Window)
        {
            w.WriteVarInt(n);
        }

        w.WriteVarInt(s.WindowNext);
        w.WriteVarInt(s.WindowFilled);
        w.WriteVarInt(s.WindowSum);
        w.WriteDouble(s.ArrivalRate);
        w.WriteDouble(s.Baseline);
        w.WriteVarInt(s.LearnedMs);
    }

    private static void ReadScope(StateReader r, SurgeScope s)
    {
        s.Tier = r.ReadInt(0, 3);
        s.SinceMs = r.ReadVarInt();
        s.Reason = r.ReadRequiredString();
        s.ForcedTier = r.ReadInt(-1, 3);
        s.ForcedUntilMs = r.ReadVarInt();
        s.Arrivals = r.ReadVarInt();
        if (r.ReadInt() != s.Window.Length)
        {
            throw new InvalidDataException("the surge arrival window was written with another length");
        }

        for (var i = 0; i < s.Window.Length; i++)
        {
            s.Window[i] = r.ReadVarInt();
        }

        s.WindowNext = r.ReadInt(0, s.Window.Length - 1);
        s.WindowFilled = r.ReadInt(0, s.Window.Length);
        s.WindowSum = r.ReadVarInt();
        s.ArrivalRate = r.ReadDouble();
        s.Baseline = r.ReadDouble();
        s.LearnedMs = r.ReadVarInt();
    }

    private void ReadLogicalState(StateReader r)
    {
        if (!string.Equals(r.ReadString(), _config.Fingerprint, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"the state of domain '{_config.Name}' was written under another configuration");
        }

        _eventSeq = r.ReadVarInt();
        _callSeq = r.ReadVarInt();
        _readySeq = r.ReadVarInt();
        _nextDayMs = r.ReadVarInt();
        _offered = r.ReadVarInt();
        _rejected = r.ReadVarInt();
        _deflected = r.ReadVarInt();
        _abandoned = r.ReadVarInt();
        _timedOut = r.ReadVarInt();
        _ended = r.ReadVarInt();
        foreach (var s in _skills)
        {
            s.Stats.Read(r);
        }

        _surgeStarted = r.ReadBool();
        var surgeDue = r.ReadVarInt();
        ReadScope(r, _domainSurge);
        foreach (var scope in _skillSurge)
        {
            ReadScope(r, scope);
        }

        RecomputeSurgeEffects();
        _history.Read(r);
        var vips = r.ReadInt(0, _config.Hotline.MaxVipCallers);
        _vipClass.Clear();
        for (var i = 0; i < vips; i++)
        {
            _vipClass[r.ReadRequiredString()] = r.ReadInt(1, 9);
        }

        ReadAgents(r);
        ReadCalls(r);
        ReadCallbacks(r);

        // What is derived: pools of available agents, wrap-up timers, the surge evaluation.
        for (var i = 0; i < _agents.Count; i++)
        {
            var a = _agents.Items[i];
            if (!a.Busy && MayServe(a))
            {
                AddToPool(a);
            }

            ScheduleAgent(a);
        }

        if (surgeDue >= 0)
        {
            _opsTimers.Push(surgeDue, SurgeTimerKey, SurgeTimerId);
        }
    }

    private void ReadAgents(StateReader r)
    {
        var count = r.ReadInt(_config.Roster.Count, _config.MaxAgents);
        for (var i = 0; i < count; i++)
        {
            var id = r.ReadRequiredString();
            Agent a;
            if (i < _config.Roster.Count)
            {
                a = _agents.Items[i];
                if (!string.Equals(a.Id, id, StringComparison.Ordinal))
                {
                    throw new InvalidDataException($"agent {i} is '{id}' in the snapshot, '{a.Id}' in the roster");
                }
            }
            else
            {
                var name = r.ReadString();
                var team = r.ReadString();
                var contact = r.ReadRequiredString();
                a = AddAgent(new AgentDefinition(id, name, team, AgentRole.Agent, false, [], contact, AgentState.LoggedOut));
            }

            foreach (var m in a.Skills)
            {
                _skills[m.Skill].AgentsByState[(int)AgentState.LoggedOut]--;
            }

            a.Role = ReadEnum<AgentRole>(r);
            a.Outbound = r.ReadBool();
            a.Contact = r.ReadRequiredString();
            var skills = new Membership[r.ReadInt(0, Agent.MaxSkills)];
            for (var k = 0; k < skills.Length; k++)
            {
                skills[k] = new Membership { Skill = r.ReadInt(0, _skills.Length - 1), Level = r.ReadInt(1, SkillRuntime.Levels - 1), PoolPos = -1 };
            }

            a.Skills = skills;
            a.State = ReadEnum<AgentState>(r);
            a.Reason = r.ReadString();
            a.StateSinceMs = r.ReadVarInt();
            a.ReadySeq = r.ReadVarInt();
            a.CallsHandled = r.ReadInt(0);
            a.WrapDueMs = r.ReadVarInt();
            a.WrapStartMs = r.ReadVarInt();
            a.WrapExtendedMs = r.ReadVarInt();
            a.WrapSkill = r.ReadInt(-1, _skills.Length - 1);
            a.ReturnToStandby = r.ReadBool();
            RefreshRouting(a);
            foreach (var m in a.Skills)
            {
                var s = _skills[m.Skill];
                s.AgentsByState[(int)a.State]++;
                if (a.State != AgentState.LoggedOut)
                {
                    s.StaffedByLevel[m.Level]++;
                }
            }
        }
    }

    private void ReadCalls(StateReader r)
    {
        var count = r.ReadInt(0, _config.MaxLiveCalls);
        for (var i = 0; i < count; i++)
        {
            var id = r.ReadRequiredString();
            if (_callIndex.Find(id, out var hash) >= 0)
            {
                throw new InvalidDataException($"call '{id}' is in the snapshot twice");
            }

            var slot = _calls.Allocate();
            ref var c = ref _calls.Records[slot];
            c.Id = id;
            c.Caller = r.ReadString();
            c.ServiceNumber = r.ReadString();
            c.Language = r.ReadString();
            c.Connection = r.ReadVarInt();
            c.Seq = r.ReadVarInt();
            c.FirstEnqueueMs = r.ReadVarInt();
            c.MaxWaitDueMs = r.ReadVarInt();
            c.AuxDueMs = r.ReadVarInt();
            c.RoutedMs = r.ReadVarInt();
            c.AnsweredMs = r.ReadVarInt();
            c.Skill = r.ReadInt(0, _skills.Length - 1);
            c.Agent = r.ReadInt(-1, _agents.Count - 1);
            c.TargetAgent = r.ReadInt(-1, _agents.Count - 1);
            c.History = r.ReadInt(-1);
            c.StepsFired = r.ReadByte();
            c.Priority = r.ReadByte();
            c.Vip = r.ReadByte();
            c.State = ReadEnum<CallState>(r);
            c.Flags = (CallFlags)r.ReadByte();
            c.TimerDueMs = long.MaxValue;
            c.Owner = null;
            _callIndex.Add(hash, slot);
            switch (c.State)
            {
                case CallState.Queued:
                    _skills[c.Skill].Waiting++;
                    _waiting++;
                    if (!c.Has(CallFlags.Detached))
                    {
                        // In place order, so every queue is rebuilt in the order it had.
                        Enqueue(slot);
                    }

                    break;
                case CallState.Offered or CallState.Talking:
                    if (c.State == CallState.Offered)
                    {
                        _ringing++;
                    }
                    else
                    {
                        _talking++;
                    }

                    if (c.Agent < 0)
                    {
                        throw new InvalidDataException($"call '{id}' is {c.State} without an agent");
                    }

                    _agents.Items[c.Agent].Call = slot;
                    break;
                default:
                    throw new InvalidDataException($"call '{id}' is {c.State} in a snapshot of live calls");
            }

            ScheduleCall(slot);
        }
    }

    private void ReadCallbacks(StateReader r)
    {
        _callbackSeq = r.ReadVarInt();
        _callbacksCreated = r.ReadVarInt();
        _callbacksMerged = r.ReadVarInt();
        _callbacksReached = r.ReadVarInt();
        _callbacksExhausted = r.ReadVarInt();
        _callbacksCancelled = r.ReadVarInt();
        _callbacksDropped = r.ReadVarInt();
        var open = r.ReadInt(0, _config.Hotline.CallbackMaxOpen);
        for (var i = 0; i < open; i++)
        {
            var task = new CallbackTask
            {
                Id = r.ReadRequiredString(),
                Caller = r.ReadRequiredString(),
                Skill = r.ReadInt(0, _skills.Length - 1),
                CreatedMs = r.ReadVarInt(),
                Seq = r.ReadVarInt(),
                Attempts = r.ReadInt(0),
                State = ReadEnum<CallbackState>(r),
                Agent = r.ReadInt(-1, _agents.Count - 1),
                Reason = r.ReadRequiredString(),
                NextAttemptMs = r.ReadVarInt(),
                AssignedMs = r.ReadVarInt(),
                Handle = i,
            };
            var due = r.ReadBool();
            _callbackTable.Add(task);
            if (!_callbacksById.TryAdd(task.Id, task) || !_openByCaller.TryAdd(task.Caller, task))
            {
                throw new InvalidDataException($"callback '{task.Id}' is in the snapshot twice");
            }

            task.Older = _newestCallback;
            if (_newestCallback is null)
            {
                _oldestCallback = task;
            }
            else
            {
                _newestCallback.Newer = task;
            }

            _newestCallback = task;
            if (task.State == CallbackState.Assigned)
            {
                if (task.Agent < 0)
                {
                    throw new InvalidDataException($"callback '{task.Id}' is assigned to nobody");
                }

                _agents.Items[task.Agent].Callback = task.Handle;
            }

            if (due)
            {
                _dueCallbacks[task.Skill].Push(task.CreatedMs, task.Seq, task.Handle);
                _callbacksDue++;
            }

            ScheduleCallback(task);
        }

        var closed = r.ReadInt(0, ClosedCallbacksKept);
        for (var i = 0; i < closed; i++)
        {
            _closedCallbacks.Enqueue(new CallbackSnapshot(
                r.ReadRequiredString(), r.ReadRequiredString(), r.ReadRequiredString(), r.ReadVarInt(), r.ReadInt(0),
                ReadEnum<CallbackState>(r), r.ReadString(), r.ReadRequiredString(), r.ReadVarInt()));
        }
    }

    private static T ReadEnum<T>(StateReader r)
        where T : struct, Enum
    {
        var value = r.ReadByte();
        var e = (T)Enum.ToObject(typeof(T), value);
        return Enum.IsDefined(e) ? e : throw new InvalidDataException($"{value} is not a {typeof(T).Name}");
    }
}
