using Acd.Core.Domain;
using Acd.Core.Durability;
using Acd.Core.Routing;
using Acd.Host.Durability;
using Acd.Host.Routing;
using Acd.Host.Tests.Support;

namespace Acd.Host.Tests.Durability;

/// <summary>The journal and snapshots on real files: restarts, crash images, a torn tail, damage, odd data directories.</summary>
public sealed class DurabilityTests
{
    public const string Centre = """
        { "Acd": { "Name": "dur",
          "Repeat": { "Enabled": false }, "Ownership": { "Enabled": false },
          "Callbacks": { "MinAbandonWaitSeconds": 0, "SkillAgentsDial": false },
          "DetachGraceSeconds": 3600,
          "Skills": [ { "Name": "general", "MaxWaitSeconds": 3600, "WrapUpSeconds": 0, "MaxQueueLength": 100000 }, { "Name": "other" } ],
          "Agents": [
            { "Id": "G1", "Skills": { "general": 5 }, "InitialState": "not-ready" },
            { "Id": "A1", "Skills": { "other": 5 }, "InitialState": "ready" },
            { "Id": "A2", "Skills": { "other": 5 }, "InitialState": "ready" },
            { "Id": "A3", "Skills": { "other": 5 }, "InitialState": "ready" },
            { "Id": "A4", "Skills": { "other": 5 }, "InitialState": "ready" } ] } }
        """;

    private static string NewDirectory() => Directory.CreateTempSubdirectory("acd-dur-").FullName;

    private static async Task DriveAsync(TestDaemon d, int calls, string prefix = "c")
    {
        for (var i = 1; i <= calls; i++)
        {
            Assert.Equal(OfferOutcome.Queued, (await d.ExecuteAsync(new OfferCall { CallId = $"{prefix}{i}", Caller = $"1380000{i:D4}" })).Outcome);
        }

        Assert.True((await d.ExecuteAsync(new AgentCommand(CommandKind.SetState, "A1") { State = AgentState.NotReady, Reason = "lunch" })).IsOk);
        Assert.True((await d.ExecuteAsync(new AgentCommand(CommandKind.SetState, "A2") { State = AgentState.Standby })).IsOk);
        Assert.True((await d.ExecuteAsync(new CallCommand(CommandKind.Abandon, $"{prefix}2"))).IsOk);
        Assert.True((await d.ExecuteAsync(new SetCallerVip("13912345678", 3))).IsOk);
    }

    private static EngineHost Engines(TestDaemon d) => d.Services.GetRequiredService<EngineHost>();

