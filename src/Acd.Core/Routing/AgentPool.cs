namespace Acd.Core.Routing;

/// <summary>
/// The available agents of one skill at one level, least key first. Agents join a pool when they become available,
/// and their key under every strategy but fewest-calls is the order they became available in
/// (<see cref="Agent.ReadySeq"/>, rising): so, as the call queue does, the pool is a ring in key order — O(1) to join
/// at the tail, to leave from the head and to leave from the middle (a hole, skipped at the head or squeezed out once
/// holes outnumber agents) — and only an entry that does not come after the tail (fewest-calls keys, a pool rebuilt
/// from a snapshot, an agent whose skills changed) goes into a heap beside it. Positions are kept in
/// <see cref="AgentTable.PoolPos"/>: a ring index ≥ 0, or -(heap position + 2).
/// </summary>
internal sealed class AgentPool
{
    private const int Hole = -1;
    private readonly AgentTable _agents;
    private readonly IndexedHeap<LateIndex> _late;
    private Entry[] _ring = new Entry[16];
    private int _head;
    private int _size; // ring entries from head, holes included
    private int _holes;

    public AgentPool(AgentTable agents)
    {
        _agents = agents;
        _late = new IndexedHeap<LateIndex>(new LateIndex(agents), 4);
    }

    /// <summary>Agents in the pool.</summary>
    public int Count => _size - _holes + _late.Count;

    /// <summary>The entry with the least key; only valid when <see cref="Count"/> &gt; 0.</summary>
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

    public void Push(long k1, long k2, int id)
    {
        if (k2 != 0 || (_size > 0 && k1 <= _ring[(_head + _size - 1) & (_ring.Length - 1)].K1))
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
        _agents.PoolPos[_agents.PoolSlot(id)] = index;
    }

    /// <summary>Removes an entry that is in this pool.</summary>
    public void Remove(int id)
    {
        var slot = _agents.PoolSlot(id);
        var pos = _agents.PoolPos[slot];
        if (pos < -1)
        {
            _late.RemoveAt(-(pos + 2));
            return;
        }

        _ring[pos].Id = Hole;
        _agents.PoolPos[slot] = -1;
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

    /// <summary>Whether an entry is where its position says (for invariant checks).</summary>
    public bool Holds(int id)
    {
        var pos = _agents.PoolPos[_agents.PoolSlot(id)];
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
                _agents.PoolPos[_agents.PoolSlot(e.Id)] = n;
                n++;
            }
        }

        _ring = ring;
        _head = 0;
        _size = n;
        _holes = 0;
    }

    private struct Entry
    {
        public long K1;
        public int Id;
    }

    /// <summary>Heap positions stored as -(position + 2), so that -1 still means "not pooled".</summary>
    private readonly struct LateIndex(AgentTable agents) : IHeapIndex
    {
        public void Set(int id, int position) => agents.PoolPos[agents.PoolSlot(id)] = position < 0 ? -1 : -(position + 2);
    }
}
