using Acd.Core.Domain;

namespace Acd.Core.Routing;

/// <summary>Read-only views of the router's state, for queries (answered on the writer's thread) and tests.</summary>
public sealed partial class Router
{
    /// <summary>One agent, or null.</summary>
    public AgentSnapshot? GetAgent(string agentId)
    {
        var a = _agents.Find(agentId);
        return a is null ? null : Snapshot(a);
    }

    /// <summary>Every agent in roster order.</summary>
    public IReadOnlyList<AgentSnapshot> ListAgents()
    {
        var list = new List<AgentSnapshot>(_agents.Count);
        for (var i = 0; i < _agents.Count; i++)
        {
            list.Add(Snapshot(_agents.Items[i]));
        }

        return list;
    }

    /// <summary>The ids of every live call, in place order.</summary>
    public IReadOnlyList<string> LiveCallIds()
    {
        var ids = new List<(long Seq, string Id)>(_calls.Live);
        foreach (ref readonly var c in _calls.Records.AsSpan())
        {
            if (c.Id is not null)
            {
                ids.Add((c.Seq, c.Id));
            }
        }

        ids.Sort();
        return [.. ids.Select(x => x.Id)];
    }

    /// <summary>One live call, or null.</summary>
    public CallSnapshot? GetCall(string callId)
    {
        if (!TryFindCall(callId, out var slot))
        {
            return null;
        }

        ref readonly var c = ref _calls.Records[slot];
        var position = c.State == CallState.Queued && _calls.QueuePos[slot] != -1 ? PositionOf(slot) : 0;
        return new CallSnapshot(
            c.Id,
            c.Caller,
            c.ServiceNumber,
            _skills[c.Skill].Definition.Name,
            c.Priority,
            c.Vip,
            c.Language,
            c.State,
            c.FirstEnqueueMs,
            _now - c.FirstEnqueueMs,
            c.Agent >= 0 ? _agents.Items[c.Agent].Id : null,
            position,
            c.Has(CallFlags.Detached),
            c.TargetAgent >= 0 ? _agents.Items[c.TargetAgent].Id : null);
    }

    /// <summary>The statistics of one skill, or null for an unknown skill.</summary>
    public QueueSnapshot? GetQueue(string skill)
    {
        var index = _config.FindSkill(skill);
        return index < 0 ? null : Snapshot(_skills[index]);
    }

    /// <summary>The statistics of every skill.</summary>
    public IReadOnlyList<QueueSnapshot> ListQueues()
    {
        var list = new List<QueueSnapshot>(_skills.Length);
        foreach (var s in _skills)
        {
            list.Add(Snapshot(s));
        }

        return list;
    }

    /// <summary>
    /// Writes the queues' live figures into <paramref name="into"/> (one entry per skill, reused) without allocating:
    /// for metrics scraped every few seconds.
    /// </summary>
    public void CopyQueueFigures(Span<QueueFigures> into)
    {
        for (var i = 0; i < _skills.Length && i < into.Length; i++)
        {
            var s = _skills[i];
            var st = s.Stats;
            into[i] = new QueueFigures(
                s.Waiting,
                LongestWait(s),
                st.ServiceLevelRolling(_now),
                st.ServiceLevelToday,
                st.AverageSpeedOfAnswerMs,
                st.AverageHandleTimeMs);
        }
    }

