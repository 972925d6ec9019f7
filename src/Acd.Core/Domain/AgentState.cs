namespace Acd.Core.Domain;

/// <summary>The states of an agent (SPEC section 2). Every change between them is explicit.</summary>
public enum AgentState : byte
{
    /// <summary>Not logged in: takes nothing.</summary>
    LoggedOut = 0,

    /// <summary>Logged in but unavailable, with a reason (break, training, "rona", ...).</summary>
    NotReady = 1,

    /// <summary>Available for a call of a skill the agent holds.</summary>
    Ready = 2,

    /// <summary>A call has been offered and the agent's phone rings; the ring timeout applies.</summary>
    Reserved = 3,

    /// <summary>On a call.</summary>
    Talking = 4,

    /// <summary>After-call work; returns to Ready when the skill's wrap-up time is over.</summary>
    WrapUp = 5,

    /// <summary>Surge reserve: logged in, serves only when the surge tier reaches the agent's role.</summary>
    Standby = 6,
}

/// <summary>The role of an agent, which decides the surge tier from which a standby agent serves.</summary>
public enum AgentRole : byte
{
    /// <summary>A seat agent (话务员).</summary>
    Agent = 0,

    /// <summary>A team lead (班组长): serves from surge tier 2 when in standby.</summary>
    TeamLead = 1,

    /// <summary>A supervisor or duty manager (督导/值班长): serves from surge tier 3 when in standby.</summary>
    Supervisor = 2,
}

/// <summary>How a skill chooses among several available agents.</summary>
public enum SelectionStrategy : byte
{
    /// <summary>The agent idle the longest (default).</summary>
    LongestIdle = 0,

    /// <summary>The highest skill level, then the longest idle.</summary>
    MostSkilled = 1,

    /// <summary>The lowest skill level (keeps experts free), then the longest idle.</summary>
    LeastSkilled = 2,

    /// <summary>The fewest calls taken since login, then the longest idle.</summary>
    FewestCalls = 3,
}

/// <summary>The state of a call inside the router.</summary>
public enum CallState : byte
{
    /// <summary>Waiting for an agent.</summary>
    Queued = 0,

    /// <summary>Offered to an agent whose phone rings (the agent is Reserved).</summary>
    Offered = 1,

    /// <summary>Connected to an agent (for a SIP hand-off: from the 302 on).</summary>
    Talking = 2,

    /// <summary>Ended after talking.</summary>
    Ended = 3,

    /// <summary>The caller hung up before reaching an agent.</summary>
    Abandoned = 4,

    /// <summary>The skill's maximum wait ended the call.</summary>
    TimedOut = 5,

    /// <summary>Refused at arrival (no agent logged in, queue full, capacity).</summary>
    Rejected = 6,
}

/// <summary>How an offer is answered: a SIP redirect hands the call over, an API offer rings the agent.</summary>
public enum OfferMode : byte
{
    /// <summary>
    /// gRPC semantics: a routed call rings the agent (Reserved) until <c>Answered</c>, <c>NoAnswer</c> or the ring timeout.
    /// Offering an existing call id again is refused.
    /// </summary>
    Api = 0,

    /// <summary>
    /// SIP redirect semantics: a routed call is handed over (the agent counts as Talking from the 302).
    /// Offering an existing call id again is the proxy's failure route (ring-no-answer), a resume, or a retransmission.
    /// </summary>
    Sip = 1,
}
