using System.Globalization;
using Acd.Core.Configuration;
using Acd.Core.Durability;

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

/// <summary>The measures of a scope at an evaluation (the arrival ratio is NaN while the baseline learns; the service level with no calls).</summary>
internal readonly record struct LoadReading(int QueueLength, long LongestWaitMs, double ArrivalRatio, double ServiceLevel);

/// <summary>A scope's tier changed: the event the router emits.</summary>
/// <param name="Skill">The skill, or -1 for the domain.</param>
/// <param name="From">The tier before.</param>
/// <param name="To">The tier now.</param>
/// <param name="Forced">Whether a duty manager forced it.</param>
/// <param name="Reason">Why (the threshold crossed, or the override).</param>
internal readonly record struct TierChange(int Skill, int From, int To, bool Forced, string Reason);

/// <summary>
/// The surge warning tiers (SPEC 4.1) as a hysteresis machine per scope — the domain, and each skill. Every evaluation
/// closes the scope's arrival bucket, then reads its measures (queue length, longest wait, arrival rate against its own
/// learned baseline, five-minute service level): it rises at once to the highest tier whose enter thresholds any measure
/// crosses, and falls one tier at a time, only when every measure is back within that tier's exit thresholds and the
/// tier has lasted the cool-down. A duty manager may force a tier for a time. From the tiers follow each skill's
/// effective tier (the higher of the domain's and its own), its overflow timing and whether the support seats help;
/// what a tier does to the agents is the router's. The monitor owns its scopes, its evaluation timer, its part of a
/// snapshot and its invariant.
/// </summary>
internal sealed class SurgeMonitor
{
    /// <summary>The timer key of the evaluation: after every call, agent and callback timer due at the same moment.</summary>
    public const long TimerKey = 1L << 42;

    /// <summary>The highest tier.</summary>
    public const int MaxTier = 3;

    private readonly HotlineConfig _hotline;
    private readonly bool _evaluating;
    private readonly double _baselineAlpha;
    private readonly int[] _effective;
    private readonly double[] _stepScale;

    /// <summary>Every scope at normal load, for a domain of <paramref name="skills"/> skills.</summary>
    public SurgeMonitor(HotlineConfig hotline, int skills)
    {
        _hotline = hotline;
        var buckets = (int)Math.Max(1, (hotline.ArrivalWindowMs + hotline.SurgeEvaluationMs - 1) / hotline.SurgeEvaluationMs);
        Domain = new SurgeScope(-1, hotline.Tiers, buckets);
        Skills = new SurgeScope[skills];
        for (var i = 0; i < skills; i++)
        {
            Skills[i] = new SurgeScope(i, i < hotline.SkillTiers.Count ? hotline.SkillTiers[i] : [], buckets);
        }

        _effective = new int[skills];
        _stepScale = new double[skills];
        Array.Fill(_stepScale, 1.0);
        _evaluating = hotline.SurgeEnabled && (hotline.Tiers.Count > 0 || Skills.Any(s => s.Tiers.Count > 0));
        _baselineAlpha = 1 - Math.Pow(2, -(double)hotline.SurgeEvaluationMs / hotline.BaselineHalfLifeMs);
    }

    /// <summary>The domain's scope.</summary>
    public SurgeScope Domain { get; }

    /// <summary>Each skill's scope.</summary>
    public SurgeScope[] Skills { get; }

    /// <summary>Whether the clock has started (the first evaluation is scheduled one interval after the first time seen).</summary>
    public bool Started { get; private set; }

    /// <summary>When the next evaluation is due (<see cref="long.MaxValue"/>: none scheduled).</summary>
    public long NextEvaluationMs { get; private set; } = long.MaxValue;

    /// <summary>Whether the support seats help the supported skill now (its effective tier is 1 or more).</summary>
    public bool SupportActive { get; private set; }

