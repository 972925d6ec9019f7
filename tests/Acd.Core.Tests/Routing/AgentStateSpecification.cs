using Acd.Core.Domain;
using Acd.Core.Routing;
using Acd.Core.Tests.Support;

namespace Acd.Core.Tests.Routing;

public abstract partial class RoutingSpecification
{
    [Theory]
    [InlineData(AgentState.Ready)]
    [InlineData(AgentState.NotReady)]
    [InlineData(AgentState.Standby)]
    public void A_logged_out_agent_logs_in_to_the_state_it_asks_for(AgentState state)
    {
        var h = General("a1");
        Assert.Equal(AgentState.LoggedOut, h.StateOf("a1"));

        Assert.True(h.Login("a1", state, state == AgentState.NotReady ? "training" : null).IsOk);

        Assert.Equal(state, h.StateOf("a1"));
        var e = h.LastOf(EventKind.AgentStateChanged);
        Assert.Equal((AgentState.LoggedOut, state), (e.FromState, e.ToState));
        Assert.Equal(state == AgentState.NotReady ? "training" : null, e.Reason);
    }

    [Theory]
    [InlineData(AgentState.LoggedOut)]
    [InlineData(AgentState.Reserved)]
    [InlineData(AgentState.Talking)]
    [InlineData(AgentState.WrapUp)]
    public void Logging_in_to_a_state_other_than_ready_not_ready_or_standby_is_an_invalid_argument(AgentState state)
    {
        var h = General("a1");
        Assert.Equal(ResultCode.InvalidArgument, h.Login("a1", state).Code);
        Assert.Equal(AgentState.LoggedOut, h.StateOf("a1"));
    }

    [Fact]
    public void Logging_in_twice_is_refused_as_an_illegal_transition()
    {
        var h = General("a1");
        h.Login("a1");
        var mark = h.Mark;
        Assert.Equal(ResultCode.FailedPrecondition, h.Login("a1").Code);
        Assert.Empty(h.Since(mark));
    }

    [Fact]
    public void A_refreshing_login_of_a_logged_in_agent_only_updates_its_contact()
    {
        var h = General("a1");
        h.Login("a1");
        var mark = h.Mark;
        Assert.True(h.Run(new LoginAgent { AgentId = "a1", Refresh = true, Contact = "sip:a1@10.0.0.9" }).IsOk);
        Assert.Empty(h.Since(mark));
        Assert.Equal("sip:a1@10.0.0.9", h.Model.GetAgent("a1")!.Contact);
    }

    [Fact]
    public void An_agent_not_in_the_roster_is_not_found_unless_it_brings_its_skills()
    {
        var h = General("a1");
        Assert.Equal(ResultCode.NotFound, h.Login("zz").Code);
        Assert.True(h.Run(new LoginAgent { AgentId = "zz", Skills = new Dictionary<string, int> { ["general"] = 4 }, Role = "team-lead" }).IsOk);
        var zz = h.Model.GetAgent("zz")!;
        Assert.Equal(AgentState.Ready, zz.State);
        Assert.Equal(AgentRole.TeamLead, zz.Role);
        Assert.Equal(4, zz.Skills["general"]);
    }

    [Theory]
    [InlineData("nope", 5)]
    [InlineData("general", 0)]
    [InlineData("general", 11)]
    public void Logging_in_with_an_unknown_skill_or_a_level_outside_1_to_10_is_an_invalid_argument(string skill, int level)
    {
        var h = General("a1");
        Assert.Equal(ResultCode.InvalidArgument, h.Run(new LoginAgent { AgentId = "zz", Skills = new Dictionary<string, int> { [skill] = level } }).Code);
    }

    [Theory]
    [InlineData(AgentState.Ready, AgentState.NotReady)]
    [InlineData(AgentState.Ready, AgentState.Standby)]
    [InlineData(AgentState.NotReady, AgentState.Ready)]
    [InlineData(AgentState.NotReady, AgentState.Standby)]
    [InlineData(AgentState.Standby, AgentState.Ready)]
    [InlineData(AgentState.Standby, AgentState.NotReady)]
    public void Ready_not_ready_and_standby_move_freely_between_each_other(AgentState from, AgentState to)
    {
        var h = General("a1");
        h.Login("a1", from);
        Assert.True(h.SetState("a1", to, "lunch").IsOk);
        Assert.Equal(to, h.StateOf("a1"));
        var e = h.LastOf(EventKind.AgentStateChanged);
        Assert.Equal((from, to), (e.FromState, e.ToState));
        Assert.Equal(to == AgentState.NotReady ? "lunch" : null, h.Model.GetAgent("a1")!.Reason);
    }

