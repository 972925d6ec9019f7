using System.Runtime.CompilerServices;

namespace Acd.Core.Routing;

/// <summary>
/// The call and agent timers of a router (ring timeout, answer confirmation, overflow steps, maximum wait, detach grace,
/// wrap-up), in lanes and a heap. Most timers are set a constant time ahead — every call of a skill gets its first
/// overflow step the same seconds after it arrives, every routed call the same ring timeout — so the timers of one
/// duration fall due in the order they were set. Such a timer goes at the tail of its duration's lane, a FIFO list
/// linked through dense arrays: set and cancelled in O(1), where a 100,000-entry heap took a sift through eight levels
/// of cache misses. A timer that would not be in order in its lane (a call requeued with an older place in line, a
/// ninth duration) goes to the heap. The next timer is the least of the heap's top and the lanes' heads by (due, key),
/// so timers fire in exactly the order one heap would give.
/// </summary>
/// <remarks>
/// A timer's position: ≥ 0 its place in the heap, <see cref="None"/> no timer, ≤ -2 in lane <c>-2 - position</c>.
/// Timer ids are call slots (≥ 0) and agents (<c>~index</c>). Keys: a call's <see cref="CallRecord.TimerDueMs"/> and
/// <c>callKeyBase + Seq</c>, an agent's wrap-up end and index — they do not change while the timer is set.
/// </remarks>
internal sealed class RouterTimers
{
    /// <summary>The position of an id with no timer.</summary>
    public const int None = -1;

    private const int MaxLanes = 8;
    private const int Nil = int.MinValue;

    private readonly CallTable _calls;
    private readonly AgentTable _agents;
    private readonly long _callKeyBase;
    private readonly IndexedHeap<TimerIndex> _heap;
    private readonly Lane[] _lanes = new Lane[MaxLanes];
    private int _laneCount;
    private int _inLanes;

    public RouterTimers(CallTable calls, AgentTable agents, long callKeyBase)
    {
        _calls = calls;
        _agents = agents;
        _callKeyBase = callKeyBase;
        _heap = new IndexedHeap<TimerIndex>(new TimerIndex(calls, agents), 1024);
    }

    /// <summary>Timers set.</summary>
    public int Count => _heap.Count + _inLanes;

    /// <summary>Due time of the next timer, or <see cref="long.MaxValue"/>.</summary>
    public long NextDueMs
    {
        get
        {
            var due = _heap.Count > 0 ? _heap.Top.K1 : long.MaxValue;
            for (var i = 0; i < _laneCount; i++)
            {
                ref readonly var lane = ref _lanes[i];
                if (lane.Head != Nil && lane.HeadK1 < due)
                {
                    due = lane.HeadK1;
                }
            }

            return due;
        }
    }

    /// <summary>Whether a position is that of a set timer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsSet(int position) => position != None;

    /// <summary>Whether a position is in a lane (a set timer not in the heap).</summary>
    public static bool InLane(int position) => position < None;

    /// <summary>The next timer's keys (due, key), or (<see cref="long.MaxValue"/>, <see cref="long.MaxValue"/>).</summary>
    public (long Due, long Key) Next()
    {
        var (k1, k2, _) = Least();
        return (k1, k2);
    }

    /// <summary>Sets a timer for <paramref name="id"/> (which has none) due at <paramref name="due"/>, set at <paramref name="now"/>.</summary>
    public void Push(long due, long key, int id, long now)
    {
        var lane = LaneFor(due - now);
        if (lane >= 0)
        {
            ref var l = ref _lanes[lane];
            if (l.Head == Nil || due > l.LastK1 || (due == l.LastK1 && key > l.LastK2))
            {
                Append(ref l, lane, id, due, key);
                return;
            }
        }

        _heap.Push(due, key, id);
    }

    /// <summary>Cancels the timer of <paramref name="id"/>, at <paramref name="position"/> (which is set).</summary>
    public void Remove(int id, int position)
    {
        if (position >= 0)
        {
            _heap.RemoveAt(position);
        }
        else
        {
            Unlink(id, -2 - position);
        }
    }

    /// <summary>Removes and returns the next timer (one is set).</summary>
    public HeapEntry Pop()
    {
        var (k1, k2, lane) = Least();
        if (lane < 0)
        {
            return _heap.Pop();
        }

        var id = _lanes[lane].Head;
        Unlink(id, lane);
        return new HeapEntry { K1 = k1, K2 = k2, Id = id };
    }

    /// <summary>Self-check for tests: each lane is linked both ways, in (due, key) order, its head's keys cached, and its members know their place.</summary>
    public void Check(List<string> problems)
    {
        var counted = 0;
        for (var i = 0; i < _laneCount; i++)
        {
            ref readonly var lane = ref _lanes[i];
            var prev = Nil;
            (long K1, long K2) last = (long.MinValue, long.MinValue);
            for (var id = lane.Head; id != Nil; id = Links(id).Next)
            {
                var keys = Keys(id);
                var position = id >= 0 ? _calls.Links[id].TimerPos : _agents.Items[~id].TimerPos;
                if (Links(id).Prev != prev || position != -2 - i || keys.Due < last.K1 || (keys.Due == last.K1 && keys.Key <= last.K2)
                    || (id == lane.Head && (lane.HeadK1, lane.HeadK2) != keys))
                {
                    problems.Add($"timer lane {i} ({lane.Duration} ms) is broken at {id}");
                    return;
                }

                (prev, last) = (id, keys);
                counted++;
            }

            if (lane.Tail != prev)
            {
                problems.Add($"timer lane {i} ends at {prev}, its tail is {lane.Tail}");
            }
        }

        if (counted != _inLanes)
        {
            problems.Add($"{counted} timers in lanes, {_inLanes} counted");
        }
    }

