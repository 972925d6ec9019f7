using System.Diagnostics;
using Acd.Api.V1;
using Acd.Host.Tests.Support;
using Xunit.Abstractions;

namespace Acd.Host.Tests.Cluster;

/// <summary>
/// Kamailio with the shipped <c>deploy/kamailio/acd.cfg</c>, its dispatcher over two daemons in cluster mode on one
/// PostgreSQL; sipp callers through it, a sipp phone as every agent's seat; the active daemon killed with SIGKILL.
/// </summary>
public sealed class ClusterKamailioTests(ITestOutputHelper output)
{
    [Fact]
    public async Task After_the_active_daemon_is_killed_the_callers_waiting_through_kamailio_are_answered_by_the_new_owner_and_new_calls_reach_it()
    {
        await using var pg = await PostgresServer.StartAsync();
        await using var phone = await SippPhone.StartAsync("phone-answer.xml", pauseMs: 100);
        var directory = Directory.CreateTempSubdirectory("acd-cluster-kam-").FullName;
        var config = Path.Combine(directory, "centre.json");
        await File.WriteAllTextAsync(config, $$"""
            { "Acd": { "Name": "kam", "Repeat": { "Enabled": false }, "Ownership": { "Enabled": false }, "Callbacks": { "Enabled": false }, "Surge": { "Enabled": false },
              "Skills": [ { "Name": "general", "WrapUpSeconds": 1, "MaxQueueLength": 1000 } ],
              "AgentGroups": [ { "IdPrefix": "A", "Count": 3, "Skills": { "general": 5 }, "InitialState": "not-ready", "ContactTemplate": "{{phone.Contact("{id}")}}" } ] } }
            """);
        DaemonProcess Start(string node) => DaemonProcess.Start(
            "--config", config, "--data", Path.Combine(directory, node), "--sip", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0",
            "--cluster", pg.ConnectionString, $"--Acd:Cluster:NodeName={node}");
        await using var a = Start("node-a");
        await a.WaitListeningAsync();
        await a.WaitActiveAsync();
        await using var b = Start("node-b");
        await b.WaitListeningAsync();
        await using var proxy = await Kamailio.StartAsync([a.Sip!, b.Sip!], "PROBE_INTERVAL=1", "AGENT_RING_MS=5000");

        // Three callers wait at node-a (nobody is ready); the proxy holds their INVITEs with node-a's 182.
        var waiting = Sipp.RunAsync("proxied-caller.xml", proxy.Endpoint, "10086", rate: 10, calls: 3, pauseMs: 300, timeoutSeconds: 90, transport: "u1", recvTimeoutMs: 80_000);
        using (var grpcA = new GrpcTestClient(a.Grpc!))
        {
            await Eventually.TrueAsync(async () => (await GrpcTestClient.Try(grpcA.Queues.GetQueueAsync(new QueueRequest { Skill = "general" }))).Ok.Waiting == 3, $"three callers waiting at node-a\n{proxy.Log}");
        }

        a.KillHard();
        var killed = Stopwatch.StartNew();
        await b.WaitActiveAsync();
        output.WriteLine($"node-b active {killed.ElapsedMilliseconds} ms after the kill");

        // The proxy's probes see the new owner serve (an OPTIONS for the service number through it reaches a daemon).
        await Eventually.TrueAsync(async () =>
        {
            await using var probe = await SipTestClient.ConnectAsync(proxy.Endpoint);
            await probe.SendAsync(Acd.Host.Tests.Support.Sip.Request("OPTIONS", "probe-" + Guid.NewGuid().ToString("N"), uri: "sip:10086@acd.test"));
            return (await probe.ReadAsync(5)).Status == 200;
        }, $"the proxy sending to node-b\n{proxy.Log}", 20);
        output.WriteLine($"the proxy sends to node-b {killed.ElapsedMilliseconds} ms after the kill");

        // An agent frees up at the new owner: the INVITEs the proxy still holds are answered over a new connection to it,
        // followed to the phone, and each caller talks.
        using var grpcB = new GrpcTestClient(b.Grpc!);
        Assert.Equal(3, (await GrpcTestClient.Try(grpcB.Queues.GetQueueAsync(new QueueRequest { Skill = "general" }))).Ok.Waiting);
        for (var i = 1; i <= 3; i++)
        {
            _ = (await GrpcTestClient.Try(grpcB.Agents.SetStateAsync(new SetStateRequest { AgentId = $"A{i:0000}", State = Acd.Api.V1.AgentState.Ready }))).Ok;
        }

        var result = await waiting;
        Assert.True(result.ExitCode == 0 && result.Successful == 3, $"{result}\n{proxy.Log}\n{b.Output}");
        output.WriteLine($"the three waiting callers answered {killed.ElapsedMilliseconds} ms after the kill");

        // New calls reach node-b.
        var fresh = await Sipp.RunAsync("proxied-caller.xml", proxy.Endpoint, "10086", rate: 5, calls: 10, pauseMs: 200, timeoutSeconds: 90, transport: "u1", recvTimeoutMs: 30_000);
        Assert.True(fresh.ExitCode == 0 && fresh.Successful == 10, $"{fresh}\n{proxy.Log}");
        Assert.Equal(13L, (await GrpcTestClient.Try(grpcB.Queues.GetQueueAsync(new QueueRequest { Skill = "general" }))).Ok.Answered);
        Directory.Delete(directory, recursive: true);
    }
}
