using System.Globalization;
using Acd.Core.Configuration;
using Acd.Core.Domain;

namespace Acd.Core.Routing;

/// <summary>Where a surge tier is kept: the domain (Skill = -1) or one skill.</summary>
internal sealed class SurgeScope(int skill, IReadOnlyList<SurgeTier> tiers, int windowBuckets)
{
    public int Skill { get; } = skill;

    public IReadOnlyList<SurgeTier> Tiers { get; } = tiers;

    public int Tier { get; set; }

    public long SinceMs { get; set; }

    public string Reason { get; set; } = "normal load";

    /// <summary>The forced tier, or -1 when the load decides.</summary>
    public int ForcedTier { get; set; } = -1;

    public long ForcedUntilMs { get; set; }

    /// <summary>Arrivals since the last evaluation.</summary>
    public long Arrivals { get; set; }

    /// <summary>Arrivals per evaluation interval over the arrival window (a ring).</summary>
    public long[] Window { get; } = new long[windowBuckets];

    public int WindowNext { get; set; }

    public int WindowFilled { get; set; }

    public long WindowSum { get; set; }

    /// <summary>Arrivals per second over the window, at the last evaluation.</summary>
    public double ArrivalRate { get; set; }

    /// <summary>The learned normal arrival rate (per second); frozen while a tier is up.</summary>
    public double Baseline { get; set; }

    /// <summary>How long the baseline has learned.</summary>
    public long LearnedMs { get; set; }
}

/// <summary>Heap positions in the operations timer heap: a callback (id = handle) or the surge evaluation (id = -1).</summary>
internal readonly struct OpsTimerIndex(List<CallbackTask?> callbacks, OpsTimerIndex.SurgeSlot surge) : IHeapIndex
{
    public void Set(int id, int position)
    {
        if (id >= 0)
        {
            callbacks[id]!.TimerPos = position;
        }
        else
        {
            surge.Position = position;
        }
    }

    /// <summary>Where the surge evaluation timer sits.</summary>
    internal sealed class SurgeSlot
    {
        public int Position { get; set; } = -1;
    }
}

/// <summary>
/// Surge warning tiers (SPEC 4.1). A scope — the domain, and each skill — is evaluated every few seconds from its
/// queue length, longest wait, arrival rate against its own baseline and five-minute service level. It rises at once
/// to the highest tier whose enter thresholds any measure crosses, and falls one tier at a time, only when every
/// measure is back within that tier's exit thresholds and the tier has lasted the cool-down. A skill's effective tier
/// is the higher of the domain's and its own. Tier 1: the support seats take calls of the supported skill and overflow
/// steps fire sooner; tier 2: team leads in Standby take calls; tier 3: supervisors too, and new arrivals whose
/// predicted wait is over the limit are deflected to self-service with a callback owed.
/// </summary>
public sealed partial class Router
{
    private const long SurgeTimerKey = 1L << 42;
    private const int SurgeTimerId = -1;

    private readonly OpsTimerIndex.SurgeSlot _surgeSlot = new();
    private SurgeScope _domainSurge = null!;
    private SurgeScope[] _skillSurge = [];
    private int[] _effectiveTier = [];
    private double[] _stepScale = [];
    private bool _supportActive;
    private bool _surgeEvaluating;
    private bool _surgeStarted;
    private double _baselineAlpha;

    private void InitSurge()
    {
        var hotline = _config.Hotline;
        var buckets = (int)Math.Max(1, (hotline.ArrivalWindowMs + hotline.SurgeEvaluationMs - 1) / hotline.SurgeEvaluationMs);
        _domainSurge = new SurgeScope(-1, hotline.Tiers, buckets);
        _skillSurge = new SurgeScope[_skills.Length];
        for (var i = 0; i < _skills.Length; i++)
        {
            _skillSurge[i] = new SurgeScope(i, i < hotline.SkillTiers.Count ? hotline.SkillTiers[i] : [], buckets);
        }

        _effectiveTier = new int[_skills.Length];
        _stepScale = new double[_skills.Length];
        Array.Fill(_stepScale, 1.0);
        _surgeEvaluating = hotline.SurgeEnabled && (hotline.Tiers.Count > 0 || _skillSurge.Any(s => s.Tiers.Count > 0));
        _baselineAlpha = 1 - Math.Pow(2, -(double)hotline.SurgeEvaluationMs / hotline.BaselineHalfLifeMs);
    }

