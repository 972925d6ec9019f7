namespace Acd.Core.Domain;

/// <summary>The outcome class of a command; maps one-to-one onto gRPC status codes and SIP answers.</summary>
public enum ResultCode : byte
{
    /// <summary>Done.</summary>
    Ok = 0,

    /// <summary>The call, agent or skill named does not exist.</summary>
    NotFound = 1,

    /// <summary>The command itself is malformed (bad level, unknown state name...).</summary>
    InvalidArgument = 2,

    /// <summary>The command is well formed but illegal in the current state (an illegal transition).</summary>
    FailedPrecondition = 3,

    /// <summary>A limit refuses the command (queue full, call capacity).</summary>
    ResourceExhausted = 4,

    /// <summary>The entity already exists.</summary>
    AlreadyExists = 5,

    /// <summary>Not allowed to whoever asked (a contact change without authentication).</summary>
    PermissionDenied = 6,
}

/// <summary>What an offer led to.</summary>
public enum OfferOutcome : byte
{
    /// <summary>Not an offer, or refused before routing (see the result code).</summary>
    None = 0,

    /// <summary>An agent was chosen at once.</summary>
    Routed = 1,

    /// <summary>The call waits in queue.</summary>
    Queued = 2,

    /// <summary>The call was refused (no agent logged in, queue full).</summary>
    Rejected = 3,

    /// <summary>The call was sent to self-service (surge tier 3).</summary>
    Deflected = 4,
}

/// <summary>Why a call was refused at arrival.</summary>
public enum RejectReason : byte
{
    /// <summary>Not rejected.</summary>
    None = 0,

    /// <summary>No agent that could ever take the skill is logged in.</summary>
    NoAgents = 1,

    /// <summary>The skill's queue is at its maximum length.</summary>
    QueueFull = 2,

    /// <summary>The domain holds its maximum number of live calls.</summary>
    Capacity = 3,
}
