using System.Runtime.CompilerServices;

namespace Acd.Core.Routing;

/// <summary>
/// Cache hints: with 100,000 calls waiting, the data of the call a command names (its call index entry, its record, its
/// queue and timer positions, its lane neighbours) has left the processor's caches since the call was last touched,
/// and each step to it waits for memory in turn. Where the router can see a call coming — the commands queued behind
/// the one running, the call that has just become the head of its queue — it starts those loads early, so that they
/// overlap other work instead of stalling it. Hints only: they change no routing state (only the look-ahead's own
/// ring), nothing is decided on what they read, and a stale guess costs one useless load (docs/performance.md,
/// "Look-ahead and the next in line").
/// </summary>
public sealed partial class Router
{
    /// <summary>How far behind the running command <see cref="LookAhead"/> expects its argument to be.</summary>
    public const int LookAheadDistance = 10;

    /// <summary>Where the later stages of a look-ahead happen: this many commands before their command runs.</summary>
    private const int IdStage = 8;
    private const int EntryStage = 6;
    private const int RecordStage = 3;
    private const int AgentStage = 2;
    private const int SourcesStage = 1;

    /// <summary>
    /// The last sixteen looked-ahead commands (null: none), with what the stages learnt of each. Structs,
    /// not a <see cref="Command"/> array: storing into an array of a class that has subclasses costs a type check
    /// per store (the runtime's covariance check), a struct's field does not.
    /// </summary>
    private readonly Ahead[] _ahead = NewAheadRing();
    private int _lookAheadCount;

    /// <summary>
    /// A look-ahead hint, given once before each queued command the caller runs, with the command
    /// <see cref="LookAheadDistance"/> places behind it (null when the queue is not that long). The command comes
    /// closer by one place each call, and each stage reads what the one before brought in: at
    /// <see cref="LookAheadDistance"/> places the command object is asked for; at <see cref="IdStage"/> its call id;
    /// at <see cref="EntryStage"/> the id is hashed and its call index entry asked for; at <see cref="RecordStage"/>
    /// the entry is followed to the call's record and positions; at <see cref="AgentStage"/> the record is read for the
    /// call's agent, whose fields (three lines, all read when a call ends) are asked for; at <see cref="SourcesStage"/>
    /// the agent's sources, which its next match reads first. Skipping it, or giving the wrong command, changes
    /// nothing but the speed.
    /// </summary>
    public void LookAhead(Command? upcoming)
    {
        var ahead = _ahead;
        var n = _lookAheadCount++;
        ahead[n & 15].Command = upcoming;
        CacheHint.PrefetchObject(upcoming);

        CacheHint.PrefetchObject(CallIdOf(ahead[(n - (LookAheadDistance - IdStage)) & 15].Command));

        ref var entry = ref ahead[(n - (LookAheadDistance - EntryStage)) & 15];
        var id = CallIdOf(entry.Command);
        entry.Hash = id is { Length: <= MaxCallIdLength } ? _callIndex.PrefetchEntry(id) : -1; // no hashing what the command will refuse

        var hash = ahead[(n - (LookAheadDistance - RecordStage)) & 15].Hash;
        if (hash >= 0 && _callIndex.LikelySlot(hash) is >= 0 and var slot)
        {
            PrefetchCallData(slot);
        }

        var agents = _agents.Items;
        ref var agentStage = ref ahead[(n - (LookAheadDistance - AgentStage)) & 15];
        agentStage.Agent = AgentAhead(agentStage.Hash, _agents.Count);
        if (agentStage.Agent >= 0)
        {
            CacheHint.PrefetchFields(agents[agentStage.Agent], Agent.FieldBytes);
        }

        if (ahead[(n - (LookAheadDistance - SourcesStage)) & 15].Agent is >= 0 and var next)
        {
            CacheHint.PrefetchObject(agents[next].Sources); // below the count: an agent, never null
        }

        ahead[(n - (LookAheadDistance - 1)) & 15].Command = null; // nothing kept alive past its run
    }

    /// <summary>The agent of the call a looked-ahead hash likely names (-1: none, or a guess out of the <paramref name="agents"/> there are).</summary>
    private int AgentAhead(int hash, int agents) =>
        hash >= 0 && _callIndex.LikelySlot(hash) is >= 0 and var slot && _calls.Records[slot].Agent is >= 0 and var a && a < agents ? a : -1;

    private static Ahead[] NewAheadRing()
    {
        var ring = new Ahead[16];
        ring.AsSpan().Fill(new Ahead { Hash = -1, Agent = -1 });
        return ring;
    }

    private struct Ahead
    {
        public Command? Command;

        /// <summary>Its call's index hash once known (-1: none).</summary>
        public int Hash;

        /// <summary>Its call's agent once known (-1: none), read at <see cref="AgentStage"/> for <see cref="SourcesStage"/>.</summary>
        public int Agent;
    }

    private static string? CallIdOf(Command? command) => command switch
    {
        CallCommand c => c.CallId,
        OfferCall o => o.CallId,
        _ => null,
    };

    /// <summary>
    /// After a call leaves a queue: the new head is the next call of its skill an agent will take. Its record and
    /// positions were asked for when it was second in line (asked again here for a head that was not: one back from
    /// the queue's heap, or the first), so now its id, answer route and lane neighbours can be read from them and
    /// asked for; and the call now second in line is asked for in turn.
    /// </summary>
    private void PrefetchNextInLine(CallQueue queue)
    {
        var head = queue.Head.Slot;
        PrefetchCallData(head);
        PrefetchCallNeighbours(head);
        if (queue.AfterHead is >= 0 and var next)
        {
            PrefetchCallData(next);
        }
    }

    /// <summary>The call's record and its queue and timer positions.</summary>
    private void PrefetchCallData(int slot)
    {
        CacheHint.PrefetchSpan(ref _calls.Records[slot], Unsafe.SizeOf<CallRecord>());
        CacheHint.PrefetchSpan(ref _calls.Links[slot], Unsafe.SizeOf<CallLinks>()); // both ends: the array need not start on a 16-byte boundary
    }

    /// <summary>What the call's record points to: its id, its answer route, its neighbours in its timer lane.</summary>
    private void PrefetchCallNeighbours(int slot)
    {
        ref readonly var c = ref _calls.Records[slot];
        CacheHint.PrefetchObject(c.StoredId);
        CacheHint.PrefetchObject(c.AnswerRoute);
        ref readonly var links = ref _calls.Links[slot];
        if (RouterTimers.InLane(links.TimerPos))
        {
            if (links.TimerPrev is >= 0 and var prev)
            {
                CacheHint.Prefetch(ref _calls.Links[prev].TimerNext);
            }

            if (links.TimerNext is >= 0 and var next)
            {
                CacheHint.Prefetch(ref _calls.Links[next].TimerPrev);
            }
        }
    }
}
