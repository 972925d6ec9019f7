using Acd.Core.Domain;

namespace Acd.Core.Routing;

/// <summary>
/// What a surge tier (<see cref="SurgeMonitor"/>) does to the agents and calls (SPEC 4.1): tier 1 — the support seats
/// take calls of the supported skill and overflow steps fire sooner; tier 2 — team leads in Standby take calls; tier 3
/// — supervisors too, and new arrivals whose predicted wait is over the limit are deflected to self-service with a
/// callback owed (see the offer). The router reads each scope's measures for the monitor and applies its changes.
/// </summary>
public sealed partial class Router
{
    private readonly SurgeMonitor _surge;

    /// <summary>The domain's surge tier.</summary>
    public int DomainTier => _surge.Domain.Tier;

    private long StepDelay(int skill, long afterMs) => _surge.StepDelay(skill, afterMs);

    /// <summary>The periodic evaluation: every scope's measures, then its tier; also ends forced tiers on time.</summary>
    private void FireSurgeTimer()
    {
        if (_surge.Evaluate(_now, Read) is { } changes)
        {
            foreach (var change in changes)
            {
                EmitTierChange(change);
            }

            ApplySurge();
        }
    }

    /// <summary>Counts an arrival toward the arrival rate of the domain and of its skill.</summary>
    private void CountArrival(int skill) => _surge.CountArrival(skill);

    /// <summary>The measures of a scope now (the arrival ratio as of the last closed bucket; NaN while the baseline learns).</summary>
    private LoadReading Read(SurgeScope scope)
    {
        long answered = 0, within = 0, lost = 0;
        int queue;
        long longest;
        if (scope.Skill >= 0)
        {
            var s = _skills[scope.Skill];
            queue = s.Waiting;
            longest = LongestWait(s);
            (answered, within, lost) = s.Stats.Rolling(_now);
        }
        else
        {
            queue = (int)_waiting;
            longest = 0;
            foreach (var s in _skills)
            {
                longest = Math.Max(longest, LongestWait(s));
                var (a, w, l) = s.Stats.Rolling(_now);
                answered += a;
                within += w;
                lost += l;
            }
        }

        var serviceLevel = answered + lost == 0 ? double.NaN : (double)within / (answered + lost);
        return new LoadReading(queue, longest, _surge.ArrivalRatio(scope), serviceLevel);
    }

    private void EmitTierChange(TierChange change)
    {
        ref var e = ref Emit(EventKind.SurgeTierChanged);
        e.Skill = change.Skill >= 0 ? _skills[change.Skill].Definition.Name : null;
        e.FromTier = change.From;
        e.Tier = change.To;
        e.Forced = change.Forced;
        e.Reason = change.Reason;
    }

    /// <summary>
    /// After a tier changed: each skill's effective tier and overflow timing, whether the support seats help, which
    /// Standby agents serve; then the matching invariant is restored (newly eligible agents take waiting calls).
    /// </summary>
    private void ApplySurge()
    {
        var wasSupporting = _surge.SupportActive;
        var retime = _surge.Recompute();
        var supportStarted = _surge.SupportActive && !wasSupporting;
        if (Array.IndexOf(retime, true) >= 0)
        {
            var records = _calls.Records;
            for (var slot = 0; slot < records.Length; slot++)
            {
                ref readonly var c = ref records[slot];
                if (c.StoredId is not null && c.State == CallState.Queued && retime[c.Skill])
                {
                    ScheduleCall(slot);
                }
            }
        }

        for (var i = 0; i < _agents.Count; i++)
        {
            var a = _agents.Items[i];
            if (a.State == AgentState.Standby)
            {
                var eligible = StandbyServes(a);
                if (eligible && !a.InPool)
                {
                    BecomeAvailable(a);
                }
                else if (!eligible && a.InPool)
                {
                    RemoveFromPool(a);
                }
            }
            else if (supportStarted && a.Supporter && a.InPool)
            {
                var slot = BestCallFor(a);
                if (slot >= 0)
                {
                    Assign(a, slot);
                }
            }
        }
    }

    /// <summary>The tier from which an agent of this role in Standby takes calls: agent 1, team lead 2, supervisor 3.</summary>
    private static int StandbyTier(AgentRole role) => role switch
    {
        AgentRole.Supervisor => 3,
        AgentRole.TeamLead => 2,
        _ => 1,
    };

    /// <summary>Whether an agent in Standby serves now: the surge tier of one of its skills has reached its role.</summary>
    private bool StandbyServes(Agent a)
    {
        var tier = _surge.Domain.Tier;
        foreach (var m in a.Skills)
        {
            tier = Math.Max(tier, _surge.EffectiveTier(m.Skill));
        }

        return tier >= StandbyTier(a.Role);
    }

    /// <summary>Whether an agent not on a call may take one: Ready, or in Standby with its tier reached.</summary>
    private bool MayServe(Agent a) => a.State == AgentState.Ready || (a.State == AgentState.Standby && StandbyServes(a));

    private SurgeScope? ScopeOf(string? skill, out CommandResult? failure)
    {
        failure = null;
        if (skill is null)
        {
            return _surge.Domain;
        }

        var index = _config.FindSkill(skill);
        if (index < 0)
        {
            failure = Fail(ResultCode.NotFound, $"unknown skill '{skill}'");
            return null;
        }

        return _surge.Skills[index];
    }

    private CommandResult ForceTier(ForceSurgeTier cmd)
    {
        if (!SurgeMonitor.IsTier(cmd.Tier))
        {
            return Fail(ResultCode.InvalidArgument, $"a surge tier is 0 to {SurgeMonitor.MaxTier}, not {cmd.Tier}");
        }

        if (cmd.DurationSeconds is < 1 or > 86_400)
        {
            return Fail(ResultCode.InvalidArgument, $"a forced tier lasts 1 to 86400 seconds, not {cmd.DurationSeconds}");
        }

        if (cmd.Reason is { Length: > MaxReasonLength })
        {
            return Fail(ResultCode.InvalidArgument, $"reason longer than {MaxReasonLength} characters");
        }

        var scope = ScopeOf(cmd.Skill, out var failure);
        if (scope is null)
        {
            return failure!.Value;
        }

        if (_surge.Force(scope, cmd.Tier, _now, _now + (cmd.DurationSeconds * 1000L), cmd.Reason) is { } change)
        {
            EmitTierChange(change);
            ApplySurge();
            Advance(_now);
        }

        return CommandResult.Ok;
    }

    private CommandResult ClearSurge(ClearSurgeOverride cmd)
    {
        var scope = ScopeOf(cmd.Skill, out var failure);
        if (scope is null)
        {
            return failure!.Value;
        }

        if (scope.ForcedTier < 0)
        {
            return Fail(ResultCode.FailedPrecondition, $"the surge tier of {(cmd.Skill is null ? "the domain" : $"'{cmd.Skill}'")} is not forced");
        }

        if (_surge.Clear(scope, _now, Read(scope)) is { } change)
        {
            EmitTierChange(change);
            ApplySurge();
            Advance(_now);
        }

        return CommandResult.Ok;
    }

    /// <summary>Surge status of the domain (null) or a skill; null for an unknown skill.</summary>
    public SurgeView? GetSurge(string? skill)
    {
        var scope = ScopeOf(skill, out _);
        return scope is null ? null : _surge.View(scope, skill, _skillNames);
    }
}
