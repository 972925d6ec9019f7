using Acd.Host.Tests.Support;
using Acd.Api.V1;

namespace Acd.Host.Tests.Durability;

/// <summary>
/// Snapshots by replay made by a child process of the real daemon (<c>acd snapshot …</c>): the state replayed for a
/// snapshot lives in the child, not in the daemon, and what it writes recovers; a child that refuses (the configuration
/// file changed under the daemon) leaves the snapshot to the daemon, which still makes it.
/// </summary>
public sealed class SnapshotHelperTests
{
    private const string Centre = """
        { "Acd": { "Name": "dur",
          "Repeat": { "Enabled": false }, "Ownership": { "Enabled": false },
          "Callbacks": { "MinAbandonWaitSeconds": 0, "SkillAgentsDial": false },
          "Skills": [ { "Name": "general", "MaxWaitSeconds": 3600, "WrapUpSeconds": 0, "MaxQueueLength": 100000 } ],
          "Agents": [ { "Id": "G1", "Skills": { "general": 5 }, "InitialState": "not-ready" } ] } }
        """;

    [Fact]
    public async Task A_snapshot_by_replay_is_made_in_a_child_process_and_a_restart_recovers_from_it()
    {
        var (directory, config, args) = await NewCentreAsync();
        try
        {
            await using (var daemon = DaemonProcess.Start(args))
            {
                await daemon.WaitListeningAsync();
                await OfferAsync(daemon, 1200, "w");
                await Eventually.TrueAsync(() => daemon.Output.Contains("Snapshot helper of domain dur replayed the journal to record", StringComparison.Ordinal), $"a snapshot made by the helper\n{daemon.Output}", 60);
                await Eventually.TrueAsync(() => SnapshotsAfter(directory, 1000).Length > 0, $"the helper's snapshot adopted\n{daemon.Output}", 10);
                Assert.DoesNotContain("Snapshot helper of domain dur failed", daemon.Output, StringComparison.Ordinal);
                Assert.True(await daemon.MetricAsync("acd_journal_snapshots_total{domain=\"dur\"}") >= 1);
                Assert.Equal(0, await daemon.MetricAsync("acd_snapshot_helper_failures_total{domain=\"dur\"}"));
                Assert.Empty(Directory.GetFiles(Path.Combine(directory, "data", "dur"), "*.tmp"));
                daemon.Terminate();
                Assert.Equal(0, await daemon.WaitForExitAsync());
            }

            // The journal before the kept snapshots may be pruned: the restart recovers from the helper's snapshot.
            await using (var again = DaemonProcess.Start(args))
            {
                await again.WaitListeningAsync();
                using var grpc = new GrpcTestClient(again.Grpc!);
                foreach (var id in new[] { "w-0", "w-599", "w-1199" })
                {
                    var call = (await GrpcTestClient.Try(grpc.Calls.GetCallAsync(new CallRequest { CallId = id }))).Ok;
                    Assert.Equal(id, call.CallId);
                }

                again.Terminate();
                await again.WaitForExitAsync();
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_helper_that_reads_another_configuration_refuses_and_the_daemon_makes_the_snapshot_itself()
    {
        var (directory, config, args) = await NewCentreAsync();
        try
        {
            await using var daemon = DaemonProcess.Start(args);
            await daemon.WaitListeningAsync();

            // An operator edits the file the daemon started from: a helper started now would replay under another
            // configuration than the journal's.
            await File.WriteAllTextAsync(config, Centre.Replace("\"MaxWaitSeconds\": 3600", "\"MaxWaitSeconds\": 1800", StringComparison.Ordinal));
            await OfferAsync(daemon, 1200, "c");
            await Eventually.TrueAsync(() => daemon.Output.Contains("Snapshot helper of domain dur failed", StringComparison.Ordinal), $"the helper refused\n{daemon.Output}", 60);
            Assert.Contains("is not the one the daemon runs", daemon.Output, StringComparison.Ordinal);
            await Eventually.TrueAsync(() => SnapshotsAfter(directory, 1000).Length > 0, $"the daemon's own snapshot\n{daemon.Output}", 30);
            Assert.True(await daemon.MetricAsync("acd_snapshot_helper_failures_total{domain=\"dur\"}") >= 1, "the helper's failure on /metrics");
            Assert.Equal(0, await daemon.MetricAsync("acd_journal_snapshot_failures_total{domain=\"dur\"}"));
            daemon.Terminate();
            Assert.Equal(0, await daemon.WaitForExitAsync());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task In_cluster_mode_the_helper_reads_postgresql_and_the_owner_stores_its_snapshot_which_a_standby_takes_over_from()
    {
        await using var pg = await PostgresServer.StartAsync();
        var directory = Directory.CreateTempSubdirectory("acd-snaphelper-").FullName;
        try
        {
            var config = Path.Combine(directory, "centre.json");
            await File.WriteAllTextAsync(config, TestDaemon.Centre(agents: 2, state: "not-ready", maxQueue: 5000));
            DaemonProcess Start(string node) => DaemonProcess.Start(
                "--config", config, "--data", Path.Combine(directory, node), "--sip", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0",
                "--cluster", pg.ConnectionString, $"--Acd:Cluster:NodeName={node}", "--Acd:Journal:SnapshotEveryRecords=1000", "--Acd:Journal:SnapshotCaptureMaxCalls=0");

            await using var a = Start("node-a");
            await a.WaitListeningAsync();
            await a.WaitActiveAsync();
            await OfferAsync(a, 1200, "k");
            await Eventually.TrueAsync(() => a.Output.Contains("Snapshot helper of domain test replayed the journal to record", StringComparison.Ordinal), $"a snapshot made by the helper\n{a.Output}", 60);
            await Eventually.TrueAsync(async () => long.TryParse(await pg.QueryAsync("SELECT coalesce(max(index), 0) FROM acd_snapshot WHERE domain = 'test'"), out var index) && index >= 1000, $"the helper's snapshot in PostgreSQL\n{a.Output}", 20);
            Assert.Equal(0, await a.MetricAsync("acd_snapshot_helper_failures_total{domain=\"test\"}"));
            Assert.Empty(Directory.GetFiles(Path.GetTempPath(), "acd-snapshot-test-*.body"));

            // A standby starts from that snapshot and, the owner killed, serves every waiting call.
            await using var b = Start("node-b");
            await b.WaitListeningAsync();
            a.KillHard();
            await b.WaitActiveAsync(30);
            using var grpc = new GrpcTestClient(b.Grpc!);
            foreach (var id in new[] { "k-0", "k-1199" })
            {
                Assert.Equal(id, (await GrpcTestClient.Try(grpc.Calls.GetCallAsync(new CallRequest { CallId = id }))).Ok.CallId);
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>A temporary directory with the centre's configuration file, and the daemon's arguments for it (snapshots by replay every 1,000 records).</summary>
    private static async Task<(string Directory, string Config, string[] Args)> NewCentreAsync()
    {
        var directory = Directory.CreateTempSubdirectory("acd-snaphelper-").FullName;
        var config = Path.Combine(directory, "centre.json");
        await File.WriteAllTextAsync(config, Centre);
        return (directory, config, ["--config", config, "--data", Path.Combine(directory, "data"), "--sip", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0",
            "--Acd:Journal:SnapshotEveryRecords=1000", "--Acd:Journal:SnapshotCaptureMaxCalls=0"]);
    }

    private static async Task OfferAsync(DaemonProcess daemon, int count, string prefix)
    {
        using var grpc = new GrpcTestClient(daemon.Grpc!);
        for (var i = 0; i < count; i += 100)
        {
            await Task.WhenAll(Enumerable.Range(i, Math.Min(100, count - i)).Select(async n =>
                (await GrpcTestClient.Try(grpc.Calls.OfferAsync(new OfferRequest { CallId = $"{prefix}-{n}", Caller = $"1380000{n:D4}" }))).Ok));
        }
    }

    private static string[] SnapshotsAfter(string directory, long index) =>
        [.. Directory.GetFiles(Path.Combine(directory, "data", "dur"), "snapshot-*.snap")
            .Where(f => long.Parse(Path.GetFileNameWithoutExtension(f)["snapshot-".Length..], System.Globalization.CultureInfo.InvariantCulture) >= index)];
}