    /// <summary>Whether a tier is a valid one (0 to <see cref="MaxTier"/>).</summary>
    public static bool IsTier(int tier) => tier is >= 0 and <= MaxTier;

    /// <summary>A skill's effective tier: the higher of the domain's and its own.</summary>
    public int EffectiveTier(int skill) => _effective[skill];

    /// <summary>An overflow step's delay for a skill now (sooner in tier 1 and above, by the configured factor).</summary>
    public long StepDelay(int skill, long afterMs)
    {
        var scale = _stepScale[skill];
        return scale == 1.0 ? afterMs : (long)(afterMs * scale);
    }

    /// <summary>The first time the router sees: evaluations begin one interval later (when there is anything to evaluate).</summary>
    public void Start(long now)
    {
        Started = true;
        if (_evaluating)
        {
            NextEvaluationMs = now + _hotline.SurgeEvaluationMs;
        }
    }

    /// <summary>Counts an arrival toward the arrival rate of the domain and of its skill.</summary>
    public void CountArrival(int skill)
    {
        Domain.Arrivals++;
        Skills[skill].Arrivals++;
    }

    /// <summary>
    /// The periodic evaluation of every scope (the domain first): each closes its arrival bucket, then
    /// <paramref name="read"/> gives its measures and its tier is decided; forced tiers end on time. The next evaluation
    /// is scheduled while there is anything to evaluate or a forced tier to end. Returns the changes, in scope order;
    /// after any, <see cref="Recompute"/> derives the effects.
    /// </summary>
    public List<TierChange>? Evaluate(long now, Func<SurgeScope, LoadReading> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        List<TierChange>? changes = null;
        var forced = false;
        foreach (var scope in Scopes())
        {
            if (EvaluateScope(scope, now, read) is { } change)
            {
                (changes ??= []).Add(change);
            }

            forced |= scope.ForcedTier >= 0;
        }

        NextEvaluationMs = _evaluating || forced ? now + _hotline.SurgeEvaluationMs : long.MaxValue;
        return changes;
    }

    /// <summary>A duty manager forces a scope's tier until <paramref name="untilMs"/>; the change, if the tier moved (then <see cref="Recompute"/>).</summary>
    public TierChange? Force(SurgeScope scope, int tier, long now, long untilMs, string? reason)
    {
        ArgumentNullException.ThrowIfNull(scope);
        if (!IsTier(tier))
        {
            throw new ArgumentOutOfRangeException(nameof(tier), tier, $"a surge tier is 0 to {MaxTier}");
        }
        scope.ForcedTier = tier;
        scope.ForcedUntilMs = untilMs;
        var change = SetTier(scope, tier, now, forced: true, string.IsNullOrEmpty(reason) ? "forced by a duty manager" : $"forced: {reason}");

        // A forced tier ends on time even when the load is not evaluated (surge off, no thresholds).
        if (NextEvaluationMs == long.MaxValue)
        {
            NextEvaluationMs = now + _hotline.SurgeEvaluationMs;
        }

        return change;
    }

    /// <summary>A duty manager clears a forced tier: the load decides again, as <paramref name="reading"/> shows it; the change, if the tier moved.</summary>
    public TierChange? Clear(SurgeScope scope, long now, LoadReading reading)
    {
        ArgumentNullException.ThrowIfNull(scope);
        scope.ForcedTier = -1;
        scope.ForcedUntilMs = 0;
        var tier = _hotline.SurgeEnabled ? EnteredTier(scope, reading, out _) : 0;
        return SetTier(scope, tier, now, forced: false, "override cleared");
    }

