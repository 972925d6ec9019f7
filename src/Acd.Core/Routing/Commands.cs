using Acd.Core.Domain;

namespace Acd.Core.Routing;

/// <summary>What a command does; the journal stores this tag with the command's fields.</summary>
public enum CommandKind : byte
{
    /// <summary>Advance the clock only (fires due timers).</summary>
    Tick = 0,

    /// <summary>Log in every roster agent whose initial state is not logged-out (a fresh start).</summary>
    LoginRoster = 1,

    /// <summary>A call arrives (SIP INVITE, gRPC Offer).</summary>
    Offer = 2,

    /// <summary>The agent answered an offered call.</summary>
    Answered = 3,

    /// <summary>The agent did not answer (ring-no-answer).</summary>
    NoAnswer = 4,

    /// <summary>A connected call ended (SIP BYE, gRPC End).</summary>
    End = 5,

    /// <summary>The caller hung up before reaching an agent (SIP CANCEL, gRPC Abandon).</summary>
    Abandon = 6,

    /// <summary>A talking agent transfers the call to a skill or an agent.</summary>
    Transfer = 7,

    /// <summary>A SIP connection dropped: its waiting calls are held at their places for the grace period.</summary>
    DetachConnection = 8,

    /// <summary>An agent logs in.</summary>
    Login = 9,

    /// <summary>An agent logs out.</summary>
    Logout = 10,

    /// <summary>An agent asks for ready, not-ready (with reason) or standby.</summary>
    SetState = 11,

    /// <summary>An agent ends wrap-up early.</summary>
    EndWrapUp = 12,

    /// <summary>An agent extends wrap-up.</summary>
    ExtendWrapUp = 13,

    /// <summary>A caller's VIP class is set (0 removes it).</summary>
    SetVip = 14,

    /// <summary>A duty manager forces a surge tier for a time.</summary>
    ForceTier = 15,

    /// <summary>A forced surge tier is cleared.</summary>
    ClearSurge = 16,

    /// <summary>The dialer reports a callback's outcome.</summary>
    CompleteCallback = 17,

    /// <summary>A callback is cancelled.</summary>
    CancelCallback = 18,

    /// <summary>A read-only question (never journaled).</summary>
    Query = 100,
}

/// <summary>
/// A state change handed to a routing domain's single writer. Commands are immutable; the time at which one is
/// applied is given with it, so a journal of (time, command) replays to the same state.
/// </summary>
public abstract class Command
{
    /// <summary>The command's tag.</summary>
    public abstract CommandKind Kind { get; }

    /// <summary>Whether the command only reads (not journaled).</summary>
    public bool IsQuery => Kind == CommandKind.Query;
}

/// <summary>Advance the clock only.</summary>
public sealed class Tick : Command
{
    /// <summary>The one instance.</summary>
    public static readonly Tick Instance = new();

    /// <inheritdoc/>
    public override CommandKind Kind => CommandKind.Tick;
}

/// <summary>Log in the roster's initial states (done once, on a fresh start).</summary>
public sealed class LoginRoster : Command
{
    /// <summary>The one instance.</summary>
    public static readonly LoginRoster Instance = new();

    /// <inheritdoc/>
    public override CommandKind Kind => CommandKind.LoginRoster;
}

/// <summary>A call arrives.</summary>
public sealed class OfferCall : Command
{
    /// <inheritdoc/>
    public override CommandKind Kind => CommandKind.Offer;

    /// <summary>Call id (SIP Call-ID).</summary>
    public required string CallId { get; init; }

    /// <summary>Caller number.</summary>
    public string? Caller { get; init; }

    /// <summary>Dialed service number (10086, 1008611...).</summary>
    public string? ServiceNumber { get; init; }

    /// <summary>Explicit skill; wins over every other choice.</summary>
    public string? Skill { get; init; }

    /// <summary>Priority 0-9, or -1 for the skill's default.</summary>
    public int Priority { get; init; } = -1;

    /// <summary>Language tag (en, zh...).</summary>
    public string? Language { get; init; }

