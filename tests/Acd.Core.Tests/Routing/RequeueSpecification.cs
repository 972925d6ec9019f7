using Acd.Core.Domain;
using Acd.Core.Routing;
using Acd.Core.Tests.Support;

namespace Acd.Core.Tests.Routing;

public abstract partial class RoutingSpecification
{
    [Fact]
    public void Ring_no_answer_puts_the_agent_not_ready_rona_and_the_call_back_at_its_place()
    {
        var h = General("a1", "a2");
        h.Login("a1");
        h.Offer("first");
        h.Wait(1);
        h.Offer("second");
        h.Wait(1);
        h.Offer("third");
        h.AtSecond(20); // ring timeout of "first"
        Assert.Equal(AgentState.NotReady, h.StateOf("a1"));
        Assert.Equal("rona", h.Model.GetAgent("a1")!.Reason);
        Assert.Equal(1, h.PositionOf("first"));
        Assert.Equal(Harness.At(20), h.LastOf(EventKind.CallRingNoAnswer, "first").TimeMs);
        Assert.Equal(1, h.LastOf(EventKind.CallQueued, "first").Position);

        h.Login("a2");
        Assert.Equal("a2", h.AgentOf("first"));
        Assert.Equal(20_000, h.LastOf(EventKind.CallRouted, "first").WaitMs);
    }

    [Fact]
    public void A_reported_no_answer_is_ring_no_answer_too()
    {
        var h = General("a1");
        h.Login("a1", AgentState.NotReady);
        h.Offer("c0");
        h.Wait(1);
        h.Offer("c1");
        h.Ready("a1");
        Assert.True(h.NoAnswer("c0").IsOk);
        Assert.Equal("rona", h.Model.GetAgent("a1")!.Reason);
        Assert.Equal(1, h.PositionOf("c0"));
        Assert.Equal(ResultCode.FailedPrecondition, h.NoAnswer("c0").Code);
    }

    [Fact]
    public void A_sip_invite_again_for_a_handed_over_call_is_ring_no_answer()
    {
        var h = General("a1", "a2");
        h.Login("a1");
        h.Offer("c1", mode: OfferMode.Sip);
        h.Login("a2", AgentState.NotReady);
        h.Wait(5);
        var r = h.Offer("c1", mode: OfferMode.Sip);
        Assert.Equal(OfferOutcome.Queued, r.Outcome);
        Assert.Equal(("a1", "rona"), (h.LastOf(EventKind.CallRingNoAnswer).AgentId, h.Model.GetAgent("a1")!.Reason));
        h.Ready("a2");
        Assert.Equal("a2", h.AgentOf("c1"));
        Assert.Equal(1, h.Model.Totals.Offered);
    }

    [Fact]
    public void A_transfer_to_a_skill_keeps_the_calls_place_ahead_of_later_calls()
    {
        var h = Centre(new CentreBuilder().Skill("general").Skill("complaint").Agent("g1", "general:5").Agent("k1", "complaint:5"));
        h.Login("g1");
        h.Login("k1", AgentState.NotReady);
        h.Offer("early", "general");
        h.Answered("early");
        h.Wait(10);
        h.Offer("later", "complaint");
        h.Wait(10);
        Assert.True(h.Transfer("early", toSkill: "complaint").IsOk);
        Assert.Equal(1, h.PositionOf("early"));
        Assert.Equal(2, h.PositionOf("later"));
        Assert.Equal(AgentState.WrapUp, h.StateOf("g1"));
        var transferred = h.LastOf(EventKind.CallTransferred);
        Assert.Equal(("g1", "complaint"), (transferred.AgentId, transferred.Skill));
        h.Ready("k1");
        Assert.Equal("k1", h.AgentOf("early"));
        Assert.Equal(20_000, h.LastOf(EventKind.CallRouted, "early").WaitMs);
    }