    /// <summary>Each skill's effective tier, overflow timing and whether the support seats help; returns the skills whose overflow timing changed.</summary>
    public bool[] Recompute()
    {
        var retime = new bool[Skills.Length];
        for (var i = 0; i < Skills.Length; i++)
        {
            _effective[i] = Math.Max(Domain.Tier, Skills[i].Tier);
            var scale = _effective[i] >= 1 ? _hotline.Tier1OverflowFactor : 1.0;
            if (scale != _stepScale[i])
            {
                _stepScale[i] = scale;
                retime[i] = true;
            }
        }

        SupportActive = _hotline.SupportTarget >= 0 && _effective[_hotline.SupportTarget] >= 1;
        return retime;
    }

    /// <summary>What a scope looks like from outside (with each skill's effective tier).</summary>
    public SurgeView View(SurgeScope scope, string? skill, IReadOnlyList<string> skillNames)
    {
        ArgumentNullException.ThrowIfNull(scope);
        var effective = new Dictionary<string, int>(Skills.Length, StringComparer.Ordinal);
        for (var i = 0; i < Skills.Length; i++)
        {
            effective[skillNames[i]] = _effective[i];
        }

        return new SurgeView(skill, scope.Tier, scope.ForcedTier >= 0, scope.Reason, scope.SinceMs, scope.ForcedUntilMs, effective)
        {
            ArrivalRatePerSecond = scope.ArrivalRate,
            BaselinePerSecond = scope.Baseline,
        };
    }

    /// <summary>Writes the monitor (a snapshot's surge section): the clock started, the next evaluation, every scope.</summary>
    public void Write(StateWriter w)
    {
        w.WriteBool(Started);
        w.WriteVarInt(NextEvaluationMs == long.MaxValue ? -1 : NextEvaluationMs);
        foreach (var scope in Scopes())
        {
            WriteScope(w, scope);
        }
    }

    /// <summary>Reads what <see cref="Write"/> wrote into a fresh monitor; the effects are derived again.</summary>
    public void Read(StateReader r)
    {
        Started = r.ReadBool();
        var next = r.ReadVarInt();
        NextEvaluationMs = next < 0 ? long.MaxValue : next;
        foreach (var scope in Scopes())
        {
            ReadScope(r, scope);
        }

        Recompute();
    }

    /// <summary>The monitor's invariant: tiers in range, forced tiers timed, windows summed, effects as the tiers give them.</summary>
    public void Check(List<string> problems)
    {
        foreach (var scope in Scopes())
        {
            var name = scope.Skill < 0 ? "the domain" : $"skill {scope.Skill}";
            if (!IsTier(scope.Tier) || scope.ForcedTier < -1 || scope.ForcedTier > MaxTier)
            {
                problems.Add($"surge tier of {name} is {scope.Tier} (forced {scope.ForcedTier})");
            }

            if ((scope.ForcedTier >= 0) != (scope.ForcedUntilMs > 0) || (scope.ForcedTier >= 0 && scope.Tier != scope.ForcedTier))
            {
                problems.Add($"surge of {name}: tier {scope.Tier}, forced {scope.ForcedTier} until {scope.ForcedUntilMs}");
            }

            if (scope.ForcedTier >= 0 && NextEvaluationMs == long.MaxValue)
            {
                problems.Add($"surge of {name} is forced and no evaluation will end it");
            }

            if (scope.WindowSum != scope.Window.Sum() || scope.WindowFilled > scope.Window.Length)
            {
                problems.Add($"surge arrival window of {name} sums to {scope.Window.Sum()}, kept as {scope.WindowSum}");
            }
        }

        for (var i = 0; i < Skills.Length; i++)
        {
            if (_effective[i] != Math.Max(Domain.Tier, Skills[i].Tier) || _stepScale[i] != (_effective[i] >= 1 ? _hotline.Tier1OverflowFactor : 1.0))
            {
                problems.Add($"skill {i}: effective tier {_effective[i]}, tiers {Domain.Tier}/{Skills[i].Tier}");
            }
        }
    }

    /// <summary>The domain's scope, then each skill's.</summary>
    private IEnumerable<SurgeScope> Scopes()
    {
        yield return Domain;
        foreach (var s in Skills)
        {
            yield return s;
        }
    }

