using System.Runtime.CompilerServices;

namespace Acd.Core.Routing;

/// <summary>
/// Call id → slot, as an open-addressing hash table with linear probing whose entries hold the hash and the slot
/// side by side. A lookup costs one probe into one array and then the call's record (which the caller touches next
/// anyway) to confirm the id; <see cref="Dictionary{TKey, TValue}"/> would chase buckets, entries and key strings.
/// Hashes are the runtime's randomized string hashes, so hostile Call-IDs cannot force collisions.
/// Deletion shifts the following cluster back (no tombstones). Load factor at most one half.
/// </summary>
internal sealed class CallIndex
{
    private const int Empty = -1;
    private readonly CallTable _calls;
    private Entry[] _entries;
    private int _mask;

    public CallIndex(CallTable calls, int capacity = 1024)
    {
        _calls = calls;
        var size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, capacity * 2));
        _entries = NewTable(size);
        _mask = size - 1;
    }

    public int Count { get; private set; }

    /// <summary>The slot of a call id, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(string id) => Find(id, out _);

    /// <summary>The slot of a call id, or -1; gives the id's hash for a following <see cref="Add(int, int)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(string id, out int hash)
    {
        hash = Hash(id);
        var entries = _entries;
        var mask = _mask;
        for (var i = hash & mask; ; i = (i + 1) & mask)
        {
            ref readonly var e = ref entries[i];
            if (e.Slot == Empty)
            {
                return -1;
            }

            if (e.Hash == hash && Router.HasId(in _calls.Records[e.Slot], id))
            {
                return e.Slot;
            }
        }
    }

    /// <summary>First stage of a look-up ahead of time: hashes the id and starts loading its probe's entry. Gives the hash.</summary>
    public int PrefetchEntry(string id)
    {
        var hash = Hash(id);
        CacheHint.Prefetch(ref _entries[hash & _mask]);
        return hash;
    }

    /// <summary>The slot the probe's first entry for <paramref name="hash"/> points to, if its hash matches (-1 if not): a hint, not a look-up.</summary>
    public int LikelySlot(int hash)
    {
        var e = _entries[hash & _mask];
        return e.Hash == hash ? e.Slot : Empty;
    }

    /// <summary>Adds an id that is not present, by the hash <see cref="Find(string, out int)"/> gave.</summary>
    public void Add(int hash, int slot)
    {
        if ((Count + 1) * 2 > _entries.Length)
        {
            Grow();
        }

        Insert(hash, slot);
        _calls.Records[slot].IdHash = hash;
        Count++;
    }

    /// <summary>Removes the id of the call in <paramref name="slot"/> (present), by the hash kept with the call: no hashing, no string compare.</summary>
    public void Remove(int slot)
    {
        var hash = _calls.Records[slot].IdHash;
        var entries = _entries;
        var mask = _mask;
        var i = hash & mask;
        while (entries[i].Slot != slot)
        {
            if (entries[i].Slot == Empty)
            {
                return;
            }

            i = (i + 1) & mask;
        }

        // Backward-shift deletion: move later members of the cluster into the hole when their home allows it.
        var hole = i;
        for (var j = (hole + 1) & mask; entries[j].Slot != Empty; j = (j + 1) & mask)
        {
            var home = entries[j].Hash & mask;
            var distanceToHole = (hole - home) & mask;
            var distanceToJ = (j - home) & mask;
            if (distanceToHole < distanceToJ)
            {
                entries[hole] = entries[j];
                hole = j;
            }
        }

        entries[hole] = new Entry { Hash = 0, Slot = Empty };
        Count--;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Hash(string id) => id.GetHashCode(StringComparison.Ordinal) & 0x7FFF_FFFF;

    private static Entry[] NewTable(int size)
    {
        var table = new Entry[size];
        table.AsSpan().Fill(new Entry { Hash = 0, Slot = Empty });
        return table;
    }

    private void Insert(int hash, int slot)
    {
        var i = hash & _mask;
        while (_entries[i].Slot != Empty)
        {
            i = (i + 1) & _mask;
        }

        _entries[i] = new Entry { Hash = hash, Slot = slot };
    }

    private void Grow()
    {
        var old = _entries;
        _entries = NewTable(old.Length * 2);
        _mask = _entries.Length - 1;
        foreach (var e in old)
        {
            if (e.Slot != Empty)
            {
                Insert(e.Hash, e.Slot);
            }
        }
    }

    private struct Entry
    {
        public int Hash;
        public int Slot;
    }
}