    /// <summary>The effective surge tier of a skill: the higher of the domain's and its own.</summary>
    internal int EffectiveTier(int skill) => _effectiveTier[skill];

    /// <summary>The domain's surge tier.</summary>
    public int DomainTier => _domainSurge.Tier;

    private long StepDelay(int skill, long afterMs)
    {
        var scale = _stepScale[skill];
        return scale == 1.0 ? afterMs : (long)(afterMs * scale);
    }

    private void StartSurgeClock(long nowMs)
    {
        _surgeStarted = true;
        if (_surgeEvaluating)
        {
            _opsTimers.Push(nowMs + _config.Hotline.SurgeEvaluationMs, SurgeTimerKey, SurgeTimerId);
        }
    }

    /// <summary>The periodic evaluation: every scope's measures, then its tier; also ends forced tiers on time.</summary>
    private void FireSurgeTimer()
    {
        var changed = EvaluateScope(_domainSurge);
        var forced = _domainSurge.ForcedTier >= 0;
        foreach (var scope in _skillSurge)
        {
            changed |= EvaluateScope(scope);
            forced |= scope.ForcedTier >= 0;
        }

        if (_surgeEvaluating || forced)
        {
            _opsTimers.Push(_now + _config.Hotline.SurgeEvaluationMs, SurgeTimerKey, SurgeTimerId);
        }

        if (changed)
        {
            ApplySurge();
        }
    }

    /// <summary>Counts an arrival toward the arrival rate of the domain and of its skill.</summary>
    private void CountArrival(int skill)
    {
        _domainSurge.Arrivals++;
        _skillSurge[skill].Arrivals++;
    }

    private readonly record struct LoadReading(int QueueLength, long LongestWaitMs, double ArrivalRatio, double ServiceLevel);

    /// <summary>Closes the arrival bucket of the interval just ended and updates the rate and, at normal load, the baseline.</summary>
    private void CloseArrivalBucket(SurgeScope scope)
    {
        var hotline = _config.Hotline;
        scope.WindowSum += scope.Arrivals - scope.Window[scope.WindowNext];
        scope.Window[scope.WindowNext] = scope.Arrivals;
        scope.WindowNext = (scope.WindowNext + 1) % scope.Window.Length;
        scope.WindowFilled = Math.Min(scope.WindowFilled + 1, scope.Window.Length);
        scope.Arrivals = 0;
        scope.ArrivalRate = scope.WindowSum / (scope.WindowFilled * hotline.SurgeEvaluationMs / 1000.0);
        if (scope.Tier == 0 && scope.ForcedTier < 0)
        {
            // An exponentially weighted mean; its first samples are weighted 1/k (a plain mean) so that the
            // start-up does not bias it.
            scope.LearnedMs += hotline.SurgeEvaluationMs;
            var weight = Math.Max(_baselineAlpha, (double)hotline.SurgeEvaluationMs / scope.LearnedMs);
            scope.Baseline += weight * (scope.ArrivalRate - scope.Baseline);
        }
    }

    /// <summary>The measures of a scope now (the arrival ratio as of the last closed bucket; NaN while the baseline learns).</summary>
    private LoadReading Read(SurgeScope scope)
    {
        var hotline = _config.Hotline;
        var ratio = scope.LearnedMs >= hotline.BaselineHalfLifeMs
            ? scope.ArrivalRate / Math.Max(scope.Baseline, hotline.MinimumBaselinePerSecond)
            : double.NaN;

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
        return new LoadReading(queue, longest, ratio, serviceLevel);
    }

