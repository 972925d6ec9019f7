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
    public void A_flipped_bit_in_the_last_record_is_a_torn_tail()
    {
        var data = Journal(5);
        var bad = (byte[])data.Clone();
        bad[^3] ^= 0x10;
        var (good, end, _) = Scan(bad);
        Assert.Equal((4, JournalScanEnd.TornTail), (good, end));
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
