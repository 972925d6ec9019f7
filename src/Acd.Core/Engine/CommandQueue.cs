using System.Runtime.InteropServices;
using Acd.Core.Routing;

namespace Acd.Core.Engine;

/// <summary>
/// A bounded, lock-free, multi-producer single-consumer ring of commands (Vyukov's bounded queue with per-slot
/// sequence numbers). Producers on any thread claim a slot with one compare-and-swap and publish it with a release
/// write; the single consumer reads slots in claim order. Full means <see cref="TryEnqueue"/> returns false: the
/// caller waits or pushes back, memory never grows.
/// </summary>
public sealed class CommandQueue
{
    private readonly Slot[] _slots;
    private readonly int _mask;
    private PaddedLong _tail;
    private PaddedLong _head;

    /// <summary>Creates a queue holding <paramref name="capacity"/> commands (rounded up to a power of two).</summary>
    public CommandQueue(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, 1 << 24);
        var size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity);
        _slots = new Slot[size];
        _mask = size - 1;
        for (var i = 0; i < size; i++)
        {
            _slots[i].Sequence = i;
        }
    }

    /// <summary>Slots in the ring.</summary>
    public int Capacity => _slots.Length;

    /// <summary>Commands claimed and not yet consumed (approximate while producers run).</summary>
    public long Count => Math.Max(0, Volatile.Read(ref _tail.Value) - Volatile.Read(ref _head.Value));

    /// <summary>Whether nothing is waiting (approximate while producers run).</summary>
    public bool IsEmpty => Count == 0;

    /// <summary>Adds a command with its reply target; false when the ring is full.</summary>
    public bool TryEnqueue(Command command, object? reply)
    {
        var slots = _slots;
        while (true)
        {
            var position = Volatile.Read(ref _tail.Value);
            ref var slot = ref slots[position & _mask];
            var sequence = Volatile.Read(ref slot.Sequence);
            var difference = sequence - position;
            if (difference == 0)
            {
                if (Interlocked.CompareExchange(ref _tail.Value, position + 1, position) == position)
                {
                    slot.Command = command;
                    slot.Reply = reply;
                    Volatile.Write(ref slot.Sequence, position + 1);
                    return true;
                }
            }
            else if (difference < 0)
            {
                return false;
            }
        }
    }

    /// <summary>Takes the next published command (consumer thread only).</summary>
    public bool TryDequeue(out Command command, out object? reply)
    {
        var position = _head.Value;
        ref var slot = ref _slots[position & _mask];
        if (Volatile.Read(ref slot.Sequence) != position + 1)
        {
            command = null!;
            reply = null;
            return false;
        }

        command = slot.Command!;
        reply = slot.Reply;
        slot.Command = null;
        slot.Reply = null;
        Volatile.Write(ref slot.Sequence, position + _slots.Length);
        Volatile.Write(ref _head.Value, position + 1);
        return true;
    }

    /// <summary>
    /// The command <paramref name="offset"/> places behind the next one, if it is published (consumer thread only): a
    /// look at what is coming, which leaves it in the queue.
    /// </summary>
    public Command? Peek(int offset)
    {
        var position = _head.Value + offset;
        ref var slot = ref _slots[position & _mask];
        return (uint)offset < (uint)_slots.Length && Volatile.Read(ref slot.Sequence) == position + 1 ? slot.Command : null;
    }

    private struct Slot
    {
        public long Sequence;
        public Command? Command;
        public object? Reply;
    }

    /// <summary>A counter alone on its cache lines, so producers and the consumer do not false-share.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct PaddedLong
    {
        [FieldOffset(64)]
        public long Value;
    }
}
