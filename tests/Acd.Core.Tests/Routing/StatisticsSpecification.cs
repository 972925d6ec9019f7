using Acd.Core.Domain;
using Acd.Core.Tests.Support;

namespace Acd.Core.Tests.Routing;

public abstract partial class RoutingSpecification
{
    private Harness StatsCentre() => Centre(new CentreBuilder()
        .Skill("general", s => { s.ServiceLevelSeconds = 20; s.WrapUpSeconds = 10; })
        .Agent("a1", "general:5")
        .Agent("a2", "general:5")
        .Agent("a3", "general:5"));

    [Fact]
    public void Service_level_counts_answers_within_the_threshold_against_answers_and_late_abandons()
    {
        var h = StatsCentre();
        h.Login("a1", AgentState.NotReady);
        h.Offer("fast");
        h.Offer("slow");
        h.Offer("short-abandon");
        h.Offer("late-abandon");
        h.AtSecond(5);
        h.Abandon("short-abandon"); // within T: does not count against
        h.Ready("a1");
        h.Answered("fast"); // waited 5 s
        h.AtSecond(30);
        h.Abandon("late-abandon"); // after T: counts against
        h.End("fast");
        h.EndWrapUp("a1");
        h.Answered("slow"); // waited 30 s
        var q = h.Model.GetQueue("general")!;
        Assert.Equal((4L, 2L, 1L, 2L), (q.Offered, q.Answered, q.AnsweredWithinThreshold, q.Abandoned));
        Assert.Equal(1.0 / 3.0, q.ServiceLevelToday, 9);
        Assert.Equal(1.0 / 3.0, q.ServiceLevelRolling, 9);
        Assert.Equal((5000 + 30000) / 2, q.AsaMs);
    }

    [Fact]
    public void The_rolling_service_level_forgets_what_is_older_than_five_minutes()
    {
        var h = StatsCentre();
        h.Login("a1", AgentState.NotReady);
        h.Offer("late");
        h.AtSecond(40);
        h.Ready("a1");
        h.Answered("late");
        Assert.Equal(0.0, h.Model.GetQueue("general")!.ServiceLevelRolling);
        h.AtSecond(40 + 300 + 10);
        var q = h.Model.GetQueue("general")!;
        Assert.Equal(1.0, q.ServiceLevelRolling);
        Assert.Equal(0.0, q.ServiceLevelToday);
    }

    [Fact]
    public void Timed_out_calls_count_against_the_service_level()
    {
        var h = Centre(new CentreBuilder().Skill("general", s => s.MaxWaitSeconds = 30).Agent("a1", "general:5"));
        h.Login("a1", AgentState.NotReady);
        h.Offer("c1");
        h.AtSecond(30);
        Assert.Equal(0.0, h.Model.GetQueue("general")!.ServiceLevelToday);
    }

    [Fact]
    public void Average_handle_time_is_talk_plus_wrap_up_over_handled_calls()
    {
        var h = StatsCentre();
        h.Login("a1");
        h.Offer("c1");
        h.Answered("c1");
        h.AtSecond(100);
        h.End("c1"); // 100 s talk, then 10 s wrap-up
        Assert.Equal(100_000, h.Model.GetQueue("general")!.AhtMs);
        h.AtSecond(110);
        Assert.Equal(110_000, h.Model.GetQueue("general")!.AhtMs);
    }

    [Fact]
    public void Agents_by_state_waiting_longest_wait_and_occupancy_are_live()
    {
        var h = StatsCentre();
        h.Login("a1");
        h.Login("a2");
        h.Login("a3", AgentState.NotReady);
        h.Offer("c1");
        h.Answered("c1");
        var q = h.Model.GetQueue("general")!;
        Assert.Equal(1, q.AgentsByState[(int)AgentState.Talking]);
        Assert.Equal(1, q.AgentsByState[(int)AgentState.Ready]);
        Assert.Equal(1, q.AgentsByState[(int)AgentState.NotReady]);
        Assert.Equal((1, 1, 0.5), (q.AgentsReady, q.AgentsBusy, q.Occupancy));
        h.Offer("c2");
        h.Answered("c2");
        h.Offer("c3");
        h.AtSecond(12);
        q = h.Model.GetQueue("general")!;
        Assert.Equal((1, 12_000L, 1.0), (q.Waiting, q.LongestWaitMs, q.Occupancy));
    }

    [Fact]
    public void Day_counters_restart_at_the_configured_midnight()
    {
        var h = StatsCentre();
        h.Login("a1");
        h.Offer("c1");
        Assert.Equal(1, h.Model.GetQueue("general")!.Offered);

        // 09:00 Beijing + 15 h = 00:00 the next day in Beijing
        h.AtSecond((15 * 3600) - 1);
        Assert.Equal(1, h.Model.GetQueue("general")!.Offered);
        h.AtSecond(15 * 3600);
        Assert.Equal(0, h.Model.GetQueue("general")!.Offered);
    }

    [Fact]
    public void Routing_domains_share_nothing()
    {
        // Two domains with the same agent and call names: driven interleaved, each behaves exactly as when alone.
        var configA = new CentreBuilder().Skill("general").Agent("a1", "general:5").Agent("a2", "general:5").Build();
        var configB = new CentreBuilder().Skill("general", s => s.Strategy = "most-skilled").Agent("a1", "general:2").Agent("a2", "general:9").Build();
        Action<Harness>[] stepsA = [h => h.AllReady("a1", "a2"), h => h.Offer("c1"), h => h.Offer("c2"), h => h.Abandon("c2"), h => h.Offer("c3")];
        Action<Harness>[] stepsB = [h => h.Login("a2"), h => h.Offer("c1"), h => h.Login("a1"), h => h.Offer("c2"), h => h.End("c1")];

        var aloneA = new Harness(Create(configA));
        foreach (var step in stepsA)
        {
            step(aloneA);
        }

        var aloneB = new Harness(Create(configB));
        foreach (var step in stepsB)
        {
            step(aloneB);
        }

        var togetherA = new Harness(Create(configA));
        var togetherB = new Harness(Create(configB));
        for (var i = 0; i < stepsA.Length; i++)
        {
            stepsB[i](togetherB);
            stepsA[i](togetherA);
        }

        Assert.Equal(aloneA.Events, togetherA.Events);
        Assert.Equal(aloneB.Events, togetherB.Events);
        Assert.Equal("a1", togetherA.AgentOf("c1"));
        Assert.Equal("a1", togetherB.AgentOf("c2"));
    }
}
