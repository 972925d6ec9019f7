using Acd.Core.Domain;

namespace Acd.Core.Routing;

/// <summary>What happened.</summary>
public enum EventKind : byte
{
    /// <summary>A call arrived (followed by queued, routed or rejected).</summary>
    CallOffered = 0,

    /// <summary>A call waits (Position, EstimatedWaitMs).</summary>
    CallQueued = 1,

    /// <summary>A call was given to an agent (Contact, WaitMs, Handoff).</summary>
    CallRouted = 2,

    /// <summary>A call was connected (gRPC Answered, or a SIP hand-off confirmed).</summary>
    CallAnswered = 3,

    /// <summary>The agent did not answer; the call goes back to its place.</summary>
    CallRingNoAnswer = 4,

    /// <summary>The caller hung up before reaching an agent (Reason: caller, disconnected).</summary>
    CallAbandoned = 5,

    /// <summary>The maximum wait ended the call.</summary>
    CallTimedOut = 6,

    /// <summary>The call was refused at arrival (RejectReason).</summary>
    CallRejected = 7,

    /// <summary>A connected call ended.</summary>
    CallEnded = 8,

    /// <summary>A talking call was transferred (Skill: target skill; Reason: target agent if any).</summary>
    CallTransferred = 9,

    /// <summary>A waiting call's SIP connection dropped; it keeps its place for the grace period.</summary>
    CallDetached = 10,

    /// <summary>A held call was resumed by a new INVITE.</summary>
    CallResumed = 11,

    /// <summary>An agent changed state (FromState → ToState, Reason).</summary>
    AgentStateChanged = 12,

    /// <summary>A surge tier changed (Skill: null for the domain; FromTier → Tier; Forced; Reason).</summary>
    SurgeTierChanged = 13,

    /// <summary>A new arrival was sent to self-service in tier 3 (Contact: the IVR URI; EstimatedWaitMs).</summary>
    CallDeflected = 14,

    /// <summary>A callback is owed (CallbackId, Caller, Skill, Reason: abandoned, timed-out, rejected, deflected, disconnected).</summary>
    CallbackCreated = 15,

    /// <summary>A callback was given to an agent to dial (AgentId, Attempts).</summary>
    CallbackAssigned = 16,

    /// <summary>A callback ended: Reason reached or cancelled.</summary>
    CallbackCompleted = 17,

    /// <summary>A callback attempt failed; it is retried later (Attempts, WaitMs until the retry).</summary>
    CallbackRescheduled = 18,

    /// <summary>A callback ran out of attempts; an SMS notification is owed (Reason: sms).</summary>
    CallbackExhausted = 19,
}

/// <summary>
/// One event of a routing domain. The router emits them in order with a sequence number; the SIP port, gRPC
/// watchers, metrics and tests read them. Fields not meaningful for a kind are left default.
/// </summary>
public record struct RoutingEvent
{
    /// <summary>Domain-wide sequence number, from 1.</summary>
    public long Sequence { get; set; }

    /// <summary>When it happened (Unix milliseconds; a timer's event carries the timer's due time).</summary>
    public long TimeMs { get; set; }

    /// <summary>What happened.</summary>
    public EventKind Kind { get; set; }

    /// <summary>The call.</summary>
    public string? CallId { get; set; }

    /// <summary>The caller number.</summary>
    public string? Caller { get; set; }

    /// <summary>The agent.</summary>
    public string? AgentId { get; set; }

    /// <summary>The call's skill (or the agent's, for none).</summary>
    public string? Skill { get; set; }

    /// <summary>Agent state before.</summary>
    public AgentState FromState { get; set; }

    /// <summary>Agent state after.</summary>
    public AgentState ToState { get; set; }

    /// <summary>Not-ready reason, abandon reason, transfer target...</summary>
    public string? Reason { get; set; }

    /// <summary>Queue position (1 = next).</summary>
    public int Position { get; set; }

    /// <summary>Milliseconds the call has waited since its first enqueue.</summary>
    public long WaitMs { get; set; }

    /// <summary>Estimated remaining wait in milliseconds.</summary>
    public long EstimatedWaitMs { get; set; }

    /// <summary>The agent's contact URI.</summary>
    public string? Contact { get; set; }

    /// <summary>The call's priority.</summary>
    public int Priority { get; set; }

    /// <summary>Why the call was refused.</summary>
    public RejectReason RejectReason { get; set; }

    /// <summary>Routed with SIP hand-off semantics.</summary>
    public bool Handoff { get; set; }

    /// <summary>Surge: the new tier.</summary>
    public int Tier { get; set; }

    /// <summary>Surge: the tier before.</summary>
    public int FromTier { get; set; }

    /// <summary>Surge: whether the tier is forced.</summary>
    public bool Forced { get; set; }

    /// <summary>The callback.</summary>
    public string? CallbackId { get; set; }

    /// <summary>Callback attempts so far.</summary>
    public int Attempts { get; set; }

    /// <summary>Who receives the call's answers (a SIP connection); never journaled or compared.</summary>
    public object? Owner { get; set; }

    /// <summary>
    /// The call's open INVITE as <see cref="OfferCall.AnswerRoute"/> gave it, while it is still to be answered; null once a
    /// final answer went (the routing that sends the 302 carries it for the last time). Never journaled.
    /// </summary>
    public byte[]? AnswerRoute { get; set; }
}

/// <summary>The answer to one command.</summary>
public readonly record struct CommandResult
{
    /// <summary>Creates a result.</summary>
    public CommandResult(ResultCode code, string? message = null)
    {
        Code = code;
        Message = message;
    }

    /// <summary>Success without data.</summary>
    public static CommandResult Ok => default;

    /// <summary>Outcome class.</summary>
    public ResultCode Code { get; init; }

    /// <summary>Why it failed (names the call, agent or transition).</summary>
    public string? Message { get; init; }

    /// <summary>For offers: routed, queued, rejected or deflected.</summary>
    public OfferOutcome Outcome { get; init; }

    /// <summary>For routed offers: the agent.</summary>
    public string? AgentId { get; init; }

    /// <summary>For routed offers: the agent's contact. For a login that refreshed a logged-in agent: its contact before (null after a fresh login).</summary>
    public string? Contact { get; init; }

    /// <summary>The skill the call went to.</summary>
    public string? Skill { get; init; }

    /// <summary>For queued offers: position (1 = next).</summary>
    public int Position { get; init; }

    /// <summary>For queued offers: estimated wait in milliseconds.</summary>
    public long EstimatedWaitMs { get; init; }

    /// <summary>For rejected offers: why.</summary>
    public RejectReason RejectReason { get; init; }

    /// <summary>For queries: the answer, read back typed through the query (<see cref="Query{T}.Answer"/>).</summary>
    internal object? Data { get; init; }

    /// <summary>Whether the command succeeded.</summary>
    public bool IsOk => Code == ResultCode.Ok;
}
