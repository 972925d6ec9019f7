using System.Buffers.Binary;
using Acd.Core.Routing;

namespace Acd.Core.Durability;

/// <summary>
/// The journal's record framing. A record is a 12-byte header — the payload length, the CRC-32C of those four length
/// bytes, the CRC-32C of the payload — then the payload: the record's index (consecutive from 1 in a domain), the
/// clock the command was executed at, and the command (<see cref="CommandCodec"/>). The separate header checksum tells
/// a flipped bit in a length apart from a record cut short by a crash.
/// </summary>
public static class JournalFormat
{
    /// <summary>Bytes before a record's payload.</summary>
    public const int HeaderBytes = 12;

    /// <summary>The largest payload accepted (a command is a few hundred bytes).</summary>
    public const int MaxPayloadBytes = 1 << 20;

    /// <summary>Appends one record.</summary>
    public static void Append(StateWriter w, long index, long timeMs, Command command)
    {
        ArgumentNullException.ThrowIfNull(w);
        var start = w.Length;
        w.GetSpan(HeaderBytes).Clear();
        w.Advance(HeaderBytes);
        w.WriteVarInt(index);
        w.WriteVarInt(timeMs);
        CommandCodec.Write(w, command);
        var length = (uint)(w.Length - start - HeaderBytes);
        Span<byte> lengthBytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(lengthBytes, length);
        w.PatchUInt32(start, length);
        w.PatchUInt32(start + 4, Crc32C.Compute(lengthBytes));
        w.PatchUInt32(start + 8, Crc32C.Compute(w.Written.Slice(start + HeaderBytes, (int)length)));
    }

    /// <summary>Decodes a record's payload.</summary>
    public static (long Index, long TimeMs, Command Command) Decode(ReadOnlyMemory<byte> payload)
    {
        var r = new StateReader(payload);
        var index = r.ReadVarInt();
        var time = r.ReadVarInt();
        var command = CommandCodec.Read(r);
        return r.AtEnd ? (index, time, command) : throw new InvalidDataException("a record has bytes after its command");
    }
}

/// <summary>How a scan of journal bytes ended.</summary>
public enum JournalScanEnd
{
    /// <summary>Every byte belonged to a whole, valid record.</summary>
    Clean,

    /// <summary>The bytes end inside a record, or in zeros a crash left: the tail is cut at the last good record.</summary>
    TornTail,

    /// <summary>A damaged record with data after it: nothing after it can be trusted, and nothing is guessed.</summary>
    Corrupt,
}

/// <summary>Walks the records of one journal segment held in memory, checking each header and payload.</summary>
public sealed class JournalScanner(ReadOnlyMemory<byte> data)
{
    private readonly ReadOnlyMemory<byte> _data = data;

    /// <summary>Offset just after the last good record.</summary>
    public int GoodLength { get; private set; }

    /// <summary>How the scan ended (valid once <see cref="TryNext"/> returned false).</summary>
    public JournalScanEnd End { get; private set; }

    /// <summary>Why the scan stopped early.</summary>
    public string? Problem { get; private set; }

    /// <summary>The next good record's payload; false at the end of the good records.</summary>
    public bool TryNext(out ReadOnlyMemory<byte> payload)
    {
        payload = default;
        var span = _data.Span;
        var at = GoodLength;
        var remaining = span.Length - at;
        if (remaining == 0)
        {
            End = JournalScanEnd.Clean;
            return false;
        }

        if (remaining < JournalFormat.HeaderBytes)
        {
            return Stop(JournalScanEnd.TornTail, $"{remaining} bytes at offset {at} are less than a record header");
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(span[at..]);
        if (Crc32C.Compute(span.Slice(at, 4)) != BinaryPrimitives.ReadUInt32LittleEndian(span[(at + 4)..]))
        {
            return span[at..].IndexOfAnyExcept((byte)0) < 0
                ? Stop(JournalScanEnd.TornTail, $"zeros from offset {at} to the end")
                : Stop(JournalScanEnd.Corrupt, $"the record header at offset {at} fails its checksum");
        }

        if (length > JournalFormat.MaxPayloadBytes)
        {
            return Stop(JournalScanEnd.Corrupt, $"the record at offset {at} claims {length} bytes");
        }

        if (remaining - JournalFormat.HeaderBytes < length)
        {
            return Stop(JournalScanEnd.TornTail, $"the record at offset {at} ends {length - (remaining - JournalFormat.HeaderBytes)} bytes past the end");
        }

        var body = _data.Slice(at + JournalFormat.HeaderBytes, (int)length);
        if (Crc32C.Compute(body.Span) != BinaryPrimitives.ReadUInt32LittleEndian(span[(at + 8)..]))
        {
            var last = at + JournalFormat.HeaderBytes + (int)length == span.Length;
            return last
                ? Stop(JournalScanEnd.TornTail, $"the last record, at offset {at}, fails its checksum")
                : Stop(JournalScanEnd.Corrupt, $"the record at offset {at} fails its checksum and records follow it");
        }

        GoodLength = at + JournalFormat.HeaderBytes + (int)length;
        payload = body;
        return true;
    }

    private bool Stop(JournalScanEnd end, string problem)
    {
        End = end;
        Problem = problem;
        return false;
    }
}
