using System.Numerics;
using Acd.Core.Domain;

namespace Acd.Core.Routing;

/// <summary>
/// Matching. The router keeps one invariant: no available agent is eligible for any waiting call. It is restored
/// at the two moments it can break:
/// <list type="bullet">
/// <item>an agent becomes available: it takes, among the calls it is eligible for, the one with the highest
/// (effective) priority, then the earliest place in line; with none it joins the pools of its skills;</item>
/// <item>a call becomes routable (arrival, requeue, an overflow step, the end of a targeted wait): it goes to an
/// agent of its own skill chosen by that skill's strategy; with none available, to the agents of its fired overflow
/// steps in step order, each step's pool choosing by its own skill's strategy; with none it waits.</item>
/// </list>
/// A call waiting for one agent (transfer, ownership) is eligible for that agent only.
/// </summary>
public sealed partial class Router
{
    private const int NotComputed = -2;

    /// <summary>The available agent a call of <paramref name="skill"/> first enqueued at <paramref name="firstEnqueueMs"/> goes to; -1 if none.</summary>
    private int FindAgent(int skill, long firstEnqueueMs, int targetAgent)
    {
        if (targetAgent >= 0)
        {
            return _agents.Items[targetAgent].InPool ? targetAgent : -1;
        }

        var s = _skills[skill];
        var agent = s.PickAgent(1);
        if (agent >= 0)
        {
            return agent;
        }

        if (_surge.SupportActive && skill == _config.Hotline.SupportTarget)
        {
            foreach (var support in _config.Hotline.SupportSkills)
            {
                agent = _skills[support].PickAgent(1);
                if (agent >= 0)
                {
                    return agent;
                }
            }
        }

        var waited = _now - firstEnqueueMs;
        foreach (var step in s.Steps)
        {
            if (waited < StepDelay(skill, step.AfterMs))
            {
                break;
            }

            agent = _skills[step.Skill].PickAgent(step.MinLevel);
            if (agent >= 0)
            {
                return agent;
            }
        }

        return -1;
    }

    /// <summary>The waiting call agent <paramref name="a"/> takes: highest effective priority, then earliest place; -1 if none.</summary>
    private int BestCallFor(Agent a)
    {
        var bestSlot = -1;
        var bestPriority = -1;
        var bestSeq = long.MaxValue;

        if (a.Personal is { Count: > 0 } personal)
        {
            ref readonly var top = ref personal.Top;
            bestPriority = 9 - (int)top.K1;
            bestSeq = top.K2;
            bestSlot = top.Id;
        }

        foreach (var source in a.Sources)
        {
            var s = _skills[source.Skill];
            var mask = s.QueueMask;
            if (mask == 0)
            {
                continue;
            }

            if (source.IsHome)
            {
                var p = 31 - BitOperations.LeadingZeroCount((uint)mask);
                var head = s.Queue[p].Head;
                if (p > bestPriority || (p == bestPriority && head.Seq < bestSeq))
                {
                    bestPriority = p;
                    bestSeq = head.Seq;
                    bestSlot = head.Slot;
                }

                continue;
            }

            // An overflow source: within a priority the queue is in first-enqueue order, so if its head has not
            // waited long enough, nobody behind it has.
            var latest = _now - StepDelay(source.Skill, source.DelayMs);
            if (source.Priority < 0)
            {
                while (mask != 0)
                {
                    var p = 31 - BitOperations.LeadingZeroCount((uint)mask);
                    mask &= ~(1 << p);
                    var head = s.Queue[p].Head;
                    if (_calls.Records[head.Slot].FirstEnqueueMs > latest)
                    {
                        continue;
                    }

                    if (p > bestPriority || (p == bestPriority && head.Seq < bestSeq))
                    {
                        bestPriority = p;
                        bestSeq = head.Seq;
                        bestSlot = head.Slot;
                    }

                    break;
                }
            }
            else
            {
                while (mask != 0)
                {
                    var p = BitOperations.TrailingZeroCount(mask);
                    mask &= mask - 1;
                    var head = s.Queue[p].Head;
                    if (_calls.Records[head.Slot].FirstEnqueueMs <= latest && (source.Priority > bestPriority || (source.Priority == bestPriority && head.Seq < bestSeq)))
                    {
                        bestPriority = source.Priority;
                        bestSeq = head.Seq;
                        bestSlot = head.Slot;
                    }
                }
            }
        }

        if (_surge.SupportActive && a.Supporter)
        {
            // Tier 1: a support seat takes calls of the supported skill as if it held it.
            var s = _skills[_config.Hotline.SupportTarget];
            var mask = s.QueueMask;
            if (mask != 0)
            {
                var p = 31 - BitOperations.LeadingZeroCount((uint)mask);
                var head = s.Queue[p].Head;
                if (p > bestPriority || (p == bestPriority && head.Seq < bestSeq))
                {
                    bestSlot = head.Slot;
                }
            }
        }

        return bestSlot;
    }