    [Theory]
    [InlineData(AgentState.Ready)]
    [InlineData(AgentState.Standby)]
    public void Asking_for_the_state_one_is_in_changes_nothing(AgentState state)
    {
        var h = General("a1");
        h.Login("a1", state);
        var mark = h.Mark;
        Assert.True(h.SetState("a1", state).IsOk);
        Assert.Empty(h.Since(mark));
    }

    [Fact]
    public void A_new_not_ready_reason_is_a_change_the_same_one_is_not()
    {
        var h = General("a1");
        h.Login("a1", AgentState.NotReady, "break");
        var mark = h.Mark;
        h.NotReady("a1", "break");
        Assert.Empty(h.Since(mark));
        h.NotReady("a1", "training");
        Assert.Equal("training", h.LastOf(EventKind.AgentStateChanged).Reason);
    }

    [Theory]
    [InlineData(AgentState.LoggedOut)]
    [InlineData(AgentState.Reserved)]
    [InlineData(AgentState.Talking)]
    [InlineData(AgentState.WrapUp)]
    public void Reserved_talking_wrap_up_and_logged_out_cannot_be_asked_for(AgentState state)
    {
        var h = General("a1");
        h.Login("a1");
        Assert.Equal(ResultCode.InvalidArgument, h.SetState("a1", state).Code);
        Assert.Equal(AgentState.Ready, h.StateOf("a1"));
    }

    [Theory]
    [InlineData(AgentState.Ready)]
    [InlineData(AgentState.NotReady)]
    [InlineData(AgentState.Standby)]
    public void A_logged_out_agent_cannot_change_state(AgentState to)
    {
        var h = General("a1");
        Assert.Equal(ResultCode.FailedPrecondition, h.SetState("a1", to).Code);
        Assert.Equal(ResultCode.FailedPrecondition, h.Logout("a1").Code);
        Assert.Equal(ResultCode.FailedPrecondition, h.EndWrapUp("a1").Code);
    }

    [Fact]
    public void An_unknown_agent_is_not_found_for_every_agent_command()
    {
        var h = General("a1");
        Assert.Equal(ResultCode.NotFound, h.Logout("x").Code);
        Assert.Equal(ResultCode.NotFound, h.Ready("x").Code);
        Assert.Equal(ResultCode.NotFound, h.EndWrapUp("x").Code);
        Assert.Equal(ResultCode.NotFound, h.ExtendWrapUp("x", 5).Code);
    }

