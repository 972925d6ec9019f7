using System.Buffers.Binary;
using Acd.Core.Routing;

namespace Acd.Core.Durability;

/// <summary>
/// The journal's record framing. A record is a 12-byte header — the payload length, the CRC-32C of those four length
/// bytes, the CRC-32C of the payload — then the payload: the record's index (consecutive from 1 in a domain), the
/// clock the command was executed at, and the command (<see cref="CommandCodec"/>); from format 2 on, then one end
/// byte, <see cref="EndMarker"/>. The separate header checksum tells a flipped bit in a length apart from a record cut
/// short by a crash, and the end byte tells a record whose every byte reached the disk (a failing checksum is then
/// damage) from one whose write was cut short (its end is still the zeros the file was prepared with).
/// </summary>
public static class JournalFormat
{
    /// <summary>Bytes before a record's payload.</summary>
    public const int HeaderBytes = 12;

    /// <summary>The byte after a record's payload (format 2 on). Never zero, so a record whose end is missing shows it.</summary>
    public const byte EndMarker = 0xA5;

    /// <summary>The largest payload accepted (a command is a few hundred bytes).</summary>
    public const int MaxPayloadBytes = 1 << 20;

    /// <summary>Appends one record of the current format.</summary>
    public static void Append(StateWriter w, long index, long timeMs, Command command) => Append(w, index, timeMs, command, JournalSegment.CurrentVersion);

    /// <summary>Appends one record of the given format (1: without the end byte, as the first release wrote).</summary>
    public static void Append(StateWriter w, long index, long timeMs, Command command, int format) => Append(w, index, timeMs, command, format, withAnswerRoute: true);

    /// <summary>Appends one record; an offer's answer route only with <paramref name="withAnswerRoute"/> (see <see cref="CommandCodec.Write(StateWriter, Command, bool)"/>).</summary>
    public static void Append(StateWriter w, long index, long timeMs, Command command, int format, bool withAnswerRoute)
    {
        ArgumentNullException.ThrowIfNull(w);
        var start = w.Length;
        w.GetSpan(HeaderBytes).Clear();
        w.Advance(HeaderBytes);
        w.WriteVarInt(index);
        w.WriteVarInt(timeMs);
        CommandCodec.Write(w, command, withAnswerRoute);
        var length = (uint)(w.Length - start - HeaderBytes);
        Span<byte> lengthBytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(lengthBytes, length);
        w.PatchUInt32(start, length);
        w.PatchUInt32(start + 4, Crc32C.Compute(lengthBytes));
        w.PatchUInt32(start + 8, Crc32C.Compute(w.Written.Slice(start + HeaderBytes, (int)length)));
        if (format >= 2)
        {
            w.GetSpan(1)[0] = EndMarker;
            w.Advance(1);
        }
    }

    /// <summary>Bytes after a record's payload in a file of the given format.</summary>
    public static int TrailerBytes(int format) => format >= 2 ? 1 : 0;

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

    /// <summary>
    /// The records end in a record whose write was cut short — bytes of it are missing — and no valid record follows:
    /// a write the crash interrupted, so never acknowledged.
    /// </summary>
    TornTail,

    /// <summary>
    /// Damage: a bad record with a valid record after it, or (format 2 on) a last record all of whose bytes reached the
    /// disk and that still fails its checksum. Nothing after the damage can be trusted, and nothing is guessed.
    /// </summary>
    Corrupt,
}

/// <summary>
/// Walks the records of one journal segment held in memory, checking each header and payload. Where the records stop,
/// it tells apart the prepared end of a file (zeros to the end), a write a crash cut short, and damage.
/// </summary>
/// <remarks>
/// A write cut short by a crash or a power cut leaves part of its bytes as they were — the zeros the file was prepared
/// with — and a disk writes a sector (512 bytes) whole or not at all. So a bad last record is taken for a torn write
/// only when bytes of it are provably missing: the file ends inside it, its end byte is still zero, one of its header's
/// checksums is all zeros, or the part of it in some 512-byte sector is all zeros. A bad record with all its bytes in
/// place was written and flushed, and so acknowledged: that is damage. Files of format 1 have no end byte; their bad
/// last record is taken for a torn write as the first release did.
/// </remarks>
public sealed class JournalScanner(ReadOnlyMemory<byte> data, int start = 0, int format = JournalSegment.CurrentVersion)
{
    /// <summary>The unit a disk writes whole.</summary>
    public const int SectorBytes = 512;

    private readonly ReadOnlyMemory<byte> _data = data;
    private readonly int _trailer = JournalFormat.TrailerBytes(format);

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

        GoodLength = at + JournalFormat.HeaderBytes + length + _trailer;
        payload = _data.Slice(at + JournalFormat.HeaderBytes, length);
        return true;
    }

    /// <summary>The payload length of a whole, valid record at <paramref name="at"/>; null if there is none.</summary>
    private int? Record(int at)
    {
        var span = _data.Span;
        if (HeaderLength(at) is not { } length
            || span.Length - at - JournalFormat.HeaderBytes - _trailer < length
            || (_trailer > 0 && span[at + JournalFormat.HeaderBytes + (int)length] != JournalFormat.EndMarker)
            || Crc32C.Compute(span.Slice(at + JournalFormat.HeaderBytes, (int)length)) != BinaryPrimitives.ReadUInt32LittleEndian(span[(at + 8)..]))
        {
            return null;
        }

        return (int)length;
    }

    /// <summary>The payload length a whole, valid header at <paramref name="at"/> gives; null if there is none.</summary>
    private uint? HeaderLength(int at)
    {
        var span = _data.Span;
        if (span.Length - at < JournalFormat.HeaderBytes)
        {
            return null;
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(span[at..]);
        return Crc32C.Compute(span.Slice(at, 4)) == BinaryPrimitives.ReadUInt32LittleEndian(span[(at + 4)..]) && length <= JournalFormat.MaxPayloadBytes
            ? length
            : null;
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

        if (_trailer > 0 && MissingBytes(at) is null)
        {
            End = JournalScanEnd.Corrupt;
            Problem = $"the last record, at offset {at}, fails its checksum although every byte of it reached the disk (it was acknowledged)";
            return false;
        }

        End = JournalScanEnd.TornTail;
        Problem = $"{UsedLength - at} bytes at offset {at} are no whole record and no valid record follows";
        return false;
    }

    /// <summary>Why bytes of the bad record at <paramref name="at"/> are provably missing; null when all of them are in place.</summary>
    private string? MissingBytes(int at)
    {
        var span = _data.Span;
        int end;
        if (HeaderLength(at) is { } length)
        {
            end = at + JournalFormat.HeaderBytes + (int)length + _trailer;
            if (end > span.Length)
            {
                return "the file ends inside it";
            }

            if (span[end - 1] == 0)
            {
                return "its end byte was never written";
            }
        }
        else
        {
            end = at + JournalFormat.HeaderBytes;
            if (end > span.Length)
            {
                return "the file ends inside its header";
            }

            if (!span.Slice(at + 4, 4).ContainsAnyExcept((byte)0) || !span.Slice(at + 8, 4).ContainsAnyExcept((byte)0))
            {
                return "a checksum of its header was never written";
            }
        }

        for (var sector = at / SectorBytes * SectorBytes; sector < end; sector += SectorBytes)
        {
            var from = Math.Max(sector, at);
            var to = Math.Min(sector + SectorBytes, end);
            if (!span[from..to].ContainsAnyExcept((byte)0))
            {
                return $"its bytes at offset {from} to {to} (one disk sector) were never written";
            }
        }

        return null;
    }
}