    /// <summary>
    /// An agent has just become available (Ready, or Standby in a tier that reaches it): an outbound agent dials a due
    /// callback first; any agent dials a callback of its skills that has aged past the escalation time; else it takes
    /// its best call; else a due callback of its skills; else it joins its pools.
    /// </summary>
    private void BecomeAvailable(Agent a)
    {
        a.ReadySeq = ++_readySeq;
        if (_callbacks.DueCount > 0 && BestCallbackFor(a, escalatedOnly: !a.Outbound) is { } first)
        {
            AssignCallback(a, first);
            return;
        }

        var slot = BestCallFor(a);
        if (slot >= 0)
        {
            Assign(a, slot);
            return;
        }

        if (_callbacks.DueCount > 0 && !a.Outbound && BestCallbackFor(a, escalatedOnly: false) is { } callback)
        {
            AssignCallback(a, callback);
            return;
        }

        AddToPool(a);
    }

    /// <summary>Back from a call, a wrap-up or a callback: to Standby if a surge tier called the agent from there, else Ready; then available if it may serve.</summary>
    private void ReturnFromWork(Agent a)
    {
        var to = a.ReturnToStandby ? AgentState.Standby : AgentState.Ready;
        a.ReturnToStandby = false;
        ChangeState(a, to, null);
        if (MayServe(a))
        {
            BecomeAvailable(a);
        }
    }

    private void AddToPool(Agent a)
    {
        var skills = a.Skills;
        for (var i = 0; i < skills.Length; i++)
        {
            var s = _skills[skills[i].Skill];
            s.PoolKey(a, out var k1, out var k2);
            var level = skills[i].Level;
            s.Pool[level].Push(k1, k2, PoolEntry.Of(a.Index, i));
            s.PoolMask |= 1 << level;
        }

        if (a.Outbound)
        {
            _outboundPool.Push(a.ReadySeq, a.Index, a.Index);
        }

        a.InPool = true;
    }

    private void RemoveFromPool(Agent a)
    {
        for (var i = 0; i < a.Skills.Length; i++)
        {
            var m = a.Skills[i];
            var s = _skills[m.Skill];
            var heap = s.Pool[m.Level];
            heap.Remove(PoolEntry.Of(a.Index, i));
            if (heap.Count == 0)
            {
                s.PoolMask &= ~(1 << m.Level);
            }
        }

        if (a.OutboundPos >= 0)
        {
            _outboundPool.RemoveAt(a.OutboundPos);
        }

        a.InPool = false;
    }

    /// <summary>Puts a waiting call into its queue (its skill's, or its target agent's).</summary>
    private void Enqueue(int slot)
    {
        ref var c = ref _calls.Records[slot];
        if (c.Has(CallFlags.Targeted))
        {
            var target = _agents.Items[c.TargetAgent];
            target.Personal ??= new IndexedHeap<CallQueueIndex>(new CallQueueIndex(_calls), 4);
            target.Personal.Push(9 - c.Priority, c.Seq, slot);
            return;
        }

        var s = _skills[c.Skill];
        s.Queue[c.Priority].Push(c.Seq, slot);
        s.QueueMask |= 1 << c.Priority;
    }

