using System.Globalization;
using Acd.Core.Domain;
using Acd.Core.Routing;
using Acd.Host.Sip;
using Acd.Host.Tests.Support;

namespace Acd.Host.Tests.Sip;

/// <summary>
/// The daemon behind a real Kamailio running the shipped <c>deploy/kamailio/acd.cfg</c>: sipp callers dial the proxy,
/// sipp phones (answering, busy, never answering) are the agents' seats, and every assertion reads the daemon's state.
/// </summary>
public sealed class KamailioTests
{
    private static string Centre(params (string Prefix, int Count, string Contact, string State)[] groups) => $$"""
        { "Acd": { "Name": "kamailio", "Repeat": { "Enabled": false }, "Ownership": { "Enabled": false }, "Callbacks": { "Enabled": false },
          "Skills": [ { "Name": "general", "WrapUpSeconds": 1, "MaxQueueLength": 1000 } ],
          "AgentGroups": [ {{string.Join(", ", groups.Select(g => $$"""{ "IdPrefix": "{{g.Prefix}}", "Count": {{g.Count}}, "Skills": { "general": 5 }, "InitialState": "{{g.State}}", "ContactTemplate": "{{g.Contact}}" }"""))}} ] } }
        """;

    [Fact]
    public async Task Agents_log_in_through_the_proxy_and_every_call_is_answered_ended_and_wrapped_up()
    {
        await using var phone = await SippPhone.StartAsync("phone-answer.xml", pauseMs: 100);
        await using var d = await TestDaemon.StartAsync(Centre(("A", 16, "sip:{id}@nowhere.invalid", "logged-out")));
        await using var proxy = await Kamailio.StartAsync(d.Sip!);

        // Each agent's phone registers through the proxy (a registrar peer: loopback), with the phone's address.
        await using (var registrar = await SipTestClient.ConnectAsync(proxy.Endpoint))
        {
            for (var i = 1; i <= 16; i++)
            {
                var agent = $"A{i:0000}";
                await registrar.SendAsync(Acd.Host.Tests.Support.Sip.Register(agent, 3600, $"<{phone.Contact(agent)}>"));
                Assert.Equal(200, (await registrar.ReadUntilAsync(200))[^1].Status);
            }
        }

        for (var i = 1; i <= 16; i++)
        {
            var agent = await d.AgentAsync($"A{i:0000}");
            Assert.Equal((AgentState.Ready, phone.Contact(agent.AgentId)), (agent.State, agent.Contact));
        }

        var result = await Sipp.RunAsync("proxied-caller.xml", proxy.Endpoint, "10086", rate: 10, calls: 100, pauseMs: 300, timeoutSeconds: 90, transport: "u1", recvTimeoutMs: 30_000);
        Assert.True(result.ExitCode == 0 && result.Successful == 100, $"{result}\n{proxy.Log}");

        // Every call answered and ended (a BYE of the proxy's own), every agent back to Ready after its wrap-up.
        await Eventually.TrueAsync(async () => (await d.QueueAsync()) is { Waiting: 0, Answered: 100 }, "every call answered");
        await Eventually.TrueAsync(async () =>
        {
            for (var i = 1; i <= 16; i++)
            {
                if ((await d.AgentAsync($"A{i:0000}")).State != AgentState.Ready)
                {
                    return false;
                }
            }

            return true;
        }, "every agent ready after wrap-up");
        var queue = await d.QueueAsync();
        Assert.Equal((100L, 100L, 0L, 0L), (queue.Offered, queue.Answered, queue.Abandoned, queue.TimedOut));
        var handled = 0;
        for (var i = 1; i <= 16; i++)
        {
            handled += (await d.AgentAsync($"A{i:0000}")).CallsHandled;
        }

        Assert.Equal(100, handled);
    }

