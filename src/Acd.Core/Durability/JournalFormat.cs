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

/// <summary>
/// The header a journal file begins with (from format 2 on): "ACD-JRNL", the format version, and the CRC-32C of both.
/// The first release wrote no header — its files begin with their first record, or zeros — and is read as format 1
/// (its records are the same). A file of a newer format is refused by name rather than taken for damage.
/// </summary>
public static class JournalSegment
{
    /// <summary>The format this release writes.</summary>
    public const int CurrentVersion = 2;

    /// <summary>Bytes of the header.</summary>
    public const int HeaderBytes = 16;

    private static ReadOnlySpan<byte> Magic => "ACD-JRNL"u8;

    /// <summary>Writes the header of a file of the current format.</summary>
    public static void WriteHeader(Span<byte> into)
    {
        Magic.CopyTo(into);
        BinaryPrimitives.WriteUInt32LittleEndian(into[8..], CurrentVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(into[12..], Crc32C.Compute(into[..12]));
    }

    /// <summary>A file's format and the offset of its first record; throws <see cref="InvalidDataException"/> for a damaged header.</summary>
    public static (int Version, int RecordsStart) ReadHeader(ReadOnlySpan<byte> file)
    {
        if (file.Length < Magic.Length || !file.StartsWith(Magic))
        {
            return (1, 0);
        }

        if (file.Length < HeaderBytes || Crc32C.Compute(file[..12]) != BinaryPrimitives.ReadUInt32LittleEndian(file[12..]))
        {
            throw new InvalidDataException("the journal file's header is damaged");
        }

        return ((int)BinaryPrimitives.ReadUInt32LittleEndian(file[8..]), HeaderBytes);
    }
}

/// <summary>How a scan of journal bytes ended.</summary>
public enum JournalScanEnd
{
    /// <summary>Every byte belonged to a whole, valid record, or the rest is zeros (space prepared for records to come).</summary>
    Clean,

    /// <summary>The records end in bytes that are no record and no valid record follows them: a write cut short by a crash.</summary>
    TornTail,

    /// <summary>A damaged record with a valid record after it: nothing after the damage can be trusted, and nothing is guessed.</summary>
    Corrupt,
}

/// <summary>
/// Walks the records of one journal segment held in memory, checking each header and payload. Where the records stop,
/// it tells apart the prepared end of a file (zeros to the end), a write a crash cut short (anything else, as long as
/// no valid record follows), and damage in the middle (a valid record follows the bad bytes).
/// </summary>
public sealed class JournalScanner(ReadOnlyMemory<byte> data, int start = 0)
{
    private readonly ReadOnlyMemory<byte> _data = data;

    /// <summary>Offset just after the last good record (the records begin at the start given).</summary>
    public int GoodLength { get; private set; } = start;

    /// <summary>Offset just after the last non-zero byte (the end of what a torn tail left), once the scan ended.</summary>
    public int UsedLength { get; private set; }

    /// <summary>How the scan ended (valid once <see cref="TryNext"/> returned false).</summary>
    public JournalScanEnd End { get; private set; }

    /// <summary>Why the scan stopped early.</summary>
    public string? Problem { get; private set; }

    /// <summary>The next good record's payload; false at the end of the good records.</summary>
    public bool TryNext(out ReadOnlyMemory<byte> payload)
    {
        payload = default;
        var at = GoodLength;
        if (Record(at) is not { } length)
        {
            return Stop(at);
        }

        GoodLength = at + JournalFormat.HeaderBytes + length;
        payload = _data.Slice(at + JournalFormat.HeaderBytes, length);
        return true;
    }

    /// <summary>The payload length of a whole, valid record at <paramref name="at"/>; null if there is none.</summary>
    private int? Record(int at)
    {
        var span = _data.Span;
        if (span.Length - at < JournalFormat.HeaderBytes)
        {
            return null;
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(span[at..]);
        if (Crc32C.Compute(span.Slice(at, 4)) != BinaryPrimitives.ReadUInt32LittleEndian(span[(at + 4)..])
            || length > JournalFormat.MaxPayloadBytes
            || span.Length - at - JournalFormat.HeaderBytes < length
            || Crc32C.Compute(span.Slice(at + JournalFormat.HeaderBytes, (int)length)) != BinaryPrimitives.ReadUInt32LittleEndian(span[(at + 8)..]))
        {
            return null;
        }

        return (int)length;
    }

    private bool Stop(int at)
    {
        var span = _data.Span;
        var last = span.LastIndexOfAnyExcept((byte)0);
        UsedLength = Math.Max(at, last + 1);
        if (last < at)
        {
            End = JournalScanEnd.Clean;
            return false;
        }

        // Is there a valid record anywhere after the bad bytes? Runs of zeros are skipped at once.
        for (var q = at + 1; q <= span.Length - JournalFormat.HeaderBytes; q++)
        {
            if (span[q] == 0)
            {
                var next = span[q..].IndexOfAnyExcept((byte)0);
                if (next < 0)
                {
                    break;
                }

                q += next;
            }

            if (Record(q) is not null)
            {
                End = JournalScanEnd.Corrupt;
                Problem = $"the bytes at offset {at} are no valid record, and a valid record follows at offset {q}";
                return false;
            }
        }

        End = JournalScanEnd.TornTail;
        Problem = $"{UsedLength - at} bytes at offset {at} are no whole record and no valid record follows";
        return false;
    }
}
