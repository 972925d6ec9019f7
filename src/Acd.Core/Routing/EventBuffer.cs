using System.Runtime.CompilerServices;

namespace Acd.Core.Routing;

/// <summary>
/// A growable, reusable array of <see cref="RoutingEvent"/> that the router writes events into in place
/// (no copies, and write barriers only for the references actually set).
/// </summary>
public sealed class EventBuffer
{
    /// <summary>Above this many slots (about 2 MB) a buffer that a batch used to an eighth or less goes back to its first size.</summary>
    private const int ShrinkAbove = 16 * 1024;
    private readonly int _initial;
    private RoutingEvent[] _items;

    /// <summary>Creates a buffer.</summary>
    public EventBuffer(int capacity = 256)
    {
        _initial = Math.Max(capacity, 4);
        _items = new RoutingEvent[_initial];
    }

    /// <summary>Slots the buffer holds now.</summary>
    public int Capacity => _items.Length;

    /// <summary>Events in the buffer.</summary>
    public int Count { get; private set; }

    /// <summary>The events.</summary>
    public ReadOnlySpan<RoutingEvent> Span => _items.AsSpan(0, Count);

    /// <summary>One event.</summary>
    public ref readonly RoutingEvent this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
            return ref _items[index];
        }
    }

    /// <summary>
    /// A cleared slot at the end, to be filled in place. Every slot past <see cref="Count"/> is always cleared (a new
    /// or grown array is, and <see cref="Clear"/> clears what was used), so the slot is not cleared again here.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref RoutingEvent Add()
    {
        if (Count == _items.Length)
        {
            Array.Resize(ref _items, _items.Length * 2);
        }

        return ref _items[Count++];
    }

    /// <summary>
    /// Empties the buffer and drops its references. A buffer grown by one burst (100,000 agents logging in at once) does
    /// not keep its size for the process's life: it shrinks once a batch leaves it mostly unused.
    /// </summary>
    public void Clear()
    {
        if (_items.Length > ShrinkAbove && Count <= _items.Length / 8)
        {
            _items = new RoutingEvent[_initial];
        }
        else
        {
            Array.Clear(_items, 0, Count);
        }

        Count = 0;
    }

    /// <summary>A copy of the events (for tests and diagnostics).</summary>
    public RoutingEvent[] ToArray() => Span.ToArray();

    /// <summary>Enumerates the events by reference.</summary>
    public ReadOnlySpan<RoutingEvent>.Enumerator GetEnumerator() => Span.GetEnumerator();
}
