using System.Buffers.Binary;
using System.Text;

namespace Acd.Core.Durability;

/// <summary>
/// A compact binary writer for journal records and snapshots: variable-length integers (zig-zag for signed ones),
/// length-prefixed UTF-8 strings with null distinguished from empty, little-endian doubles. Grows its own buffer;
/// <see cref="Clear"/> keeps the buffer for the next use.
/// </summary>
public sealed class StateWriter
{
    private byte[] _buffer;
    private int _length;

    /// <summary>Creates a writer with room for <paramref name="capacity"/> bytes before it grows.</summary>
    public StateWriter(int capacity = 4096)
    {
        _buffer = new byte[Math.Max(16, capacity)];
    }

    /// <summary>Bytes written.</summary>
    public int Length => _length;

    /// <summary>What was written.</summary>
    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

    /// <summary>What was written, as memory (valid until the next write or clear).</summary>
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _length);

    /// <summary>Forgets what was written (keeps the buffer).</summary>
    public void Clear() => _length = 0;

    /// <summary>Room for <paramref name="size"/> more bytes, to be committed with <see cref="Advance"/>.</summary>
    public Span<byte> GetSpan(int size)
    {
        Ensure(size);
        return _buffer.AsSpan(_length, size);
    }

    /// <summary>Commits bytes written into the span from <see cref="GetSpan"/>.</summary>
    public void Advance(int count) => _length += count;

    /// <summary>Overwrites 4 bytes at <paramref name="offset"/> (a length or checksum written after its payload).</summary>
    public void PatchUInt32(int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(offset, 4), value);

    public void WriteByte(byte value)
    {
        Ensure(1);
        _buffer[_length++] = value;
    }

    public void WriteBool(bool value) => WriteByte(value ? (byte)1 : (byte)0);

    public void WriteUInt32(uint value)
    {
        Ensure(4);
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(_length), value);
        _length += 4;
    }

    public void WriteVarUInt(ulong value)
    {
        Ensure(10);
        while (value >= 0x80)
        {
            _buffer[_length++] = (byte)(value | 0x80);
            value >>= 7;
        }

        _buffer[_length++] = (byte)value;
    }

    public void WriteVarInt(long value) => WriteVarUInt((ulong)((value << 1) ^ (value >> 63)));

    public void WriteDouble(double value)
    {
        Ensure(8);
        BinaryPrimitives.WriteDoubleLittleEndian(_buffer.AsSpan(_length), value);
        _length += 8;
    }

    /// <summary>Writes a string: 0 for null, else byte length + 1, then UTF-8.</summary>
    public void WriteString(string? value)
    {
        if (value is null)
        {
            WriteVarUInt(0);
            return;
        }

        var bytes = Encoding.UTF8.GetByteCount(value);
        WriteVarUInt((ulong)bytes + 1);
        Ensure(bytes);
        _length += Encoding.UTF8.GetBytes(value, _buffer.AsSpan(_length));
    }

    /// <summary>A non-null string already in UTF-8, written as <see cref="WriteString"/> writes one.</summary>
    public void WriteUtf8String(ReadOnlySpan<byte> utf8)
    {
        WriteVarUInt((ulong)utf8.Length + 1);
        WriteBytes(utf8);
    }

    /// <summary>A length-prefixed run of bytes (read back with <see cref="StateReader.ReadBlob"/>).</summary>
    public void WriteBlob(ReadOnlySpan<byte> bytes)
    {
        WriteVarUInt((ulong)bytes.Length);
        WriteBytes(bytes);
    }

    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    private void Ensure(int more)
    {
        if (_length + more > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + more));
        }
    }
}