    /// <summary>The least (due, key) over the heap's top and the lanes' heads, and the lane holding it (-1: the heap).</summary>
    private (long K1, long K2, int Lane) Least()
    {
        long k1 = long.MaxValue, k2 = long.MaxValue;
        var at = -1;
        if (_heap.Count > 0)
        {
            ref readonly var top = ref _heap.Top;
            (k1, k2) = (top.K1, top.K2);
        }

        for (var i = 0; i < _laneCount; i++)
        {
            ref readonly var lane = ref _lanes[i];
            if (lane.Head != Nil && (lane.HeadK1 < k1 || (lane.HeadK1 == k1 && lane.HeadK2 < k2)))
            {
                (k1, k2, at) = (lane.HeadK1, lane.HeadK2, i);
            }
        }

        return (k1, k2, at);
    }

    /// <summary>The lane of timers set <paramref name="duration"/> ahead (an empty lane is taken over; -1: none, the heap).</summary>
    private int LaneFor(long duration)
    {
        if (duration <= 0)
        {
            return -1;
        }

        var empty = -1;
        for (var i = 0; i < _laneCount; i++)
        {
            ref readonly var lane = ref _lanes[i];
            if (lane.Duration == duration)
            {
                return i;
            }

            if (empty < 0 && lane.Head == Nil)
            {
                empty = i;
            }
        }

        if (empty < 0 && _laneCount < MaxLanes)
        {
            empty = _laneCount++;
            _lanes[empty].Head = Nil;
            _lanes[empty].Tail = Nil;
        }

        if (empty >= 0)
        {
            _lanes[empty].Duration = duration;
        }

        return empty;
    }

    private void Append(ref Lane lane, int index, int id, long due, long key)
    {
        SetLinks(id, lane.Tail, Nil);
        if (lane.Tail == Nil)
        {
            lane.Head = id;
            lane.HeadK1 = due;
            lane.HeadK2 = key;
        }
        else
        {
            SetNext(lane.Tail, id);
        }

        lane.Tail = id;
        lane.LastK1 = due;
        lane.LastK2 = key;
        _inLanes++;
        SetPosition(id, -2 - index);
    }

    private void Unlink(int id, int index)
    {
        ref var lane = ref _lanes[index];
        var (prev, next) = Links(id);
        if (prev == Nil)
        {
            lane.Head = next;
            if (next != Nil)
            {
                (lane.HeadK1, lane.HeadK2) = Keys(next);
            }
        }
        else
        {
            SetNext(prev, next);
        }

        if (next == Nil)
        {
            lane.Tail = prev;
        }
        else
        {
            SetPrev(next, prev);
        }

        _inLanes--;
        SetPosition(id, None);
    }

    private (long Due, long Key) Keys(int id)
    {
        if (id >= 0)
        {
            ref readonly var c = ref _calls.Records[id];
            return (c.TimerDueMs, _callKeyBase + c.Seq);
        }

        var a = _agents.Items[~id];
        return (a.WrapDueMs, a.Index);
    }

    private (int Prev, int Next) Links(int id)
    {
        if (id >= 0)
        {
            ref readonly var links = ref _calls.Links[id];
            return (links.TimerPrev, links.TimerNext);
        }

        var a = _agents.Items[~id];
        return (a.TimerPrev, a.TimerNext);
    }

    private void SetLinks(int id, int prev, int next)
    {
        if (id >= 0)
        {
            ref var links = ref _calls.Links[id];
            links.TimerPrev = prev;
            links.TimerNext = next;
        }
        else
        {
            var a = _agents.Items[~id];
            a.TimerPrev = prev;
            a.TimerNext = next;
        }
    }

    private void SetNext(int id, int next)
    {
        if (id >= 0)
        {
            _calls.Links[id].TimerNext = next;
        }
        else
        {
            _agents.Items[~id].TimerNext = next;
        }
    }

    private void SetPrev(int id, int prev)
    {
        if (id >= 0)
        {
            _calls.Links[id].TimerPrev = prev;
        }
        else
        {
            _agents.Items[~id].TimerPrev = prev;
        }
    }

    private void SetPosition(int id, int position) => new TimerIndex(_calls, _agents).Set(id, position);

    private struct Lane
    {
        /// <summary>How far ahead its timers were set.</summary>
        public long Duration;

        public int Head;
        public int Tail;

        /// <summary>The head's keys (the lane's least).</summary>
        public long HeadK1;
        public long HeadK2;

        /// <summary>The keys last appended: a timer joins the tail only after them.</summary>
        public long LastK1;
        public long LastK2;
    }
}