    /// <summary>Evaluates one scope; true when its tier changed.</summary>
    private bool EvaluateScope(SurgeScope scope)
    {
        CloseArrivalBucket(scope);
        var reading = Read(scope);
        if (scope.ForcedTier >= 0)
        {
            if (_now < scope.ForcedUntilMs)
            {
                return false;
            }

            scope.ForcedTier = -1;
            scope.ForcedUntilMs = 0;
            var why = "normal load";
            var tier = _config.Hotline.SurgeEnabled ? EnteredTier(scope, reading, out why) : 0;
            return SetTier(scope, tier, forced: false, $"override expired; {why}");
        }

        if (!_config.Hotline.SurgeEnabled || scope.Tiers.Count == 0)
        {
            return false;
        }

        var entered = EnteredTier(scope, reading, out var reason);
        if (entered > scope.Tier)
        {
            return SetTier(scope, entered, forced: false, reason);
        }

        if (scope.Tier > 0 && _now - scope.SinceMs >= _config.Hotline.SurgeCooldownMs && Exited(TierDefinition(scope, scope.Tier), reading))
        {
            var lower = 0;
            foreach (var t in scope.Tiers)
            {
                if (t.Tier < scope.Tier)
                {
                    lower = t.Tier;
                }
            }

            return SetTier(scope, lower, forced: false, $"load back within tier {scope.Tier} exit thresholds");
        }

        return false;
    }

    private static SurgeTier? TierDefinition(SurgeScope scope, int tier)
    {
        foreach (var t in scope.Tiers)
        {
            if (t.Tier == tier)
            {
                return t;
            }
        }

        return null;
    }

    /// <summary>The highest tier any of whose enter thresholds the reading crosses (0: none), and why.</summary>
    private static int EnteredTier(SurgeScope scope, LoadReading r, out string reason)
    {
        reason = "normal load";
        for (var i = scope.Tiers.Count - 1; i >= 0; i--)
        {
            var t = scope.Tiers[i];
            var ci = CultureInfo.InvariantCulture;
            if (t.EnterQueueLength is { } q && r.QueueLength >= q)
            {
                reason = string.Create(ci, $"queue length {r.QueueLength} >= {q}");
            }
            else if (t.EnterLongestWaitMs is { } w && r.LongestWaitMs >= w)
            {
                reason = string.Create(ci, $"longest wait {r.LongestWaitMs / 1000} s >= {w / 1000} s");
            }
            else if (t.EnterArrivalRatio is { } x && r.ArrivalRatio >= x)
            {
                reason = string.Create(ci, $"arrivals {r.ArrivalRatio:0.00}x baseline >= {x:0.00}x");
            }
            else if (t.EnterServiceLevelBelow is { } sl && r.ServiceLevel < sl)
            {
                reason = string.Create(ci, $"5-minute service level {r.ServiceLevel:0.000} < {sl:0.000}");
            }
            else
            {
                continue;
            }

            return t.Tier;
        }

        return 0;
    }

    /// <summary>Whether every measure is back within a tier's exit thresholds (or below its enter ones where no exit is set).</summary>
    private static bool Exited(SurgeTier? t, LoadReading r)
    {
        if (t is null)
        {
            return true;
        }

        var queue = t.ExitQueueLength is { } qx ? r.QueueLength <= qx : t.EnterQueueLength is not { } qe || r.QueueLength < qe;
        var wait = t.ExitLongestWaitMs is { } wx ? r.LongestWaitMs <= wx : t.EnterLongestWaitMs is not { } we || r.LongestWaitMs < we;
        var ratio = double.IsNaN(r.ArrivalRatio)
            || (t.ExitArrivalRatio is { } xx ? r.ArrivalRatio <= xx : t.EnterArrivalRatio is not { } xe || r.ArrivalRatio < xe);
        var level = double.IsNaN(r.ServiceLevel)
            || (t.ExitServiceLevelAbove is { } sx ? r.ServiceLevel >= sx : t.EnterServiceLevelBelow is not { } se || r.ServiceLevel >= se);
        return queue && wait && ratio && level;
    }

    private bool SetTier(SurgeScope scope, int tier, bool forced, string reason)
    {
        var from = scope.Tier;
        scope.Reason = reason;
        if (tier == from)
        {
            return false;
        }

        scope.Tier = tier;
        scope.SinceMs = _now;
        {
            ref var e = ref Emit(EventKind.SurgeTierChanged);
            e.Skill = scope.Skill >= 0 ? _skills[scope.Skill].Definition.Name : null;
            e.FromTier = from;
            e.Tier = tier;
            e.Forced = forced;
            e.Reason = reason;
        }

        return true;
    }

