namespace Acd.Core.Configuration;

/// <summary>A row of the routing table: the dialed service number (and IVR digits, as a prefix) choose a skill.</summary>
public class RouteOptions
{
    /// <summary>Dialed service number (10086, 1008611, ...); empty matches any.</summary>
    public string? ServiceNumber { get; set; }

    /// <summary>IVR digits prefix; empty matches any. The longest matching prefix wins.</summary>
    public string? Ivr { get; set; }

    /// <summary>The skill.</summary>
    public string Skill { get; set; } = string.Empty;

    /// <summary>Priority 0-9 of calls routed by this row; empty: the skill's default.</summary>
    public int? Priority { get; set; }
}

/// <summary>Repeat callers (高频来电): N calls in a sliding window.</summary>
public class RepeatOptions
{
    /// <summary>Whether repeat callers are recognised.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Calls within the window (this one included) that make a caller a repeat caller.</summary>
    public int Calls { get; set; } = 3;

    /// <summary>The sliding window, in minutes.</summary>
    public int WindowMinutes { get; set; } = 1440;

    /// <summary>The repeat seat; used when an agent holding it is logged in.</summary>
    public string Skill { get; set; } = "repeat";

    /// <summary>Priority added (up to 9) when the repeat seat is not staffed.</summary>
    public int PriorityBoost { get; set; } = 2;
}

/// <summary>First-contact ownership (首问负责制): a caller's last agent takes the call back.</summary>
public class OwnershipOptions
{
    /// <summary>Whether calls go back to the caller's last agent.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How recent the last agent must be, in minutes.</summary>
    public int WindowMinutes { get; set; } = 1440;

    /// <summary>How long a call waits for its last agent when that agent is busy, in seconds (0: does not wait).</summary>
    public int WaitSeconds { get; set; } = 10;
}

/// <summary>Callbacks for unanswered calls (来电必复).</summary>
public class CallbackOptions
{
    /// <summary>Whether callbacks are created.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Whether agents of a callback's skill dial it when no live call of theirs waits (and before live calls once it is
    /// escalated); false: only outbound agents dial callbacks.
    /// </summary>
    public bool SkillAgentsDial { get; set; } = true;

    /// <summary>An abandon creates a callback only after this wait, in seconds.</summary>
    public int MinAbandonWaitSeconds { get; set; } = 10;

    /// <summary>A callback older than this comes before live calls, in minutes.</summary>
    public int EscalationMinutes { get; set; } = 60;

    /// <summary>Attempts before a callback is exhausted (and an SMS is sent).</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>
    /// Waits before the 2nd, 3rd... attempt, in seconds (the last repeats); unset: 300, 900, 3600. (No default list
    /// here: configuration binding appends to a list it finds, so a configured list would follow the default one.)
    /// </summary>
    public IList<int>? RetryBackoffSeconds { get; set; }

    /// <summary>An assigned callback with no outcome reported after this counts as not reached, in seconds.</summary>
    public int OutcomeTimeoutSeconds { get; set; } = 900;

    /// <summary>Most callbacks open at once; beyond it no new one is created.</summary>
    public int MaxOpen { get; set; } = 1_000_000;
}

/// <summary>Thresholds of one surge tier: enter when any is crossed, leave when all are back.</summary>
public class TierOptions
{
    /// <summary>The tier (1, 2 or 3).</summary>
    public int Tier { get; set; }

    /// <summary>Enter at this many calls waiting.</summary>
    public int? EnterQueueLength { get; set; }

    /// <summary>Enter at this longest wait, seconds.</summary>
    public int? EnterLongestWaitSeconds { get; set; }

    /// <summary>Enter at this arrival rate over the baseline (1.5 = 50 % above).</summary>
    public double? EnterArrivalRatio { get; set; }

    /// <summary>Enter when the 5-minute service level falls below this.</summary>
    public double? EnterServiceLevelBelow { get; set; }

    /// <summary>Leave only at or below this many waiting.</summary>
    public int? ExitQueueLength { get; set; }

    /// <summary>Leave only at or below this longest wait.</summary>
    public int? ExitLongestWaitSeconds { get; set; }

    /// <summary>Leave only at or below this arrival ratio.</summary>
    public double? ExitArrivalRatio { get; set; }

    /// <summary>Leave only at or above this 5-minute service level.</summary>
    public double? ExitServiceLevelAbove { get; set; }
}

/// <summary>Surge warning tiers (话务量突增预警, 三级应急梯队).</summary>
public class SurgeOptions
{
    /// <summary>Whether tiers are computed (forcing a tier works regardless).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often the load is evaluated, seconds.</summary>
    public int EvaluationSeconds { get; set; } = 5;

    /// <summary>A tier lasts at least this long before it may fall, seconds.</summary>
    public int CooldownSeconds { get; set; } = 300;

    /// <summary>Window of the arrival rate, seconds.</summary>
    public int ArrivalWindowSeconds { get; set; } = 60;

    /// <summary>Half-life of the arrival baseline, minutes (the baseline stops learning while a tier is up).</summary>
    public int BaselineHalfLifeMinutes { get; set; } = 30;

    /// <summary>The smallest baseline, arrivals per second (a quiet night is not a surge of one call).</summary>
    public double MinimumBaselinePerSecond { get; set; } = 0.2;

    /// <summary>Tier 1: overflow steps fire after this fraction of their delay.</summary>
    public double Tier1OverflowFactor { get; set; } = 0.5;

    /// <summary>Tier 1: agents holding these skills also take calls of <see cref="SupportTarget"/>.</summary>
    public IList<string> SupportSkills { get; set; } = new List<string>();

    /// <summary>Tier 1: the skill the specialist seats support.</summary>
    public string SupportTarget { get; set; } = "general";

    /// <summary>Tier 3: self-service URI new arrivals are deflected to.</summary>
    public string IvrUri { get; set; } = "sip:1008611@ivr.invalid";

    /// <summary>Tier 3: arrivals whose estimated wait exceeds this are deflected, seconds.</summary>
    public int DeflectWaitSeconds { get; set; } = 300;

    /// <summary>The three tiers, each with its thresholds.</summary>
    public IList<TierOptions> Tiers { get; set; } = new List<TierOptions>();
}
