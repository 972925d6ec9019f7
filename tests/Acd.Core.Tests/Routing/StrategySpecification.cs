using Acd.Core.Tests.Support;

namespace Acd.Core.Tests.Routing;

public abstract partial class RoutingSpecification
{
    private Harness StrategyCentre(string strategy)
    {
        var h = Centre(new CentreBuilder()
            .Skill("general", s => { s.Strategy = strategy; s.WrapUpSeconds = 0; })
            .Agent("a3", "general:3")
            .Agent("a9", "general:9")
            .Agent("a6", "general:6")
            .Agent("b9", "general:9"));

        // Ready in this order, one second apart: a9 longest idle, then a6, a3, b9.
        foreach (var id in new[] { "a9", "a6", "a3", "b9" })
        {
            h.Login(id);
            h.Wait(1);
        }

        return h;
    }

    [Fact]
    public void Longest_idle_picks_the_agent_ready_the_longest()
    {
        var h = StrategyCentre("longest-idle");
        Assert.Equal("a9", h.Offer("c1").AgentId);
        Assert.Equal("a6", h.Offer("c2").AgentId);
        Assert.Equal("a3", h.Offer("c3").AgentId);
    }

    [Fact]
    public void Longest_idle_counts_idle_from_the_end_of_the_last_call()
    {
        var h = StrategyCentre("longest-idle");
        Assert.Equal("a9", h.Offer("c1").AgentId);
        h.Answered("c1");
        h.End("c1"); // a9 ready again, now the most recently ready
        Assert.Equal("a6", h.Offer("c2").AgentId);
        Assert.Equal("a3", h.Offer("c3").AgentId);
        Assert.Equal("b9", h.Offer("c4").AgentId);
        Assert.Equal("a9", h.Offer("c5").AgentId);
    }

    [Fact]
    public void Most_skilled_picks_the_highest_level_then_the_longest_idle()
    {
        var h = StrategyCentre("most-skilled");
        Assert.Equal("a9", h.Offer("c1").AgentId);
        Assert.Equal("b9", h.Offer("c2").AgentId);
        Assert.Equal("a6", h.Offer("c3").AgentId);
        Assert.Equal("a3", h.Offer("c4").AgentId);
    }

    [Fact]
    public void Least_skilled_picks_the_lowest_level_then_the_longest_idle()
    {
        var h = StrategyCentre("least-skilled");
        Assert.Equal("a3", h.Offer("c1").AgentId);
        Assert.Equal("a6", h.Offer("c2").AgentId);
        Assert.Equal("a9", h.Offer("c3").AgentId);
        Assert.Equal("b9", h.Offer("c4").AgentId);
    }

    [Fact]
    public void Fewest_calls_picks_the_agent_with_the_fewest_calls_since_login_then_the_longest_idle()
    {
        var h = StrategyCentre("fewest-calls");
        Assert.Equal("a9", h.Offer("c1").AgentId);
        h.Answered("c1");
        h.End("c1"); // a9: 1 call
        Assert.Equal("a6", h.Offer("c2").AgentId);
        h.Answered("c2");
        h.End("c2"); // a6: 1 call
        Assert.Equal("a3", h.Offer("c3").AgentId);
        Assert.Equal("b9", h.Offer("c4").AgentId);
        Assert.Equal("a9", h.Offer("c5").AgentId); // 1 call each among a9, a6: a9 ready earlier
        Assert.Equal("a6", h.Offer("c6").AgentId);
    }

    [Fact]
    public void Ties_are_broken_deterministically_by_the_order_agents_became_ready()
    {
        // Same second, same level: the one logged in first is picked, every time.
        for (var run = 0; run < 3; run++)
        {
            var h = Centre(new CentreBuilder().Skill("general", s => s.Strategy = "most-skilled").Agent("x", "general:7").Agent("y", "general:7"));
            h.Login("y");
            h.Login("x");
            Assert.Equal("y", h.Offer("c1").AgentId);
        }
    }
}