    [Fact]
    public void A_transfer_keeps_the_priority()
    {
        var h = Centre(new CentreBuilder().Skill("general").Skill("data").Agent("g1", "general:5").Agent("d1", "data:5"));
        h.Login("g1");
        h.Login("d1", AgentState.NotReady);
        h.Offer("old", "data");
        h.Offer("vipish", "general", priority: 7);
        h.Answered("vipish");
        h.Transfer("vipish", toSkill: "data");
        Assert.Equal(1, h.PositionOf("vipish"));
        Assert.Equal(7, h.Model.GetCall("vipish")!.Priority);
    }

    [Fact]
    public void A_transfer_to_a_ready_agent_goes_straight_to_that_agent()
    {
        var h = General("a1", "a2", "a3");
        h.Login("a1");
        h.Offer("c1");
        h.Answered("c1");
        h.Login("a2");
        h.Login("a3");
        h.Transfer("c1", toAgent: "a3");
        Assert.Equal("a3", h.AgentOf("c1"));
    }

    [Fact]
    public void A_transfer_to_a_busy_agent_waits_for_that_agent_then_routes_to_the_skill()
    {
        var h = General("a1", "a2", "a3");
        h.Login("a1");
        h.Login("a2");
        h.Offer("c1");
        h.Answered("c1");
        h.Offer("c2");
        h.Answered("c2");
        h.Transfer("c1", toAgent: "a2");
        var queued = h.LastOf(EventKind.CallQueued, "c1");
        Assert.Equal("a2", queued.AgentId);
        h.Login("a3"); // ready, but c1 waits for a2 in particular
        Assert.Null(h.AgentOf("c1"));
        h.AtSecond(30); // transfer wait over
        Assert.Equal("a3", h.AgentOf("c1"));
    }

    [Fact]
    public void A_call_waiting_for_an_agent_is_taken_when_that_agent_frees_up()
    {
        var h = General("a1", "a2");
        h.Login("a1");
        h.Login("a2");
        h.Offer("c1");
        h.Answered("c1");
        h.Offer("c2");
        h.Answered("c2");
        h.Transfer("c1", toAgent: "a2");
        h.End("c2");
        h.EndWrapUp("a2");
        Assert.Equal("a2", h.AgentOf("c1"));
    }

    [Fact]
    public void A_call_waiting_for_an_agent_who_logs_out_goes_to_its_skill_at_once()
    {
        var h = General("a1", "a2", "a3");
        h.Login("a1");
        h.Login("a2");
        h.Offer("c1");
        h.Answered("c1");
        h.NotReady("a2");
        h.Transfer("c1", toAgent: "a2");
        h.Login("a3", AgentState.NotReady);
        h.Ready("a3");
        Assert.Null(h.AgentOf("c1"));
        h.NotReady("a3");
        h.Logout("a2");
        Assert.Null(h.AgentOf("c1"));
        h.Ready("a3");
        Assert.Equal("a3", h.AgentOf("c1"));
    }

    [Fact]
    public void Transfers_are_refused_when_they_cannot_be_done()
    {
        var h = General("a1", "a2");
        h.Login("a1");
        h.Offer("c1");
        Assert.Equal(ResultCode.FailedPrecondition, h.Transfer("c1", toSkill: "general").Code); // only ringing
        h.Answered("c1");
        Assert.Equal(ResultCode.InvalidArgument, h.Transfer("c1").Code);
        Assert.Equal(ResultCode.NotFound, h.Transfer("c1", toSkill: "nope").Code);
        Assert.Equal(ResultCode.NotFound, h.Transfer("c1", toAgent: "nobody").Code);
        Assert.Equal(ResultCode.FailedPrecondition, h.Transfer("c1", toAgent: "a2").Code); // logged out
        Assert.Equal(ResultCode.FailedPrecondition, h.Transfer("c1", toAgent: "a1").Code); // itself
        Assert.Equal(ResultCode.NotFound, h.Transfer("zz", toSkill: "general").Code);
        Assert.Equal(AgentState.Talking, h.StateOf("a1"));
    }

