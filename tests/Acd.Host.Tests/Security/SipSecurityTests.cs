using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Acd.Core.Domain;
using Acd.Core.Routing;
using Acd.Host.Sip;
using Acd.Host.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using SipText = Acd.Host.Tests.Support.Sip;

namespace Acd.Host.Tests.Security;

/// <summary>
/// The SIP port against a peer on the operator's network (docs/security.md). The "other hosts" are other loopback
/// addresses: the daemon trusts only 127.0.0.1 in these tests, and a client bound to 127.0.0.9 is a stranger.
/// </summary>
public sealed partial class SipSecurityTests
{
    private static readonly IPAddress Stranger = IPAddress.Parse("127.0.0.9");
    private static readonly IPAddress CallPeer = IPAddress.Parse("127.0.0.7");

    private static readonly string[] OnlyLocalhostTrusted =
    [
        "--Acd:Sip:TrustedPeers:0=127.0.0.1/32", "--Acd:Sip:RegistrarPeers:0=127.0.0.1/32", "--Acd:Sip:CallPeers:0=127.0.0.7/32",
    ];

    private static string Hotline(int agents = 4, string state = "ready") => TestDaemon.Centre(agents: agents, state: state, hotline: true, extraSkills: ", { \"Name\": \"vip\" }",
        domainExtras: "\"Callbacks\": { \"MinAbandonWaitSeconds\": 0, \"SkillAgentsDial\": false }, \"Repeat\": { \"Enabled\": false }, \"Ownership\": { \"Enabled\": false }, \"Surge\": { \"EvaluationSeconds\": 1, \"Tiers\": [ { \"Tier\": 3, \"EnterQueueLength\": 20, \"ExitQueueLength\": 5 } ] },");

    private static async Task<Exposition> MetricsAsync(TestDaemon d)
    {
        using var http = new HttpClient();
        return new Exposition(await http.GetStringAsync(new Uri($"http://{d.Http}/metrics")));
    }

