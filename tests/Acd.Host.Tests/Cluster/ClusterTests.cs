using System.Collections.Concurrent;
using System.Diagnostics;
using Acd.Api.V1;
using Acd.Host.Tests.Support;
using Grpc.Core;
using SipText = Acd.Host.Tests.Support.Sip;

namespace Acd.Host.Tests.Cluster;

/// <summary>
/// Cluster mode against a real PostgreSQL (initdb into a temporary directory, run as the postgres user): daemons as
/// processes sharing one database, the journal in it, one owner per domain by a fenced lease.
/// </summary>
public sealed class ClusterTests
{
    private static async Task<(DaemonProcess Daemon, string Directory)> StartAsync(PostgresServer pg, string node, string? directory = null)
    {
        directory ??= Directory.CreateTempSubdirectory("acd-cluster-").FullName;
        var config = Path.Combine(directory, "centre.json");
        await File.WriteAllTextAsync(config, TestDaemon.Centre(agents: 2, state: "not-ready"));
        var daemon = DaemonProcess.Start(
            "--config", config, "--data", Path.Combine(directory, "data"), "--sip", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0",
            "--cluster", pg.ConnectionString, $"--Acd:Cluster:NodeName={node}");
        await daemon.WaitListeningAsync();
        return (daemon, directory);
    }

    [Fact]
    public async Task A_standby_refuses_naming_the_owner_and_takes_over_with_every_waiting_call_in_its_place_when_the_owner_is_killed()
    {
        await using var pg = await PostgresServer.StartAsync();
        var (a, dirA) = await StartAsync(pg, "node-a");
        await using var _a = a;
        await a.WaitActiveAsync();
        var (b, dirB) = await StartAsync(pg, "node-b");
        await using var _b = b;
        Assert.Equal("not ready: standby", await b.ReadyzAsync());

        // Role, epoch and lease age on each: the owner renews every 400 ms; the standby follows.
        var domain = "{domain=\"test\"}";
        Assert.Equal(1, await a.MetricAsync("acd_cluster_active" + domain));
        Assert.Equal(1, await a.MetricAsync("acd_cluster_epoch" + domain));
        Assert.InRange(await a.MetricAsync("acd_cluster_lease_age_seconds" + domain), 0, 1.5);
        Assert.Equal(0, await b.MetricAsync("acd_cluster_active" + domain));
        Assert.Equal(0, await b.MetricAsync("acd_cluster_epoch" + domain));
        Assert.Equal(0, await b.MetricAsync("acd_cluster_lease_age_seconds" + domain));
        Assert.InRange(await b.MetricAsync("acd_cluster_standby_lag_records" + domain), 0, 1_000);

        // The standby refuses calls and OPTIONS (a dispatcher sees it inactive) and gRPC, naming the owner.
        await using (var toB = await SipTestClient.ConnectAsync(b.Sip!))
        {
            // (Until its first look at the lease, a standby says that no daemon serves the domain yet.)
            await Eventually.TrueAsync(async () =>
            {
                await toB.SendAsync(SipText.Request("OPTIONS", "probe"));
                var probe = await toB.ReadAsync();
                return probe.Status == 503 && probe["Warning"]!.Contains("node-a", StringComparison.Ordinal);
            }, "the standby naming the owner");
            await toB.SendAsync(SipText.Invite("early"));
            var refused = (await toB.ReadUntilAsync(503))[^1];
            Assert.Contains("node-a", refused["Warning"], StringComparison.Ordinal);
        }

        using (var grpcB = new GrpcTestClient(b.Grpc!))
        {
            var unavailable = await GrpcTestClient.Try(grpcB.Queues.GetQueueAsync(new QueueRequest { Skill = "general" }));
            Assert.Equal(StatusCode.Unavailable, unavailable.Status);
            Assert.Contains("node-a", unavailable.Message, StringComparison.Ordinal);
        }

        // Five callers wait at the owner (acknowledged: each has its 182).
        await using (var toA = await SipTestClient.ConnectAsync(a.Sip!))
        {
            for (var i = 1; i <= 5; i++)
            {
                await toA.SendAsync(SipText.Invite($"w{i}"));
                Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), (await toA.ReadUntilAsync(182))[^1]["X-Acd-Queue-Position"]);
            }

