namespace Acd.Core.Routing;

/// <summary>The head of a <see cref="CallQueue"/>: the call with the earliest place (its first-enqueue time is its record's).</summary>
/// <param name="Seq">Its place in line.</param>
/// <param name="Slot">Its slot.</param>
internal readonly record struct QueueHead(long Seq, int Slot);

/// <summary>
/// The waiting calls of one skill at one priority, in order of place (a call's place, its <c>Seq</c>, is given at its
/// first enqueue and kept: first-enqueue order). A new arrival has the newest place, so nearly every call joins at the
/// tail of the ring; a call that comes back to an earlier place (ring-no-answer, transfer, resume) goes into the heap
/// beside it (<see cref="KeyedRing{TPositions}"/>). Positions in <see cref="CallTable.Links"/>.
/// </summary>
internal sealed class CallQueue(CallTable calls) : KeyedRing<CallQueuePositions>(new CallQueuePositions(calls))
{
    /// <summary>The call with the earliest place; only valid when <see cref="KeyedRing{TPositions}.Count"/> &gt; 0.</summary>
    public QueueHead Head
    {
        get
        {
            var top = Top;
            return new QueueHead(top.K1, top.Id);
        }
    }

    public void Push(long seq, int slot) => Push(seq, 0, slot);
}

/// <summary>Queue positions in <see cref="CallTable.Links"/>.</summary>
internal readonly struct CallQueuePositions(CallTable calls) : IRingPositions
{
    public int Get(int id) => calls.Links[id].QueuePos;

    public void Set(int id, int position) => calls.Links[id].QueuePos = position;
}