    /// <summary>VIP class, 0 for none.</summary>
    public int Vip { get; init; }

    /// <summary>IVR digits the caller pressed.</summary>
    public string? IvrDigits { get; init; }

    /// <summary>SIP hand-off semantics or API ring semantics.</summary>
    public OfferMode Mode { get; init; }

    /// <summary>The SIP connection the call came on (0 for none); a dropped connection holds its calls.</summary>
    public long Connection { get; init; }

    /// <summary>
    /// SIP: what a daemon needs to answer the INVITE after the process that received it is gone — after a restart or a
    /// takeover (<see cref="Acd.Core.Sip.SipTransactionEcho.Route"/>). Kept with the call while it waits; journaled.
    /// </summary>
    public byte[]? AnswerRoute { get; init; }

    /// <summary>Who receives this call's answers later (a SIP transaction). Not journaled.</summary>
    public object? Owner { get; init; }

    /// <summary>
    /// Whether the caller is owed a callback if the call does not reach an agent (来电必复). False for calls from a peer
    /// that is allowed to offer calls but not trusted: a made-up caller number must not fill the callback book.
    /// </summary>
    public bool OwesCallback { get; init; } = true;
}

/// <summary>A SIP connection dropped: every call still waiting that came (or last came back) on it is held.</summary>
/// <param name="connection">The connection id; 0 holds every waiting SIP call (after a restart).</param>
public sealed class DetachConnection(long connection) : Command
{
    /// <inheritdoc/>
    public override CommandKind Kind => CommandKind.DetachConnection;

    /// <summary>The connection.</summary>
    public long Connection { get; } = connection;

    /// <summary>Calls with an <see cref="OfferCall.AnswerRoute"/> keep their places unheld: their answers can go over a new connection.</summary>
    public bool KeepAnswerable { get; init; }
}

/// <summary>A command about one call.</summary>
public sealed class CallCommand : Command
{
    private readonly CommandKind _kind;

    /// <summary>Creates a call command of kind Answered, NoAnswer, End or Abandon.</summary>
    public CallCommand(CommandKind kind, string callId)
    {
        if (kind is not (CommandKind.Answered or CommandKind.NoAnswer or CommandKind.End or CommandKind.Abandon))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a call command");
        }

        _kind = kind;
        CallId = callId;
    }

    /// <inheritdoc/>
    public override CommandKind Kind => _kind;

    /// <summary>The call.</summary>
    public string CallId { get; }

    /// <summary>For End: a call still waiting or ringing is abandoned instead of refused (a SIP BYE).</summary>
    public bool AbandonIfWaiting { get; init; }

    /// <summary>For End: why, when it is not the caller or agent hanging up (max-talk-time: the daemon ended an overlong call).</summary>
    public string? Reason { get; init; }

    /// <summary>
    /// For End: the proxy reports that the call never connected (a BYE with <c>Reason: SIP;cause=487</c>: the caller left while
    /// the agent's phone rang). A call handed off and not yet confirmed answered counts as abandoned and frees the agent at once.
    /// </summary>
    public bool Unanswered { get; init; }
}

/// <summary>Transfer a talking call to a skill, an agent, or an agent falling back to a skill.</summary>
public sealed class TransferCall : Command
{
    /// <inheritdoc/>
    public override CommandKind Kind => CommandKind.Transfer;

    /// <summary>The call.</summary>
    public required string CallId { get; init; }

    /// <summary>Target skill (or, with an agent, the skill to fall back to).</summary>
    public string? ToSkill { get; init; }

    /// <summary>Target agent.</summary>
    public string? ToAgent { get; init; }
}

/// <summary>An agent logs in; with skills, an agent not in the roster is added.</summary>
public sealed class LoginAgent : Command
{
    /// <inheritdoc/>
    public override CommandKind Kind => CommandKind.Login;

    /// <summary>Work number.</summary>
    public required string AgentId { get; init; }

    /// <summary>Skills to hold from now on (skill → level); null keeps the roster's.</summary>
    public IReadOnlyDictionary<string, int>? Skills { get; init; }

