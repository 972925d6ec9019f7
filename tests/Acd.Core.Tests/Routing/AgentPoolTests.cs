using Acd.Core.Domain;
using Acd.Core.Routing;
using Acd.Core.Tests.Support;

namespace Acd.Core.Tests.Routing;

/// <summary>Where ready agents wait: their skills' pools, whose positions sit in a dense table beside the agents.</summary>
public sealed class AgentPoolTests
{
    [Fact]
    public void Agents_who_get_more_skills_than_any_before_widen_the_positions_without_losing_anyones_place()
    {
        var router = new Router(new CentreBuilder().Skill("general").Skill("complaint").Skill("data").Skill("english")
            .Agent("a1", "general:5").Agent("a2", "general:5").Agent("a3", "complaint:5").Build());
        var events = new EventBuffer();
        var t = 1_000L;
        foreach (var id in new[] { "a1", "a2", "a3" })
        {
            Assert.True(router.Execute(new LoginAgent { AgentId = id, InitialState = AgentState.Ready }, t += 1_000, events).IsOk);
        }

        Assert.Empty(router.CheckInvariants());

        // One skill each so far; an agent the configuration does not know logs in with two, then a1 comes back with
        // four: the table widens twice while the others wait in their pools.
        Assert.True(router.Execute(new LoginAgent { AgentId = "w", InitialState = AgentState.Ready, Skills = new Dictionary<string, int> { ["general"] = 5, ["data"] = 5 } }, t += 1_000, events).IsOk);
        Assert.Empty(router.CheckInvariants());
        Assert.True(router.Execute(new AgentCommand(CommandKind.Logout, "a1"), t += 1_000, events).IsOk);
        Assert.True(router.Execute(new LoginAgent { AgentId = "a1", InitialState = AgentState.Ready, Skills = new Dictionary<string, int> { ["general"] = 5, ["complaint"] = 5, ["data"] = 5, ["english"] = 5 } }, t += 1_000, events).IsOk);
        Assert.Empty(router.CheckInvariants());

        // Longest idle first, in each skill: general a2, w, a1; complaint a3, a1; data w, a1.
        string Route(string skill, string id)
        {
            events.Clear();
            Assert.True(router.Execute(new OfferCall { CallId = id, Skill = skill, Mode = OfferMode.Api }, t += 1_000, events).IsOk);
            Assert.Empty(router.CheckInvariants());
            return events.Span.ToArray().Single(e => e.Kind == EventKind.CallRouted).AgentId!;
        }

        Assert.Equal("a2", Route("general", "c1"));
        Assert.Equal("a3", Route("complaint", "c2"));
        Assert.Equal("w", Route("data", "c3"));
        Assert.Equal("a1", Route("general", "c4"));
    }
}
