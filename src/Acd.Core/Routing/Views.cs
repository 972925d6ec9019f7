using Acd.Core.Domain;

namespace Acd.Core.Routing;

/// <summary>An agent as seen from outside at one moment.</summary>
public sealed record AgentView(
    string AgentId,
    string Name,
    string? Team,
    AgentRole Role,
    bool Outbound,
    AgentState State,
    string? Reason,
    long StateSinceMs,
    IReadOnlyDictionary<string, int> Skills,
    string Contact,
    string? CurrentCallId,
    int CallsHandled);

/// <summary>A call as seen from outside at one moment.</summary>
public sealed record CallView(
    string CallId,
    string? Caller,
    string? ServiceNumber,
    string Skill,
    int Priority,
    int Vip,
    string? Language,
    CallState State,
    long FirstEnqueueMs,
    long WaitMs,
    string? AgentId,
    int Position,
    bool Detached,
    string? TargetAgentId);

/// <summary>A surge tier's status.</summary>
/// <param name="Skill">The skill, or null for the domain.</param>
/// <param name="Tier">The tier in force.</param>
/// <param name="Forced">Whether it is forced.</param>
/// <param name="Reason">Why it is what it is.</param>
/// <param name="SinceMs">When it took this value.</param>
/// <param name="ForcedUntilMs">When a forced tier ends (0: not forced).</param>
/// <param name="EffectiveTiers">For the domain: each skill's effective tier (max of the domain's and its own).</param>
public sealed record SurgeView(string? Skill, int Tier, bool Forced, string Reason, long SinceMs, long ForcedUntilMs, IReadOnlyDictionary<string, int> EffectiveTiers)
{
    /// <summary>Arrivals per second over the arrival window, at the last evaluation.</summary>
    public double ArrivalRatePerSecond { get; init; }

    /// <summary>The learned normal arrival rate, per second.</summary>
    public double BaselinePerSecond { get; init; }
}

/// <summary>A callback task.</summary>
public sealed record CallbackView(
    string CallbackId,
    string Caller,
    string Skill,
    long CreatedMs,
    int Attempts,
    CallbackState State,
    string? AgentId,
    string Reason,
    long NextAttemptMs);

/// <summary>The state of a callback task.</summary>
public enum CallbackState : byte
{
    /// <summary>Owed; due at its next attempt time.</summary>
    Open = 1,

    /// <summary>Given to an agent to dial.</summary>
    Assigned = 2,

    /// <summary>The caller was reached.</summary>
    Completed = 3,

    /// <summary>Out of attempts (SMS sent).</summary>
    Exhausted = 4,

    /// <summary>Cancelled.</summary>
    Cancelled = 5,
}

/// <summary>Callback figures of a domain.</summary>
/// <param name="Created">Callbacks created (merges excluded).</param>
/// <param name="Merged">Unanswered calls folded into a callback already owed to the same caller.</param>
/// <param name="Reached">Completed with the caller reached.</param>
/// <param name="Exhausted">Out of attempts, an SMS owed.</param>
/// <param name="Cancelled">Cancelled.</param>
/// <param name="Dropped">Not created because the open limit was reached.</param>
/// <param name="Owed">Open or assigned now.</param>
public readonly record struct CallbackTotals(long Created, long Merged, long Reached, long Exhausted, long Cancelled, long Dropped, int Owed)
{
    /// <summary>Callbacks closed with the promise kept (reached, or exhausted with an SMS) over those owed (cancelled excluded); 1 with none.</summary>
    public double CompletionRatio => Created - Cancelled == 0 ? 1.0 : (double)(Reached + Exhausted) / (Created - Cancelled);
}

/// <summary>The statistics of one skill at one moment (SPEC 4.5).</summary>
public sealed record QueueView
{
    /// <summary>Skill name.</summary>
    public required string Skill { get; init; }

    /// <summary>Calls waiting now.</summary>
    public int Waiting { get; init; }

    /// <summary>Longest current wait among queued calls, in milliseconds.</summary>
    public long LongestWaitMs { get; init; }

    /// <summary>Offered since the day boundary.</summary>
    public long Offered { get; init; }

    /// <summary>Answered since the day boundary.</summary>
    public long Answered { get; init; }

    /// <summary>Abandoned since the day boundary.</summary>
    public long Abandoned { get; init; }

    /// <summary>Answered within the threshold since the day boundary.</summary>
    public long AnsweredWithinThreshold { get; init; }

    /// <summary>Timed out since the day boundary.</summary>
    public long TimedOut { get; init; }

    /// <summary>Rejected since the day boundary.</summary>
    public long Rejected { get; init; }

    /// <summary>Service level over the last five minutes.</summary>
    public double ServiceLevelRolling { get; init; }

    /// <summary>Service level since the day boundary.</summary>
    public double ServiceLevelToday { get; init; }

    /// <summary>Target service level.</summary>
    public double ServiceLevelTarget { get; init; }

    /// <summary>Threshold T in milliseconds.</summary>
    public long ThresholdMs { get; init; }

    /// <summary>Average speed of answer, milliseconds.</summary>
    public long AsaMs { get; init; }

    /// <summary>Average handle time, milliseconds.</summary>
    public long AhtMs { get; init; }

    /// <summary>Agents holding the skill by state (index = <see cref="AgentState"/>).</summary>
    public required IReadOnlyList<int> AgentsByState { get; init; }

    /// <summary>Agents available now.</summary>
    public int AgentsReady { get; init; }

    /// <summary>Agents ringing, talking or in wrap-up.</summary>
    public int AgentsBusy { get; init; }

    /// <summary>Busy ÷ (busy + ready) now; 0 with nobody working.</summary>
    public double Occupancy { get; init; }

    /// <summary>Arrivals per second over the last five minutes.</summary>
    public double ArrivalRatePerSecond { get; init; }

    /// <summary>Deflected to self-service since the day boundary.</summary>
    public long Deflected { get; init; }

    /// <summary>The skill's effective surge tier now.</summary>
    public int SurgeTier { get; init; }

    /// <summary>
    /// Agents Erlang C says the skill needs for its service level at the last five minutes' arrival rate, with its
    /// average handle time (or <paramref name="defaultHandleTimeMs"/> before any call was handled).
    /// </summary>
    public int RequiredAgents(long defaultHandleTimeMs) =>
        Acd.Core.Statistics.ErlangC.RequiredAgents(ArrivalRatePerSecond, AhtMs > 0 ? AhtMs : defaultHandleTimeMs, ThresholdMs, ServiceLevelTarget);
}
