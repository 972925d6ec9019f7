using Acd.Core.Domain;
using Acd.Core.Routing;
using Acd.Core.Tests.Support;

namespace Acd.Core.Tests.Routing;

public abstract partial class RoutingSpecification
{
    [Fact]
    public void A_call_goes_to_a_ready_agent_at_once()
    {
        var h = General("a1");
        h.Login("a1");
        var r = h.Offer("c1");
        Assert.Equal(OfferOutcome.Routed, r.Outcome);
        Assert.Equal("a1", r.AgentId);
        Assert.Equal("sip:a1@test", r.Contact);
        var routed = h.LastOf(EventKind.CallRouted, "c1");
        Assert.Equal(0, routed.WaitMs);
        Assert.False(routed.Handoff);
    }

    [Fact]
    public void With_no_ready_agent_a_call_waits_with_its_position_and_an_estimate()
    {
        var h = General("a1");
        h.Login("a1", AgentState.NotReady);
        var r1 = h.Offer("c1");
        var r2 = h.Offer("c2");
        Assert.Equal((OfferOutcome.Queued, 1), (r1.Outcome, r1.Position));
        Assert.Equal((OfferOutcome.Queued, 2), (r2.Outcome, r2.Position));
        Assert.Equal(2, h.LastOf(EventKind.CallQueued, "c2").Position);

        // no agent working the skill yet: position × default handle time (100 s) ÷ max(1, working agents)
        Assert.Equal(200_000, r2.EstimatedWaitMs);
    }

    [Fact]
    public void Higher_priority_is_served_first_then_the_longest_waiting()
    {
        var h = General("a1");
        h.Login("a1", AgentState.NotReady);
        h.Offer("low-old", priority: 1);
        h.Wait(1);
        h.Offer("high-1", priority: 5);
        h.Wait(1);
        h.Offer("high-2", priority: 5);
        h.Wait(1);
        var r = h.Offer("top", priority: 9);
        Assert.Equal(1, r.Position);
        Assert.Equal(4, h.PositionOf("low-old"));

        var served = new List<string>();
        h.Ready("a1");
        for (var i = 0; i < 4; i++)
        {
            var call = h.Model.GetAgent("a1")!.CurrentCallId!;
            served.Add(call);
            h.Answered(call);
            h.End(call);
            h.EndWrapUp("a1");
        }

        Assert.Equal(["top", "high-1", "high-2", "low-old"], served);
    }

    [Fact]
    public void An_agent_with_several_skills_takes_the_oldest_call_of_the_highest_priority_across_them()
    {
        var h = Centre(new CentreBuilder().Skill("general").Skill("data").Agent("a1", "general:5", "data:5"));
        h.Login("a1", AgentState.NotReady);
        h.Offer("g1", "general");
        h.Wait(1);
        h.Offer("d1", "data");
        h.Wait(1);
        h.Offer("d2", "data", priority: 3);
        h.Ready("a1");
        Assert.Equal("a1", h.AgentOf("d2"));
        h.Answered("d2");
        h.End("d2");
        h.EndWrapUp("a1");
        Assert.Equal("a1", h.AgentOf("g1"));
        h.Answered("g1");
        h.End("g1");
        h.EndWrapUp("a1");
        Assert.Equal("a1", h.AgentOf("d1"));
    }

    [Fact]
    public void Calls_are_rejected_when_no_agent_for_the_skill_is_logged_in()
    {
        var h = Centre(new CentreBuilder().Skill("general").Skill("english").Agent("a1", "general:5"));
        h.Login("a1", AgentState.NotReady);
        var r = h.Offer("c1", "english");
        Assert.Equal(OfferOutcome.Rejected, r.Outcome);
        Assert.Equal(RejectReason.NoAgents, r.RejectReason);
        Assert.Equal(RejectReason.NoAgents, h.LastOf(EventKind.CallRejected).RejectReason);
        Assert.Null(h.Model.GetCall("c1"));

        // a not-ready agent is logged in: the general call waits
        Assert.Equal(OfferOutcome.Queued, h.Offer("c2", "general").Outcome);
    }

    [Fact]
    public void A_skill_reachable_through_an_overflow_step_is_staffed()
    {
        var h = Centre(new CentreBuilder().Skill("general").Skill("vip").Overflow("vip", 15, "general", 1, 9).Agent("a1", "general:5"));
        h.Login("a1", AgentState.NotReady);
        Assert.Equal(OfferOutcome.Queued, h.Offer("v1", "vip").Outcome);
    }

    [Fact]
    public void An_unknown_skill_is_not_found_and_a_bad_priority_is_an_invalid_argument()
    {
        var h = General("a1");
        h.Login("a1");
        Assert.Equal(ResultCode.NotFound, h.Offer("c1", "nope").Code);
        Assert.Equal(ResultCode.InvalidArgument, h.Offer("c2", priority: 10).Code);
        Assert.Equal(ResultCode.InvalidArgument, h.Offer(string.Empty).Code);
        Assert.Equal(ResultCode.InvalidArgument, h.Offer(new string('x', 300)).Code);
        Assert.Equal(0, h.Model.Totals.Offered);
    }