    [Fact]
    public void Max_wait_ends_a_waiting_call_as_timed_out_at_the_exact_time()
    {
        var h = Centre(new CentreBuilder().Skill("general", s => s.MaxWaitSeconds = 90).Agent("a1", "general:5"));
        h.Login("a1", AgentState.NotReady);
        h.Offer("c1");
        h.AtSecond(89.999);
        Assert.Equal(CallState.Queued, h.CallStateOf("c1"));
        h.AtSecond(90);
        Assert.Null(h.Model.GetCall("c1"));
        var e = h.LastOf(EventKind.CallTimedOut);
        Assert.Equal((Harness.At(90), 90_000L), (e.TimeMs, e.WaitMs));
        Assert.Equal(1, h.Model.GetQueue("general")!.TimedOut);
    }

    [Fact]
    public void A_transferred_call_gets_the_new_skills_max_wait_from_the_transfer()
    {
        var h = Centre(new CentreBuilder().Skill("general", s => s.MaxWaitSeconds = 60).Skill("data", s => s.MaxWaitSeconds = 100)
            .Agent("a1", "general:5").Agent("d1", "data:5"));
        h.Login("a1");
        h.Login("d1", AgentState.NotReady);
        h.Offer("c1");
        h.Answered("c1");
        h.AtSecond(200);
        h.Transfer("c1", toSkill: "data");
        h.AtSecond(299);
        Assert.Equal(CallState.Queued, h.CallStateOf("c1"));
        h.AtSecond(300);
        Assert.Null(h.Model.GetCall("c1"));
    }

    [Fact]
    public void A_full_queue_rejects_the_next_arrival_but_not_one_that_an_agent_takes_at_once()
    {
        var h = Centre(new CentreBuilder().Skill("general", s => s.MaxQueueLength = 2).Agent("a1", "general:5").Agent("a2", "general:5"));
        h.Login("a1", AgentState.NotReady);
        h.Offer("c1");
        h.Offer("c2");
        var r = h.Offer("c3");
        Assert.Equal((ResultCode.ResourceExhausted, OfferOutcome.Rejected, RejectReason.QueueFull), (r.Code, r.Outcome, r.RejectReason));
        h.Login("a2"); // takes c1: one place free
        Assert.Equal(OfferOutcome.Queued, h.Offer("c4").Outcome);
        Assert.Equal(OfferOutcome.Rejected, h.Offer("c5").Outcome);
    }

    [Fact]
    public void A_dropped_connection_holds_the_call_at_its_place_until_resumed()
    {
        var h = General("a1");
        h.Login("a1", AgentState.NotReady);
        h.Offer("c1", mode: OfferMode.Sip, connection: 7);
        h.Wait(1);
        h.Offer("c2", mode: OfferMode.Sip, connection: 8);
        h.DetachConnection(7);
        Assert.True(h.Model.GetCall("c1")!.Detached);
        h.Ready("a1"); // c1 cannot be told: c2 goes first
        Assert.Equal("a1", h.AgentOf("c2"));
        h.Wait(10);
        var r = h.Offer("c1", mode: OfferMode.Sip, connection: 9);
        Assert.Equal((OfferOutcome.Queued, 1), (r.Outcome, r.Position));
        Assert.Equal(EventKind.CallResumed, h.Events[^2].Kind);
        var mark = h.Mark;
        h.DetachConnection(7); // the old connection no longer owns it
        Assert.Empty(h.Since(mark));
        Assert.Equal(2, h.Model.Totals.Offered);
    }

    [Fact]
    public void A_held_call_not_resumed_within_the_grace_is_abandoned()
    {
        var h = General("a1");
        h.Login("a1", AgentState.NotReady);
        h.Offer("c1", mode: OfferMode.Sip);
        h.DetachConnection(0);
        h.AtSecond(30);
        var e = h.LastOf(EventKind.CallAbandoned);
        Assert.Equal(("c1", "disconnected", Harness.At(30)), (e.CallId, e.Reason, e.TimeMs));
    }
}
