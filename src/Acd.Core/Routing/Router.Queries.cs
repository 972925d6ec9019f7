using Acd.Core.Domain;

namespace Acd.Core.Routing;

/// <summary>Read-only views of the router's state, for queries (<see cref="Query"/>, answered on the writer's thread) and tests.</summary>
public sealed partial class Router
{
    /// <summary>One agent, or null.</summary>
    public AgentView? GetAgent(string agentId)
    {
        var a = _agents.Find(agentId);
        return a is null ? null : View(a);
    }

    /// <summary>Every agent in roster order.</summary>
    public IReadOnlyList<AgentView> ListAgents()
    {
        var list = new List<AgentView>(_agents.Count);
        for (var i = 0; i < _agents.Count; i++)
        {
            list.Add(View(_agents.Items[i]));
        }

        return list;
    }

    /// <summary>
    /// Before the engine starts on a recovered state: the waiting SIP calls whose INVITE can be answered over a new
    /// connection (their answer route is known), in place order.
    /// </summary>
    public IReadOnlyList<(string CallId, byte[] Route)> AnswerRoutes()
    {
        var routes = new List<(long Seq, string Id, byte[] Route)>();
        foreach (ref readonly var c in _calls.Records.AsSpan())
        {
            if (c.StoredId is not null && c.State == CallState.Queued && c.AnswerRoute is { } route && !c.Has(CallFlags.Detached))
            {
                routes.Add((c.Seq, IdOf(in c), route));
            }
        }

        routes.Sort((x, y) => x.Seq.CompareTo(y.Seq));
        return [.. routes.Select(x => (x.Id, x.Route))];
    }

    /// <summary>
    /// Before the engine starts on a recovered state: makes <paramref name="owner"/> the owner of a waiting call (the
    /// new process's SIP transaction for the INVITE the proxy still holds), so its routing events reach it. The owner is
    /// no part of the state (neither journaled nor in snapshots).
    /// </summary>
    public bool AttachOwner(string callId, object owner)
    {
        if (!TryFindCall(callId, out var slot))
        {
            return false;
        }

        ref var c = ref _calls.Records[slot];
        if (c.State != CallState.Queued)
        {
            return false;
        }

        c.Owner = owner;
        return true;
    }

    /// <summary>The ids of every live call, in place order.</summary>
    public IReadOnlyList<string> LiveCallIds()
    {
        var ids = new List<(long Seq, string Id)>(_calls.Live);
        foreach (ref readonly var c in _calls.Records.AsSpan())
        {
            if (c.StoredId is not null)
            {
                ids.Add((c.Seq, IdOf(in c)));
            }
        }

        ids.Sort();
        return [.. ids.Select(x => x.Id)];
    }

    /// <summary>One live call, or null.</summary>
    public CallView? GetCall(string callId)
    {
        if (!TryFindCall(callId, out var slot))
        {
            return null;
        }

        ref readonly var c = ref _calls.Records[slot];
        var position = c.State == CallState.Queued && _calls.Links[slot].QueuePos != -1 ? PositionOf(slot) : 0;
        return new CallView(
            IdOf(in c),
            CallerOf(in c),
            ServiceNumberOf(slot),
            _skills[c.Skill].Definition.Name,
            c.Priority,
            c.Vip,
            LanguageOf(slot),
            c.State,
            c.FirstEnqueueMs,
            _now - c.FirstEnqueueMs,
            c.Agent >= 0 ? _agents.Items[c.Agent].Id : null,
            position,
            c.Has(CallFlags.Detached),
            c.TargetAgent >= 0 ? _agents.Items[c.TargetAgent].Id : null);
    }

    /// <summary>The statistics of one skill, or null for an unknown skill.</summary>
    public QueueView? GetQueue(string skill)
    {
        var index = _config.FindSkill(skill);
        return index < 0 ? null : View(_skills[index]);
    }

    /// <summary>The statistics of every skill.</summary>
    public IReadOnlyList<QueueView> ListQueues()
    {
        var list = new List<QueueView>(_skills.Length);
        foreach (var s in _skills)
        {
            list.Add(View(s));
        }

        return list;
    }

    /// <summary>The calls connected at or before <paramref name="sinceMs"/> and still connected (a look at the agents, not the calls).</summary>
    public IReadOnlyList<string> CallsTalkingSince(long sinceMs)
    {
        var ids = new List<string>();
        for (var i = 0; i < _agents.Count; i++)
        {
            var a = _agents.Items[i];
            if (a.Call >= 0 && _calls.Records[a.Call] is { State: CallState.Talking } c && c.AnsweredMs <= sinceMs)
            {
                ids.Add(IdOf(in c));
            }
        }

        return ids;
    }

    /// <summary>How many agents are in each state.</summary>
    public AgentStateCounts CountAgentStates()
    {
        var counts = new int[Enum.GetValues<AgentState>().Length];
        for (var i = 0; i < _agents.Count; i++)
        {
            counts[(int)_agents.Items[i].State]++;
        }

        return new AgentStateCounts(counts);
    }

    private long LongestWait(SkillRuntime s)
    {
        var oldest = long.MaxValue;
        var mask = s.QueueMask;
        while (mask != 0)
        {
            var p = System.Numerics.BitOperations.TrailingZeroCount(mask);
            mask &= mask - 1;
            oldest = Math.Min(oldest, _calls.Records[s.Queue[p].Head.Slot].FirstEnqueueMs);
        }

        return oldest == long.MaxValue ? 0 : _now - oldest;
    }

    private QueueView View(SkillRuntime s)
    {
        var st = s.Stats;
        var byState = s.AgentsByState;
        var ready = byState[(int)AgentState.Ready];
        var busy = byState[(int)AgentState.Reserved] + byState[(int)AgentState.Talking] + byState[(int)AgentState.WrapUp];
        return new QueueView
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
            SurgeTier = _surge.EffectiveTier(s.Index),
        };
    }

    private AgentView View(Agent a)
    {
        var skills = new Dictionary<string, int>(a.Skills.Length, StringComparer.Ordinal);
        foreach (var m in a.Skills)
        {
            skills[_skills[m.Skill].Definition.Name] = m.Level;
        }

        return new AgentView(
            a.Id, a.Name, a.Team, a.Role, a.Outbound, a.State, a.Reason, a.StateSinceMs, skills, a.Contact,
            a.Call >= 0 ? IdOf(in _calls.Records[a.Call]) : a.Callback >= 0 ? _callbacks[a.Callback].Id : null,
            a.CallsHandled);
    }
}
