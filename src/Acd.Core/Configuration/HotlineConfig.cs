namespace Acd.Core.Configuration;

/// <summary>A compiled routing-table row.</summary>
/// <param name="ServiceNumber">Dialed number, or null for any.</param>
/// <param name="Ivr">IVR prefix, or null for any.</param>
/// <param name="Skill">Skill index.</param>
/// <param name="Priority">Priority, or -1 for the skill's default.</param>
public sealed record RouteRule(string? ServiceNumber, string? Ivr, int Skill, int Priority);

/// <summary>Compiled thresholds of one surge tier (null: that measure is not used).</summary>
public sealed record SurgeTier(
    int Tier,
    int? EnterQueueLength,
    long? EnterLongestWaitMs,
    double? EnterArrivalRatio,
    double? EnterServiceLevelBelow,
    int? ExitQueueLength,
    long? ExitLongestWaitMs,
    double? ExitArrivalRatio,
    double? ExitServiceLevelAbove);

/// <summary>The hotline features of a domain, compiled (see the option classes for meanings).</summary>
public sealed class HotlineConfig
{
    internal HotlineConfig()
    {
    }

    public int VipSkill { get; internal init; } = -1;

    public int VipPriority { get; internal init; } = 9;

    public IReadOnlyList<string> VipCallers { get; internal init; } = [];

    public int MaxVipCallers { get; internal init; }

    public IReadOnlyList<(string Prefix, int Skill)> Languages { get; internal init; } = [];

    public IReadOnlyList<RouteRule> Routes { get; internal init; } = [];

    public bool RepeatEnabled { get; internal init; }

    public int RepeatCalls { get; internal init; }

    public long RepeatWindowMs { get; internal init; }

    public int RepeatSkill { get; internal init; } = -1;

    public int RepeatBoost { get; internal init; }

    public bool OwnershipEnabled { get; internal init; }

    public long OwnershipWindowMs { get; internal init; }

    public long OwnershipWaitMs { get; internal init; }

    public int CallerHistoryCapacity { get; internal init; }

    public bool CallbacksEnabled { get; internal init; }

    public bool CallbackSkillAgentsDial { get; internal init; }

    public long CallbackMinAbandonWaitMs { get; internal init; }

    public long CallbackEscalationMs { get; internal init; }

    public int CallbackMaxAttempts { get; internal init; }

    public IReadOnlyList<long> CallbackBackoffMs { get; internal init; } = [];

    public long CallbackOutcomeTimeoutMs { get; internal init; }

    public int CallbackMaxOpen { get; internal init; }

    public bool SurgeEnabled { get; internal init; }

    public long SurgeEvaluationMs { get; internal init; }

    public long SurgeCooldownMs { get; internal init; }

    public long ArrivalWindowMs { get; internal init; }

    public long BaselineHalfLifeMs { get; internal init; }

    public double MinimumBaselinePerSecond { get; internal init; }

    public double Tier1OverflowFactor { get; internal init; } = 1.0;

    public IReadOnlyList<int> SupportSkills { get; internal init; } = [];

    public int SupportTarget { get; internal init; } = -1;

    public string IvrUri { get; internal init; } = string.Empty;

    public long DeflectWaitMs { get; internal init; }

    /// <summary>The domain's tiers, ordered 1..3 (missing tiers absent).</summary>
    public IReadOnlyList<SurgeTier> Tiers { get; internal init; } = [];

    /// <summary>Per-skill tiers (empty list: the skill has none of its own).</summary>
    public IReadOnlyList<IReadOnlyList<SurgeTier>> SkillTiers { get; internal init; } = [];
}
