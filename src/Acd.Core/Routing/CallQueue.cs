namespace Acd.Core.Routing;

/// <summary>The head of a <see cref="CallQueue"/>: the call with the earliest place (its first-enqueue time is its record's).</summary>
/// <param name="Seq">Its place in line.</param>
/// <param name="Slot">Its slot.</param>
internal readonly record struct QueueHead(long Seq, int Slot);

/// <summary>
/// The waiting calls of one skill at one priority, in order of place (first-enqueue order). Almost every call joins
/// behind all others (a new arrival has the newest place), so the queue is a ring buffer in place order — O(1) at
/// both ends, touching memory in sequence — and only a call that comes back to an earlier place (ring-no-answer,
/// transfer, resume) goes into a small heap beside it. A call leaving from the middle (abandon) leaves a hole that
/// is skipped at the head, or squeezed out once holes outnumber calls.
/// Positions in <see cref="CallTable.QueuePos"/>: a ring index ≥ 0, or -(heap position + 2) for the heap.
/// </summary>
internal sealed class CallQueue
{
    private const int Hole = -1;
    private readonly CallTable _calls;
    private readonly IndexedHeap<LateIndex> _late;
    private Entry[] _ring = new Entry[16];
    private int _head;
    private int _size; // ring entries from head, holes included
    private int _holes;

    public CallQueue(CallTable calls)
    {
        _calls = calls;
        _late = new IndexedHeap<LateIndex>(new LateIndex(calls), 4);
    }

    /// <summary>Calls in the queue.</summary>
    public int Count => _size - _holes + _late.Count;

    /// <summary>The call with the earliest place; only valid when <see cref="Count"/> &gt; 0.</summary>
    public QueueHead Head
    {
        get
        {
            SkipHoles();
            if (_late.Count > 0 && (_size == 0 || _late.Top.K2 < _ring[_head].Seq))
            {
                ref readonly var top = ref _late.Top;
                return new QueueHead(top.K2, top.Id);
            }

            ref readonly var e = ref _ring[_head];
            return new QueueHead(e.Seq, e.Slot);
        }
    }

    public void Push(long firstEnqueueMs, long seq, int slot)
    {
        if (_size > 0 && seq < _ring[(_head + _size - 1) & (_ring.Length - 1)].Seq)
        {
            _late.Push(firstEnqueueMs, seq, slot);
            return;
        }

        if (_size == _ring.Length)
        {
            Rebuild(_ring.Length * 2);
        }

        var index = (_head + _size) & (_ring.Length - 1);
        _ring[index] = new Entry { Seq = seq, Slot = slot };
        _size++;
        _calls.QueuePos[slot] = index;
    }

    /// <summary>Removes a call that is in this queue.</summary>
    public void Remove(int slot)
    {
        var pos = _calls.QueuePos[slot];
        if (pos < -1)
        {
            _late.RemoveAt(-(pos + 2));
            return;
        }

        _ring[pos].Slot = Hole;
        _calls.QueuePos[slot] = -1;
        _holes++;
        SkipHoles();
        if (_holes > 32 && _holes > _size - _holes)
        {
            Rebuild(_ring.Length);
        }
    }

    /// <summary>How many calls have an earlier place than <paramref name="seq"/>.</summary>
    public int CountBefore(long seq)
    {
        var n = 0;
        var mask = _ring.Length - 1;
        for (var i = 0; i < _size; i++)
        {
            ref readonly var e = ref _ring[(_head + i) & mask];
            if (e.Slot != Hole && e.Seq < seq)
            {
                n++;
            }
        }

        for (var i = 0; i < _late.Count; i++)
        {
            if (_late[i].K2 < seq)
            {
                n++;
            }
        }

        return n;
    }

    /// <summary>Whether the slot is where its position says (for invariant checks).</summary>
    public bool Holds(int slot)
    {
        var pos = _calls.QueuePos[slot];
        return pos < -1
            ? -(pos + 2) < _late.Count && _late[-(pos + 2)].Id == slot
            : pos >= 0 && pos < _ring.Length && _ring[pos].Slot == slot && ((pos - _head) & (_ring.Length - 1)) < _size;
    }

    private void SkipHoles()
    {
        var mask = _ring.Length - 1;
        while (_size > 0 && _ring[_head].Slot == Hole)
        {
            _head = (_head + 1) & mask;
            _size--;
            _holes--;
        }

        if (_size == 0)
        {
            _head = 0;
        }
    }

    /// <summary>Copies the live entries, in order, to the start of a ring of <paramref name="capacity"/>.</summary>
    private void Rebuild(int capacity)
    {
        var old = _ring;
        var mask = old.Length - 1;
        var ring = new Entry[capacity];
        var n = 0;
        for (var i = 0; i < _size; i++)
        {
            ref readonly var e = ref old[(_head + i) & mask];
            if (e.Slot != Hole)
            {
                ring[n] = e;
                _calls.QueuePos[e.Slot] = n;
                n++;
            }
        }

        _ring = ring;
        _head = 0;
        _size = n;
        _holes = 0;
    }

    /// <summary>A ring entry: 12 bytes (a waiting call's first-enqueue time is read from its record, at the head only).</summary>
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential, Pack = 4)]
    private struct Entry
    {
        public long Seq;
        public int Slot;
    }

    /// <summary>Heap positions stored as -(position + 2), so that -1 still means "not queued".</summary>
    private readonly struct LateIndex(CallTable calls) : IHeapIndex
    {
        public void Set(int id, int position) => calls.QueuePos[id] = position < 0 ? -1 : -(position + 2);
    }
}
