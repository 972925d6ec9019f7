using Acd.Core.Domain;

namespace Acd.Core.Routing;

[Flags]
internal enum CallFlags : byte
{
    None = 0,

    /// <summary>SIP redirect semantics: routing hands the call over (Talking at once).</summary>
    Handoff = 1,

    /// <summary>Handed over, answer not yet confirmed (no failure report within the ring timeout yet).</summary>
    AnswerPending = 2,

    /// <summary>Waiting, but its SIP connection dropped: held at its place, not routable, until resumed or the grace ends.</summary>
    Detached = 4,

    /// <summary>Waiting for one particular agent (its personal queue) until <see cref="CallRecord.AuxDueMs"/>.</summary>
    Targeted = 8,

    /// <summary>No callback is owed if the call does not reach an agent (it came from a peer not trusted with that).</summary>
    NoCallback = 16,

    /// <summary>The caller is kept in the answer route, not in <see cref="CallRecord.StoredCaller"/> (a waiting SIP call).</summary>
    CallerInRoute = 32,
}

/// <summary>
/// One live call, kept in a slab of structs (<see cref="CallTable"/>) so that a million waiting calls cost
/// no object headers and no GC tracing beyond their strings.
/// </summary>
internal struct CallRecord
{
    /// <summary>
    /// The call's id, or <see cref="IdInRoute"/> while its answer route keeps it (a waiting SIP call: see
    /// <c>Router.KeepIdentityInRoute</c>); read it with <c>Router.IdOf</c>. Null: a free slot.
    /// </summary>
    public string StoredId;

    /// <summary>The caller; null when there is none or while the answer route keeps it (<see cref="CallFlags.CallerInRoute"/>); read it with <c>Router.CallerOf</c>.</summary>
    public string? StoredCaller;
    public object? Owner;
    public byte[]? AnswerRoute;

    /// <summary>The SIP connection the call came (or last came back) on; 0 for none.</summary>
    public long Connection;

    /// <summary>The place in line: assigned at first enqueue, never reset (ring-no-answer and transfer keep it).</summary>
    public long Seq;

    /// <summary>First-enqueue time; overflow eligibility counts from it.</summary>
    public long FirstEnqueueMs;

    /// <summary>When the skill's maximum wait ends the call if still waiting (reset by a transfer).</summary>
    public long MaxWaitDueMs;

    /// <summary>Due time of the state's own timer: detach grace, targeted wait, ring timeout or answer confirmation.</summary>
    public long AuxDueMs;

    /// <summary>When the call was routed, then when it was answered (talk time starts).</summary>
    public long RoutedMs;
    public long AnsweredMs;

    /// <summary>Due time of the pending timer entry (long.MaxValue: none).</summary>
    public long TimerDueMs;

    /// <summary>The id's hash in the call index (set by <see cref="CallIndex.Add"/>).</summary>
    public int IdHash;

    public int Skill;
    public int Agent;
    public int TargetAgent;

    /// <summary>The caller's entry in the caller history when the call arrived (-1: none); checked against the caller before use.</summary>
    public int History;

    /// <summary>The service number and language tag: 0 for none, else a code of the router's shared values (<c>Router.ServiceNumberOf</c>).</summary>
    public ushort ServiceCode;
    public ushort LanguageCode;

    public byte StepsFired;
    public byte Priority;
    public byte Vip;
    public CallState State;
    public CallFlags Flags;

    /// <summary>What <see cref="StoredId"/> holds while the answer route keeps the id: one instance, told apart by reference.</summary>
    public static readonly string IdInRoute = new('\0', 1);

    public readonly bool Has(CallFlags flag) => (Flags & flag) != CallFlags.None;
}

/// <summary>A call's positions: in its queue (-1: none), among the timers (see <see cref="RouterTimers"/>), and its neighbours in a timer lane.</summary>
internal struct CallLinks
{
    public static readonly CallLinks Unlinked = new() { QueuePos = -1, TimerPos = RouterTimers.None };

    public int QueuePos;
    public int TimerPos;
    public int TimerPrev;
    public int TimerNext;
}

/// <summary>A growable slab of <see cref="CallRecord"/> with a free list; a slot index is the call's handle.</summary>
internal sealed class CallTable
{
    private int[] _free;
    private int _freeCount;
    private int _highWater;

    public CallTable(int capacity = 1024)
    {
        Records = new CallRecord[capacity];
        Links = new CallLinks[capacity];
        _free = new int[capacity];
    }

    public CallRecord[] Records { get; private set; }

    /// <summary>
    /// Where each call sits in its queue and its timer lane, kept apart from the records in one dense array: a heap
    /// sift or a lane's unlink writes these for calls it does not otherwise read, and a 16-byte entry (four to a cache
    /// line) is far cheaper to touch than a field of a scattered 128-byte record; one entry, not four arrays, so that
    /// a call's positions cost one line, not four.
    /// </summary>
    public CallLinks[] Links { get; private set; }

    public int Live { get; private set; }

    public int Allocate()
    {
        Live++;
        int slot;
        if (_freeCount > 0)
        {
            slot = _free[--_freeCount];
        }
        else
        {
            if (_highWater == Records.Length)
            {
                var size = Records.Length * 2;
                Records = Resized(Records, size);
                Links = Resized(Links, size);
                _free = Resized(_free, size);
            }

            slot = _highWater++;
        }

        Links[slot] = CallLinks.Unlinked;
        return slot;
    }

    private static T[] Resized<T>(T[] array, int size)
    {
        Array.Resize(ref array, size);
        return array;
    }

    public void Release(int slot)
    {
        Records[slot] = default;
        Links[slot] = CallLinks.Unlinked;
        _free[_freeCount++] = slot;
        Live--;
    }
}

/// <summary>Heap positions of waiting calls live in <see cref="CallTable.Links"/>.</summary>
internal readonly struct CallQueueIndex(CallTable table) : IHeapIndex
{
    public void Set(int id, int position) => table.Links[id].QueuePos = position;
}
