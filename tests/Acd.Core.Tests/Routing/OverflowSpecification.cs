using Acd.Core.Domain;
using Acd.Core.Routing;
using Acd.Core.Tests.Support;

namespace Acd.Core.Tests.Routing;

public abstract partial class RoutingSpecification
{
    private Harness ComplaintCentre() => Centre(new CentreBuilder()
        .Skill("general")
        .Skill("complaint")
        .Overflow("complaint", 60, "general", minLevel: 7)
        .Agent("c1", "complaint:8")
        .Agent("g7", "general:7")
        .Agent("g5", "general:5"));

    [Fact]
    public void An_overflow_step_makes_a_waiting_call_eligible_at_the_exact_second()
    {
        var h = ComplaintCentre();
        h.Login("c1", AgentState.NotReady);
        h.Login("g7");
        h.Offer("k1", "complaint");
        h.AtSecond(59.999);
        Assert.Null(h.AgentOf("k1"));
        h.AtSecond(60);
        Assert.Equal("g7", h.AgentOf("k1"));
        var routed = h.LastOf(EventKind.CallRouted, "k1");
        Assert.Equal((Harness.At(60), 60_000L), (routed.TimeMs, routed.WaitMs));
    }

    [Fact]
    public void An_overflow_step_only_reaches_agents_at_its_minimum_level()
    {
        var h = ComplaintCentre();
        h.Login("c1", AgentState.NotReady);
        h.Login("g5");
        h.Offer("k1", "complaint");
        h.AtSecond(300);
        Assert.Null(h.AgentOf("k1"));
        h.Login("g7");
        Assert.Equal("g7", h.AgentOf("k1"));
    }

    [Fact]
    public void An_agent_becoming_ready_takes_an_overflowed_call_only_once_it_has_waited_long_enough()
    {
        var h = ComplaintCentre();
        h.Login("c1", AgentState.NotReady);
        h.Offer("k1", "complaint");
        h.AtSecond(30);
        h.Login("g7");
        Assert.Null(h.AgentOf("k1"));
        h.NotReady("g7");
        h.AtSecond(61);
        h.Ready("g7");
        Assert.Equal("g7", h.AgentOf("k1"));
    }

    [Fact]
    public void The_calls_own_skill_is_tried_before_its_overflow_steps()
    {
        var h = ComplaintCentre();
        h.Login("g7");
        h.Login("c1");
        h.AtSecond(100);
        Assert.Equal("c1", h.Offer("k1", "complaint").AgentId);
    }

    [Fact]
    public void An_overflowed_call_competes_with_the_steps_priority_in_the_target_pool()
    {
        var h = Centre(new CentreBuilder()
            .Skill("general")
            .Skill("vip")
            .Overflow("vip", 15, "general", 1, priority: 9)
            .Agent("g1", "general:5")
            .Agent("v1", "vip:5"));
        h.Login("g1", AgentState.NotReady);
        h.Login("v1", AgentState.NotReady);
        h.Offer("old-general", "general", priority: 5);
        h.Wait(1);
        h.Offer("vip-call", "vip", priority: 0);
        h.AtSecond(10);
        h.Ready("g1"); // the vip call has waited 9 s: not yet eligible for general agents
        Assert.Equal("g1", h.AgentOf("old-general"));
        h.Answered("old-general");
        h.End("old-general");
        h.Offer("new-general", "general", priority: 8);
        h.AtSecond(16);
        h.EndWrapUp("g1"); // vip-call waited 15 s: eligible at priority 9, beats priority 8
        Assert.Equal("g1", h.AgentOf("vip-call"));
    }

    [Fact]
    public void Several_steps_widen_eligibility_one_after_the_other()
    {
        var h = Centre(new CentreBuilder()
            .Skill("general")
            .Skill("data")
            .Skill("complaint")
            .Overflow("data", 20, "general", 8)
            .Overflow("data", 40, "complaint", 1)
            .Agent("d1", "data:5")
            .Agent("k1", "complaint:2")
            .Agent("g9", "general:9"));
        h.Login("d1", AgentState.NotReady);
        h.Login("k1");
        h.Offer("call", "data");
        h.AtSecond(39);
        Assert.Null(h.AgentOf("call"));
        h.AtSecond(40);
        Assert.Equal("k1", h.AgentOf("call"));
    }

    [Fact]
    public void Overflow_counts_from_the_first_enqueue_so_a_requeued_call_keeps_its_eligibility()
    {
        var h = ComplaintCentre();
        h.Login("c1");
        h.Offer("k1", "complaint");
        h.AtSecond(10);
        h.NoAnswer("k1"); // back in queue after 10 s, c1 not ready
        h.Login("g7", AgentState.NotReady);
        h.AtSecond(60);
        h.Ready("g7");
        Assert.Equal("g7", h.AgentOf("k1"));
    }
}