    private TierChange? EvaluateScope(SurgeScope scope, long now, Func<SurgeScope, LoadReading> read)
    {
        CloseArrivalBucket(scope);
        var reading = read(scope);
        if (scope.ForcedTier >= 0)
        {
            if (now < scope.ForcedUntilMs)
            {
                return null;
            }

            scope.ForcedTier = -1;
            scope.ForcedUntilMs = 0;
            var why = "normal load";
            var tier = _hotline.SurgeEnabled ? EnteredTier(scope, reading, out why) : 0;
            return SetTier(scope, tier, now, forced: false, $"override expired; {why}");
        }

        if (!_hotline.SurgeEnabled || scope.Tiers.Count == 0)
        {
            return null;
        }

        var entered = EnteredTier(scope, reading, out var reason);
        if (entered > scope.Tier)
        {
            return SetTier(scope, entered, now, forced: false, reason);
        }

        if (scope.Tier > 0 && now - scope.SinceMs >= _hotline.SurgeCooldownMs && Exited(TierDefinition(scope, scope.Tier), reading))
        {
            var lower = 0;
            foreach (var t in scope.Tiers)
            {
                if (t.Tier < scope.Tier)
                {
                    lower = t.Tier;
                }
            }

            return SetTier(scope, lower, now, forced: false, $"load back within tier {scope.Tier} exit thresholds");
        }

        return null;
    }

    /// <summary>Closes the arrival bucket of the interval just ended and updates the rate and, at normal load, the baseline.</summary>
    private void CloseArrivalBucket(SurgeScope scope)
    {
        scope.WindowSum += scope.Arrivals - scope.Window[scope.WindowNext];
        scope.Window[scope.WindowNext] = scope.Arrivals;
        scope.WindowNext = (scope.WindowNext + 1) % scope.Window.Length;
        scope.WindowFilled = Math.Min(scope.WindowFilled + 1, scope.Window.Length);
        scope.Arrivals = 0;
        scope.ArrivalRate = scope.WindowSum / (scope.WindowFilled * _hotline.SurgeEvaluationMs / 1000.0);
        if (scope.Tier == 0 && scope.ForcedTier < 0)
        {
            // An exponentially weighted mean; its first samples are weighted 1/k (a plain mean) so that the
            // start-up does not bias it.
            scope.LearnedMs += _hotline.SurgeEvaluationMs;
            var weight = Math.Max(_baselineAlpha, (double)_hotline.SurgeEvaluationMs / scope.LearnedMs);
            scope.Baseline += weight * (scope.ArrivalRate - scope.Baseline);
        }
    }

    /// <summary>The arrival rate against the baseline (NaN while the baseline is still learning).</summary>
    public double ArrivalRatio(SurgeScope scope) => scope.LearnedMs >= _hotline.BaselineHalfLifeMs
        ? scope.ArrivalRate / Math.Max(scope.Baseline, _hotline.MinimumBaselinePerSecond)
        : double.NaN;

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
        var ci = CultureInfo.InvariantCulture;
        for (var i = scope.Tiers.Count - 1; i >= 0; i--)
        {
            var t = scope.Tiers[i];
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

    /// <summary>Sets a scope's tier and reason; the change when the tier moved, else null (the reason is kept either way).</summary>
    private static TierChange? SetTier(SurgeScope scope, int tier, long now, bool forced, string reason)
    {
        var from = scope.Tier;
        scope.Reason = reason;
        if (tier == from)
        {
            return null;
        }

        scope.Tier = tier;
        scope.SinceMs = now;
        return new TierChange(scope.Skill, from, tier, forced, reason);
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
        s.Tier = r.ReadInt(0, MaxTier);
        s.SinceMs = r.ReadVarInt();
        s.Reason = r.ReadRequiredString();
        s.ForcedTier = r.ReadInt(-1, MaxTier);
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
}
