using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Acd.Api.V1;
using Acd.Host.Tests.Support;
using Grpc.Core;
using Xunit.Abstractions;
using SipText = Acd.Host.Tests.Support.Sip;

namespace Acd.Host.Tests.Cluster;

/// <summary>
/// Two daemons in cluster mode on one PostgreSQL; the active one is killed with SIGKILL at a random moment under SIP
/// and gRPC load, ten times, alternating; after each kill the standby must serve everything that was acknowledged —
/// waiting calls, agent states, callbacks owed — and nothing that was refused.
/// </summary>
public sealed class KillDrillTests(ITestOutputHelper output)
{
    /// <summary>Kills per run: 10 in the test suite; <c>bench/cluster-drill.sh</c> sets ACD_CLUSTER_KILLS=100.</summary>
    private static int Kills => int.TryParse(Environment.GetEnvironmentVariable("ACD_CLUSTER_KILLS"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 10;

    private const string Centre = """
        { "Acd": { "Name": "drill", "Repeat": { "Enabled": false }, "Ownership": { "Enabled": false }, "Surge": { "Enabled": false },
          "Callbacks": { "Enabled": true, "MinAbandonWaitSeconds": 0 }, "DetachGraceSeconds": 3600, "MaxLiveCalls": 100000,
          "Skills": [ { "Name": "general", "WrapUpSeconds": 0, "MaxQueueLength": 100000, "MaxWaitSeconds": 3600 } ],
          "AgentGroups": [ { "IdPrefix": "A", "Count": 20, "Skills": { "general": 5 }, "InitialState": "not-ready", "ContactTemplate": "sip:{id}@agents.test" } ] } }
        """;

    private sealed class Node(string name, string config, PostgresServer pg)
    {
        public string Name { get; } = name;

        public DaemonProcess? Process { get; private set; }

        public async Task StartAsync()
        {
            Process = DaemonProcess.Start(
                "--config", config, "--data", Path.Combine(Path.GetDirectoryName(config)!, Name), "--sip", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0",
                "--cluster", pg.ConnectionString, $"--Acd:Cluster:NodeName={Name}");
            await Process.WaitListeningAsync();
        }
    }

    [Fact]
    public async Task Ten_kills_of_the_active_daemon_under_load_lose_nothing_acknowledged_and_invent_nothing()
    {
        await using var pg = await PostgresServer.StartAsync();
        var directory = Directory.CreateTempSubdirectory("acd-drill-").FullName;
        var config = Path.Combine(directory, "centre.json");
        await File.WriteAllTextAsync(config, Centre);
        var nodes = new[] { new Node("node-a", config, pg), new Node("node-b", config, pg) };
        try
        {
            await nodes[0].StartAsync();
            await WaitActiveAsync(nodes[0].Process!);
            await nodes[1].StartAsync();

            var waiting = new List<string>();                // acknowledged (182), in the order acknowledged, not cancelled
            var cancelledCallers = new HashSet<string>(StringComparer.Ordinal); // acknowledged CANCELs: a callback is owed to each
            var cancelling = new HashSet<string>(StringComparer.Ordinal); // CANCELs sent whose answer was not seen (the kill may have cut it off)
            var sent = new HashSet<string>(StringComparer.Ordinal);
            var agentReason = new Dictionary<string, string>(StringComparer.Ordinal); // last acknowledged NotReady reason
            var agentPending = new Dictionary<string, string>(StringComparer.Ordinal); // a change sent and not answered when the owner died
            var random = new Random(20261127);
            var takeovers = new List<TimeSpan>();
            var active = 0;
            var next = 0;
            for (var round = 1; round <= Kills; round++)
            {
                var owner = nodes[active].Process!;
                var standby = nodes[1 - active];

                // Load for a random while: INVITEs (some then cancelled) over SIP, agent state changes over gRPC.
                using var load = new CancellationTokenSource();
                var sip = await SipTestClient.ConnectAsync(owner.Sip!);
                var acks = new ConcurrentQueue<(string CallId, int Status, string Method)>();
                var reader = Task.Run(async () =>
                {
                    try
                    {
                        while (true)
                        {
                            var r = await sip.ReadAsync(30);
                            acks.Enqueue((r["Call-ID"] ?? "", r.Status, (r["CSeq"] ?? "").Split(' ').Last()));
                        }
                    }
                    catch (Exception e) when (e is IOException or OperationCanceledException or InvalidOperationException)
                    {
                        // The owner died.
                    }
                });
                var calls = Task.Run(async () =>
                {
                    try
                    {
                        while (!load.IsCancellationRequested)
                        {
                            var id = $"c{next++}";
                            lock (sent)
                            {
                                sent.Add(id);
                            }

                            await sip.SendAsync(SipText.Invite(id, from: Caller(id)));
                            if (next % 7 == 0 && waiting.Count > 0)
                            {
                                // A caller who hangs up: one that was acknowledged a while ago.
                                string victim;
                                lock (waiting)
                                {
                                    victim = waiting[random.Next(waiting.Count)];
                                }

                                lock (waiting)
                                {
                                    cancelling.Add(victim);
                                }

                                await sip.SendAsync(SipText.Request("CANCEL", victim, cseq: 1));
                            }

                            await Task.Delay(4);
                        }
                    }
                    catch (IOException)
                    {
                        // The owner died.
                    }
                });
                using var grpc = new GrpcTestClient(owner.Grpc!);
                var states = Task.Run(async () =>
                {
                    var n = 0;
                    while (!load.IsCancellationRequested)
                    {
                        var agent = $"A{1 + random.Next(20):0000}";
                        var reason = $"r{round}-{n++}";
                        lock (agentPending)
                        {
                            agentPending[agent] = reason;
                        }

                        var result = await GrpcTestClient.Try(grpc.Agents.SetStateAsync(new SetStateRequest { AgentId = agent, State = Acd.Api.V1.AgentState.NotReady, Reason = reason }));
                        if (result.Status != StatusCode.OK)
                        {
                            return;
                        }

                        lock (agentPending)
                        {
                            agentReason[agent] = reason;
                            agentPending.Remove(agent);
                        }
                    }
                });

                // Acknowledgements are read as they come, so CANCELs pick calls that were acknowledged.
                var until = Stopwatch.StartNew();
                var loadFor = TimeSpan.FromMilliseconds(300 + random.Next(1200));
                while (until.Elapsed < loadFor)
                {
                    Drain(acks, waiting, cancelledCallers);
                    await Task.Delay(20);
                }

                owner.KillHard();
                var killed = Stopwatch.StartNew();
                await load.CancelAsync();
                await Task.WhenAll(calls, states, reader);
                Drain(acks, waiting, cancelledCallers);
                await sip.DisposeAsync();

                // The standby takes over: measured from the kill to its first answer.
                var standbyProcess = standby.Process!;
                await Eventually.TrueAsync(async () => await ProbeAsync(standbyProcess), $"round {round}: the standby serving\n{standbyProcess.Output}", 15);
                takeovers.Add(killed.Elapsed);
                output.WriteLine($"round {round}: {waiting.Count} waiting, {cancelledCallers.Count} callbacks owed, takeover {killed.Elapsed.TotalMilliseconds:0} ms");

                // Everything acknowledged is there; what was refused or never sent is not.
                using var check = new GrpcTestClient(standbyProcess.Grpc!);
                // A waiting call whose CANCEL was in flight at the kill may be gone (the CANCEL made durable, its answer lost
                // with the owner): the loop below checks each one, so the count's floor leaves those out.
                var queue = (await GrpcTestClient.Try(check.Queues.GetQueueAsync(new QueueRequest { Skill = "general" }))).Ok;
                Assert.InRange(queue.Waiting, waiting.Count(id => !cancelling.Contains(id)), sent.Count - cancelledCallers.Count);
                foreach (var id in waiting.ToList())
                {
                    var call = await GrpcTestClient.Try(check.Calls.GetCallAsync(new CallRequest { CallId = id }));
                    if (call.Status == StatusCode.NotFound && cancelling.Contains(id))
                    {
                        // Its CANCEL was made durable; only the answer to it died with the owner: a callback is owed.
                        waiting.Remove(id);
                        cancelledCallers.Add(Caller(id));
                        continue;
                    }

                    Assert.True(call.Status == StatusCode.OK && call.Response!.State == CallState.Queued, $"round {round}: acknowledged call {id} is {call.Status} {call.Response?.State}");
                }

                cancelling.Clear();

                var callbacks = (await GrpcTestClient.Try(check.Callbacks.ListCallbacksAsync(new ListCallbacksRequest()))).Ok.Callbacks.Select(c => c.Caller).ToHashSet(StringComparer.Ordinal);
                Assert.DoesNotContain(cancelledCallers, c => !callbacks.Contains(c));
                var durableInFlight = new List<(string Agent, string Reason)>();
                foreach (var (agent, reason) in agentReason)
                {
                    var a = (await GrpcTestClient.Try(check.Agents.GetAgentAsync(new AgentRequest { AgentId = agent }))).Ok;
                    var inFlight = agentPending.GetValueOrDefault(agent);
                    Assert.True(a.Reason == reason || a.Reason == inFlight, $"round {round}: agent {agent} is '{a.Reason}', acknowledged '{reason}' (in flight '{inFlight}')");
                    if (a.Reason != reason)
                    {
                        durableInFlight.Add((agent, a.Reason));
                    }
                }

                // A change in flight at the kill that turned out durable (its answer was lost with the daemon) is the agent's
                // state from now on: later rounds expect it, not the last change acknowledged.
                foreach (var (agent, reason) in durableInFlight)
                {
                    agentReason[agent] = reason;
                }

                agentPending.Clear();

                // The killed daemon comes back, as standby.
                await nodes[active].Process!.DisposeAsync();
                await nodes[active].StartAsync();
                active = 1 - active;
            }

            // Every waiting call is at its place: asked again in the order they were acknowledged, their positions rise
            // (calls whose 182 the kills cut off may stand between them: committed, only not acknowledged to this test).
            await using var proxy = await SipTestClient.ConnectAsync(nodes[active].Process!.Sip!);
            var previous = 0;
            foreach (var id in waiting)
            {
                await proxy.SendAsync(SipText.Request("INVITE", id, cseq: 5));
                var resumed = (await proxy.ReadUntilAsync(182))[^1];
                var position = int.Parse(resumed["X-Acd-Queue-Position"]!, CultureInfo.InvariantCulture);
                Assert.True(resumed["Call-ID"] == id && position > previous, $"{id} is at {position}, after a call at {previous}");
                previous = position;
            }

            var sorted = takeovers.Order().ToList();
            output.WriteLine($"takeover after SIGKILL, ms: {string.Join(", ", takeovers.Select(t => t.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)))}");
            output.WriteLine($"{takeovers.Count} kills: takeover min {sorted[0].TotalMilliseconds:0} ms, median {sorted[sorted.Count / 2].TotalMilliseconds:0} ms, max {sorted[^1].TotalMilliseconds:0} ms; {waiting.Count} calls waiting at the end");
            Assert.True(takeovers.Max() < TimeSpan.FromSeconds(5), $"a takeover took {takeovers.Max()}");
        }
        finally
        {
            foreach (var node in nodes)
            {
                if (node.Process is { } p)
                {
                    await p.DisposeAsync();
                }
            }

            Directory.Delete(directory, recursive: true);
        }

        void Drain(ConcurrentQueue<(string CallId, int Status, string Method)> acks, List<string> waiting, HashSet<string> cancelled)
        {
            while (acks.TryDequeue(out var ack))
            {
                lock (waiting)
                {
                    if (ack is { Method: "INVITE", Status: 182 } && !waiting.Contains(ack.CallId) && !cancelled.Contains(Caller(ack.CallId)))
                    {
                        waiting.Add(ack.CallId);
                    }
                    else if (ack is { Method: "CANCEL", Status: 200 } && waiting.Remove(ack.CallId))
                    {
                        cancelled.Add(Caller(ack.CallId));
                    }
                }
            }
        }
    }

    /// <summary>Each call has a caller of its own (so each abandoned call owes its own callback).</summary>
    private static string Caller(string callId) => "1390" + callId[1..].PadLeft(7, '0');

    private static async Task WaitActiveAsync(DaemonProcess daemon) =>
        await Eventually.TrueAsync(async () => await ProbeAsync(daemon), $"the daemon active\n{daemon.Output}", 15);

    /// <summary>Whether the daemon serves: an OPTIONS answered 200 (a standby answers 503).</summary>
    private static async Task<bool> ProbeAsync(DaemonProcess daemon)
    {
        try
        {
            await using var c = await SipTestClient.ConnectAsync(daemon.Sip!);
            await c.SendAsync(SipText.Request("OPTIONS", "probe-" + Guid.NewGuid().ToString("N")));
            return (await c.ReadAsync(2)).Status == 200;
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
        {
            return false;
        }
    }
}
