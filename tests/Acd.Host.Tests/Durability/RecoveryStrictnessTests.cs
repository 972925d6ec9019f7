using Acd.Core.Domain;
using Acd.Core.Durability;
using Acd.Core.Routing;
using Acd.Host.Routing;
using Acd.Host.Tests.Support;

namespace Acd.Host.Tests.Durability;

/// <summary>
/// Recovery never starts with silently wrong state: whatever is missing or damaged in a data directory — a snapshot the
/// trimmed journal depended on, a journal file deleted or cut short, a last record damaged after it was acknowledged,
/// the manifest itself — stops the start as a process would meet it: exit code 3 and one line naming what is wrong
/// and what the operator can do. The cuts the daemon still makes by itself are shown to be the safe ones.
/// </summary>
public sealed class RecoveryStrictnessTests
{
    private const string Centre = DurabilityTests.Centre;

    private static readonly string ChangedRoster = Centre.Replace("{ \"Id\": \"A4\", \"Skills\": { \"other\": 5 }, \"InitialState\": \"ready\" } ]", "{ \"Id\": \"A4\", \"Skills\": { \"other\": 5 }, \"InitialState\": \"ready\" }, { \"Id\": \"A5\", \"Skills\": { \"other\": 5 } } ]", StringComparison.Ordinal);

    private static string Store(string directory) => Path.Combine(directory, "data", "dur");

    private static string[] Journals(string directory) => [.. Directory.GetFiles(Store(directory), "journal-*.log").Order(StringComparer.Ordinal)];

    private static string[] Snapshots(string directory) => [.. Directory.GetFiles(Store(directory), "snapshot-*.snap").Order(StringComparer.Ordinal)];

    /// <summary>A data directory after a graceful stop: a few calls and agent changes, one small journal file, its snapshots.</summary>
    private static async Task<string> StoppedAsync()
    {
        var directory = Directory.CreateTempSubdirectory("acd-strict-").FullName;
        await using var d = await TestDaemon.StartInAsync(directory, Centre, ownsDirectory: false, "--Acd:Journal:SegmentMegabytes=1");
        for (var i = 1; i <= 20; i++)
        {
            Assert.Equal(OfferOutcome.Queued, (await d.ExecuteAsync(new OfferCall { CallId = $"c{i}", Caller = $"1380000{i:D4}" })).Outcome);
        }

        Assert.True((await d.ExecuteAsync(new AgentCommand(CommandKind.SetState, "A1") { State = AgentState.NotReady, Reason = "lunch" })).IsOk);
        return directory;
    }

    /// <summary>A data directory whose journal was trimmed behind its snapshots (the first journal files are gone).</summary>
    private static async Task<string> TrimmedAsync()
    {
        var directory = Directory.CreateTempSubdirectory("acd-strict-").FullName;
        await using var d = await TestDaemon.StartInAsync(directory, Centre, ownsDirectory: false, "--Acd:Journal:SnapshotEveryRecords=1000", "--Acd:Journal:SegmentMegabytes=1");
        var first = Path.Combine(Store(directory), $"journal-{1:D20}.log");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        for (var round = 0; (File.Exists(first) || Snapshots(directory).Length < 2) && DateTime.UtcNow < deadline; round++)
        {
            await Task.WhenAll(Enumerable.Range(0, 500).Select(i => d.ExecuteAsync(new OfferCall { CallId = $"r{round}-{i}-{new string('x', 300)}", Caller = $"{i}" })));
        }

        Assert.False(File.Exists(first), "the journal should have been trimmed");
        return directory;
    }