    [Fact]
    public async Task A_busy_phone_and_one_nobody_answers_send_the_call_back_to_its_place_and_the_next_agent_answers_it()
    {
        await using var busy = await SippPhone.StartAsync("phone-busy.xml");
        await using var silent = await SippPhone.StartAsync("phone-silent.xml");
        await using var answering = await SippPhone.StartAsync("phone-answer.xml", pauseMs: 200);
        await using var d = await TestDaemon.StartAsync(Centre(
            ("B", 1, busy.Contact("{id}"), "ready"), ("S", 1, silent.Contact("{id}"), "not-ready"), ("A", 1, answering.Contact("{id}"), "not-ready")));
        await using var proxy = await Kamailio.StartAsync(d.Sip!, "AGENT_RING_MS=1500");

        var caller = Sipp.RunAsync("proxied-caller.xml", proxy.Endpoint, "10086", rate: 1, calls: 1, pauseMs: 300, timeoutSeconds: 60, transport: "u1", recvTimeoutMs: 30_000);

        // The busy phone: ring-no-answer at once, the call back in the queue.
        await Eventually.TrueAsync(async () => (await d.AgentAsync("B0001")) is { State: AgentState.NotReady, Reason: "rona" }, $"the busy agent ring-no-answer\n{proxy.Log}");
        Assert.Equal(1, (await d.QueueAsync()).Waiting);

        // The phone nobody answers: the proxy's ring timer (1.5 s), then ring-no-answer.
        Assert.True((await d.ExecuteAsync(new AgentCommand(CommandKind.SetState, "S0001") { State = AgentState.Ready })).IsOk);
        await Eventually.TrueAsync(async () => (await d.AgentAsync("S0001")) is { State: AgentState.NotReady, Reason: "rona" }, $"the silent agent ring-no-answer\n{proxy.Log}");
        Assert.Equal(1, (await d.QueueAsync()).Waiting);

        // The third agent answers; the call ends and the agent wraps up and is ready again.
        Assert.True((await d.ExecuteAsync(new AgentCommand(CommandKind.SetState, "A0001") { State = AgentState.Ready })).IsOk);
        var result = await caller;
        Assert.True(result.ExitCode == 0 && result.Successful == 1, $"{result}\n{proxy.Log}");
        await Eventually.TrueAsync(async () => (await d.QueueAsync()).Answered == 1 && (await d.AgentAsync("A0001")).State == AgentState.Ready, "answered and wrapped up");
        Assert.Equal((0, 0, 1), ((await d.AgentAsync("B0001")).CallsHandled, (await d.AgentAsync("S0001")).CallsHandled, (await d.AgentAsync("A0001")).CallsHandled));
        Assert.Equal(0L, (await d.QueueAsync()).Abandoned);
    }

    [Fact]
    public async Task A_caller_who_hangs_up_while_queued_or_while_the_phone_rings_is_abandoned_and_the_agent_is_free_at_once()
    {
        await using var silent = await SippPhone.StartAsync("phone-silent.xml");
        await using var d = await TestDaemon.StartAsync(Centre(("S", 1, silent.Contact("{id}"), "not-ready")));
        await using var proxy = await Kamailio.StartAsync(d.Sip!, "AGENT_RING_MS=10000");

        // Nobody ready: 182 Queued reaches the caller through the proxy, then its CANCEL reaches ACD.
        var queued = await Sipp.RunAsync("abandon.xml", proxy.Endpoint, "10086", rate: 1, calls: 1, pauseMs: 500, timeoutSeconds: 30, transport: "u1");
        Assert.True(queued.ExitCode == 0 && queued.Successful == 1, $"{queued}\n{proxy.Log}");
        await Eventually.TrueAsync(async () => (await d.QueueAsync()).Abandoned == 1, "abandoned while queued");

        // The agent's phone rings; the caller hangs up: ACD hears of it (a BYE with Reason: SIP;cause=487), counts the call
        // abandoned and frees the agent at once — no ring-no-answer, no wrap-up.
        Assert.True((await d.ExecuteAsync(new AgentCommand(CommandKind.SetState, "S0001") { State = AgentState.Ready })).IsOk);
        var ringing = await Sipp.RunAsync("proxied-cancel.xml", proxy.Endpoint, "10086", rate: 1, calls: 1, pauseMs: 800, timeoutSeconds: 30, transport: "u1");
        Assert.True(ringing.ExitCode == 0 && ringing.Successful == 1, $"{ringing}\n{proxy.Log}");
        await Eventually.TrueAsync(async () => (await d.QueueAsync()).Abandoned == 2, $"abandoned while ringing\n{proxy.Log}");
        var agent = await d.AgentAsync("S0001");
        Assert.Equal((AgentState.Ready, 0), (agent.State, agent.CallsHandled));
        var queue = await d.QueueAsync();
        Assert.Equal((2L, 0L, 0), (queue.Abandoned, queue.Answered, queue.Waiting));
    }

