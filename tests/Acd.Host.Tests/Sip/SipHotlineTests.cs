using Acd.Core.Routing;
using Acd.Host.Tests.Support;
using SipText = Acd.Host.Tests.Support.Sip;

namespace Acd.Host.Tests.Sip;

/// <summary>The hotline features seen from a SIP proxy over a real TCP connection (SPEC 4.1, 4.3, 4.4 and 5).</summary>
public sealed class SipHotlineTests
{
    private const string Centre = """
        { "Acd": { "Name": "hot",
          "VipCallers": [ "13800138001" ],
          "Languages": { "en": "english" },
          "Routes": [ { "ServiceNumber": "10086", "Ivr": "3", "Skill": "complaint" } ],
          "Repeat": { "Calls": 3, "WindowMinutes": 60, "Skill": "repeat" },
          "Ownership": { "Enabled": false },
          "Surge": { "DeflectWaitSeconds": 30, "IvrUri": "sip:1008611@ivr.test" },
          "Skills": [
            { "Name": "general", "WrapUpSeconds": 0 }, { "Name": "complaint", "WrapUpSeconds": 0 }, { "Name": "english", "WrapUpSeconds": 0 },
            { "Name": "vip", "WrapUpSeconds": 0 }, { "Name": "repeat", "WrapUpSeconds": 0 } ],
          "Agents": [
            { "Id": "G1", "Skills": { "general": 5 }, "InitialState": "ready", "Contact": "sip:g1@desk.test" },
            { "Id": "C1", "Skills": { "complaint": 5 }, "InitialState": "ready", "Contact": "sip:c1@desk.test" },
            { "Id": "E1", "Skills": { "english": 5 }, "InitialState": "ready", "Contact": "sip:e1@desk.test" },
            { "Id": "V1", "Skills": { "vip": 5 }, "InitialState": "ready", "Contact": "sip:v1@desk.test" },
            { "Id": "R1", "Skills": { "repeat": 5 }, "InitialState": "ready", "Contact": "sip:r1@desk.test" } ] } }
        """;

    /// <summary>Sends an INVITE and, once it is redirected, the BYE that ends the call; returns the 302.</summary>
    private static async Task<SipReply> CallAsync(SipTestClient c, string callId, string extra = "", string from = "13900000000")
    {
        await c.SendAsync(SipText.Invite(callId, extra, from: from));
        var redirected = (await c.ReadUntilAsync(302))[^1];
        await c.SendAsync(SipText.Request("BYE", callId, cseq: 2, from: from));
        Assert.Equal(200, (await c.ReadUntilAsync(200))[^1].Status);
        return redirected;
    }

    [Fact]
    public async Task Vip_language_ivr_digits_and_repeat_callers_reach_their_seats()
    {
        await using var d = await TestDaemon.StartAsync(Centre);
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);

        var listed = await CallAsync(c, "vip-list", from: "13800138001");
        Assert.Equal(("V1", "vip", "<sip:v1@desk.test>"), (listed["X-Acd-Agent"], listed["X-Acd-Skill"], listed["Contact"]));
        var header = await CallAsync(c, "vip-header", "X-Acd-Vip: 3\r\n", from: "13900000001");
        Assert.Equal(("V1", "vip"), (header["X-Acd-Agent"], header["X-Acd-Skill"]));

        Assert.Equal("E1", (await CallAsync(c, "lang", "Accept-Language: en-US, zh;q=0.5\r\n", from: "13900000002"))["X-Acd-Agent"]);
        Assert.Equal("C1", (await CallAsync(c, "ivr", "X-Acd-Ivr: 31\r\n", from: "13900000003"))["X-Acd-Agent"]);
        Assert.Equal("C1", (await CallAsync(c, "explicit", "X-Acd-Skill: complaint\r\nX-Acd-Language: en\r\n", from: "13900000004"))["X-Acd-Agent"]);

        // The same number three times within the window: the third call goes to the repeat seat.
        Assert.Equal("G1", (await CallAsync(c, "rep-1", from: "13911112222"))["X-Acd-Agent"]);
        Assert.Equal("G1", (await CallAsync(c, "rep-2", from: "13911112222"))["X-Acd-Agent"]);
        var third = await CallAsync(c, "rep-3", from: "13911112222");
        Assert.Equal(("R1", "repeat"), (third["X-Acd-Agent"], third["X-Acd-Skill"]));
    }

    [Fact]
    public async Task In_surge_tier_three_a_call_that_would_wait_too_long_is_redirected_to_the_ivr_and_owed_a_callback()
    {
        await using var d = await TestDaemon.StartAsync(Centre.Replace("\"InitialState\": \"ready\"", "\"InitialState\": \"not-ready\"", StringComparison.Ordinal));
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);
        Assert.True((await d.ExecuteAsync(new ForceSurgeTier { Tier = 3, DurationSeconds = 600, Reason = "storm" })).IsOk);

        await c.SendAsync(SipText.Invite("storm-1", from: "13955556666"));
        var replies = await c.ReadUntilAsync(302);
        Assert.Equal([100, 302], replies.Select(r => r.Status));
        var deflected = replies[^1];
        Assert.Equal(("<sip:1008611@ivr.test>", "deflect", "general"), (deflected["Contact"], deflected["X-Acd-Reason"], deflected["X-Acd-Skill"]));
        Assert.Null(deflected["X-Acd-Agent"]);
        Assert.Null(await d.CallAsync("storm-1"));

        // The proxy acknowledges the 302; the caller is owed a callback.
        await c.SendAsync(SipText.Request("ACK", "storm-1"));
        var callbacks = (await d.Domains.Default.Engine.AskAsync(new CallbacksQuery()))!;
        var owed = Assert.Single(callbacks);
        Assert.Equal(("13955556666", "deflected"), (owed.Caller, owed.Reason));

        // A VIP caller is not deflected: it waits (182).
        await c.SendAsync(SipText.Invite("storm-vip", "X-Acd-Vip: 1\r\n", from: "13955557777"));
        Assert.Equal(182, (await c.ReadUntilAsync(182))[^1].Status);

        // Cleared, new calls wait again instead of being deflected.
        Assert.True((await d.ExecuteAsync(new ClearSurgeOverride())).IsOk);
        await c.SendAsync(SipText.Invite("calm-1", from: "13955558888"));
        Assert.Equal(182, (await c.ReadUntilAsync(182))[^1].Status);
    }
}
