using Acd.Core.Domain;

namespace Acd.Core.Routing;

/// <summary>
/// A read-only question answered on the writer's thread from its state (never journaled). Each kind of question is a
/// type of its own, <see cref="Query{T}"/>, whose answer is read back typed with <see cref="Query{T}.Answer"/>.
/// </summary>
public abstract class Query : Command
{
    /// <inheritdoc/>
    public sealed override CommandKind Kind => CommandKind.Query;

    /// <summary>Answers on the writer's thread.</summary>
    internal abstract CommandResult Run(Router router);
}

/// <summary>A question whose answer is a <typeparamref name="T"/>.</summary>
public abstract class Query<T> : Query
{
    /// <summary>The answer a result of this query carries (default when the query failed: see its code and message).</summary>
    public T? Answer(in CommandResult result) => result.Data is T answer ? answer : default;

    /// <summary>A successful answer.</summary>
    private protected static CommandResult Answered(T answer) => new() { Data = answer };

    /// <summary>The answer, or a not-found result with <paramref name="message"/> when there is none.</summary>
    private protected static CommandResult AnsweredOrNotFound(T? answer, string message) =>
        answer is null ? new CommandResult(ResultCode.NotFound, message) : new CommandResult { Data = answer };
}

/// <summary>One agent.</summary>
public sealed class AgentQuery(string agentId) : Query<AgentView>
{
    /// <summary>The agent asked about.</summary>
    public string AgentId { get; } = agentId;

    internal override CommandResult Run(Router router) => AnsweredOrNotFound(router.GetAgent(AgentId), $"unknown agent '{AgentId}'");
}

/// <summary>Every agent, in roster order.</summary>
public sealed class AgentsQuery : Query<IReadOnlyList<AgentView>>
{
    /// <summary>The one instance.</summary>
    public static readonly AgentsQuery Instance = new();

    internal override CommandResult Run(Router router) => Answered(router.ListAgents());
}

/// <summary>The calls connected at or before a moment and still connected (for the talk-time limit).</summary>
public sealed class TalkingSinceQuery(long sinceMs) : Query<IReadOnlyList<string>>
{
    /// <summary>The moment.</summary>
    public long SinceMs { get; } = sinceMs;

    internal override CommandResult Run(Router router) => Answered(router.CallsTalkingSince(SinceMs));
}

/// <summary>How many agents are in each state (index = <see cref="AgentState"/>), without a view per agent.</summary>
public sealed class AgentStatesQuery : Query<AgentStateCounts>
{
    /// <summary>The one instance.</summary>
    public static readonly AgentStatesQuery Instance = new();

    internal override CommandResult Run(Router router) => Answered(router.CountAgentStates());
}

/// <summary>One live call.</summary>
public sealed class CallQuery(string callId) : Query<CallView>
{
    /// <summary>The call asked about.</summary>
    public string CallId { get; } = callId;

    internal override CommandResult Run(Router router) => AnsweredOrNotFound(router.GetCall(CallId), $"unknown call '{CallId}'");
}

/// <summary>The statistics of one skill.</summary>
public sealed class QueueQuery(string skill) : Query<QueueView>
{
    /// <summary>The skill asked about.</summary>
    public string Skill { get; } = skill;

    internal override CommandResult Run(Router router) => AnsweredOrNotFound(router.GetQueue(Skill), $"unknown skill '{Skill}'");
}

/// <summary>The statistics of every skill.</summary>
public sealed class QueuesQuery : Query<IReadOnlyList<QueueView>>
{
    /// <summary>The one instance.</summary>
    public static readonly QueuesQuery Instance = new();

    internal override CommandResult Run(Router router) => Answered(router.ListQueues());
}

/// <summary>The surge status of the domain (no skill) or of one skill.</summary>
public sealed class SurgeQuery(string? skill = null) : Query<SurgeView>
{
    /// <summary>The skill asked about, or null for the domain.</summary>
    public string? Skill { get; } = skill;

    internal override CommandResult Run(Router router) => AnsweredOrNotFound(router.GetSurge(Skill), $"unknown skill '{Skill}'");
}

/// <summary>Open and assigned callbacks, oldest first, a page at a time; optionally the recently closed ones after them.</summary>
public sealed class CallbacksQuery : Query<IReadOnlyList<CallbackView>>
{
    /// <summary>Whether the recently closed follow the open ones.</summary>
    public bool ClosedToo { get; init; }

    /// <summary>Most callbacks answered.</summary>
    public int Limit { get; init; } = 10_000;

    /// <summary>Start after the callback numbered this (the N of <c>cb-N@domain</c>); 0: from the oldest.</summary>
    public long After { get; init; }

    internal override CommandResult Run(Router router) => Answered(router.ListCallbacks(ClosedToo, Limit, After));
}

/// <summary>One callback, open or recently closed.</summary>
public sealed class CallbackQuery(string callbackId) : Query<CallbackView>
{
    /// <summary>The callback asked about.</summary>
    public string CallbackId { get; } = callbackId;

    internal override CommandResult Run(Router router) => AnsweredOrNotFound(router.GetCallback(CallbackId), $"unknown callback '{CallbackId}'");
}

/// <summary>The callback figures.</summary>
public sealed class CallbackTotalsQuery : Query<CallbackTotals>
{
    /// <summary>The one instance.</summary>
    public static readonly CallbackTotalsQuery Instance = new();

    internal override CommandResult Run(Router router) => Answered(router.CallbackFigures);
}

/// <summary>The state digest (<see cref="Router.StateDigest"/>).</summary>
public sealed class DigestQuery : Query<string>
{
    /// <summary>The one instance.</summary>
    public static readonly DigestQuery Instance = new();

    internal override CommandResult Run(Router router) => Answered(router.StateDigest());
}

/// <summary>
/// The whole state as a snapshot body (<see cref="Router.WriteState"/>), for snapshots taken at a batch boundary;
/// answered with an empty state when more calls are live than <see cref="MaxCalls"/> (serializing them would pause
/// routing too long).
/// </summary>
public sealed class StateQuery(int maxCalls) : Query<CapturedState>
{
    /// <summary>Most live calls the state is captured with.</summary>
    public int MaxCalls { get; } = maxCalls;

    internal override CommandResult Run(Router router)
    {
        if (router.LiveCalls > MaxCalls)
        {
            return Answered(CapturedState.TooLarge);
        }

        var state = new Acd.Core.Durability.StateWriter(1 << 20);
        router.WriteState(state);
        return Answered(new CapturedState(state.Written.ToArray()));
    }
}

/// <summary>A state captured by a <see cref="StateQuery"/>: the snapshot body, or none when it was too large to capture.</summary>
/// <param name="Body">The snapshot body; null when not captured.</param>
public sealed record CapturedState(byte[]? Body)
{
    /// <summary>Not captured: too many live calls.</summary>
    public static readonly CapturedState TooLarge = new((byte[]?)null);
}

/// <summary>How many agents are in each state.</summary>
/// <param name="ByState">Counts indexed by <see cref="AgentState"/>.</param>
public sealed record AgentStateCounts(IReadOnlyList<int> ByState)
{
    /// <summary>Agents in one state.</summary>
    public int this[AgentState state] => ByState[(int)state];
}
