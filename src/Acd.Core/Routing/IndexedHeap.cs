using System.Runtime.CompilerServices;

namespace Acd.Core.Routing;

/// <summary>Where an <see cref="IndexedHeap{TIndex}"/> records the position of each entry, so that any entry can be removed in O(log n).</summary>
internal interface IHeapIndex
{
    /// <summary>Entry <paramref name="id"/> now sits at <paramref name="position"/> (-1: removed).</summary>
    void Set(int id, int position);
}

/// <summary>A heap entry: ordered by <see cref="K1"/>, then <see cref="K2"/>.</summary>
internal struct HeapEntry
{
    public long K1;
    public long K2;
    public int Id;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool Before(in HeapEntry other) => K1 < other.K1 || (K1 == other.K1 && K2 < other.K2);
}

/// <summary>
/// A 4-ary min-heap over (K1, K2) whose entries know their position (through <typeparamref name="TIndex"/>,
/// a struct so the JIT specialises the calls), giving O(1) peek, O(log n) push, pop and removal of any entry,
/// and no allocation once grown. Four children per node halve the depth of a binary heap; the four sit in one or
/// two cache lines, so a sift touches about half as many lines.
/// </summary>
internal sealed class IndexedHeap<TIndex>
    where TIndex : struct, IHeapIndex
{
    private HeapEntry[] _items;
    private readonly TIndex _index;

    public IndexedHeap(TIndex index, int capacity = 4)
    {
        _index = index;
        _items = new HeapEntry[Math.Max(capacity, 1)];
    }

    public int Count { get; private set; }

    /// <summary>The smallest entry; only valid when <see cref="Count"/> &gt; 0.</summary>
    public ref readonly HeapEntry Top => ref _items[0];

    /// <summary>The entry at a position (for linear inspection, e.g. queue ranks).</summary>
    public ref readonly HeapEntry this[int position] => ref _items[position];

    public void Push(long k1, long k2, int id)
    {
        if (Count == _items.Length)
        {
            Array.Resize(ref _items, _items.Length * 2);
        }

        var entry = new HeapEntry { K1 = k1, K2 = k2, Id = id };
        SiftUp(Count++, entry);
    }

    /// <summary>Removes the entry at <paramref name="position"/>.</summary>
    public void RemoveAt(int position)
    {
        var removed = _items[position].Id;
        var last = --Count;
        if (position != last)
        {
            var moved = _items[last];
            if (moved.Before(_items[position]))
            {
                SiftUp(position, moved);
            }
            else
            {
                SiftDown(position, moved);
            }
        }

        _items[last] = default;
        _index.Set(removed, -1);
    }

    /// <summary>Removes and returns the smallest entry.</summary>
    public HeapEntry Pop()
    {
        var top = _items[0];
        RemoveAt(0);
        return top;
    }

    private void SiftUp(int position, HeapEntry entry)
    {
        var items = _items;
        while (position > 0)
        {
            var parent = (position - 1) >> 2;
            if (!entry.Before(items[parent]))
            {
                break;
            }

            items[position] = items[parent];
            _index.Set(items[position].Id, position);
            position = parent;
        }

        items[position] = entry;
        _index.Set(entry.Id, position);
    }

    private void SiftDown(int position, HeapEntry entry)
    {
        var items = _items;
        var count = Count;
        while (true)
        {
            var first = (position << 2) + 1;
            if (first >= count)
            {
                break;
            }

            var child = first;
            var last = Math.Min(first + 4, count);
            for (var c = first + 1; c < last; c++)
            {
                if (items[c].Before(items[child]))
                {
                    child = c;
                }
            }

            if (!items[child].Before(entry))
            {
                break;
            }

            items[position] = items[child];
            _index.Set(items[position].Id, position);
            position = child;
        }

        items[position] = entry;
        _index.Set(entry.Id, position);
    }
}
