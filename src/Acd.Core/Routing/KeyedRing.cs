namespace Acd.Core.Routing;

/// <summary>Where a <see cref="KeyedRing{TPositions}"/> keeps each entry's position: a ring index ≥ 0, -(heap position + 2), or -1 for none.</summary>
internal interface IRingPositions
{
    int Get(int id);

    void Set(int id, int position);
}

/// <summary>
/// Entries ordered by (K1, K2), least first, for keys that nearly always arrive in order: the waiting calls of a queue
/// (K1 their place in line) and the available agents of a pool (K1 the order they became available in). Almost every
/// entry joins behind all others, so they sit in a ring in key order — O(1) at both ends, touching memory in sequence —
/// and only an entry that does not come after the tail (a call back at an earlier place, a fewest-calls key with its
/// K2, a pool rebuilt from a snapshot) goes into a small heap beside it. An entry leaving from the middle leaves a hole
/// that is skipped at the head, or squeezed out once holes outnumber entries.
/// </summary>
internal class KeyedRing<TPositions>
    where TPositions : struct, IRingPositions
{
    private const int Hole = -1;
    private readonly TPositions _positions;
    private readonly IndexedHeap<LateIndex> _late;
    private Entry[] _ring = new Entry[16];
    private int _head;
    private int _size; // ring entries from head, holes included
    private int _holes;

    protected KeyedRing(TPositions positions)
    {
        _positions = positions;
        _late = new IndexedHeap<LateIndex>(new LateIndex(positions), 4);
    }

    /// <summary>Entries held.</summary>
    public int Count => _size - _holes + _late.Count;

    /// <summary>The least entry; only valid when <see cref="Count"/> &gt; 0.</summary>
    public HeapEntry Top
    {
        get
        {
            if (_size > 0)
            {
                ref readonly var e = ref _ring[_head];
                var head = new HeapEntry { K1 = e.K1, Id = e.Id };
                return _late.Count > 0 && _late.Top.Before(head) ? _late.Top : head;
            }

            return _late.Top;
        }
    }

    /// <summary>The ring's entry after its head (-1: none, or a hole): a hint of what comes next, not an exact order.</summary>
    public int AfterHead => _size > 1 ? _ring[(_head + 1) & (_ring.Length - 1)].Id : Hole;

    public void Push(long k1, long k2, int id)
    {
        if (k2 != 0 || (_size > 0 && k1 < _ring[(_head + _size - 1) & (_ring.Length - 1)].K1))
        {
            _late.Push(k1, k2, id);
            return;
        }

        if (_size == _ring.Length)
        {
            Rebuild(_ring.Length * 2);
        }

        var index = (_head + _size) & (_ring.Length - 1);
        _ring[index] = new Entry { K1 = k1, Id = id };
        _size++;
        _positions.Set(id, index);
    }

    /// <summary>Removes an entry that is held here.</summary>
    public void Remove(int id)
    {
        var pos = _positions.Get(id);
        if (pos < -1)
        {
            _late.RemoveAt(-(pos + 2));
            return;
        }

        _ring[pos].Id = Hole;
        _positions.Set(id, -1);
        _holes++;
        var mask = _ring.Length - 1;
        while (_size > 0 && _ring[_head].Id == Hole)
        {
            _head = (_head + 1) & mask;
            _size--;
            _holes--;
        }

        if (_size == 0)
        {
            _head = 0;
        }
        else if (_holes > 32 && _holes > _size - _holes)
        {
            Rebuild(_ring.Length);
        }
    }

    /// <summary>How many entries have a K1 below <paramref name="k1"/>.</summary>
    public int CountBefore(long k1)
    {
        var n = 0;
        var mask = _ring.Length - 1;
        for (var i = 0; i < _size; i++)
        {
            ref readonly var e = ref _ring[(_head + i) & mask];
            if (e.Id != Hole && e.K1 < k1)
            {
                n++;
            }
        }

        for (var i = 0; i < _late.Count; i++)
        {
            if (_late[i].K1 < k1)
            {
                n++;
            }
        }

        return n;
    }

    /// <summary>Whether an entry is where its position says (for invariant checks).</summary>
    public bool Holds(int id)
    {
        var pos = _positions.Get(id);
        return pos < -1
            ? -(pos + 2) < _late.Count && _late[-(pos + 2)].Id == id
            : pos >= 0 && pos < _ring.Length && _ring[pos].Id == id && ((pos - _head) & (_ring.Length - 1)) < _size;
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
            if (e.Id != Hole)
            {
                ring[n] = e;
                _positions.Set(e.Id, n);
                n++;
            }
        }

        _ring = ring;
        _head = 0;
        _size = n;
        _holes = 0;
    }

    /// <summary>A ring entry: 12 bytes (a ring entry's K2 is 0).</summary>
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential, Pack = 4)]
    private struct Entry
    {
        public long K1;
        public int Id;
    }

    /// <summary>Heap positions stored as -(position + 2), so that -1 still means "not held".</summary>
    private readonly struct LateIndex(TPositions positions) : IHeapIndex
    {
        public void Set(int id, int position) => positions.Set(id, position < 0 ? -1 : -(position + 2));
    }
}
