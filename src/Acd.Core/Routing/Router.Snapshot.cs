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
    private const int SnapshotVersion = 2; // 2: a waiting SIP call's answer route

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
        if (r.ReadUInt32() != SnapshotMagic)
        {
            throw new InvalidDataException("not a router snapshot");
        }

        var version = r.ReadVarInt();
        if (version > SnapshotVersion)
        {
            throw new NewerFormatException($"the router state is of format {version}, written by a newer release; this release reads format {SnapshotVersion}");
        }

        if (version < 1)
        {
            throw new InvalidDataException($"unknown router state format {version}");
        }

        var router = new Router(config);
        router._now = r.ReadVarInt();
        try
        {
            router.ReadLogicalState(r, (int)version);
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentException or KeyNotFoundException or InvalidOperationException or OverflowException)
        {
            // What the checks while reading did not foresee (found by fuzzing, fuzz/README.md): a state that cannot be
            // rebuilt is refused like any other damage, never half-built.
            throw new InvalidDataException($"the router state is inconsistent ({e.GetType().Name}: {e.Message})", e);
        }
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

        _surge.Write(w);
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
            if (_calls.Records[slot].StoredId is not null)
            {
                calls.Add(slot);
            }
        }

        calls.Sort((x, y) => _calls.Records[x].Seq.CompareTo(_calls.Records[y].Seq));
        w.WriteVarInt(calls.Count);
        foreach (var slot in calls)
        {
            ref readonly var c = ref _calls.Records[slot];
            WriteIdentity(w, in c);
            w.WriteString(ServiceNumberOf(slot));
            w.WriteString(LanguageOf(slot));
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
            w.WriteByte((byte)(c.Flags & ~CallFlags.CallerInRoute));
            w.WriteBlob(c.AnswerRoute);
        }

        // Callbacks in creation order, then the recently closed ones.
        _callbacks.Write(w);
    }

    private void ReadLogicalState(StateReader r, int version)
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

        _surge.Read(r);
        _history.Read(r);
        var vips = r.ReadInt(0, _config.Hotline.MaxVipCallers);
        _vipClass.Clear();
        for (var i = 0; i < vips; i++)
        {
            _vipClass[r.ReadRequiredString()] = r.ReadInt(1, 9);
        }

        ReadAgents(r);
        ReadCalls(r, version);
        _callbacks.Read(r, _agents.Count);
        foreach (var task in _callbacks.Tasks)
        {
            if (task.State == CallbackState.Assigned)
            {
                _agents.Items[task.Agent].Callback = task.Handle;
            }
        }

        // What is derived: pools of available agents and wrap-up timers.
        for (var i = 0; i < _agents.Count; i++)
        {
            var a = _agents.Items[i];
            if (!a.Busy && MayServe(a))
            {
                AddToPool(a);
            }

            ScheduleAgent(a);
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

            a.Role = r.ReadEnum<AgentRole>();
            a.Outbound = r.ReadBool();
            a.Contact = r.ReadRequiredString();
            var skills = new Membership[r.ReadInt(0, Agent.MaxSkills)];
            for (var k = 0; k < skills.Length; k++)
            {
                skills[k] = new Membership { Skill = r.ReadInt(0, _skills.Length - 1), Level = r.ReadInt(1, SkillRuntime.Levels - 1) };
            }

            _agents.FitMemberships(skills.Length);
            a.Skills = skills;
            a.State = r.ReadEnum<AgentState>();
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

    private void ReadCalls(StateReader r, int version)
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
            c.StoredId = id;
            c.StoredCaller = r.ReadString();
            SetServiceAndLanguage(slot, r.ReadString(), r.ReadString());
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
            if (c.Priority > 9 || c.Vip > 9)
            {
                throw new InvalidDataException($"call '{id}' has priority {c.Priority} and VIP class {c.Vip} (0-9)");
            }

            c.State = r.ReadEnum<CallState>();
            c.Flags = (CallFlags)r.ReadByte() & ~CallFlags.CallerInRoute;
            if (version >= 2 && r.ReadBlob(CommandCodec.MaxAnswerRoute) is { Length: > 0 } route)
            {
                c.AnswerRoute = route;
            }

            if (c.Has(CallFlags.Targeted) && c.TargetAgent < 0)
            {
                throw new InvalidDataException($"call '{id}' is targeted at no agent");
            }
            c.TimerDueMs = long.MaxValue;
            c.Owner = null;
            _callIndex.Add(hash, slot);
            switch (c.State)
            {
                case CallState.Queued:
                    _skills[c.Skill].Waiting++;
                    _waiting++;
                    KeepIdentityInRoute(ref c);
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
}
