namespace Acd.Core.Routing;

/// <summary>
/// What the router remembers of callers, for repeat-caller detection and first-contact ownership: the times of each
/// caller's last few calls and the agent who last took one. Bounded: at most <see cref="Capacity"/> callers, the one
/// who called least recently forgotten first (LRU), so a million distinct callers cost no more than the capacity.
/// Deterministic (no hashing order leaks out), so a journal replay rebuilds the same history.
/// </summary>
internal sealed class CallerHistory
{
    private const int None = -1;
    private readonly Dictionary<string, int> _index;
    private readonly int _keep;
    private Entry[] _entries;
    private long[] _times;
    private int _count;
    private int _newest = None;
    private int _oldest = None;

    /// <summary>Remembers up to <paramref name="capacity"/> callers and the last <paramref name="keep"/> call times of each.</summary>
    public CallerHistory(int capacity, int keep)
    {
        Capacity = capacity;
        _keep = Math.Max(1, keep);
        _index = new Dictionary<string, int>(StringComparer.Ordinal);

        // Grown on demand up to the capacity: a large capacity costs nothing until callers come.
        _entries = new Entry[Math.Min(capacity, 1024)];
        _times = new long[_entries.Length * _keep];
    }

    public int Capacity { get; }

    public int Count => _count;

    /// <summary>
    /// A call from <paramref name="caller"/> arrives at <paramref name="nowMs"/>: it is remembered, and
    /// <paramref name="earlier"/> tells how many of the caller's earlier calls came at or after <paramref name="since"/>.
    /// Returns the caller's entry (-1 when nothing is remembered); it stays the caller's until the caller is forgotten.
    /// </summary>
    public int Arrive(string caller, long nowMs, long since, out int earlier)
    {
        earlier = 0;
        if (Capacity == 0)
        {
            return None;
        }

        var i = Touch(caller);
        ref var e = ref _entries[i];
        var times = _times.AsSpan(i * _keep, _keep);
        for (var k = 0; k < e.TimeCount; k++)
        {
            if (times[k] >= since)
            {
                earlier++;
            }
        }

        times[e.TimeNext] = nowMs;
        e.TimeNext = (e.TimeNext + 1) % _keep;
        e.TimeCount = Math.Min(e.TimeCount + 1, _keep);
        return i;
    }

    /// <summary>The agent (index) who last took a call of the caller at <paramref name="entry"/>, and when; -1 if none.</summary>
    public (int Agent, long AtMs) LastAgent(int entry)
    {
        if (entry < 0)
        {
            return (None, 0);
        }

        ref readonly var e = ref _entries[entry];
        return (e.LastAgent, e.LastAgentMs);
    }

    /// <summary>One of the caller's calls went to agent <paramref name="agent"/>; <paramref name="entry"/> is a hint from its arrival.</summary>
    public void RecordAgent(int entry, string caller, int agent, long nowMs)
    {
        if (Capacity == 0)
        {
            return;
        }

        // The entry is the caller's unless it was forgotten and reused since the call arrived.
        var i = entry >= 0 && entry < _count && string.Equals(_entries[entry].Caller, caller, StringComparison.Ordinal) ? entry : Touch(caller);
        ref var e = ref _entries[i];
        e.LastAgent = agent;
        e.LastAgentMs = nowMs;
    }

    /// <summary>Writes the history exactly, entry positions and recency order included (snapshots).</summary>
    public void Write(Durability.StateWriter w)
    {
        w.WriteVarInt(Capacity);
        w.WriteVarInt(_keep);
        w.WriteVarInt(_count);
        w.WriteVarInt(_newest);
        w.WriteVarInt(_oldest);
        for (var i = 0; i < _count; i++)
        {
            ref readonly var e = ref _entries[i];
            w.WriteString(e.Caller);
            w.WriteVarInt(e.TimeCount);
            w.WriteVarInt(e.TimeNext);
            w.WriteVarInt(e.LastAgent);
            w.WriteVarInt(e.LastAgentMs);
            w.WriteVarInt(e.Prev);
            w.WriteVarInt(e.Next);
            for (var k = 0; k < e.TimeCount; k++)
            {
                w.WriteVarInt(_times[(i * _keep) + k]);
            }
        }
    }

    /// <summary>Reads what <see cref="Write"/> wrote into this (empty) history of the same capacity.</summary>
    public void Read(Durability.StateReader r)
    {
        if (r.ReadInt() != Capacity || r.ReadInt() != _keep)
        {
            throw new InvalidDataException("the caller history was written with another capacity or repeat count");
        }

        var count = r.ReadInt(0, Capacity);
        _newest = r.ReadInt(None, count - 1);
        _oldest = r.ReadInt(None, count - 1);
        _index.Clear();
        _count = 0;
        if (count > 0)
        {
            Grow(count - 1);
        }

        for (var i = 0; i < count; i++)
        {
            var e = new Entry
            {
                Caller = r.ReadRequiredString(),
                TimeCount = r.ReadInt(0, _keep),
                TimeNext = r.ReadInt(0, _keep - 1),
                LastAgent = r.ReadInt(None),
                LastAgentMs = r.ReadVarInt(),
                Prev = r.ReadInt(None, count - 1),
                Next = r.ReadInt(None, count - 1),
            };
            for (var k = 0; k < e.TimeCount; k++)
            {
                _times[(i * _keep) + k] = r.ReadVarInt();
            }

            if (!_index.TryAdd(e.Caller, i))
            {
                throw new InvalidDataException($"caller {e.Caller} is in the history twice");
            }

            _entries[i] = e;
            _count = i + 1;
        }
    }

    /// <summary>The entry of a caller, now the most recent; created (evicting the least recent if full) when new.</summary>
    private int Touch(string caller)
    {
        if (_index.TryGetValue(caller, out var i))
        {
            Unlink(i);
            LinkNewest(i);
            return i;
        }

        if (_count == Capacity)
        {
            i = _oldest;
            _index.Remove(_entries[i].Caller!);
            Unlink(i);
        }
        else
        {
            i = _count++;
            Grow(i);
        }

        _entries[i] = new Entry { Caller = caller, LastAgent = None, Prev = None, Next = None };
        _index.Add(caller, i);
        LinkNewest(i);
        return i;
    }

    private void Grow(int needed)
    {
        if (needed < _entries.Length)
        {
            return;
        }

        var size = Math.Min(Capacity, Math.Max(needed + 1, Math.Max(1024, _entries.Length * 2)));
        Array.Resize(ref _entries, size);
        Array.Resize(ref _times, size * _keep);
    }

    private void Unlink(int i)
    {
        ref var e = ref _entries[i];
        if (e.Prev != None)
        {
            _entries[e.Prev].Next = e.Next;
        }
        else
        {
            _newest = e.Next;
        }

        if (e.Next != None)
        {
            _entries[e.Next].Prev = e.Prev;
        }
        else
        {
            _oldest = e.Prev;
        }

        e.Prev = e.Next = None;
    }

    private void LinkNewest(int i)
    {
        ref var e = ref _entries[i];
        e.Prev = None;
        e.Next = _newest;
        if (_newest != None)
        {
            _entries[_newest].Prev = i;
        }

        _newest = i;
        if (_oldest == None)
        {
            _oldest = i;
        }
    }

    private struct Entry
    {
        public string? Caller;
        public int TimeCount;
        public int TimeNext;
        public int LastAgent;
        public long LastAgentMs;
        public int Prev;
        public int Next;
    }
}
