using Acd.Core.Durability;
using Acd.Core.Routing;

namespace Acd.Core.Tests.Durability;

/// <summary>The journal's framing tells a record cut short by a crash (cut) from damage with records after it (refused).</summary>
public sealed class JournalScannerTests
{
    private static byte[] Journal(int records)
    {
        var w = new StateWriter();
        for (var i = 1; i <= records; i++)
        {
            JournalFormat.Append(w, i, 1000 + i, new OfferCall { CallId = $"call-{i}", Caller = "13800000000", Skill = "general" });
        }

        return w.Written.ToArray();
    }

    private static (int Good, JournalScanEnd End, string? Problem) Scan(byte[] data)
    {
        var scanner = new JournalScanner(data);
        var n = 0;
        while (scanner.TryNext(out _))
        {
            n++;
        }

        return (n, scanner.End, scanner.Problem);
    }

    [Fact]
    public void The_checksum_is_crc32c()
    {
        Assert.Equal(0xE306_9283u, Crc32C.Compute("123456789"u8));
        Assert.Equal(0u, Crc32C.Compute([]));
    }

    [Fact]
    public void Whole_records_scan_clean()
    {
        Assert.Equal((10, JournalScanEnd.Clean, (string?)null), Scan(Journal(10)));
        Assert.Equal((0, JournalScanEnd.Clean, (string?)null), Scan([]));
    }

    [Fact]
    public void A_record_cut_anywhere_is_a_torn_tail_after_the_records_before_it()
    {
        var full = Journal(3);
        var two = Journal(2).Length;
        for (var cut = two + 1; cut < full.Length; cut++)
        {
            var (good, end, _) = Scan(full[..cut]);
            Assert.Equal((2, JournalScanEnd.TornTail), (good, end));
        }
    }

    [Fact]
    public void Zeros_after_the_last_record_are_space_prepared_for_more_and_scan_clean()
    {
        var (good, end, _) = Scan(Journal(4).Concat(new byte[4096]).ToArray());
        Assert.Equal((4, JournalScanEnd.Clean), (good, end));
    }

    [Fact]
    public void A_record_cut_short_in_prepared_space_is_a_torn_tail_even_with_zeros_after_it()
    {
        var full = Journal(3);
        var two = Journal(2).Length;
        var data = full[..(two + 7)].Concat(new byte[4096]).ToArray();
        var scanner = new JournalScanner(data);
        while (scanner.TryNext(out _))
        {
        }

        Assert.Equal((JournalScanEnd.TornTail, two, two + 7), (scanner.End, scanner.GoodLength, scanner.UsedLength));

        // A write whose first bytes did not reach the disk while later ones did: still no valid record after the hole.
        var holed = (byte[])full.Clone();
        Array.Clear(holed, two, 12);
        Assert.Equal((2, JournalScanEnd.TornTail), (Scan(holed).Good, Scan(holed).End));
    }

    [Fact]
    public void A_flipped_bit_in_any_record_but_the_last_is_corruption()
    {
        var data = Journal(5);
        var second = Journal(1).Length;
        var third = Journal(2).Length;
        for (var at = second; at < third; at++)
        {
            for (var bit = 0; bit < 8; bit += 3)
            {
                var bad = (byte[])data.Clone();
                bad[at] ^= (byte)(1 << bit);
                var (good, end, problem) = Scan(bad);
                Assert.Equal(1, good);
                Assert.True(end == JournalScanEnd.Corrupt, $"byte {at} bit {bit}: {end} ({problem})");
            }
        }
    }

    [Fact]
    public void A_flipped_bit_in_the_last_record_is_damage_because_every_byte_of_it_was_written()
    {
        var data = Journal(5);
        var last = Journal(4).Length;
        for (var at = last; at < data.Length; at++)
        {
            var bad = (byte[])data.Clone();
            bad[at] ^= 0x10;
            var (good, end, problem) = Scan(bad);
            Assert.True((good, end) == (4, JournalScanEnd.Corrupt), $"byte {at}: {end} ({problem})");
        }
    }