    /// <summary>
    /// Copies the data directory of a running daemon: what a crash at this moment would leave on the disk. A background
    /// snapshot may finish and prune old files while the copy runs; an image whose file list changed meanwhile is not of
    /// one moment, and is taken again.
    /// </summary>
    private static string CrashImage(TestDaemon d)
    {
        var image = NewDirectory();
        var target = Path.Combine(image, "data", "dur");
        var store = Path.Combine(d.DataDirectory, "dur");
        string[] Listing() => Directory.GetFiles(store).Where(f => !f.EndsWith(".tmp", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();
        for (var attempt = 1; ; attempt++)
        {
            if (Directory.Exists(target))
            {
                Directory.Delete(target, recursive: true);
            }

            Directory.CreateDirectory(target);
            var files = Listing();
            try
            {
                foreach (var file in files)
                {
                    using var source = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                    using var copy = File.Create(Path.Combine(target, Path.GetFileName(file)));
                    source.CopyTo(copy);
                }
            }
            catch (FileNotFoundException) when (attempt < 20)
            {
                continue; // pruned while being copied
            }

            if (files.SequenceEqual(Listing()) || attempt >= 20)
            {
                return image;
            }
        }
    }

    private static string NewestJournal(string directory) => Directory.GetFiles(Path.Combine(directory, "data", "dur"), "journal-*.log").Order(StringComparer.Ordinal).Last();

    [Fact]
    public async Task A_graceful_restart_keeps_waiting_calls_in_place_agent_states_callbacks_the_vip_list_and_a_forced_tier()
    {
        var directory = NewDirectory();
        string digest;
        await using (var d = await TestDaemon.StartInAsync(directory, Centre))
        {
            Assert.True(Engines(d).Recovered["dur"].Fresh);
            await DriveAsync(d, 5);
            Assert.True((await d.ExecuteAsync(new ForceSurgeTier { Tier = 2, DurationSeconds = 3600, Reason = "exam" })).IsOk);
            digest = await d.DigestAsync();
        }

        // The first start's empty snapshot and the stop's snapshot of everything.
        Assert.Equal(2, Directory.GetFiles(Path.Combine(directory, "data", "dur"), "snapshot-*.snap").Length);
        await using (var d = await TestDaemon.StartInAsync(directory, Centre))
        {
            var recovered = Engines(d).Recovered["dur"];
            Assert.False(recovered.Fresh);
            Assert.Equal(0, recovered.Replayed); // the stop took a snapshot of everything
            Assert.Equal(digest, Engines(d).RecoveredDigests["dur"]);
            var positions = await Task.WhenAll(new[] { "c1", "c3", "c4", "c5" }.Select(async id => (await d.CallAsync(id))!.Position));
            Assert.Equal(new[] { 1, 2, 3, 4 }, positions);
            Assert.Null(await d.CallAsync("c2"));
            Assert.Equal((AgentState.NotReady, "lunch"), ((await d.AgentAsync("A1")).State, (await d.AgentAsync("A1")).Reason));
            Assert.Equal(AgentState.Standby, (await d.AgentAsync("A2")).State);
            Assert.Equal(AgentState.Ready, (await d.AgentAsync("A3")).State);
            var callbacks = (await d.Domains.Default.Engine.AskAsync(new CallbacksQuery()))!;
            Assert.Equal("13800000002", Assert.Single(callbacks).Caller);
            var surge = (await d.Domains.Default.Engine.AskAsync(new SurgeQuery()))!;
            Assert.Equal((2, true, "forced: exam"), (surge.Tier, surge.Forced, surge.Reason));
        }

        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task A_crash_image_replays_to_the_live_state_digest()
    {
        var directory = NewDirectory();
        await using var d = await TestDaemon.StartInAsync(directory, Centre, ownsDirectory: true);
        await DriveAsync(d, 300);
        for (var i = 0; i < 50; i++)
        {
            await d.ExecuteAsync(new AgentCommand(CommandKind.SetState, "A3") { State = i % 2 == 0 ? AgentState.NotReady : AgentState.Ready, Reason = $"r{i}" });
        }

        // Everything acknowledged before this query is durable (its reply waits for its batch, which comes after).
        var live = await d.DigestAsync();
        var image = CrashImage(d);
        await using var restarted = await TestDaemon.StartInAsync(image, Centre, ownsDirectory: true);
        var recovered = Engines(restarted).Recovered["dur"];
        Assert.True(recovered.Replayed > 300, $"replayed {recovered.Replayed}");
        Assert.Equal(live, Engines(restarted).RecoveredDigests["dur"]);
        Assert.Equal(299, (await restarted.CallAsync("c300"))!.Position);
    }

    [Fact]
    public async Task A_torn_tail_is_cut_at_the_last_good_record_and_reported()
    {
        var directory = NewDirectory();
        string live;
        string image;
        await using (var d = await TestDaemon.StartInAsync(directory, Centre, ownsDirectory: true))
        {
            await DriveAsync(d, 20);
            live = await d.DigestAsync();
            image = CrashImage(d);
        }

        // The crash came in the middle of writing a record: half of it reached the disk, after the last whole one.
        var journal = NewestJournal(image);
        var scan = Scan(await File.ReadAllBytesAsync(journal));
        while (scan.TryNext(out _))
        {
        }

        Assert.Equal(JournalScanEnd.Clean, scan.End);
        var good = scan.GoodLength;
        var w = new StateWriter();
        JournalFormat.Append(w, 9999, 1, new OfferCall { CallId = "never-acknowledged", Caller = "1" });
        var half = w.Length / 2;
        await using (var f = new FileStream(journal, FileMode.Open, FileAccess.Write))
        {
            f.Position = good;
            f.Write(w.Written[..half]);
        }

        await using var restarted = await TestDaemon.StartInAsync(image, Centre, ownsDirectory: true);
        var recovered = Engines(restarted).Recovered["dur"];
        Assert.Equal($"{Path.GetFileName(journal)}: {half} bytes after offset {good} ({half} bytes at offset {good} are no whole record and no valid record follows)", recovered.CutTail);
        Assert.Equal(live, Engines(restarted).RecoveredDigests["dur"]);
        Assert.Null(await restarted.CallAsync("never-acknowledged"));

        // The journal goes on from the cut: every record in it is whole again.
        Assert.Equal(OfferOutcome.Queued, (await restarted.ExecuteAsync(new OfferCall { CallId = "after", Caller = "2" })).Outcome);
        var scanner = Scan(await File.ReadAllBytesAsync(journal));
        var indexes = new List<long>();
        while (scanner.TryNext(out var payload))
        {
            indexes.Add(JournalFormat.Decode(payload).Index);
        }

        Assert.Equal(JournalScanEnd.Clean, scanner.End);
        Assert.Equal(Enumerable.Range(1, indexes.Count).Select(i => (long)i), indexes);
    }

    [Fact]
    public async Task A_flipped_bit_in_the_middle_of_the_journal_stops_the_start_with_a_clear_message()
    {
        var directory = NewDirectory();
        string image;
        await using (var d = await TestDaemon.StartInAsync(directory, Centre, ownsDirectory: true))
        {
            await DriveAsync(d, 50);
            image = CrashImage(d);
        }

        // One bit flips halfway through the records (not in the zeros prepared after them).
        var journal = NewestJournal(image);
        var bytes = await File.ReadAllBytesAsync(journal);
        var scan = Scan(bytes);
        while (scan.TryNext(out _))
        {
        }

        bytes[scan.GoodLength / 2] ^= 0x04;
        await File.WriteAllBytesAsync(journal, bytes);

        var error = await Assert.ThrowsAsync<DurableStateException>(() => TestDaemon.StartInAsync(image, Centre));
        Assert.Contains("damaged", error.Message, StringComparison.Ordinal);
        Assert.Contains(Path.GetFileName(journal), error.Message, StringComparison.Ordinal);

        // As a process: exit code 3 and the same message, before anything listens.
        var centre = Path.Combine(image, "centre.json");
        await using var daemon = DaemonProcess.Start("--config", centre, "--data", Path.Combine(image, "data"), "--sip", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0");
        Assert.Equal(3, await daemon.WaitForExitAsync());
        Assert.Contains("is damaged in", daemon.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("ACD listening", daemon.Output, StringComparison.Ordinal);
        Directory.Delete(image, recursive: true);
    }

    [Fact]
    public async Task An_empty_or_missing_data_directory_is_a_first_start_and_an_unusable_one_is_refused()
    {
        var directory = NewDirectory();
        Directory.CreateDirectory(Path.Combine(directory, "data"));
        await using (var d = await TestDaemon.StartInAsync(directory, Centre, ownsDirectory: true))
        {
            Assert.True(Engines(d).Recovered["dur"].Fresh);
            Assert.Equal(AgentState.Ready, (await d.AgentAsync("A1")).State); // the roster logged in
        }

        var parent = NewDirectory();
        var missing = Path.Combine(parent, "not", "yet");
        await using (var d = await TestDaemon.StartInAsync(parent, Centre, ownsDirectory: true, "--data", missing))
        {
            Assert.True(Engines(d).Recovered["dur"].Fresh);
            Assert.True(Directory.Exists(Path.Combine(missing, "dur")));
        }

        // A data directory that is a file.
        var blocked = NewDirectory();
        await File.WriteAllTextAsync(Path.Combine(blocked, "data"), "not a directory");
        var error = await Assert.ThrowsAsync<DurableStateException>(() => TestDaemon.StartInAsync(blocked, Centre, ownsDirectory: true));
        Assert.Contains("cannot be written", error.Message, StringComparison.Ordinal);
        Directory.Delete(blocked, recursive: true);
    }

    [Fact]
    public async Task State_written_under_another_configuration_is_refused()
    {
        var directory = NewDirectory();
        await using (var d = await TestDaemon.StartInAsync(directory, Centre))
        {
            await DriveAsync(d, 3);
        }

        var changed = Centre.Replace("\"MaxWaitSeconds\": 3600", "\"MaxWaitSeconds\": 1800", StringComparison.Ordinal);
        var error = await Assert.ThrowsAsync<DurableStateException>(() => TestDaemon.StartInAsync(directory, changed));
        Assert.Contains("another configuration", error.Message, StringComparison.Ordinal);
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task A_crash_before_the_first_periodic_snapshot_is_still_refused_under_another_configuration()
    {
        var directory = NewDirectory();
        await using var d = await TestDaemon.StartInAsync(directory, Centre, ownsDirectory: true);
        await DriveAsync(d, 3);
        var image = CrashImage(d);
        Assert.Equal([$"snapshot-{0:D20}.snap"], Directory.GetFiles(Path.Combine(image, "data", "dur"), "snapshot-*.snap").Select(Path.GetFileName));

        var changed = Centre.Replace("\"MaxWaitSeconds\": 3600", "\"MaxWaitSeconds\": 1800", StringComparison.Ordinal);
        var error = await Assert.ThrowsAsync<DurableStateException>(() => TestDaemon.StartInAsync(image, changed));
        Assert.Contains("another configuration", error.Message, StringComparison.Ordinal);
        Directory.Delete(image, recursive: true);
    }

    [Theory]
    [InlineData(20_000)] // captured by the engine between two batches
    [InlineData(0)] // made in the background by replaying the journal
    public async Task Snapshots_are_taken_as_the_journal_grows_and_old_journal_files_are_removed(int captureMaxCalls)
    {
        var directory = NewDirectory();
        await using var d = await TestDaemon.StartInAsync(directory, Centre, ownsDirectory: true, "--Acd:Journal:SnapshotEveryRecords=1000", "--Acd:Journal:SegmentMegabytes=1", $"--Acd:Journal:SnapshotCaptureMaxCalls={captureMaxCalls}");
        for (var round = 0; round < 8; round++)
        {
            await Task.WhenAll(Enumerable.Range(0, 1000).Select(i => d.ExecuteAsync(new OfferCall { CallId = $"r{round}-{i}-{new string('x', 200)}", Caller = $"{round}-{i}-{new string('9', 100)}" })));
        }

        // Snapshots run in the background and may lag; more traffic gives them the chance to catch up, until the
        // kept snapshots are past the first journal file.
        var store = Path.Combine(d.DataDirectory, "dur");
        var first = Path.Combine(store, $"journal-{1:D20}.log");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        for (var round = 0; (Directory.GetFiles(store, "snapshot-*.snap").Length < 2 || File.Exists(first)) && DateTime.UtcNow < deadline; round++)
        {
            await Task.WhenAll(Enumerable.Range(0, 200).Select(i => d.ExecuteAsync(new OfferCall { CallId = $"more{round}-{i}", Caller = "x" })));
            await Task.Delay(20);
        }

        Assert.True(d.Domains.Default.Journal!.Snapshots >= 2, $"{d.Domains.Default.Journal.Snapshots} snapshots");

        // Two are kept (a third exists only between a new one's rename and the pruning after it).
        await Eventually.TrueAsync(() => Directory.GetFiles(store, "snapshot-*.snap").Length <= 2, "old snapshots pruned");
        Assert.InRange(Directory.GetFiles(store, "snapshot-*.snap").Length, 1, 2);
        Assert.True(d.Domains.Default.Journal.DurableIndex >= 8000);
        Assert.False(File.Exists(first), "the first journal file is before every kept snapshot and should be gone: " + string.Join(", ", Directory.GetFiles(store).Select(f => $"{Path.GetFileName(f)} {new FileInfo(f).Length}")));

        // A crash now recovers from the newest snapshot plus the journal after it.
        var live = await d.DigestAsync();
        var image = CrashImage(d);
        await using var restarted = await TestDaemon.StartInAsync(image, Centre, ownsDirectory: true);
        var recovered = Engines(restarted).Recovered["dur"];
        Assert.True(recovered.SnapshotIndex >= 1000);
        Assert.Equal(live, Engines(restarted).RecoveredDigests["dur"]);
    }

    [Fact]
    public async Task A_snapshot_left_unfinished_by_a_crash_is_removed_at_the_next_start_and_changes_nothing()
    {
        var directory = NewDirectory();
        await using var d = await TestDaemon.StartInAsync(directory, Centre, ownsDirectory: true);
        await DriveAsync(d, 3);
        var live = await d.DigestAsync();
        var image = CrashImage(d);

        // A snapshot being written (by the daemon or its helper process) when the machine went down: a partial file.
        var partial = Path.Combine(image, "data", "dur", $"snapshot-{999:D20}.snap.tmp");
        await File.WriteAllBytesAsync(partial, new byte[100]);
        await using var restarted = await TestDaemon.StartInAsync(image, Centre, ownsDirectory: true);
        Assert.False(File.Exists(partial), "the unfinished snapshot is still there");
        Assert.Equal(live, Engines(restarted).RecoveredDigests["dur"]);
    }

    /// <summary>A scanner over a journal file's records (after its header).</summary>
    private static JournalScanner Scan(byte[] file) => new(file, JournalSegment.ReadHeader(file).RecordsStart);
}