    [Fact]
    public async Task A_stranger_gets_403_for_every_request_and_cannot_tell_an_agent_from_a_made_up_one()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 2), OnlyLocalhostTrusted);
        await using var c = await SipTestClient.ConnectAsync(d.Sip!, Stranger);
        foreach (var request in new[]
        {
            SipText.Register("A0001", 600), SipText.Register("nobody", 600), SipText.Register("A0002", 0),
            SipText.Invite("s-1"), SipText.Request("OPTIONS", "s-2"), SipText.Request("BYE", "s-3"), SipText.Request("CANCEL", "s-4"), SipText.Request("INFO", "s-5"),
        })
        {
            await c.SendAsync(request);
            var reply = await c.ReadUntilAsync(403);
            Assert.Equal(403, reply[^1].Status);
        }

        Assert.Equal((AgentState.Ready, "sip:A0001@agents.test"), ((await d.AgentAsync("A0001")).State, (await d.AgentAsync("A0001")).Contact));
        Assert.Equal(AgentState.Ready, (await d.AgentAsync("A0002")).State);
        Assert.Null(await d.CallAsync("s-1"));
        var m = await MetricsAsync(d);
        Assert.Equal(5, m.Value("acd_sip_refused_total", "reason=\"untrusted-source\""));
        Assert.Equal(3, m.Value("acd_sip_refused_total", "reason=\"registration-forbidden\""));
    }

    [Fact]
    public async Task Three_thousand_invites_from_a_stranger_leave_the_tiers_the_callbacks_and_the_agents_untouched()
    {
        await using var d = await TestDaemon.StartAsync(Hotline(), OnlyLocalhostTrusted);
        await using var c = await SipTestClient.ConnectAsync(d.Sip!, Stranger);
        var flood = new System.Text.StringBuilder();
        for (var i = 0; i < 3000; i++)
        {
            flood.Append(SipText.Invite($"flood-{i}", from: $"139{i:D8}"));
        }

        await c.SendAsync(flood.ToString());
        for (var i = 0; i < 3000; i++)
        {
            Assert.Equal(403, (await c.ReadAsync()).Status);
        }

        await Task.Delay(1500); // past a surge evaluation
        var surge = (await d.Domains.Default.Engine.AskAsync(new SurgeQuery()))!;
        var callbacks = (await d.Domains.Default.Engine.AskAsync(CallbackTotalsQuery.Instance))!;
        var agents = (await d.Domains.Default.Engine.AskAsync(AgentStatesQuery.Instance))!;
        Assert.Equal((0, 0L, 0, 4), (surge.Tier, callbacks.Created, (await d.QueueAsync()).Waiting, agents[AgentState.Ready]));
        Assert.Equal(3000, (await MetricsAsync(d)).Value("acd_sip_refused_total", "reason=\"untrusted-source\""));
    }

    [Fact]
    public async Task A_trusted_source_over_its_rate_limit_is_answered_503()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1, state: "not-ready", maxQueue: 100_000), "--Acd:Sip:RateLimits:TrustedPerSource=100");
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);
        var flood = new System.Text.StringBuilder();
        for (var i = 0; i < 1000; i++)
        {
            flood.Append(SipText.Invite($"burst-{i}", from: $"139{i:D8}"));
        }

        await c.SendAsync(flood.ToString());
        var (queued, busy) = (0, 0);
        for (var i = 0; i < 1000; i++)
        {
            var reply = (await c.ReadUntilAsync(182, 503))[^1];
            if (reply.Status == 503)
            {
                busy++;
                Assert.Equal("1", reply["Retry-After"]);
            }
            else
            {
                queued++;
            }
        }

        // A burst of 1,000 inside a second or two: about 100 a second get through.
        Assert.InRange(queued, 100, 400);
        Assert.Equal(1000 - queued, busy);
        Assert.Equal(busy, (await MetricsAsync(d)).Value("acd_sip_refused_total", "reason=\"source-rate-limit\""));
    }

    [Fact]
    public async Task A_call_peer_may_offer_calls_but_its_routing_headers_are_ignored_and_it_owes_no_callbacks()
    {
        const string Centre = """
            { "Acd": { "Name": "peers", "Callbacks": { "MinAbandonWaitSeconds": 0, "SkillAgentsDial": false },
              "Skills": [ { "Name": "general", "WrapUpSeconds": 0 }, { "Name": "vip" } ],
              "Agents": [
                { "Id": "G1", "Skills": { "general": 5 }, "InitialState": "ready" },
                { "Id": "V1", "Skills": { "vip": 5 }, "InitialState": "not-ready" } ] } }
            """;
        await using var d = await TestDaemon.StartAsync(Centre, OnlyLocalhostTrusted);
        await using var peer = await SipTestClient.ConnectAsync(d.Sip!, CallPeer);
        await peer.SendAsync(SipText.Invite("cp-vip", "X-Acd-Vip: 9\r\nX-Acd-Skill: vip\r\nX-Acd-Priority: 9\r\n"));
        Assert.Equal("general", (await peer.ReadUntilAsync(302))[^1]["X-Acd-Skill"]);

        // Queued behind, then abandoned: no callback is owed to a caller number a call peer may have invented.
        await peer.SendAsync(SipText.Invite("cp-wait", from: "13955555555"));
        await peer.ReadUntilAsync(182);
        await peer.SendAsync(SipText.Request("CANCEL", "cp-wait"));
        await peer.ReadUntilAsync(487);
        Assert.Equal(0L, (await d.Domains.Default.Engine.AskAsync(CallbackTotalsQuery.Instance))!.Created);

        // The same headers from a trusted proxy are honoured.
        await using var proxy = await SipTestClient.ConnectAsync(d.Sip!);
        await proxy.SendAsync(SipText.Invite("tp-vip", "X-Acd-Vip: 9\r\nX-Acd-Skill: vip\r\n"));
        var queued = (await proxy.ReadUntilAsync(182))[^1];
        Assert.Equal("vip", (await d.CallAsync("tp-vip"))!.Skill);
        Assert.NotNull(queued);
    }

    [Fact]
    public async Task A_register_that_would_move_a_logged_in_agent_elsewhere_is_refused_unless_authenticated()
    {
        var directory = Directory.CreateTempSubdirectory("acd-digest-").FullName;
        var credentials = Path.Combine(directory, "credentials");
        await File.WriteAllTextAsync(credentials, $"A0001 sha256:{SipDigest.Ha1("sha256", "A0001", "acd", "correct horse")}\nA0001 md5:{SipDigest.Ha1("md5", "A0001", "acd", "correct horse")}\n");
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 2, state: "logged-out"), [.. OnlyLocalhostTrusted, $"--Acd:Sip:CredentialsFile={credentials}"]);

        // The agent's phone logs in through the registrar (the proxy).
        await using var registrar = await SipTestClient.ConnectAsync(d.Sip!);
        await registrar.SendAsync(SipText.Register("A0001", 600, "<sip:phone@10.1.1.1:5070>"));
        Assert.Equal(200, (await registrar.ReadAsync()).Status);

        // The same registrar relaying a REGISTER to move it elsewhere, unauthenticated: refused, the agent stays.
        await registrar.SendAsync(SipText.Register("A0001", 600, "<sip:attacker@10.6.6.6:5070>"));
        var refused = await registrar.ReadAsync();
        Assert.Equal(403, refused.Status);
        Assert.Contains("needs an authenticated registration", refused["Warning"], StringComparison.Ordinal);
        Assert.Equal("sip:phone@10.1.1.1:5070", (await d.AgentAsync("A0001")).Contact);

        // From elsewhere, with the agent's credentials: challenged, then allowed (the agent moved its phone).
        await using var phone = await SipTestClient.ConnectAsync(d.Sip!, Stranger);
        await phone.SendAsync(SipText.Register("A0001", 600, "<sip:phone@10.2.2.2:5070>"));
        var challenge = await phone.ReadAsync();
        Assert.Equal(401, challenge.Status);
        var offered = challenge.All("WWW-Authenticate").ToList();
        Assert.StartsWith("Digest realm=\"acd\"", offered[0], StringComparison.Ordinal);
        Assert.Contains("algorithm=SHA-256", offered[0], StringComparison.Ordinal);
        var nonce = Nonce().Match(offered[0]).Groups[1].Value;

        await phone.SendAsync(SipText.Register("A0001", 600, "<sip:phone@10.2.2.2:5070>").Replace("Expires:", $"Authorization: {Authorization("A0001", "wrong password", nonce, "SHA-256")}\r\nExpires:", StringComparison.Ordinal));
        Assert.Equal(401, (await phone.ReadAsync()).Status);
        await phone.SendAsync(SipText.Register("A0001", 600, "<sip:phone@10.2.2.2:5070>").Replace("Expires:", $"Authorization: {Authorization("A0001", "correct horse", nonce, "SHA-256")}\r\nExpires:", StringComparison.Ordinal));
        Assert.Equal(200, (await phone.ReadAsync()).Status);
        Assert.Equal("sip:phone@10.2.2.2:5070", (await d.AgentAsync("A0001")).Contact);

        // An agent without credentials cannot be registered from elsewhere at all.
        await phone.SendAsync(SipText.Register("A0002", 600));
        Assert.Equal(403, (await phone.ReadAsync()).Status);

        var m = await MetricsAsync(d);
        Assert.Equal((1.0, 1.0, 3.0), (m.Value("acd_agent_registrations_total", "action=\"login\""), m.Value("acd_agent_registrations_total", "action=\"contact-change\""), m.Value("acd_agent_registrations_total", "action=\"refused\"")));
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task Every_login_logout_and_contact_change_is_logged_with_its_source()
    {
        var directory = Directory.CreateTempSubdirectory("acd-audit-").FullName;
        var config = Path.Combine(directory, "centre.json");
        await File.WriteAllTextAsync(config, TestDaemon.Centre(agents: 2, state: "logged-out"));
        await using var daemon = DaemonProcess.Start("--config", config, "--data", Path.Combine(directory, "data"), "--sip", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--Acd:Sip:ContactChange=registrar");
        await daemon.WaitListeningAsync();
        await using (var c = await SipTestClient.ConnectAsync(daemon.Sip!))
        {
            await c.SendAsync(SipText.Register("A0001", 600, "<sip:phone@10.1.1.1:5070>"));
            Assert.Equal(200, (await c.ReadAsync()).Status);
            await c.SendAsync(SipText.Register("A0001", 600, "<sip:phone@10.1.1.2:5070>"));
            Assert.Equal(200, (await c.ReadAsync()).Status);
            await c.SendAsync(SipText.Register("A0001", 0));
            Assert.Equal(200, (await c.ReadAsync()).Status);
        }

        await Eventually.TrueAsync(() => daemon.Lines.Any(l => l.Contains("Agent A0001 logged out by SIP REGISTER from 127.0.0.1:", StringComparison.Ordinal)), "the logout logged");
        Assert.Contains(daemon.Lines, l => l.Contains("Agent A0001 logged in by SIP REGISTER from 127.0.0.1:", StringComparison.Ordinal) && l.Contains("contact sip:phone@10.1.1.1:5070", StringComparison.Ordinal));
        Assert.Contains(daemon.Lines, l => l.Contains("Agent A0001 moved by SIP REGISTER from 127.0.0.1:", StringComparison.Ordinal) && l.Contains("(was sip:phone@10.1.1.1:5070)", StringComparison.Ordinal));
        daemon.Terminate();
        Assert.Equal(0, await daemon.WaitForExitAsync(30));
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task A_routed_call_whose_bye_never_comes_ends_at_the_maximum_talk_time()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var d = await TestDaemon.StartWithClockAsync(clock, TestDaemon.Centre(agents: 1, wrapUp: 5, domainExtras: "\"MaxTalkSeconds\": 600,"));
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);
        await c.SendAsync(SipText.Invite("forever"));
        await c.ReadUntilAsync(302);
        Assert.Equal(AgentState.Talking, (await d.AgentAsync("A0001")).State);

        // Nine minutes on: still talking. Past ten, the watchdog ends it; the agent goes to wrap-up.
        for (var minute = 1; minute <= 9; minute++)
        {
            clock.Advance(TimeSpan.FromMinutes(1));
            await Task.Delay(20);
        }

        Assert.Equal(AgentState.Talking, (await d.AgentAsync("A0001")).State);
        clock.Advance(TimeSpan.FromMinutes(1.5));
        await Eventually.TrueAsync(async () => (await d.AgentAsync("A0001")).State == AgentState.WrapUp, "the agent in wrap-up after the maximum talk time");
        Assert.Null(await d.CallAsync("forever"));
        Assert.Equal(1, (await MetricsAsync(d)).Value("acd_calls_talk_limit_total"));
    }

    private static string Authorization(string user, string password, string nonce, string algorithm)
    {
        var h = algorithm == "SHA-256" ? (Func<string, string>)(s => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(s))))
            : s => Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(s)));
        const string Uri = "sip:acd.test";
        const string Nc = "00000001";
        const string Cnonce = "c0ffee";
        var response = h($"{h($"{user}:acd:{password}")}:{nonce}:{Nc}:{Cnonce}:auth:{h($"REGISTER:{Uri}")}");
        return string.Create(CultureInfo.InvariantCulture, $"Digest username=\"{user}\", realm=\"acd\", nonce=\"{nonce}\", uri=\"{Uri}\", response=\"{response}\", algorithm={algorithm}, qop=auth, nc={Nc}, cnonce=\"{Cnonce}\"");
    }

    [GeneratedRegex("nonce=\"([^\"]+)\"")]
    private static partial Regex Nonce();
}