    [Fact]
    public void A_last_record_missing_a_disk_sector_is_a_torn_tail()
    {
        // A record long enough to span sectors; a power cut wrote its first sector and not its second.
        var w = new StateWriter();
        JournalFormat.Append(w, 1, 1000, new OfferCall { CallId = "whole", Caller = "1" });
        var first = w.Length;
        JournalFormat.Append(w, 2, 1001, new OfferCall { CallId = new string('x', 700), Caller = "2" });
        var file = new byte[4096];
        w.Written.CopyTo(file);
        var sector = (first / JournalScanner.SectorBytes) + 1;
        Array.Clear(file, sector * JournalScanner.SectorBytes, JournalScanner.SectorBytes);
        var (good, end, _) = Scan(file);
        Assert.Equal((1, JournalScanEnd.TornTail), (good, end));

        // Only its end byte missing (the last write stopped one byte short): torn.
        var endless = new byte[4096];
        w.Written[..^1].CopyTo(endless);
        Assert.Equal((1, JournalScanEnd.TornTail), (Scan(endless).Good, Scan(endless).End));
    }

    [Fact]
    public void A_file_of_the_first_release_has_no_end_bytes_and_its_bad_last_record_is_cut_as_it_was()
    {
        var w = new StateWriter();
        for (var i = 1; i <= 3; i++)
        {
            JournalFormat.Append(w, i, 1000 + i, new OfferCall { CallId = $"call-{i}", Caller = "1" }, format: 1);
        }

        var data = w.Written.ToArray();
        Assert.Equal((3, JournalScanEnd.Clean), ScanFormat1(data));
        data[^3] ^= 0x10;
        Assert.Equal((2, JournalScanEnd.TornTail), ScanFormat1(data));

        // Read as the current format, the same bytes lack their end bytes: the first record is already no record.
        Assert.NotEqual(3, Scan(w.Written.ToArray()).Good);
    }

    private static (int Good, JournalScanEnd End) ScanFormat1(byte[] data)
    {
        var scanner = new JournalScanner(data, 0, format: 1);
        var n = 0;
        while (scanner.TryNext(out _))
        {
            n++;
        }

        return (n, scanner.End);
    }

    [Fact]
    public void The_manifest_round_trips_and_refuses_damage_and_newer_formats()
    {
        var manifest = new JournalManifest("10086", "abc123", [new ManifestSegment(1, 64 << 20), new ManifestSegment(412_907, 64 << 20)]);
        var bytes = manifest.ToBytes();
        var read = JournalManifest.Parse(bytes);
        Assert.Equal(("10086", "abc123"), (read.Domain, read.Fingerprint));
        Assert.Equal(manifest.Segments, read.Segments);
        Assert.StartsWith("ACD journal manifest 1\ndomain 10086\nfingerprint abc123\nsegment 1 67108864\nsegment 412907 67108864\ncrc32c ", System.Text.Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);

        var flipped = (byte[])bytes.Clone();
        flipped[30] ^= 1;
        Assert.Contains("checksum", Assert.Throws<InvalidDataException>(() => JournalManifest.Parse(flipped)).Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => JournalManifest.Parse(bytes.AsSpan(0, bytes.Length - 5)));
        Assert.Throws<InvalidDataException>(() => JournalManifest.Parse([]));

        var newer = System.Text.Encoding.UTF8.GetBytes("ACD journal manifest 9\ndomain 10086\nfingerprint abc\n");
        var crc = System.Text.Encoding.ASCII.GetBytes($"crc32c {Crc32C.Compute(newer):x8}\n");
        Assert.Throws<NewerFormatException>(() => JournalManifest.Parse([.. newer, .. crc]));
    }

    [Fact]
    public void A_journal_file_says_its_format_and_one_of_the_first_release_has_no_header()
    {
        var header = new byte[JournalSegment.HeaderBytes];
        JournalSegment.WriteHeader(header);
        var current = header.Concat(Journal(3)).Concat(new byte[64]).ToArray();
        Assert.Equal((JournalSegment.CurrentVersion, JournalSegment.HeaderBytes), JournalSegment.ReadHeader(current));
        var scanner = new JournalScanner(current, JournalSegment.HeaderBytes);
        var n = 0;
        while (scanner.TryNext(out _))
        {
            n++;
        }

        Assert.Equal((3, JournalScanEnd.Clean), (n, scanner.End));

        // The first release's files begin with their first record, or with zeros (prepared, empty).
        Assert.Equal((1, 0), JournalSegment.ReadHeader(Journal(2)));
        Assert.Equal((1, 0), JournalSegment.ReadHeader(new byte[1024]));

        // A header whose checksum fails is damage, not an old file.
        current[9] ^= 1;
        Assert.Throws<InvalidDataException>(() => JournalSegment.ReadHeader(current));
    }
}
