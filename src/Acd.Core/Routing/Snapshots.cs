using Acd.Core.Domain;

namespace Acd.Core.Routing;

/// <summary>An agent as seen from outside at one moment.</summary>
public sealed record AgentSnapshot(
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
public sealed record CallSnapshot(
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

/// <summary>The statistics of one skill at one moment (SPEC 4.5).</summary>
public sealed record QueueSnapshot
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
}