    private CommandResult Query(QueryCommand q)
    {
        switch (q.Query)
        {
            case QueryKind.Agent:
                var agent = GetAgent(q.Key ?? string.Empty);
                return agent is null ? UnknownAgent(q.Key ?? string.Empty) : new CommandResult { Data = agent };
            case QueryKind.Agents:
                return new CommandResult { Data = ListAgents() };
            case QueryKind.Call:
                var call = GetCall(q.Key ?? string.Empty);
                return call is null ? UnknownCall(q.Key ?? string.Empty) : new CommandResult { Data = call };
            case QueryKind.Queues when q.Key is not null:
                var queue = GetQueue(q.Key);
                return queue is null ? Fail(ResultCode.NotFound, $"unknown skill '{q.Key}'") : new CommandResult { Data = new[] { queue } };
            case QueryKind.Queues:
                return new CommandResult { Data = ListQueues() };
            case QueryKind.AgentStates:
                var counts = new int[7];
                for (var i = 0; i < _agents.Count; i++)
                {
                    counts[(int)_agents.Items[i].State]++;
                }

                return new CommandResult { Data = counts };
            case QueryKind.Surge:
                var surge = GetSurge(q.Key);
                return surge is null ? Fail(ResultCode.NotFound, $"unknown skill '{q.Key}'") : new CommandResult { Data = surge };
            case QueryKind.Callbacks:
                return new CommandResult { Data = ListCallbacks(string.Equals(q.Key, "all", StringComparison.Ordinal), q.Limit, q.After) };
            case QueryKind.Digest:
                return new CommandResult { Data = StateDigest() };
            case QueryKind.State:
                if (LiveCalls > q.Limit)
                {
                    return new CommandResult { Data = null };
                }

                var state = new Acd.Core.Durability.StateWriter(1 << 20);
                WriteState(state);
                return new CommandResult { Data = state.Written.ToArray() };
            case QueryKind.Callback:
                var callback = GetCallback(q.Key ?? string.Empty);
                return callback is null ? Fail(ResultCode.NotFound, $"unknown callback '{q.Key}'") : new CommandResult { Data = callback };
            case QueryKind.CallbackTotals:
                return new CommandResult { Data = CallbackFigures };
            default:
                return Fail(ResultCode.InvalidArgument, $"unknown query {q.Query}");
        }
    }

    private long LongestWait(SkillRuntime s)
    {
        var oldest = long.MaxValue;
        var mask = s.QueueMask;
        while (mask != 0)
        {
            var p = System.Numerics.BitOperations.TrailingZeroCount(mask);
            mask &= mask - 1;
            oldest = Math.Min(oldest, s.Queue[p].Head.FirstEnqueueMs);
        }

        return oldest == long.MaxValue ? 0 : _now - oldest;
    }

    private QueueSnapshot Snapshot(SkillRuntime s)
    {
        var st = s.Stats;
        var byState = s.AgentsByState;
        var ready = byState[(int)AgentState.Ready];
        var busy = byState[(int)AgentState.Reserved] + byState[(int)AgentState.Talking] + byState[(int)AgentState.WrapUp];
        return new QueueSnapshot
        {
            Skill = s.Definition.Name,
            Waiting = s.Waiting,
            LongestWaitMs = LongestWait(s),
            Offered = st.Offered,
            Answered = st.Answered,
            Abandoned = st.Abandoned,
            AnsweredWithinThreshold = st.AnsweredWithinThreshold,
            TimedOut = st.TimedOut,
            Rejected = st.Rejected,
            ServiceLevelRolling = st.ServiceLevelRolling(_now),
            ServiceLevelToday = st.ServiceLevelToday,
            ServiceLevelTarget = s.Definition.ServiceLevelTarget,
            ThresholdMs = s.Definition.ServiceLevelMs,
            AsaMs = st.AverageSpeedOfAnswerMs,
            AhtMs = st.AverageHandleTimeMs,
            AgentsByState = [.. byState],
            AgentsReady = ready,
            AgentsBusy = busy,
            Occupancy = busy + ready == 0 ? 0 : (double)busy / (busy + ready),
            ArrivalRatePerSecond = st.ArrivalRate(_now),
            Deflected = st.Deflected,
            SurgeTier = _effectiveTier[s.Index],
        };
    }

    private AgentSnapshot Snapshot(Agent a)
    {
        var skills = new Dictionary<string, int>(a.Skills.Length, StringComparer.Ordinal);
        foreach (var m in a.Skills)
        {
            skills[_skills[m.Skill].Definition.Name] = m.Level;
        }

        return new AgentSnapshot(
            a.Id, a.Name, a.Team, a.Role, a.Outbound, a.State, a.Reason, a.StateSinceMs, skills, a.Contact,
            a.Call >= 0 ? _calls.Records[a.Call].Id : a.Callback >= 0 ? _callbackTable[a.Callback]!.Id : null,
            a.CallsHandled);
    }
}

/// <summary>The live figures of one queue, copied without allocation.</summary>
/// <param name="Waiting">Calls waiting.</param>
/// <param name="LongestWaitMs">Longest current wait.</param>
/// <param name="ServiceLevelRolling">Five-minute service level.</param>
/// <param name="ServiceLevelToday">Service level since the day boundary.</param>
/// <param name="AsaMs">Average speed of answer.</param>
/// <param name="AhtMs">Average handle time.</param>
public readonly record struct QueueFigures(int Waiting, long LongestWaitMs, double ServiceLevelRolling, double ServiceLevelToday, long AsaMs, long AhtMs);