    /// <summary>
    /// After a tier changed: each skill's effective tier and overflow timing, whether the support seats help, which
    /// Standby agents serve; then the matching invariant is restored (newly eligible agents take waiting calls).
    /// </summary>
    private void ApplySurge()
    {
        var wasSupporting = _supportActive;
        var retime = RecomputeSurgeEffects();
        var supportStarted = _supportActive && !wasSupporting;
        var retimed = Array.IndexOf(retime, true) >= 0;

        if (retimed)
        {
            var records = _calls.Records;
            for (var slot = 0; slot < records.Length; slot++)
            {
                ref readonly var c = ref records[slot];
                if (c.Id is not null && c.State == CallState.Queued && retime[c.Skill])
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

    /// <summary>Each skill's effective tier, overflow timing and whether the support seats help, from the scopes' tiers; returns the skills whose overflow timing changed.</summary>
    private bool[] RecomputeSurgeEffects()
    {
        var hotline = _config.Hotline;
        var retime = new bool[_skills.Length];
        for (var i = 0; i < _skills.Length; i++)
        {
            _effectiveTier[i] = Math.Max(_domainSurge.Tier, _skillSurge[i].Tier);
            var scale = _effectiveTier[i] >= 1 ? hotline.Tier1OverflowFactor : 1.0;
            if (scale != _stepScale[i])
            {
                _stepScale[i] = scale;
                retime[i] = true;
            }
        }

        _supportActive = hotline.SupportTarget >= 0 && _effectiveTier[hotline.SupportTarget] >= 1;
        return retime;
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
        var tier = _domainSurge.Tier;
        foreach (var m in a.Skills)
        {
            tier = Math.Max(tier, _effectiveTier[m.Skill]);
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
            return _domainSurge;
        }

        var index = _config.FindSkill(skill);
        if (index < 0)
        {
            failure = Fail(ResultCode.NotFound, $"unknown skill '{skill}'");
            return null;
        }

        return _skillSurge[index];
    }

    private CommandResult ForceTier(ForceTierCommand cmd)
    {
        if (cmd.Tier is < 0 or > 3)
        {
            return Fail(ResultCode.InvalidArgument, $"a surge tier is 0 to 3, not {cmd.Tier}");
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

        scope.ForcedTier = cmd.Tier;
        scope.ForcedUntilMs = _now + (cmd.DurationSeconds * 1000L);
        var reason = string.IsNullOrEmpty(cmd.Reason) ? "forced by a duty manager" : $"forced: {cmd.Reason}";
        if (SetTier(scope, cmd.Tier, forced: true, reason))
        {
            ApplySurge();
            Advance(_now);
        }

        // A forced tier ends on time even when the load is not evaluated (surge off, no thresholds).
        if (_surgeSlot.Position < 0)
        {
            _opsTimers.Push(_now + _config.Hotline.SurgeEvaluationMs, SurgeTimerKey, SurgeTimerId);
        }

        return CommandResult.Ok;
    }

    private CommandResult ClearSurge(ClearSurgeCommand cmd)
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

        scope.ForcedTier = -1;
        scope.ForcedUntilMs = 0;
        var tier = _config.Hotline.SurgeEnabled ? EnteredTier(scope, Read(scope), out _) : 0;
        if (SetTier(scope, tier, forced: false, "override cleared"))
        {
            ApplySurge();
            Advance(_now);
        }

        return CommandResult.Ok;
    }

    /// <summary>Surge status of the domain (null) or a skill.</summary>
    public SurgeSnapshot? GetSurge(string? skill)
    {
        var scope = ScopeOf(skill, out _);
        if (scope is null)
        {
            return null;
        }

        var effective = new Dictionary<string, int>(_skills.Length, StringComparer.Ordinal);
        for (var i = 0; i < _skills.Length; i++)
        {
            effective[_skills[i].Definition.Name] = _effectiveTier[i];
        }

        return new SurgeSnapshot(
            skill, scope.Tier, scope.ForcedTier >= 0, scope.Reason, scope.SinceMs, scope.ForcedUntilMs, effective)
        {
            ArrivalRatePerSecond = scope.ArrivalRate,
            BaselinePerSecond = scope.Baseline,
        };
    }
}
