using Acd.Core.Domain;
using Acd.Host.Tests.Support;

namespace Acd.Host.Tests.Sip;

/// <summary>Each row of the SPEC section 5 table, over a real TCP connection to the daemon.</summary>
public sealed class SipPortTests
{
    [Fact]
    public async Task An_invite_is_tried_at_once_then_redirected_to_a_ready_agent()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 2));
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Invite("call-1", vias: 3));

        var trying = await c.ReadAsync();
        Assert.Equal(100, trying.Status);
        Assert.DoesNotContain("tag=", trying["To"], StringComparison.Ordinal);

        var redirect = await c.ReadAsync();
        Assert.Equal("SIP/2.0 302 Moved Temporarily", redirect.StartLine);
        Assert.Equal("<sip:A0001@agents.test>", redirect["Contact"]);
        Assert.Equal("A0001", redirect["X-Acd-Agent"]);
        Assert.Equal("general", redirect["X-Acd-Skill"]);
        Assert.True(int.Parse(redirect["X-Acd-Wait-Ms"]!, System.Globalization.CultureInfo.InvariantCulture) >= 0);

        // Every Via in order, From, To with a tag added, Call-ID and CSeq.
        Assert.Equal(["SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bK-call-1-0", "SIP/2.0/TCP 10.0.0.2:5060;branch=z9hG4bK-call-1-1", "SIP/2.0/TCP 10.0.0.3:5060;branch=z9hG4bK-call-1-2"], redirect.All("Via"));
        Assert.Equal("<sip:13800138000@ims.test>;tag=from-call-1", redirect["From"]);
        Assert.Matches("^<sip:10086@acd.test>;tag=[0-9a-f]{8}$", redirect["To"]!);
        Assert.Equal("call-1", redirect["Call-ID"]);
        Assert.Equal("1 INVITE", redirect["CSeq"]);
        Assert.Equal(AgentState.Talking, (await d.AgentAsync("A0001")).State);
    }

    [Fact]
    public async Task A_call_that_must_wait_is_told_its_place_then_redirected_when_an_agent_frees_up()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1));
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Invite("first"));
        Assert.Equal(302, (await c.ReadUntilAsync(302))[^1].Status);

        await c.SendAsync(Acd.Host.Tests.Support.Sip.Invite("second"));
        Assert.Equal(100, (await c.ReadAsync()).Status);
        var queued = await c.ReadAsync();
        Assert.Equal("SIP/2.0 182 Queued", queued.StartLine);
        Assert.Equal("1", queued["X-Acd-Queue-Position"]);
        Assert.NotNull(queued["X-Acd-Estimated-Wait"]);
        Assert.Contains("tag=", queued["To"], StringComparison.Ordinal);

        // The first call ends (BYE): its agent is free and the second call goes to it.
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Request("BYE", "first", cseq: 2));
        var replies = await c.ReadUntilAsync(302);
        Assert.Contains(replies, r => r.Status == 200 && r["Call-ID"] == "first" && r["CSeq"] == "2 BYE");
        Assert.Equal("second", replies[^1]["Call-ID"]);
        Assert.Equal("A0001", replies[^1]["X-Acd-Agent"]);
        Assert.Equal(queued["To"], replies[^1]["To"]);
    }

    [Fact]
    public async Task A_call_that_comes_while_others_wait_keeps_its_route_compact_and_is_answered_the_same()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 2, state: "not-ready"));
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);
        var queued = new Dictionary<string, SipReply>(StringComparer.Ordinal);
        foreach (var id in new[] { "nobody-waits", "one-waits" })
        {
            await c.SendAsync(Acd.Host.Tests.Support.Sip.Invite(id, vias: 2));
            queued[id] = (await c.ReadUntilAsync(182))[^1];
        }

        // Nothing waited when the first came (it would have been routed at once: its route as received, format 2); the
        // second came while the first waited (compact, with its call id and caller: format 4). Read while the engine is
        // idle: every answer is out.
        var routes = d.Domains.Default.Router.AnswerRoutes().ToDictionary(r => r.CallId, r => r.Route, StringComparer.Ordinal);
        Assert.Equal(2, routes["nobody-waits"][0]);
        Assert.Equal(4, routes["one-waits"][0]);
        Assert.False(Acd.Core.Sip.SipTransactionEcho.TryGetIdentity(routes["nobody-waits"], out _, out _));
        Assert.True(Acd.Core.Sip.SipTransactionEcho.TryGetIdentity(routes["one-waits"], out var keptId, out var keptCaller));
        Assert.Equal("one-waits", System.Text.Encoding.ASCII.GetString(keptId));
        Assert.Equal("13800138000", System.Text.Encoding.ASCII.GetString(keptCaller));

        // Both are redirected with the lines they came with, and the To tag of their 182.
        foreach (var agent in new[] { "A0001", "A0002" })
        {
            Assert.True((await d.ExecuteAsync(new Acd.Core.Routing.AgentCommand(Acd.Core.Routing.CommandKind.SetState, agent) { State = AgentState.Ready })).IsOk);
        }

        for (var i = 0; i < 2; i++)
        {
            var redirect = (await c.ReadUntilAsync(302))[^1];
            var id = redirect["Call-ID"]!;
            Assert.Equal([$"SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bK-{id}-0", $"SIP/2.0/TCP 10.0.0.2:5060;branch=z9hG4bK-{id}-1"], redirect.All("Via"));
            Assert.Equal($"<sip:13800138000@ims.test>;tag=from-{id}", redirect["From"]);
            Assert.Equal(queued[id]["To"], redirect["To"]);
            Assert.Equal("1 INVITE", redirect["CSeq"]);
        }
    }

    [Fact]
    public async Task No_agent_logged_in_for_the_skill_is_480_with_retry_after()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1, state: "logged-out"));
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Invite("x"));
        var replies = await c.ReadUntilAsync(480);
        Assert.Equal("SIP/2.0 480 Temporarily Unavailable", replies[^1].StartLine);
        Assert.Equal("60", replies[^1]["Retry-After"]);
    }

    [Fact]
    public async Task A_full_queue_is_503_with_retry_after()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1, state: "not-ready", maxQueue: 2));
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Invite("q1") + Acd.Host.Tests.Support.Sip.Invite("q2") + Acd.Host.Tests.Support.Sip.Invite("q3"));
        var replies = await c.ReadUntilAsync(503);
        Assert.Equal("q3", replies[^1]["Call-ID"]);
        Assert.Equal("10", replies[^1]["Retry-After"]);
        Assert.Equal(2, replies.Count(r => r.Status == 182));
    }

    [Fact]
    public async Task An_invite_again_for_a_redirected_call_is_ring_no_answer_and_the_call_keeps_its_place()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 2));
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Invite("rona"));
        var first = (await c.ReadUntilAsync(302))[^1];
        Assert.Equal("A0001", first["X-Acd-Agent"]);

        // The proxy's failure route: the agent did not answer.
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Request("INVITE", "rona", cseq: 2));
        var second = (await c.ReadUntilAsync(302))[^1];
        Assert.Equal("A0002", second["X-Acd-Agent"]);
        Assert.Equal("2 INVITE", second["CSeq"]);
        var agent = await d.AgentAsync("A0001");
        Assert.Equal((AgentState.NotReady, "rona"), (agent.State, agent.Reason));
    }

    [Fact]
    public async Task A_new_invite_of_the_same_call_gets_a_new_to_tag_and_a_retransmission_the_same()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 2));
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Invite("tags"));
        var first = (await c.ReadUntilAsync(302))[^1];

        // The proxy's failure route sends a new transaction (a new branch) for the same Call-ID.
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Request("INVITE", "tags", cseq: 2).Replace("z9hG4bK-tags-0", "z9hG4bK-tags-rona", StringComparison.Ordinal));
        var second = (await c.ReadUntilAsync(302))[^1];
        Assert.Equal(("A0001", "A0002"), (first["X-Acd-Agent"], second["X-Acd-Agent"]));
        Assert.NotEqual(first["To"], second["To"]);

        // A retransmission of the first INVITE (same branch) would get the first tag again: the tag is the transaction's.
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Request("OPTIONS", "tags", cseq: 3).Replace("z9hG4bK-tags-rona", "z9hG4bK-tags-0", StringComparison.Ordinal));
        var options = await c.ReadAsync();
        Assert.Equal(first["To"], options["To"]);
    }

    [Fact]
    public async Task A_re_invite_inside_a_dialog_is_481_and_leaves_the_call_alone()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 2));
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Invite("hold"));
        Assert.Equal("A0001", (await c.ReadUntilAsync(302))[^1]["X-Acd-Agent"]);

        // Hold or a session refresh: an INVITE whose To carries the tag of an established dialog.
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Request("INVITE", "hold", cseq: 2, to: "<sip:10086@acd.test>;tag=agent-phone-1"));
        var reply = await c.ReadAsync();
        Assert.Equal((481, "2 INVITE"), (reply.Status, reply["CSeq"]));
        Assert.True(await c.SilentAsync(0.3));
        var call = await d.CallAsync("hold");
        Assert.Equal((CallState.Talking, "A0001"), (call!.State, call.AgentId));
        Assert.Equal(AgentState.Talking, (await d.AgentAsync("A0001")).State);
        Assert.Equal(AgentState.Ready, (await d.AgentAsync("A0002")).State);
    }

    [Theory]
    [InlineData("BYE")]
    [InlineData("CANCEL")]
    public async Task A_caller_who_leaves_while_the_agents_phone_rings_is_abandoned_and_the_agent_free_at_once(string method)
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1, wrapUp: 30));
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Invite("left"));
        Assert.Equal("A0001", (await c.ReadUntilAsync(302))[^1]["X-Acd-Agent"]);
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Request("ACK", "left", cseq: 1));

        // The proxy reports that the caller hung up before the agent's phone was answered.
        await c.SendAsync(method == "BYE"
            ? Acd.Host.Tests.Support.Sip.Request("BYE", "left", cseq: 2, extra: "Reason: Q.850;cause=16, SIP ;cause=487;text=\"Call completed elsewhere\"\r\n")
            : Acd.Host.Tests.Support.Sip.Request("CANCEL", "left", cseq: 1));
        var ok = await c.ReadAsync();
        Assert.Equal(200, ok.Status);
        Assert.True(await c.SilentAsync(0.3)); // the INVITE had its final answer (302): no 487 after it

        Assert.Null(await d.CallAsync("left"));
        var queue = await d.QueueAsync();
        Assert.Equal((1L, 0L), (queue.Abandoned, queue.Answered));
        var agent = await d.AgentAsync("A0001");
        Assert.Equal((AgentState.Ready, 0), (agent.State, agent.CallsHandled)); // no wrap-up: the agent talked to nobody
    }

    [Fact]
    public async Task A_bye_after_the_hand_off_ends_an_answered_call_and_counts_it_handled()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1, wrapUp: 30));
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Invite("talked"));
        await c.ReadUntilAsync(302);
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Request("BYE", "talked", cseq: 2, extra: "Reason: SIP;cause=200;text=\"normal\"\r\n"));
        Assert.Equal(200, (await c.ReadAsync()).Status);
        var queue = await d.QueueAsync();
        Assert.Equal((0L, 1L), (queue.Abandoned, queue.Answered));
        var agent = await d.AgentAsync("A0001");
        Assert.Equal((AgentState.WrapUp, 1), (agent.State, agent.CallsHandled));
    }

    [Fact]
    public async Task A_cancel_of_a_waiting_call_is_200_and_the_invite_487()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1, state: "not-ready"));
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Invite("gone"));
        await c.ReadUntilAsync(182);
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Request("CANCEL", "gone", cseq: 1));
        var ok = await c.ReadAsync();
        Assert.Equal((200, "1 CANCEL"), (ok.Status, ok["CSeq"]));
        var terminated = await c.ReadAsync();
        Assert.Equal((487, "1 INVITE"), (terminated.Status, terminated["CSeq"]));
        Assert.Null(await d.CallAsync("gone"));
        Assert.Equal(1, (await d.QueueAsync()).Abandoned);

        // The ACK of the 487 is absorbed; a CANCEL for nothing is 481.
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Request("ACK", "gone", cseq: 1));
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Request("CANCEL", "never", cseq: 1));
        var unknown = await c.ReadAsync();
        Assert.Equal((481, "never"), (unknown.Status, unknown["Call-ID"]));
    }

    [Fact]
    public async Task An_ack_is_absorbed_without_an_answer()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1));
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Request("ACK", "whatever", cseq: 1));
        Assert.True(await c.SilentAsync(0.5));
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Request("OPTIONS", "ping"));
        Assert.Equal(200, (await c.ReadAsync()).Status);
    }

    [Fact]
    public async Task A_bye_ends_the_routed_call_and_sends_the_agent_to_wrap_up()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1, wrapUp: 30));
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Invite("talk"));
        await c.ReadUntilAsync(302);
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Request("BYE", "talk", cseq: 2));
        var ok = await c.ReadAsync();
        Assert.Equal((200, "2 BYE"), (ok.Status, ok["CSeq"]));
        Assert.Equal(AgentState.WrapUp, (await d.AgentAsync("A0001")).State);

        await c.SendAsync(Acd.Host.Tests.Support.Sip.Request("BYE", "talk", cseq: 3));
        Assert.Equal(481, (await c.ReadAsync()).Status);
    }

    [Fact]
    public async Task Register_logs_an_agent_in_and_out_and_an_unknown_one_is_404()
    {
        // From a registrar peer allowed to move agents (a proxy that authenticated the phones); see SecurityTests for the default.
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 2, state: "logged-out"), "--Acd:Sip:ContactChange=registrar");
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Register("A0002", 600));
        var ok = await c.ReadAsync();
        Assert.Equal(200, ok.Status);
        Assert.Equal("<sip:phone@10.9.9.9:5070>;expires=600", ok["Contact"]);
        var agent = await d.AgentAsync("A0002");
        Assert.Equal((AgentState.Ready, "sip:phone@10.9.9.9:5070"), (agent.State, agent.Contact));

        // A refresh keeps the agent as it is, with the new contact.
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Register("A0002", 600, "<sip:phone@10.9.9.10:5070>"));
        Assert.Equal(200, (await c.ReadAsync()).Status);
        Assert.Equal("sip:phone@10.9.9.10:5070", (await d.AgentAsync("A0002")).Contact);

        await c.SendAsync(Acd.Host.Tests.Support.Sip.Register("A0002", 0));
        Assert.Equal(200, (await c.ReadAsync()).Status);
        Assert.Equal(AgentState.LoggedOut, (await d.AgentAsync("A0002")).State);

        await c.SendAsync(Acd.Host.Tests.Support.Sip.Register("nobody", 600));
        Assert.Equal(404, (await c.ReadAsync()).Status);
    }

    [Fact]
    public async Task A_registration_not_refreshed_before_it_expires_logs_the_agent_out()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 2, state: "logged-out"));
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Register("A0001", 1));
        Assert.Equal(200, (await c.ReadAsync()).Status);
        Assert.Equal(AgentState.Ready, (await d.AgentAsync("A0001")).State);
        await Eventually.TrueAsync(async () => (await d.AgentAsync("A0001")).State == AgentState.LoggedOut, "the binding expiring");
    }

    [Fact]
    public async Task Options_is_200_with_allow_and_other_methods_are_405_with_allow()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre());
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Request("OPTIONS", "o1"));
        var ok = await c.ReadAsync();
        Assert.Equal((200, "INVITE, ACK, CANCEL, BYE, REGISTER, OPTIONS"), (ok.Status, ok["Allow"]));
        Assert.Contains("tag=", ok["To"], StringComparison.Ordinal);

        foreach (var method in new[] { "INFO", "UPDATE", "MESSAGE", "SUBSCRIBE" })
        {
            await c.SendAsync(Acd.Host.Tests.Support.Sip.Request(method, "m-" + method));
            var refused = await c.ReadAsync();
            Assert.Equal((405, "Method Not Allowed"), (refused.Status, refused.StartLine[12..]));
            Assert.Equal("INVITE, ACK, CANCEL, BYE, REGISTER, OPTIONS", refused["Allow"]);
            Assert.Equal($"1 {method}", refused["CSeq"]);
        }
    }

    [Fact]
    public async Task The_x_acd_headers_choose_skill_priority_and_language()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1, state: "not-ready", extraSkills: ", { \"Name\": \"vip\" }")
            .Replace("\"Skills\": { \"general\": 5 }", "\"Skills\": { \"general\": 5, \"vip\": 5 }", StringComparison.Ordinal));
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Invite("h1", "X-Acd-Skill: vip\r\nX-Acd-Priority: 7\r\nX-Acd-Language: en\r\nX-Acd-Vip: yes\r\nX-Acd-Ivr: 12\r\n"));
        await c.ReadUntilAsync(182);
        var call = await d.CallAsync("h1");
        // A VIP call has the VIP priority (9) even when the header asks for less.
        Assert.Equal(("vip", 9, "en", 1, "13800138000", "10086"), (call!.Skill, call.Priority, call.Language, call.Vip, call.Caller, call.ServiceNumber));

        await c.SendAsync(Acd.Host.Tests.Support.Sip.Invite("h2", "X-Acd-Skill: nope\r\n"));
        Assert.Equal(404, (await c.ReadUntilAsync(404))[^1].Status);
        await c.SendAsync(Acd.Host.Tests.Support.Sip.Invite("h3", "X-Acd-Priority: 12\r\n"));
        Assert.Equal(400, (await c.ReadUntilAsync(400))[^1].Status);
    }
}
