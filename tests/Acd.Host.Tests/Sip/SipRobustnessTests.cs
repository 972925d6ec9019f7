using System.Text;
using Acd.Core.Domain;
using Acd.Host.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using SipText = Acd.Host.Tests.Support.Sip;

namespace Acd.Host.Tests.Sip;

/// <summary>Bad input gets a clear answer and loses nothing; no input crashes the daemon, grows its memory without bound, or disturbs other connections.</summary>
[Collection(MemoryMeasured.Name)]
public sealed class SipRobustnessTests
{
    [Fact]
    public async Task A_malformed_but_framable_request_is_400_with_the_reason_and_the_connection_lives_on()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre());
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);

        // No Call-ID.
        await c.SendAsync("OPTIONS sip:acd SIP/2.0\r\nVia: SIP/2.0/TCP a;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:acd>\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
        var missing = await c.ReadAsync();
        Assert.Equal("SIP/2.0 400 Bad Request - Missing Required Header", missing.StartLine);
        Assert.Equal("SIP/2.0/TCP a;branch=z9hG4bK1", missing["Via"]);

        // A header line without a colon.
        await c.SendAsync(SipText.Request("OPTIONS", "o2", extra: "NoColonHere\r\n"));
        Assert.Equal("SIP/2.0 400 Bad Request - Malformed Header", (await c.ReadAsync()).StartLine);

        // CSeq method that is not the request's.
        await c.SendAsync(SipText.Request("OPTIONS", "o3", cseqMethod: "INVITE"));
        Assert.Equal("SIP/2.0 400 Bad Request - Malformed CSeq", (await c.ReadAsync()).StartLine);

        // Wrong version.
        await c.SendAsync(SipText.Request("OPTIONS", "o4").Replace("SIP/2.0\r\n", "SIP/3.0\r\n", StringComparison.Ordinal));
        Assert.Equal(505, (await c.ReadAsync()).Status);

        // Still alive.
        await c.SendAsync(SipText.Request("OPTIONS", "o5"));
        var ok = await c.ReadAsync();
        Assert.Equal((200, "o5"), (ok.Status, ok["Call-ID"]));
    }

    [Theory]
    [InlineData("junk", 400)]
    [InlineData("header-too-large", 494)]
    [InlineData("body-too-large", 413)]
    [InlineData("missing-length", 400)]
    [InlineData("short-length", 400)]
    public async Task Input_that_breaks_framing_is_answered_then_closed_while_other_connections_carry_on(string kind, int status)
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 4), "--Acd:Sip:MaxHeaderBytes=2048", "--Acd:Sip:MaxBodyBytes=256");
        await using var bystander = await SipTestClient.ConnectAsync(d.Sip!);
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);
        var payload = kind switch
        {
            "junk" => "\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u01fc\u0003\u0003 binary TLS hello",
            "header-too-large" => SipText.Invite("big", extra: $"X-Pad: {new string('x', 4000)}\r\n"),
            "body-too-large" => SipText.Request("OPTIONS", "body", body: new string('b', 1000)),
            "missing-length" => SipText.Request("OPTIONS", "nolen").Replace("Content-Length: 0\r\n", string.Empty, StringComparison.Ordinal),
            _ => SipText.Request("OPTIONS", "lie", body: "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\n").Replace("Content-Length: 30", "Content-Length: 3", StringComparison.Ordinal),
        };
        await c.SendAsync(payload);
        var reply = await c.ReadAsync();
        if (kind == "short-length")
        {
            // The message as its length frames it is answered; what is left cannot be a message.
            Assert.Equal(200, reply.Status);
            reply = await c.ReadAsync();
        }

        Assert.Equal(status, reply.Status);
        Assert.True(await c.ClosedAsync(), "the connection should close");

        // Another connection is undisturbed and can still place a call.
        await bystander.SendAsync(SipText.Invite("still-fine"));
        Assert.Equal(302, (await bystander.ReadUntilAsync(302))[^1].Status);
    }

    [Fact]
    public async Task A_content_length_longer_than_what_arrives_waits_then_the_idle_limit_closes_it()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(), "--Acd:Sip:IdleTimeoutSeconds=1");
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);
        await c.SendAsync(SipText.Request("OPTIONS", "lie-long", body: "abc").Replace("Content-Length: 3", "Content-Length: 50", StringComparison.Ordinal));
        Assert.True(await c.ClosedAsync(5));
    }

    [Fact]
    public async Task An_idle_connection_is_closed_after_the_idle_limit_and_a_busy_one_is_not()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(), "--Acd:Sip:IdleTimeoutSeconds=1");
        await using var idle = await SipTestClient.ConnectAsync(d.Sip!);
        await using var busy = await SipTestClient.ConnectAsync(d.Sip!);
        // The busy connection pings far more often than the limit (every 100 ms) until the idle one is closed: a pause
        // of the test machine does not make it idle.
        var started = DateTime.UtcNow;
        var closing = idle.ClosedAsync(10);
        while (!closing.IsCompleted)
        {
            await busy.SendAsync("\r\n\r\n");
            Assert.Equal("PONG", (await busy.ReadAsync()).StartLine);
            await Task.WhenAny(closing, Task.Delay(100));
        }

        Assert.True(await closing);
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(0.9), "closed before the idle limit");
        await busy.SendAsync(SipText.Request("OPTIONS", "alive"));
        Assert.Equal(200, (await busy.ReadAsync()).Status);
    }

    [Fact]
    public async Task Answers_held_back_by_a_peer_that_reads_late_all_arrive_in_order_once_it_reads()
    {
        // 2,000 OPTIONS with a 1 KB Via each, and nothing read until all are sent: ~2.4 MB of answers, more than the
        // socket buffers and the connection's pipe hold, so the write loop goes many times through its chunks,
        // each waiting on TCP flow control, with the rest queued behind them.
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 10));
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);
        var via = "Via: SIP/2.0/TCP late.example;branch=z9hG4bK" + new string('v', 1000) + "\r\n";
        const int Count = 2000;
        var all = new StringBuilder();
        for (var i = 0; i < Count; i++)
        {
            all.Append(SipText.Request("OPTIONS", $"late-{i}", cseq: i + 1, extra: via, vias: 0));
        }

        await c.SendAsync(all.ToString());
        await Task.Delay(500);
        for (var i = 0; i < Count; i++)
        {
            var r = await c.ReadAsync();
            Assert.Equal(200, r.Status);
            Assert.Equal($"late-{i}", r["Call-ID"]);
            Assert.Equal($"{i + 1} OPTIONS", r["CSeq"]);
            Assert.Contains(new string('v', 1000), r["Via"], StringComparison.Ordinal);
        }

        Assert.True(await c.SilentAsync(0.3), "an answer more than was asked for");
    }

    [Fact]
    public async Task A_thousand_pipelined_invites_on_one_connection_are_all_answered_in_order_per_call()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1000));
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);
        var all = new StringBuilder();
        for (var i = 0; i < 1000; i++)
        {
            all.Append(SipText.Invite($"pipe-{i}"));
        }

        await c.SendAsync(all.ToString());
        var seen = new Dictionary<string, List<int>>();
        var agents = new HashSet<string>();
        for (var n = 0; n < 2000; n++)
        {
            var r = await c.ReadAsync();
            var list = seen.TryGetValue(r["Call-ID"]!, out var l) ? l : seen[r["Call-ID"]!] = [];
            list.Add(r.Status);
            if (r.Status == 302)
            {
                Assert.True(agents.Add(r["X-Acd-Agent"]!), "two calls went to one agent");
            }
        }

        Assert.Equal(1000, seen.Count);
        Assert.All(seen.Values, statuses => Assert.Equal([100, 302], statuses));
        Assert.Equal(1000, agents.Count);
    }

    [Fact]
    public async Task Answers_written_by_reads_deliveries_and_write_loops_on_several_connections_stay_whole_and_in_order()
    {
        // A connection's answers are written by whichever thread has them — its read loop (100 Trying, OPTIONS), the journal's
        // thread delivering a batch (302s), or its write loop (what had to queue) — one holding the pipe at a time. Requests
        // come a few at a time on four connections at once, so reads, batches and flushes interleave: two writers in one
        // pipe would tear a message, and a final answer written before its 100 would break the order.
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1500));
        const int Connections = 4, Calls = 300;
        var results = await Task.WhenAll(Enumerable.Range(0, Connections).Select(async k =>
        {
            await using var c = await SipTestClient.ConnectAsync(d.Sip!);
            var sending = Task.Run(async () =>
            {
                for (var i = 0; i < Calls; i++)
                {
                    await c.SendAsync(SipText.Invite($"mix-{k}-{i}") + SipText.Request("OPTIONS", $"opt-{k}-{i}"));
                    if (i % 8 == 0)
                    {
                        await Task.Delay(1);
                    }
                }
            });
            var seen = new Dictionary<string, List<int>>();
            for (var n = 0; n < Calls * 3; n++)
            {
                var r = await c.ReadAsync();
                var list = seen.TryGetValue(r["Call-ID"]!, out var l) ? l : seen[r["Call-ID"]!] = [];
                list.Add(r.Status);
            }

            await sending;
            Assert.True(await c.SilentAsync(0.3), "an answer more than was asked for");
            return seen;
        }));

        foreach (var seen in results)
        {
            Assert.Equal(Calls * 2, seen.Count);
            Assert.All(seen, call => Assert.Equal(call.Key.StartsWith("mix-", StringComparison.Ordinal) ? [100, 302] : [200], call.Value));
        }
    }

    [Fact]
    public async Task A_dropped_connection_leaves_its_waiting_calls_queued_for_the_grace_then_a_reinvite_resumes_them()
    {
        // Without answers over a new connection, a dropped connection's calls are held for the peer to send them again.
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1, state: "not-ready", domainExtras: "\"DetachGraceSeconds\": 30,"), "--Acd:Sip:AnswerOverNewConnection=false");
        await using (var first = await SipTestClient.ConnectAsync(d.Sip!))
        {
            await first.SendAsync(SipText.Invite("held-1") + SipText.Invite("held-2"));
            await first.ReadUntilAsync(182);
            await first.ReadUntilAsync(182);
        }

        // The connection is gone; the calls are held at their places.
        await Eventually.TrueAsync(async () => (await d.CallAsync("held-1"))?.Detached == true, "the call held");
        Assert.Equal(2, (await d.QueueAsync()).Waiting);

        await using var second = await SipTestClient.ConnectAsync(d.Sip!);
        await second.SendAsync(SipText.Request("INVITE", "held-2", cseq: 2));
        var resumed = (await second.ReadUntilAsync(182))[^1];
        Assert.Equal("1", resumed["X-Acd-Queue-Position"]); // held-1, still held, is not in the queue
        await second.SendAsync(SipText.Request("INVITE", "held-1", cseq: 2));
        Assert.Equal("1", (await second.ReadUntilAsync(182))[^1]["X-Acd-Queue-Position"]); // back ahead of held-2
        await d.ExecuteAsync(new Acd.Core.Routing.AgentCommand(Acd.Core.Routing.CommandKind.SetState, "A0001") { State = AgentState.Ready });
        var routed = (await second.ReadUntilAsync(302))[^1];
        Assert.Equal("held-1", routed["Call-ID"]);
    }

    [Fact]
    public async Task A_final_answer_whose_connection_is_gone_goes_over_a_new_connection_to_the_source_and_the_top_via_port()
    {
        // The "proxy" listens where its Via says (RFC 3261 §18.2.2); the Via's host is not looked up: the source address is used.
        var proxy = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        proxy.Start();
        var port = ((System.Net.IPEndPoint)proxy.LocalEndpoint).Port;
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1, state: "not-ready", domainExtras: "\"DetachGraceSeconds\": 1,"));
        var sip = d.Services.GetRequiredService<Acd.Host.Sip.SipServer>();
        await using (var c = await SipTestClient.ConnectAsync(d.Sip!))
        {
            await c.SendAsync(SipText.Invite("later").Replace("10.0.0.1:5060", $"proxy.invalid:{port}", StringComparison.Ordinal));
            await c.ReadUntilAsync(182);
        }

        // The connection is gone; the call keeps its place, past the grace a held call would have.
        await Eventually.TrueAsync(() => sip.OpenConnections == 0, "the connection closed");
        await Task.Delay(1500);
        Assert.False((await d.CallAsync("later"))!.Detached);
        Assert.Equal(1, (await d.QueueAsync()).Waiting);

        await d.ExecuteAsync(new Acd.Core.Routing.AgentCommand(Acd.Core.Routing.CommandKind.SetState, "A0001") { State = AgentState.Ready });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var accepted = await proxy.AcceptTcpClientAsync(timeout.Token);
        await using var back = SipTestClient.Over(accepted);
        var redirect = await back.ReadAsync();
        Assert.Equal((302, "later", "A0001"), (redirect.Status, redirect["Call-ID"], redirect["X-Acd-Agent"]));
        Assert.Equal(2, redirect.All("Via").Count());

        // It is a SIP connection like any other: the peer may send requests over it.
        await back.SendAsync(SipText.Request("OPTIONS", "ping", cseq: 1));
        Assert.Equal(200, (await back.ReadAsync()).Status);
        Assert.Equal((1L, 0L), (sip.AnswerConnections, sip.UndeliveredAnswers));
        proxy.Stop();
    }

    [Fact]
    public async Task A_routed_call_whose_answer_can_reach_no_one_is_abandoned_and_its_agent_free_at_once()
    {
        var nobody = FreePorts.UdpAndTcp();
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1, state: "not-ready"));
        var sip = d.Services.GetRequiredService<Acd.Host.Sip.SipServer>();
        await using (var c = await SipTestClient.ConnectAsync(d.Sip!))
        {
            await c.SendAsync(SipText.Invite("gone-proxy").Replace("10.0.0.1:5060", $"10.0.0.1:{nobody}", StringComparison.Ordinal));
            await c.ReadUntilAsync(182);
        }

        await Eventually.TrueAsync(() => sip.OpenConnections == 0, "the connection closed");
        await d.ExecuteAsync(new Acd.Core.Routing.AgentCommand(Acd.Core.Routing.CommandKind.SetState, "A0001") { State = AgentState.Ready });

        // The 302 could not be delivered (nothing listens there): the call is abandoned, the agent free and not blamed.
        await Eventually.TrueAsync(async () => (await d.QueueAsync()).Abandoned == 1, "the call abandoned");
        Assert.Null(await d.CallAsync("gone-proxy"));
        var agent = await d.AgentAsync("A0001");
        Assert.Equal((AgentState.Ready, 0), (agent.State, agent.CallsHandled));
        Assert.Equal((0L, 1L), (sip.AnswerConnections, sip.UndeliveredAnswers));
    }

    [Fact]
    public async Task Held_calls_not_resumed_within_the_grace_count_as_abandoned()
    {
        // On a clock the test moves: the 30-second grace is checked to the second without waiting for it.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var d = await TestDaemon.StartWithClockAsync(clock, TestDaemon.Centre(agents: 1, state: "not-ready", domainExtras: "\"DetachGraceSeconds\": 30,"), "--Acd:Sip:AnswerOverNewConnection=false");
        await using (var c = await SipTestClient.ConnectAsync(d.Sip!))
        {
            await c.SendAsync(SipText.Invite("lost"));
            await c.ReadUntilAsync(182);
        }

        await Eventually.TrueAsync(async () => (await d.CallAsync("lost"))?.Detached == true, "the call held");
        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.True((await d.CallAsync("lost"))?.Detached, "abandoned before the grace was over");
        clock.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(async () => (await d.QueueAsync()).Abandoned == 1, "the held call abandoned once the grace is over");
        Assert.Null(await d.CallAsync("lost"));
    }

    [Fact]
    public async Task A_flood_of_junk_from_several_connections_leaves_memory_bounded_and_the_daemon_serving()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 4));
        var junk = new byte[64 * 1024];
        new Random(7).NextBytes(junk);
        var slow = Encoding.ASCII.GetBytes("INVITE sip:x SIP/2.0\r\n" + string.Concat(Enumerable.Repeat("X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", 200)));

        async Task FloodAsync(int round)
        {
            for (var i = 0; i < 25; i++)
            {
                await using var c = await SipTestClient.ConnectAsync(d.Sip!);
                try
                {
                    await c.SendAsync((round + i) % 2 == 0 ? junk : slow);
                    await c.ClosedAsync(5);
                }
                catch (IOException)
                {
                    // The daemon may close before the whole flood is written.
                }
            }
        }

        await FloodAsync(0);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        await Task.WhenAll(Enumerable.Range(1, 8).Select(FloodAsync));
        var after = GC.GetTotalMemory(forceFullCollection: true);
        Assert.True(after - before < 16 * 1024 * 1024, $"managed memory grew by {(after - before) / 1024} KiB over 200 flooding connections");

        await using var ok = await SipTestClient.ConnectAsync(d.Sip!);
        await ok.SendAsync(SipText.Invite("after-flood"));
        Assert.Equal(302, (await ok.ReadUntilAsync(302))[^1].Status);
    }
}