    /// <summary>Takes a call out of whichever queue holds it (no-op if none).</summary>
    private void Dequeue(int slot)
    {
        ref var c = ref _calls.Records[slot];
        var pos = _calls.Links[slot].QueuePos;
        if (pos == -1)
        {
            return;
        }

        TakeIdentityBack(ref c);

        if (c.Has(CallFlags.Targeted))
        {
            _agents.Items[c.TargetAgent].Personal!.RemoveAt(pos);
            return;
        }

        var s = _skills[c.Skill];
        var queue = s.Queue[c.Priority];
        queue.Remove(slot);
        if (queue.Count == 0)
        {
            s.QueueMask &= ~(1 << c.Priority);
        }
        else
        {
            PrefetchNextInLine(queue);
        }
    }

    /// <summary>Gives call <paramref name="slot"/> to agent <paramref name="a"/>: the agent rings (Reserved) or, for a SIP hand-off, talks.</summary>
    private void Assign(Agent a, int slot)
    {
        ref var c = ref _calls.Records[slot];
        if (c.State == CallState.Queued)
        {
            Dequeue(slot);
            _skills[c.Skill].Waiting--;
            _waiting--;
            c.Flags &= ~CallFlags.Targeted;
            c.TargetAgent = -1;
        }

        if (a.InPool)
        {
            RemoveFromPool(a);
        }

        a.Call = slot;
        a.ReturnToStandby = a.State == AgentState.Standby;
        c.Agent = a.Index;
        if (_history.Capacity > 0 && CallerOf(in c) is { } caller)
        {
            _history.RecordAgent(c.History, caller, a.Index, _now);
        }

        c.RoutedMs = _now;
        c.AuxDueMs = _now + _config.RingTimeoutMs;
        var handoff = c.Has(CallFlags.Handoff);
        if (handoff)
        {
            c.State = CallState.Talking;
            c.Flags |= CallFlags.AnswerPending;
            c.AnsweredMs = _now;
            _talking++;
        }
        else
        {
            c.State = CallState.Offered;
            _ringing++;
        }

        {
            ref var e = ref Emit(EventKind.CallRouted);
            e.CallId = IdOf(in c);
            e.Caller = CallerOf(in c);
            e.AgentId = a.Id;
            e.Contact = a.Contact;
            e.Skill = _skills[c.Skill].Definition.Name;
            e.Priority = c.Priority;
            e.WaitMs = _now - c.FirstEnqueueMs;
            e.Handoff = handoff;
            e.Owner = c.Owner;
            e.AnswerRoute = c.AnswerRoute;
        }

        // The 302 answers the INVITE now: after a restart there is nothing more to answer for it, and no later event of
        // the call answers it again (its owner hears only events that carry the route).
        SetRoute(ref c, null);
        ChangeState(a, handoff ? AgentState.Talking : AgentState.Reserved, null);
        ScheduleCall(slot);
    }

    /// <summary>A call in state Queued (counted as waiting) that sits in no queue, or in its skill queue: route it now or keep it waiting.</summary>
    private bool RouteOrHold(int slot, int agentHint = NotComputed)
    {
        ref var c = ref _calls.Records[slot];
        var agent = agentHint != NotComputed ? agentHint : FindAgent(c.Skill, c.FirstEnqueueMs, c.Has(CallFlags.Targeted) ? c.TargetAgent : -1);
        if (agent >= 0)
        {
            Assign(_agents.Items[agent], slot);
            return true;
        }

        if (_calls.Links[slot].QueuePos == -1)
        {
            Enqueue(slot);
        }

        ScheduleCall(slot);
        return false;
    }