    [Fact]
    public void An_offered_call_reserves_the_agent_and_answering_makes_it_talk()
    {
        var h = General("a1");
        h.Login("a1");
        h.Offer("c1");
        Assert.Equal(AgentState.Reserved, h.StateOf("a1"));
        Assert.Equal(CallState.Offered, h.CallStateOf("c1"));
        h.Answered("c1");
        Assert.Equal(AgentState.Talking, h.StateOf("a1"));
        Assert.Equal(CallState.Talking, h.CallStateOf("c1"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_reserved_or_talking_agent_cannot_log_out_or_change_state(bool answered)
    {
        var h = General("a1");
        h.Login("a1");
        h.Offer("c1");
        if (answered)
        {
            h.Answered("c1");
        }

        var state = h.StateOf("a1");
        Assert.Equal(ResultCode.FailedPrecondition, h.Logout("a1").Code);
        Assert.Equal(ResultCode.FailedPrecondition, h.NotReady("a1").Code);
        Assert.Equal(ResultCode.FailedPrecondition, h.Ready("a1").Code);
        Assert.Equal(ResultCode.FailedPrecondition, h.SetState("a1", AgentState.Standby).Code);
        Assert.Equal(ResultCode.FailedPrecondition, h.EndWrapUp("a1").Code);
        Assert.Equal(state, h.StateOf("a1"));
    }

    [Fact]
    public void Ending_a_call_puts_the_agent_in_wrap_up_which_returns_to_ready_after_the_skills_wrap_up_time()
    {
        var h = General("a1");
        h.Login("a1");
        h.Offer("c1");
        h.Answered("c1");
        h.AtSecond(30);
        h.End("c1");
        Assert.Equal(AgentState.WrapUp, h.StateOf("a1"));
        h.AtSecond(39.999);
        Assert.Equal(AgentState.WrapUp, h.StateOf("a1"));
        h.AtSecond(40);
        Assert.Equal(AgentState.Ready, h.StateOf("a1"));
        Assert.Equal(Harness.At(40), h.LastOf(EventKind.AgentStateChanged).TimeMs);
    }

    [Fact]
    public void Wrap_up_can_be_extended_up_to_the_limit_and_ended_early()
    {
        var h = Centre(new CentreBuilder().Skill("general").Agent("a1", "general:5").With(o => o.MaxWrapUpExtensionSeconds = 30));
        h.Login("a1");
        h.Offer("c1");
        h.Answered("c1");
        h.End("c1");
        Assert.True(h.ExtendWrapUp("a1", 20).IsOk);
        Assert.Equal(ResultCode.FailedPrecondition, h.ExtendWrapUp("a1", 11).Code);
        Assert.Equal(ResultCode.InvalidArgument, h.ExtendWrapUp("a1", 0).Code);
        h.AtSecond(29);
        Assert.Equal(AgentState.WrapUp, h.StateOf("a1"));
        h.AtSecond(30);
        Assert.Equal(AgentState.Ready, h.StateOf("a1"));

        h.Offer("c2");
        h.Answered("c2");
        h.End("c2");
        Assert.True(h.EndWrapUp("a1").IsOk);
        Assert.Equal(AgentState.Ready, h.StateOf("a1"));
        Assert.Equal(ResultCode.FailedPrecondition, h.ExtendWrapUp("a1", 5).Code);
    }

    [Theory]
    [InlineData(AgentState.NotReady)]
    [InlineData(AgentState.Standby)]
    [InlineData(AgentState.Ready)]
    public void Leaving_wrap_up_by_asking_for_a_state_stops_the_return_to_ready(AgentState to)
    {
        var h = General("a1");
        h.Login("a1");
        h.Offer("c1");
        h.Answered("c1");
        h.End("c1");
        h.SetState("a1", to, "paperwork");
        h.AtSecond(60);
        Assert.Equal(to, h.StateOf("a1"));
    }

    [Fact]
    public void With_no_wrap_up_the_agent_is_ready_as_soon_as_the_call_ends()
    {
        var h = Centre(new CentreBuilder().Skill("general", s => s.WrapUpSeconds = 0).Agent("a1", "general:5"));
        h.Login("a1");
        h.Offer("c1");
        h.Answered("c1");
        h.End("c1");
        var e = h.LastOf(EventKind.AgentStateChanged);
        Assert.Equal((AgentState.Talking, AgentState.Ready), (e.FromState, e.ToState));
    }

    [Theory]
    [InlineData(AgentState.Ready)]
    [InlineData(AgentState.NotReady)]
    [InlineData(AgentState.Standby)]
    [InlineData(AgentState.WrapUp)]
    public void An_agent_logs_out_from_every_state_without_a_call(AgentState from)
    {
        var h = General("a1");
        if (from == AgentState.WrapUp)
        {
            h.Login("a1");
            h.Offer("c1");
            h.Answered("c1");
            h.End("c1");
        }
        else
        {
            h.Login("a1", from);
        }

        Assert.Equal(from, h.StateOf("a1"));
        Assert.True(h.Logout("a1").IsOk);
        Assert.Equal(AgentState.LoggedOut, h.StateOf("a1"));
        h.AtSecond(100);
        Assert.Equal(AgentState.LoggedOut, h.StateOf("a1"));
    }

    [Fact]
    public void A_not_ready_or_standby_agent_takes_no_call()
    {
        var h = General("a1", "a2");
        h.Login("a1", AgentState.NotReady, "break");
        h.Login("a2", AgentState.Standby);
        Assert.Equal(OfferOutcome.Queued, h.Offer("c1").Outcome);
        h.Ready("a2");
        Assert.Equal("a2", h.AgentOf("c1"));
    }

    [Fact]
    public void The_roster_login_brings_agents_to_their_initial_states()
    {
        var h = Centre(new CentreBuilder().Skill("general")
            .AgentAs("a1", "agent", "ready", "general:5")
            .AgentAs("a2", "agent", "not-ready", "general:5")
            .AgentAs("t1", "team-lead", "standby", "general:9")
            .AgentAs("a3", "agent", "logged-out", "general:5"));
        h.Run(LoginRoster.Instance);
        Assert.Equal(AgentState.Ready, h.StateOf("a1"));
        Assert.Equal(AgentState.NotReady, h.StateOf("a2"));
        Assert.Equal(AgentState.Standby, h.StateOf("t1"));
        Assert.Equal(AgentState.LoggedOut, h.StateOf("a3"));
    }
}