    [Fact]
    public async Task A_waiting_call_is_answered_over_a_new_connection_after_the_proxy_closed_its_idle_one()
    {
        await using var answering = await SippPhone.StartAsync("phone-answer.xml");
        await using var d = await TestDaemon.StartAsync(Centre(("A", 1, answering.Contact("{id}"), "not-ready")));
        // OPTIONS probes would keep the connection in use: off here, so that the proxy closes it.
        await using var proxy = await Kamailio.StartAsync(d.Sip!, "TCP_LIFETIME=1", "PROBE_INTERVAL=3600");
        var sip = d.Services.GetRequiredService<SipServer>();

        var caller = Sipp.RunAsync("proxied-caller.xml", proxy.Endpoint, "10086", rate: 1, calls: 1, pauseMs: 200, timeoutSeconds: 90, transport: "u1", recvTimeoutMs: 80_000);
        await Eventually.TrueAsync(async () => (await d.QueueAsync()).Waiting == 1, "the call queued");

        // The proxy closes the idle connection the INVITE came on (tcp_connection_lifetime 1 s); the call keeps its place.
        await Eventually.TrueAsync(() => sip.OpenConnections == 0, $"the proxy closing its idle connection\n{proxy.Log}", seconds: 40);
        Assert.Equal(1, (await d.QueueAsync()).Waiting);

        // The agent frees up: the 302 goes over a new connection to the proxy, which follows it to the phone.
        Assert.True((await d.ExecuteAsync(new AgentCommand(CommandKind.SetState, "A0001") { State = AgentState.Ready })).IsOk);
        var result = await caller;
        Assert.True(result.ExitCode == 0 && result.Successful == 1, $"{result}\n{proxy.Log}");
        Assert.True(sip.AnswerConnections >= 1, "no new connection was opened for the answer");
        Assert.Equal(0, sip.UndeliveredAnswers);
        await Eventually.TrueAsync(async () => (await d.QueueAsync()).Answered == 1 && (await d.AgentAsync("A0001")).State == AgentState.Ready, "answered and wrapped up");
    }

    [Fact]
    public async Task With_the_proxy_as_registrar_acd_redirects_to_the_agents_address_on_the_proxy_which_finds_the_phone()
    {
        await using var phone = await SippPhone.StartAsync("phone-answer.xml");
        await using var d = await TestDaemon.StartAsync(Centre(("A", 1, "sip:{id}@nowhere.invalid", "logged-out")));
        await using var proxy = await Kamailio.StartAsync(d.Sip!, "WITH_NAT_REGISTRAR");

        // The phone registers with the proxy (its Via names where it sends from, so the proxy sees no NAT to fix here);
        // the proxy answers as the registrar and tells ACD the agent's address on the proxy.
        await using (var registrar = await SipTestClient.ConnectAsync(proxy.Endpoint))
        {
            var register = Acd.Host.Tests.Support.Sip.Register("A0001", 600, $"<{phone.Contact("A0001")}>")
                .Replace("10.0.0.1:5060", $"127.0.0.1:{registrar.Local.Port}", StringComparison.Ordinal);
            await registrar.SendAsync(register);
            var ok = (await registrar.ReadUntilAsync(200))[^1];
            Assert.Contains(phone.Contact("A0001"), ok["Contact"], StringComparison.Ordinal);
        }

        var onProxy = $"sip:A0001@127.0.0.1:{proxy.Endpoint.Port.ToString(CultureInfo.InvariantCulture)}";
        await Eventually.TrueAsync(async () => (await d.AgentAsync("A0001")) is { State: AgentState.Ready } a && a.Contact == onProxy, $"logged in on the proxy\n{proxy.Log}");

        var result = await Sipp.RunAsync("proxied-caller.xml", proxy.Endpoint, "10086", rate: 2, calls: 3, pauseMs: 200, timeoutSeconds: 60, transport: "u1", recvTimeoutMs: 30_000);
        Assert.True(result.ExitCode == 0 && result.Successful == 3, $"{result}\n{proxy.Log}");
        await Eventually.TrueAsync(async () => (await d.QueueAsync()).Answered == 3, "answered through the proxy's location table");

        // Unregistering at the proxy logs the agent out of ACD.
        await using (var registrar = await SipTestClient.ConnectAsync(proxy.Endpoint))
        {
            var unregister = Acd.Host.Tests.Support.Sip.Register("A0001", 0, $"<{phone.Contact("A0001")}>")
                .Replace("10.0.0.1:5060", $"127.0.0.1:{registrar.Local.Port}", StringComparison.Ordinal);
            await registrar.SendAsync(unregister);
            Assert.Equal(200, (await registrar.ReadUntilAsync(200))[^1].Status);
        }

        await Eventually.TrueAsync(async () => (await d.AgentAsync("A0001")).State == AgentState.LoggedOut, $"logged out\n{proxy.Log}");
    }
}