    /// <summary>Starts the daemon as a process on the directory; it must refuse: exit code 3, one line, the words expected, nothing listening, no stack trace.</summary>
    private static async Task RefusedAsync(string directory, string expected, string? centre = null)
    {
        var config = Path.Combine(directory, "centre.json");
        await File.WriteAllTextAsync(config, centre ?? Centre);
        await using var daemon = DaemonProcess.Start("--config", config, "--data", Path.Combine(directory, "data"), "--sip", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0");
        Assert.Equal(3, await daemon.WaitForExitAsync());
        var said = daemon.Lines.Where(l => l.StartsWith("acd: ", StringComparison.Ordinal)).ToList();
        Assert.True(said.Count == 1, "one line from acd: " + daemon.Output);
        Assert.Contains(expected, said[0], StringComparison.Ordinal);
        Assert.DoesNotContain("ACD listening", daemon.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", daemon.Output, StringComparison.Ordinal);
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task With_the_journal_trimmed_a_snapshot_of_a_newer_format_is_refused_by_name()
    {
        var directory = await TrimmedAsync();
        foreach (var snapshot in Snapshots(directory))
        {
            var bytes = await File.ReadAllBytesAsync(snapshot);
            bytes[8] = 9; // the format version
            await File.WriteAllBytesAsync(snapshot, bytes);
        }

        await RefusedAsync(directory, "written by a newer release");
    }

    [Fact]
    public async Task With_the_journal_trimmed_deleted_snapshots_are_refused_naming_the_missing_records()
    {
        var directory = await TrimmedAsync();
        var firstJournal = Path.GetFileName(Journals(directory)[0]);
        foreach (var snapshot in Snapshots(directory))
        {
            File.Delete(snapshot);
        }

        await RefusedAsync(directory, $"are missing before {firstJournal}: no snapshot could be read");
    }

    [Fact]
    public async Task With_the_journal_trimmed_damaged_snapshots_are_refused_naming_them()
    {
        var directory = await TrimmedAsync();
        var newest = Path.GetFileName(Snapshots(directory)[^1]);
        foreach (var snapshot in Snapshots(directory))
        {
            var bytes = await File.ReadAllBytesAsync(snapshot);
            bytes[^10] ^= 0x20;
            await File.WriteAllBytesAsync(snapshot, bytes);
        }

        await RefusedAsync(directory, $"unreadable: {newest} (the snapshot file is damaged");
    }

    [Theory]
    [InlineData("deleted")]
    [InlineData("damaged")]
    public async Task Without_a_readable_snapshot_a_changed_roster_is_still_refused(string what)
    {
        var directory = await StoppedAsync();
        foreach (var snapshot in Snapshots(directory))
        {
            if (what == "deleted")
            {
                File.Delete(snapshot);
            }
            else
            {
                var bytes = await File.ReadAllBytesAsync(snapshot);
                bytes[^1] ^= 0x01;
                await File.WriteAllBytesAsync(snapshot, bytes);
            }
        }

        await RefusedAsync(directory, "was written under another configuration", ChangedRoster);
    }

    [Theory]
    [InlineData("to zero")]
    [InlineData("after its records")]
    public async Task A_journal_file_cut_short_is_refused(string how)
    {
        var directory = await StoppedAsync();
        var journal = Journals(directory)[^1];
        var bytes = await File.ReadAllBytesAsync(journal);
        var scanner = new JournalScanner(bytes, JournalSegment.HeaderBytes);
        while (scanner.TryNext(out _))
        {
        }

        await using (var file = new FileStream(journal, FileMode.Open, FileAccess.Write))
        {
            file.SetLength(how == "to zero" ? 0 : scanner.GoodLength);
        }

        await RefusedAsync(directory, $"the journal file {journal} of domain 'dur' was cut short");
    }

    [Fact]
    public async Task A_deleted_journal_file_is_refused_by_name()
    {
        var directory = await StoppedAsync();
        var journal = Journals(directory)[^1];
        File.Delete(journal);
        await RefusedAsync(directory, $"the journal file {Path.GetFileName(journal)} of domain 'dur' is missing");
    }

    [Fact]
    public async Task A_flipped_bit_in_the_last_record_is_damage_to_an_acknowledged_record_and_refused()
    {
        var directory = Directory.CreateTempSubdirectory("acd-strict-").FullName;
        string image;
        await using (var d = await TestDaemon.StartInAsync(directory, Centre, ownsDirectory: true, "--Acd:Journal:SegmentMegabytes=1"))
        {
            Assert.Equal(OfferOutcome.Queued, (await d.ExecuteAsync(new OfferCall { CallId = "first", Caller = "1" })).Outcome);
            Assert.Equal(OfferOutcome.Queued, (await d.ExecuteAsync(new OfferCall { CallId = "acknowledged-last", Caller = "2" })).Outcome);
            image = Directory.CreateTempSubdirectory("acd-strict-").FullName;
            CopyWhileRunning(Store(directory), Store(image));
        }

        var journal = Journals(image)[^1];
        var bytes = await File.ReadAllBytesAsync(journal);
        var scanner = new JournalScanner(bytes, JournalSegment.HeaderBytes);
        var last = 0;
        while (scanner.TryNext(out var payload))
        {
            last = scanner.GoodLength - payload.Length / 2 - 1;
        }

        bytes[last] ^= 0x08; // a bit in the middle of the last record's payload
        await File.WriteAllBytesAsync(journal, bytes);
        await RefusedAsync(image, "fails its checksum although every byte of it reached the disk");
    }

    [Fact]
    public async Task A_missing_manifest_is_refused_and_an_operator_may_trust_the_files_to_rebuild_it()
    {
        var directory = await StoppedAsync();
        var manifest = Path.Combine(Store(directory), "journal.manifest");
        var kept = await File.ReadAllBytesAsync(manifest);
        File.Delete(manifest);
        var copy = Directory.CreateTempSubdirectory("acd-strict-").FullName;
        CopyWhileRunning(Store(directory), Store(copy));
        await RefusedAsync(directory, "journal.manifest of domain 'dur' is missing");

        // The operator knows the files are whole: the marker file lets the start rebuild the manifest, once.
        await File.WriteAllTextAsync(Path.Combine(Store(copy), "journal.manifest.trust-files"), string.Empty);
        await using (var d = await TestDaemon.StartInAsync(copy, Centre, ownsDirectory: false))
        {
            Assert.NotNull(await d.CallAsync("c20"));
        }

        Assert.False(File.Exists(Path.Combine(Store(copy), "journal.manifest.trust-files")));
        Assert.Equal(JournalManifest.Parse(kept).Segments, JournalManifest.Parse(await File.ReadAllBytesAsync(Path.Combine(Store(copy), "journal.manifest"))).Segments);
        Directory.Delete(copy, recursive: true);
    }

    [Fact]
    public async Task What_a_crash_between_two_steps_of_the_bookkeeping_leaves_is_set_right_and_the_start_goes_on()
    {
        var directory = await TrimmedAsync();
        string digest;
        await using (var d = await TestDaemon.StartInAsync(directory, Centre, ownsDirectory: false))
        {
            digest = d.Services.GetRequiredService<EngineHost>().RecoveredDigests["dur"];
        }

        // A prune that delisted its oldest file and stopped before deleting it; a next file renamed into place and not
        // yet listed (it holds no record).
        var journals = Journals(directory);
        var leftover = Path.Combine(Store(directory), $"journal-{1:D20}.log");
        File.Copy(journals[0], leftover);
        var lastIndex = long.Parse(Path.GetFileNameWithoutExtension(Snapshots(directory)[^1])["snapshot-".Length..], System.Globalization.CultureInfo.InvariantCulture);
        var next = Path.Combine(Store(directory), $"journal-{lastIndex + 1:D20}.log");
        var empty = new byte[1 << 20];
        JournalSegment.WriteHeader(empty);
        await File.WriteAllBytesAsync(next, empty);

        await using (var d = await TestDaemon.StartInAsync(directory, Centre, ownsDirectory: true))
        {
            Assert.Equal(digest, d.Services.GetRequiredService<EngineHost>().RecoveredDigests["dur"]);
            Assert.False(File.Exists(leftover), "the delisted file is deleted");
            Assert.Contains(JournalManifest.Parse(await File.ReadAllBytesAsync(Path.Combine(Store(directory), "journal.manifest"))).Segments, s => s.FirstIndex == lastIndex + 1);
            Assert.Equal(OfferOutcome.Queued, (await d.ExecuteAsync(new OfferCall { CallId = "after", Caller = "3" })).Outcome);
        }
    }

    private static void CopyWhileRunning(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from).Where(f => !f.EndsWith(".tmp", StringComparison.Ordinal)))
        {
            using var source = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = File.Create(Path.Combine(to, Path.GetFileName(file)));
            source.CopyTo(copy);
        }
    }
}
