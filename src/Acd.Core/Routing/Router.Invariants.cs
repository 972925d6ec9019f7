using Acd.Core.Domain;

namespace Acd.Core.Routing;

/// <summary>Self-checks of the router's internal structures, for tests (O(agents + calls)).</summary>
public sealed partial class Router
{
    /// <summary>Every broken internal invariant, described; empty when the state is consistent.</summary>
    internal List<string> CheckInvariants()
    {
        var problems = new List<string>();
        _timers.Check(problems);
        var poolEntries = 0;
        for (var i = 0; i < _agents.Count; i++)
        {
            var a = _agents.Items[i];
            var busy = a.State is AgentState.Reserved or AgentState.Talking;
            if (busy != a.Busy || (a.Call >= 0 && a.Callback >= 0))
            {
                problems.Add($"agent {a.Id} is {a.State} with call slot {a.Call} and callback {a.Callback}");
            }

            if (a.Callback >= 0 && (_callbacks.At(a.Callback) is not { State: CallbackState.Assigned } t || t.Agent != i))
            {
                problems.Add($"agent {a.Id} dials callback {a.Callback} which is not assigned to it");
            }

            if (a.ReturnToStandby && !busy && a.State != AgentState.WrapUp)
            {
                problems.Add($"agent {a.Id} is {a.State} and still marked to return to standby");
            }

            if ((a.OutboundPos >= 0) != (a.InPool && a.Outbound))
            {
                problems.Add($"agent {a.Id} outbound pool position {a.OutboundPos} with InPool={a.InPool}");
            }

            if (a.Call >= 0 && _calls.Records[a.Call].Agent != i)
            {
                problems.Add($"agent {a.Id} holds call {IdOf(in _calls.Records[a.Call])} which points at agent {_calls.Records[a.Call].Agent}");
            }

            if (a.InPool != (!busy && MayServe(a)))
            {
                problems.Add($"agent {a.Id} is {a.State} with InPool={a.InPool}");
            }

            if (a.InPool && (BestCallFor(a) >= 0 || BestCallbackFor(a, escalatedOnly: false) is not null))
            {
                problems.Add($"agent {a.Id} is available while a call or a callback it may take waits");
            }

            if (a.InPool)
            {
                poolEntries += a.Skills.Length;
                for (var k = 0; k < a.Skills.Length; k++)
                {
                    var m = a.Skills[k];
                    var heap = _skills[m.Skill].Pool[m.Level];
                    if (!heap.Holds(PoolEntry.Of(i, k)))
                    {
                        problems.Add($"agent {a.Id} is not where it thinks in pool {m.Skill}/{m.Level}");
                    }
                }
            }

            var wrapTimer = a.State == AgentState.WrapUp;
            if (wrapTimer != RouterTimers.IsSet(a.TimerPos))
            {
                problems.Add($"agent {a.Id} is {a.State} with timer position {a.TimerPos}");
            }
        }

        var pooled = 0;
        var queuedInHeaps = 0;
        var waiting = new int[_skills.Length];
        foreach (var s in _skills)
        {
            for (var l = 1; l < SkillRuntime.Levels; l++)
            {
                pooled += s.Pool[l].Count;
                if ((s.Pool[l].Count > 0) != ((s.PoolMask & (1 << l)) != 0))
                {
                    problems.Add($"pool mask of {s.Definition.Name} wrong at level {l}");
                }
            }

            for (var p = 0; p < SkillRuntime.Priorities; p++)
            {
                queuedInHeaps += s.Queue[p].Count;
                if ((s.Queue[p].Count > 0) != ((s.QueueMask & (1 << p)) != 0))
                {
                    problems.Add($"queue mask of {s.Definition.Name} wrong at priority {p}");
                }
            }
        }

        if (pooled != poolEntries)
        {
            problems.Add($"pools hold {pooled} entries, available agents have {poolEntries} skills");
        }

        var live = 0;
        var inHeaps = 0;
        var unshared = 0;
        for (var slot = 0; slot < _calls.Records.Length; slot++)
        {
            ref readonly var c = ref _calls.Records[slot];
            if (c.StoredId is null)
            {
                continue;
            }

            live++;
            var id = IdOf(in c);
            if (_callIndex.Find(id) != slot)
            {
                problems.Add($"index does not map {id} to its slot {slot}");
            }

            if ((c.ServiceCode == UnsharedCode || c.LanguageCode == UnsharedCode) != _unshared.ContainsKey(slot)
                || (c.ServiceCode != UnsharedCode && c.ServiceCode > _sharedValues.Count) || (c.LanguageCode != UnsharedCode && c.LanguageCode > _sharedValues.Count))
            {
                problems.Add($"call {id} has service number and language codes {c.ServiceCode} and {c.LanguageCode} that name no value");
            }
            else if (c.ServiceCode == UnsharedCode || c.LanguageCode == UnsharedCode)
            {
                unshared++;
            }

            var assigned = c.State is CallState.Offered or CallState.Talking;
            if (assigned != (c.Agent >= 0) || (c.Agent >= 0 && _agents.Items[c.Agent].Call != slot))
            {
                problems.Add($"call {id} is {c.State} with agent {c.Agent}");
            }

            if (c.State == CallState.Queued)
            {
                waiting[c.Skill]++;
                var shouldBeQueued = !c.Has(CallFlags.Detached);
                if (shouldBeQueued != (_calls.Links[slot].QueuePos != -1))
                {
                    problems.Add($"call {id} queued={_calls.Links[slot].QueuePos} detached={c.Has(CallFlags.Detached)}");
                }

                if (_calls.Links[slot].QueuePos != -1 && !c.Has(CallFlags.Targeted))
                {
                    inHeaps++;
                    if (!_skills[c.Skill].Queue[c.Priority].Holds(slot))
                    {
                        problems.Add($"call {id} is not where it thinks in its queue");
                    }
                }
            }
            else if (_calls.Links[slot].QueuePos != -1)
            {
                problems.Add($"call {id} is {c.State} but still in a queue");
            }

            var due = CallDue(in c);
            if ((due != long.MaxValue) != RouterTimers.IsSet(_calls.Links[slot].TimerPos) || (RouterTimers.IsSet(_calls.Links[slot].TimerPos) && c.TimerDueMs != due))
            {
                problems.Add($"call {id} ({c.State}, flags {c.Flags}) should be due at {due} but its timer is at {c.TimerDueMs} (pos {_calls.Links[slot].TimerPos})");
            }
        }

        if (live != _calls.Live || live != _callIndex.Count)
        {
            problems.Add($"index has {live} calls, table {_calls.Live}");
        }

        if (unshared != _unshared.Count)
        {
            problems.Add($"{_unshared.Count} calls' service numbers and languages kept apart, {unshared} calls with such codes");
        }

        if (inHeaps != queuedInHeaps)
        {
            problems.Add($"queues hold {queuedInHeaps} calls, {inHeaps} calls think they are queued");
        }

        for (var s = 0; s < _skills.Length; s++)
        {
            if (waiting[s] != _skills[s].Waiting)
            {
                problems.Add($"skill {_skills[s].Definition.Name} counts {_skills[s].Waiting} waiting, {waiting[s]} are");
            }
        }

        if (!Totals.Conserved || Totals.Waiting != waiting.Sum())
        {
            problems.Add($"totals do not conserve: {Totals}");
        }

        _callbacks.Check(problems);
        foreach (var task in _callbacks.Tasks)
        {
            if (task.State == CallbackState.Assigned && _agents.Items[task.Agent].Callback != task.Handle)
            {
                problems.Add($"callback {task.Id} is assigned to agent {task.Agent} which does not hold it");
            }
        }

        _surge.Check(problems);
        return problems;
    }
}