    /// <summary>Contact URI; null keeps the current one.</summary>
    public string? Contact { get; init; }

    /// <summary>Role name; null keeps the current one.</summary>
    public string? Role { get; init; }

    /// <summary>Outbound flag; null keeps the current one.</summary>
    public bool? Outbound { get; init; }

    /// <summary>Ready (default), NotReady or Standby.</summary>
    public AgentState InitialState { get; init; } = AgentState.Ready;

    /// <summary>Not-ready reason.</summary>
    public string? Reason { get; init; }

    /// <summary>A refresh (SIP re-REGISTER): an agent already logged in only updates its contact.</summary>
    public bool Refresh { get; init; }

    /// <summary>
    /// Whether a refresh may move a logged-in agent to another contact. False for a REGISTER that was not authenticated:
    /// a logged-in agent's calls must not be redirected to whoever sends one.
    /// </summary>
    public bool MayMoveContact { get; init; } = true;
}

/// <summary>A command about one agent: Logout, SetState, EndWrapUp, ExtendWrapUp.</summary>
public sealed class AgentCommand : Command
{
    private readonly CommandKind _kind;

    /// <summary>Creates an agent command.</summary>
    public AgentCommand(CommandKind kind, string agentId)
    {
        if (kind is not (CommandKind.Logout or CommandKind.SetState or CommandKind.EndWrapUp or CommandKind.ExtendWrapUp))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "not an agent command");
        }

        _kind = kind;
        AgentId = agentId;
    }

    /// <inheritdoc/>
    public override CommandKind Kind => _kind;

    /// <summary>Work number.</summary>
    public string AgentId { get; }

    /// <summary>For SetState: the state asked for.</summary>
    public AgentState State { get; init; }

    /// <summary>For SetState(NotReady): the reason.</summary>
    public string? Reason { get; init; }

    /// <summary>For ExtendWrapUp: seconds to add.</summary>
    public int Seconds { get; init; }
}

/// <summary>Sets a caller's VIP class (0 removes it).</summary>
public sealed class SetCallerVip(string caller, int vipClass) : Command
{
    /// <inheritdoc/>
    public override CommandKind Kind => CommandKind.SetVip;

    /// <summary>Caller number.</summary>
    public string Caller { get; } = caller;

    /// <summary>VIP class 1-9, or 0 to remove.</summary>
    public int VipClass { get; } = vipClass;
}

/// <summary>Forces a surge tier (of the domain, or of one skill) for a time.</summary>
public sealed class ForceSurgeTier : Command
{
    /// <inheritdoc/>
    public override CommandKind Kind => CommandKind.ForceTier;

    /// <summary>A skill's own tier; null: the domain's.</summary>
    public string? Skill { get; init; }

    /// <summary>The tier, 0-3.</summary>
    public int Tier { get; init; }

    /// <summary>How long, seconds (1-86400).</summary>
    public int DurationSeconds { get; init; }

    /// <summary>Why (shown in events and status).</summary>
    public string? Reason { get; init; }
}

/// <summary>Clears a forced surge tier: the load decides again.</summary>
public sealed class ClearSurgeOverride : Command
{
    /// <inheritdoc/>
    public override CommandKind Kind => CommandKind.ClearSurge;

    /// <summary>A skill's own tier; null: the domain's.</summary>
    public string? Skill { get; init; }
}

/// <summary>The outcome of a callback attempt.</summary>
public sealed class ReportCallbackOutcome(string callbackId, bool reached) : Command
{
    /// <inheritdoc/>
    public override CommandKind Kind => CommandKind.CompleteCallback;

    /// <summary>The callback.</summary>
    public string CallbackId { get; } = callbackId;

    /// <summary>Whether the caller was reached (else it is retried, or exhausted).</summary>
    public bool Reached { get; } = reached;
}

/// <summary>Cancels an open callback.</summary>
public sealed class CancelCallback(string callbackId) : Command
{
    /// <inheritdoc/>
    public override CommandKind Kind => CommandKind.CancelCallback;

    /// <summary>The callback.</summary>
    public string CallbackId { get; } = callbackId;
}