    /// <summary>A call comes (back) into waiting: arrival, ring-no-answer, transfer, resume. Routes it or queues it with a CallQueued event.</summary>
    private CommandResult EnterWaiting(int slot, bool counted = false, int agentHint = NotComputed)
    {
        ref var c = ref _calls.Records[slot];
        var s = _skills[c.Skill];
        if (!counted)
        {
            c.State = CallState.Queued;
            s.Waiting++;
            _waiting++;
        }

        if (_now >= c.MaxWaitDueMs)
        {
            TimeOutCall(slot);
            return CommandResult.Ok;
        }

        CatchUpSteps(ref c);
        if (RouteOrHold(slot, agentHint))
        {
            var a = _agents.Items[_calls.Records[slot].Agent];
            return new CommandResult { Outcome = OfferOutcome.Routed, AgentId = a.Id, Contact = a.Contact, Skill = s.Definition.Name };
        }

        c = ref _calls.Records[slot];
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

    /// <summary>Position of a waiting call in its queue (1 = next): higher priorities, then earlier places, are ahead.</summary>
    private int PositionOf(int slot)
    {
        ref readonly var c = ref _calls.Records[slot];
        var ahead = 0;
        if (c.Has(CallFlags.Targeted))
        {
            var personal = _agents.Items[c.TargetAgent].Personal!;
            var mine = personal[_calls.Links[slot].QueuePos];
            for (var i = 0; i < personal.Count; i++)
            {
                if (personal[i].Before(mine))
                {
                    ahead++;
                }
            }

            return ahead + 1;
        }

        var s = _skills[c.Skill];
        for (var higher = s.QueueMask & -(2 << c.Priority); higher != 0; higher &= higher - 1) // the levels above with calls
        {
            ahead += s.Queue[BitOperations.TrailingZeroCount(higher)].Count;
        }

        var level = s.Queue[c.Priority];
        ahead += c.Seq == _callSeq ? level.Count - 1 : level.CountBefore(c.Seq);

        return ahead + 1;
    }

    /// <summary>Estimated wait: position × average handle time ÷ agents working the skill (at least one).</summary>
    private long EstimateWait(SkillRuntime s, int position)
    {
        var aht = s.Stats.Handled > 0 ? s.Stats.AverageHandleTimeMs : _config.DefaultHandleTimeMs;
        var working = s.AgentsByState[(int)AgentState.Ready] + s.AgentsByState[(int)AgentState.Reserved]
            + s.AgentsByState[(int)AgentState.Talking] + s.AgentsByState[(int)AgentState.WrapUp];
        return position * aht / Math.Max(1, working);
    }

    /// <summary>Whether any agent who could ever take a call of this skill is logged in (its own, or through an overflow step).</summary>
    private bool HasStaff(SkillRuntime s)
    {
        if (s.StaffedAtLeast(1) > 0)
        {
            return true;
        }

        foreach (var step in s.Steps)
        {
            if (_skills[step.Skill].StaffedAtLeast(step.MinLevel) > 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Works out what an agent may take: its sources, and whether it is a tier-1 support seat.</summary>
    private void RefreshRouting(Agent a)
    {
        a.Sources = ComputeSources(a);
        var hotline = _config.Hotline;
        a.Supporter = hotline.SupportTarget >= 0 && a.LevelIn(hotline.SupportTarget) == 0 && hotline.SupportSkills.Any(s => a.LevelIn(s) > 0);
    }

    /// <summary>The queues an agent may take calls from: its skills, then the first overflow step of each other skill that reaches it.</summary>
    private Source[] ComputeSources(Agent a)
    {
        var list = new List<Source>();
        foreach (var m in a.Skills)
        {
            list.Add(new Source(m.Skill, 0, -1));
        }

        foreach (var s in _skills)
        {
            if (a.LevelIn(s.Index) > 0)
            {
                continue;
            }

            foreach (var step in s.Steps)
            {
                if (a.LevelIn(step.Skill) >= step.MinLevel)
                {
                    list.Add(new Source(s.Index, step.AfterMs, step.Priority));
                    break;
                }
            }
        }

        return [.. list];
    }
}