            a.KillHard();
        }

        // The standby takes the lease once it expires, recovers from PostgreSQL and answers.
        var clock = Stopwatch.StartNew();
        await b.WaitActiveAsync();
        var takeover = clock.Elapsed;
        Assert.True(takeover < TimeSpan.FromSeconds(5), $"takeover took {takeover}");

        // Every waiting call is there, held for the proxy's INVITE again; each resumes at its place.
        await using var proxy = await SipTestClient.ConnectAsync(b.Sip!);
        for (var i = 1; i <= 5; i++)
        {
            await proxy.SendAsync(SipText.Request("INVITE", $"w{i}", cseq: 2));
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), (await proxy.ReadUntilAsync(182))[^1]["X-Acd-Queue-Position"]);
        }

        using var grpc = new GrpcTestClient(b.Grpc!);
        Assert.Equal(5, (await GrpcTestClient.Try(grpc.Queues.GetQueueAsync(new QueueRequest { Skill = "general" }))).Ok.Waiting);
        Assert.Equal(1, await b.MetricAsync("acd_cluster_active" + domain));
        Assert.Equal(2, await b.MetricAsync("acd_cluster_epoch" + domain));
        Assert.Equal(1, await b.MetricAsync("acd_cluster_takeovers_total" + domain));
        Assert.InRange(await b.MetricAsync("acd_cluster_lease_age_seconds" + domain), 0, 1.5);
        Assert.Equal(0, await b.MetricAsync("acd_cluster_standby_lag_records" + domain));
        Directory.Delete(dirA, recursive: true);
        Directory.Delete(dirB, recursive: true);
    }

    [Fact]
    public async Task An_owner_frozen_past_its_lease_acknowledges_nothing_after_it_thaws_and_stops()
    {
        await using var pg = await PostgresServer.StartAsync();
        var (a, dirA) = await StartAsync(pg, "node-a");
        await using var _a = a;
        await a.WaitActiveAsync();
        var (b, dirB) = await StartAsync(pg, "node-b");
        await using var _b = b;

        await using var toA = await SipTestClient.ConnectAsync(a.Sip!);
        await toA.SendAsync(SipText.Invite("before"));
        await toA.ReadUntilAsync(182);

        // Paused (or partitioned) past its lease: the standby takes over.
        a.Freeze();
        await b.WaitActiveAsync();

        // Thawed, the old owner gets a call on its open connection: it answers 100 Trying (no promise) and at most a 503
        // refusal — never a 182, 302 or 200, because its group commit fails against the lease; then it stops with exit
        // code 6.
        a.Thaw();
        await toA.SendAsync(SipText.Invite("after"));
        var replies = new List<SipReply>();
        try
        {
            while (true)
            {
                replies.Add(await toA.ReadAsync(5));
            }
        }
        catch (Exception e) when (e is TimeoutException or IOException or InvalidOperationException or OperationCanceledException)
        {
            // Silence, or the connection closed as the old owner stopped.
        }

        Assert.All(replies, r => Assert.True(r.Status is 100 or 503 && r["Call-ID"] == "after", $"the old owner sent {r.StartLine} for {r["Call-ID"]}"));
        Assert.Equal(6, await a.WaitForExitAsync(30));
        Assert.Contains(a.Lines, l => l.Contains("lease passed to another daemon", StringComparison.Ordinal));

        // The new owner has what was acknowledged, and nothing that was not.
        using var grpc = new GrpcTestClient(b.Grpc!);
        var before = await GrpcTestClient.Try(grpc.Calls.GetCallAsync(new CallRequest { CallId = "before" }));
        var after = await GrpcTestClient.Try(grpc.Calls.GetCallAsync(new CallRequest { CallId = "after" }));
        Assert.Equal((StatusCode.OK, StatusCode.NotFound), (before.Status, after.Status));
        Directory.Delete(dirA, recursive: true);
        Directory.Delete(dirB, recursive: true);
    }

    [Fact]
    public async Task A_daemon_whose_data_directory_is_gone_starts_from_postgresql_alone()
    {
        await using var pg = await PostgresServer.StartAsync();
        var (a, dirA) = await StartAsync(pg, "node-a");
        await using (a)
        {
            await a.WaitActiveAsync();
            await using (var sip = await SipTestClient.ConnectAsync(a.Sip!))
            {
                for (var i = 1; i <= 3; i++)
                {
                    await sip.SendAsync(SipText.Invite($"kept{i}"));
                    await sip.ReadUntilAsync(182);
                }
            }

            using var grpc = new GrpcTestClient(a.Grpc!);
            _ = (await GrpcTestClient.Try(grpc.Agents.SetStateAsync(new SetStateRequest { AgentId = "A0001", State = Acd.Api.V1.AgentState.NotReady, Reason = "lunch" }))).Ok;
            a.Terminate();
            Assert.Equal(0, await a.WaitForExitAsync());
        }

        // Another machine: nothing on its disk but the configuration (in cluster mode the daemon writes nothing locally).
        Assert.False(Directory.Exists(Path.Combine(dirA, "data")), "the daemon wrote to its data directory in cluster mode");
        var (again, _) = await StartAsync(pg, "node-c", dirA);
        await using (again)
        {
            await again.WaitActiveAsync();
            using var grpc = new GrpcTestClient(again.Grpc!);
            Assert.Equal(3, (await GrpcTestClient.Try(grpc.Queues.GetQueueAsync(new QueueRequest { Skill = "general" }))).Ok.Waiting);
            var agent = (await GrpcTestClient.Try(grpc.Agents.GetAgentAsync(new AgentRequest { AgentId = "A0001" }))).Ok;
            Assert.Equal((Acd.Api.V1.AgentState.NotReady, "lunch"), (agent.State, agent.Reason));
        }

        Directory.Delete(dirA, recursive: true);
    }

    [Fact]
    public async Task A_postgresql_failover_under_load_loses_nothing_acknowledged()
    {
        // A synchronous pair: a commit returns once the replica has it on disk.
        await using var primary = await PostgresServer.StartAsync();
        await using var replica = await primary.StartSynchronousStandbyAsync();
        var both = $"Host=127.0.0.1:{primary.Port},127.0.0.1:{replica.Port};Username=postgres;Database=postgres;Target Session Attributes=primary";
        var directory = Directory.CreateTempSubdirectory("acd-cluster-").FullName;
        var config = Path.Combine(directory, "centre.json");
        await File.WriteAllTextAsync(config, TestDaemon.Centre(agents: 2, state: "not-ready", maxQueue: 100_000, domainExtras: "\"MaxLiveCalls\": 100000,"));
        await using var daemon = DaemonProcess.Start(
            "--config", config, "--data", Path.Combine(directory, "data"), "--sip", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0",
            "--cluster", both, "--Acd:Cluster:NodeName=node-a");
        await daemon.WaitListeningAsync();
        await daemon.WaitActiveAsync();

        // Callers keep coming; midway the PostgreSQL primary dies and its replica is promoted.
        var acknowledged = new ConcurrentQueue<string>();
        await using var sip = await SipTestClient.ConnectAsync(daemon.Sip!);
        var reading = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    var r = await sip.ReadAsync(20);
                    if (r.Status == 182)
                    {
                        acknowledged.Enqueue(r["Call-ID"]!);
                    }
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or InvalidOperationException)
            {
                // Done.
            }
        });
        var sent = 0;
        var failedOver = false;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(6))
        {
            await sip.SendAsync(SipText.Invite($"f{sent++}"));
            await Task.Delay(5);
            if (!failedOver && clock.Elapsed > TimeSpan.FromSeconds(1.5))
            {
                await primary.StopAsync();
                await replica.PromoteAsync();
                failedOver = true;
            }
        }

        // The groups that waited while PostgreSQL failed over are committed on the new primary and answered.
        await Eventually.TrueAsync(() => acknowledged.Count == sent, $"every call answered ({acknowledged.Count} of {sent})\n{daemon.Output}", 30);
        Assert.False(daemon.HasExited, daemon.Output);
        using var grpc = new GrpcTestClient(daemon.Grpc!);
        Assert.Equal(sent, (await GrpcTestClient.Try(grpc.Queues.GetQueueAsync(new QueueRequest { Skill = "general" }))).Ok.Waiting);

        // What the daemon acknowledged is in the promoted PostgreSQL: a daemon started from it alone has every call.
        daemon.KillHard();
        await using var fresh = DaemonProcess.Start(
            "--config", config, "--data", Path.Combine(directory, "other"), "--sip", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0",
            "--cluster", both, "--Acd:Cluster:NodeName=node-b");
        await fresh.WaitListeningAsync();
        await fresh.WaitActiveAsync();
        using var again = new GrpcTestClient(fresh.Grpc!);
        Assert.Equal(sent, (await GrpcTestClient.Try(again.Queues.GetQueueAsync(new QueueRequest { Skill = "general" }))).Ok.Waiting);
        Directory.Delete(directory, recursive: true);
    }
}