    [Fact]
    public void Offering_a_known_call_again_over_the_api_is_refused()
    {
        var h = General("a1");
        h.Login("a1", AgentState.NotReady);
        h.Offer("c1");
        Assert.Equal(ResultCode.AlreadyExists, h.Offer("c1").Code);
        Assert.Equal(1, h.Model.Totals.Offered);
    }

    [Fact]
    public void A_sip_offer_is_handed_over_the_agent_talks_and_the_answer_is_confirmed_after_the_ring_timeout()
    {
        var h = General("a1");
        h.Login("a1");
        h.Offer("c1", mode: OfferMode.Sip);
        Assert.True(h.LastOf(EventKind.CallRouted).Handoff);
        Assert.Equal(AgentState.Talking, h.StateOf("a1"));
        Assert.Equal(0, h.Model.GetQueue("general")!.Answered);
        h.AtSecond(20);
        Assert.Equal(1, h.Model.GetQueue("general")!.Answered);
        Assert.Equal(Harness.At(20), h.LastOf(EventKind.CallAnswered).TimeMs);
    }

    [Fact]
    public void A_sip_retransmission_of_a_waiting_call_repeats_its_position()
    {
        var h = General("a1");
        h.Login("a1", AgentState.NotReady);
        h.Offer("c1", mode: OfferMode.Sip);
        h.Offer("c2", mode: OfferMode.Sip);
        var mark = h.Mark;
        var r = h.Offer("c1", mode: OfferMode.Sip);
        Assert.Equal((OfferOutcome.Queued, 1), (r.Outcome, r.Position));
        Assert.Single(h.Since(mark));
        Assert.Equal(2, h.Model.Totals.Offered);
    }

    [Fact]
    public void A_caller_who_hangs_up_while_waiting_is_abandoned()
    {
        var h = General("a1");
        h.Login("a1", AgentState.NotReady);
        h.Offer("c1");
        h.AtSecond(7);
        Assert.True(h.Abandon("c1").IsOk);
        var e = h.LastOf(EventKind.CallAbandoned);
        Assert.Equal((7000, "caller"), (e.WaitMs, e.Reason));
        Assert.Null(h.Model.GetCall("c1"));
        Assert.Equal(ResultCode.NotFound, h.Abandon("c1").Code);
    }

    [Fact]
    public void A_caller_who_hangs_up_while_the_agent_rings_frees_the_agent()
    {
        var h = General("a1");
        h.Login("a1");
        h.Offer("c1");
        Assert.True(h.Abandon("c1").IsOk);
        Assert.Equal(AgentState.Ready, h.StateOf("a1"));
        Assert.Equal(CallState.Offered, h.CallStateOf(h.Offer("c2").AgentId is null ? "none" : "c2"));
    }

    [Fact]
    public void A_connected_call_is_ended_not_abandoned_and_a_waiting_one_is_abandoned_not_ended()
    {
        var h = General("a1", "a2");
        h.Login("a1");
        h.Offer("c1");
        h.Answered("c1");
        Assert.Equal(ResultCode.FailedPrecondition, h.Abandon("c1").Code);
        h.Offer("c2");
        Assert.Equal(ResultCode.FailedPrecondition, h.End("c2").Code);
        Assert.True(h.Run(new CallCommand(CommandKind.End, "c2") { AbandonIfWaiting = true }).IsOk);
        Assert.Equal("caller", h.LastOf(EventKind.CallAbandoned).Reason);
    }

    [Fact]
    public void Answering_twice_or_answering_a_waiting_call_is_refused()
    {
        var h = General("a1");
        h.Login("a1", AgentState.NotReady);
        h.Offer("c1");
        Assert.Equal(ResultCode.FailedPrecondition, h.Answered("c1").Code);
        h.Ready("a1");
        Assert.True(h.Answered("c1").IsOk);
        Assert.Equal(ResultCode.FailedPrecondition, h.Answered("c1").Code);
        Assert.Equal(ResultCode.NotFound, h.Answered("zz").Code);
    }

    [Fact]
    public void Counts_conserve_through_a_day_of_mixed_outcomes()
    {
        var h = Centre(new CentreBuilder().Skill("general", s => s.MaxQueueLength = 2).Skill("english").Agent("a1", "general:5"));
        h.Login("a1");
        h.Offer("c1");
        h.Answered("c1");
        h.Offer("c2");
        h.Offer("c3");
        h.Offer("c4");
        h.Offer("e1", "english");
        h.Abandon("c2");
        h.End("c1");
        var t = h.Model.Totals;
        Assert.Equal(new RouterTotals(5, 2, 0, 1, 0, 1, 1, 0, 0), t);
        Assert.True(t.Conserved);
    }
}
