using System.Buffers.Binary;
using System.Text;

namespace Acd.Core.Durability;

/// <summary>Data of a format newer than this release reads: written by a later release, not damaged.</summary>
public sealed class NewerFormatException(string message) : IOException(message);

/// <summary>Reads what a <see cref="StateWriter"/> wrote; malformed input throws <see cref="InvalidDataException"/>, never reads out of range.</summary>
public sealed class StateReader(ReadOnlyMemory<byte> data)
{
    private readonly ReadOnlyMemory<byte> _data = data;
    private int _position;

    /// <summary>Bytes read so far.</summary>
    public int Position => _position;

    /// <summary>Whether everything was read.</summary>
    public bool AtEnd => _position == _data.Length;

    public byte ReadByte()
    {
        Need(1);
        return _data.Span[_position++];
    }

    public bool ReadBool() => ReadByte() switch
    {
        0 => false,
        1 => true,
        var b => throw new InvalidDataException($"a boolean is 0 or 1, not {b}"),
    };

    public uint ReadUInt32()
    {
        Need(4);
        var value = BinaryPrimitives.ReadUInt32LittleEndian(_data.Span[_position..]);
        _position += 4;
        return value;
    }

    public ulong ReadVarUInt()
    {
        ulong value = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            var b = ReadByte();
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new InvalidDataException("a variable-length integer runs over 10 bytes");
    }

    public long ReadVarInt()
    {
        var raw = ReadVarUInt();
        return (long)(raw >> 1) ^ -(long)(raw & 1);
    }

    /// <summary>A signed integer that must lie in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public int ReadInt(int min = int.MinValue, int max = int.MaxValue)
    {
        var value = ReadVarInt();
        return value < min || value > max ? throw new InvalidDataException($"{value} is outside {min}..{max}") : (int)value;
    }

    public double ReadDouble()
    {
        Need(8);
        var value = BinaryPrimitives.ReadDoubleLittleEndian(_data.Span[_position..]);
        _position += 8;
        return value;
    }

    public string? ReadString()
    {
        var n = ReadVarUInt();
        if (n == 0)
        {
            return null;
        }

        var length = n - 1;
        if (length > (ulong)(_data.Length - _position))
        {
            throw new InvalidDataException($"a string of {length} bytes runs past the end");
        }

        var s = Encoding.UTF8.GetString(_data.Span.Slice(_position, (int)length));
#if FUZZ_PLANTED_BUG
        // The planted fault of a fuzzing proof build (fuzz/README.md): a string holding a 'Z' and a 'q', two coverage steps.
        if (s.Contains('Z', StringComparison.Ordinal))
        {
            if (s.Contains('q', StringComparison.Ordinal))
            {
                throw new System.Diagnostics.UnreachableException("FUZZ_PLANTED_BUG state reader");
            }
        }
#endif
        _position += (int)length;
        return s;
    }

    /// <summary>A string that must be present.</summary>
    public string ReadRequiredString() => ReadString() ?? throw new InvalidDataException("a required string is missing");

    /// <summary>A byte-sized enum value; one the enum does not define is refused.</summary>
    public T ReadEnum<T>()
        where T : struct, Enum
    {
        var value = ReadByte();
        var e = (T)Enum.ToObject(typeof(T), value);
        return Enum.IsDefined(e) ? e : throw new InvalidDataException($"{value} is not a {typeof(T).Name}");
    }

    /// <summary>A length-prefixed run of bytes (<see cref="StateWriter.WriteBlob"/>), at most <paramref name="max"/> long.</summary>
    public byte[] ReadBlob(int max)
    {
        var length = ReadVarUInt();
        if (length > (ulong)max)
        {
            throw new InvalidDataException($"a run of {length} bytes where at most {max} are allowed");
        }

        return ReadBytes((int)length).ToArray();
    }

    /// <summary>The next <paramref name="count"/> bytes.</summary>
    public ReadOnlySpan<byte> ReadBytes(int count)
    {
        Need(count);
        var span = _data.Span.Slice(_position, count);
        _position += count;
        return span;
    }

    private void Need(int count)
    {
        if (count < 0 || _data.Length - _position < count)
        {
            throw new InvalidDataException("the data ends early");
        }
    }
}
