using Acd.Core.Configuration;
using Acd.Core.Domain;
using Acd.Core.Routing;
using Acd.Core.Tests.Support;

namespace Acd.Core.Tests.Hotline;

/// <summary>A callback for every unanswered call (SPEC 4.2).</summary>
public sealed class CallbackSpecification
{
    private static CentreBuilder CallbackCentre(Action<CallbackOptions>? configure = null) => new CentreBuilder()
        .Skill("general")
        .Skill("data")
        .Agent("g1", "general:5")
        .Agent("g2", "general:5")
        .Agent("d1", "data:5")
        .AgentAs("o1", "agent", "logged-out", "general:3")
        .With(o =>
        {
            o.Agents.Single(a => a.Id == "o1").Outbound = true;
            o.Callbacks = new CallbackOptions
            {
                MinAbandonWaitSeconds = 10,
                EscalationMinutes = 30,
                MaxAttempts = 3,
                RetryBackoffSeconds = [60, 120],
                OutcomeTimeoutSeconds = 600,
            };
            configure?.Invoke(o.Callbacks);
        });

    private static (Harness H, Router R) Start(CentreBuilder centre)
    {
        var model = new RealRouterModel(centre.Build());
        return (new Harness(model), model.Router);
    }

    private static RoutingEvent Last(Harness h, EventKind kind) => h.Events.Last(e => e.Kind == kind);

    [Fact]
    public void An_abandon_after_the_minimum_wait_owes_one_callback_and_a_second_abandon_merges_into_it()
    {
        var (h, router) = Start(CallbackCentre());
        h.Login("g1", AgentState.NotReady);
        h.Offer("quick", caller: "13800000001");
        h.Wait(9.999);
        h.Abandon("quick");
        Assert.DoesNotContain(h.Events, e => e.Kind == EventKind.CallbackCreated);

        h.Offer("c1", caller: "13800000002");
        h.Wait(10);
        h.Abandon("c1");
        var createdAt = h.Now;
        var created = Last(h, EventKind.CallbackCreated);
        Assert.Equal(("13800000002", "general", "abandoned", "cb-1@test"), (created.Caller, created.Skill, created.Reason, created.CallbackId));

        h.Wait(30);
        h.Offer("c2", caller: "13800000002");
        h.Wait(20);
        h.Abandon("c2");
        Assert.Single(h.Events, e => e.Kind == EventKind.CallbackCreated);
        var list = router.ListCallbacks(closedToo: false);
        var only = Assert.Single(list);
        Assert.Equal((created.CallbackId, createdAt, CallbackState.Open), (only.CallbackId, only.CreatedMs, only.State));
        Assert.Equal(new CallbackTotals(1, 1, 0, 0, 0, 0, 1), router.CallbackFigures);
    }

    [Fact]
    public void Time_outs_refusals_for_want_of_staff_and_dropped_connections_owe_callbacks_too()
    {
        var (h, router) = Start(CallbackCentre().Skill("english", s => s.MaxWaitSeconds = 30));
        h.Login("g1", AgentState.NotReady);
        h.Offer("nobody", "english", caller: "1");
        h.Offer("long", caller: "2");
        h.Offer("sip", mode: OfferMode.Sip, caller: "3", connection: 7);
        h.Wait(5);
        h.DetachConnection(7);
        h.AtSecond(3600);
        Assert.Equal(
            [("1", "rejected"), ("3", "disconnected"), ("2", "timed-out")],
            h.Events.Where(e => e.Kind == EventKind.CallbackCreated).Select(e => (e.Caller!, e.Reason!)));
        Assert.Equal(3, router.CallbackFigures.Owed);
    }

    [Fact]
    public void An_outbound_agent_dials_callbacks_first_and_reports_the_outcome()
    {
        var (h, router) = Start(CallbackCentre());
        h.Login("g1", AgentState.NotReady);
        h.Offer("c1", caller: "13800000001");
        h.Wait(15);
        h.Abandon("c1");
        var id = Last(h, EventKind.CallbackCreated).CallbackId!;

        // A live call waits too; the outbound agent still dials the callback first.
        h.Offer("live", caller: "13800000009");
        h.Login("o1");
        var assigned = Last(h, EventKind.CallbackAssigned);
        Assert.Equal((id, "o1", "sip:o1@test", 1), (assigned.CallbackId, assigned.AgentId, assigned.Contact, assigned.Attempts));
        Assert.Equal(AgentState.Talking, h.StateOf("o1"));
        Assert.Equal(id, h.Model.GetAgent("o1")!.CurrentCallId);
        Assert.Null(h.AgentOf("live"));
        Assert.Equal(ResultCode.FailedPrecondition, h.SetState("o1", AgentState.NotReady).Code);

        Assert.True(h.Run(new ReportCallbackOutcome(id, reached: true)).IsOk);
        var completed = Last(h, EventKind.CallbackCompleted);
        Assert.Equal((id, "reached", "o1"), (completed.CallbackId, completed.Reason, completed.AgentId));
        Assert.Equal(AgentState.WrapUp, h.StateOf("o1"));
        h.EndWrapUp("o1");
        Assert.Equal("o1", h.AgentOf("live"));
        Assert.Equal(new CallbackTotals(1, 0, 1, 0, 0, 0, 0), router.CallbackFigures);
        Assert.Equal(1.0, router.CallbackFigures.CompletionRatio);
        Assert.Equal(CallbackState.Completed, router.ListCallbacks(closedToo: true).Single().State);
        Assert.Equal(ResultCode.NotFound, h.Run(new ReportCallbackOutcome("nope", true)).Code);
        Assert.Equal(ResultCode.FailedPrecondition, h.Run(new ReportCallbackOutcome(id, true)).Code);
    }

    [Fact]
    public void An_idle_outbound_agent_takes_a_callback_the_moment_it_is_owed()
    {
        var (h, _) = Start(CallbackCentre());
        h.Login("o1");
        h.Login("g1", AgentState.NotReady);
        h.Offer("c1", caller: "13800000001");
        Assert.Equal("o1", h.AgentOf("c1"));
        h.Offer("c2", caller: "13800000002");
        h.Wait(12);
        h.Abandon("c2");
        Assert.Equal(AgentState.Reserved, h.StateOf("o1"));
        h.Abandon("c1"); // o1 was ringing: it is free again and dials c2's callback (c1 waited over 10 s too)
        var dialed = Last(h, EventKind.CallbackAssigned);
        Assert.Equal(("o1", "13800000002"), (dialed.AgentId, dialed.Caller));
    }

    [Fact]
    public void Other_agents_dial_callbacks_only_when_no_live_call_of_theirs_waits_until_the_callback_is_escalated()
    {
        var (h, router) = Start(CallbackCentre());
        h.Login("g1", AgentState.NotReady);
        h.Login("d1");
        h.Offer("c1", caller: "13800000001");
        h.Wait(15);
        h.Abandon("c1");

        // d1 does not hold general: the general callback is not its to dial.
        Assert.Equal(AgentState.Ready, h.StateOf("d1"));

        // g1 becomes ready with a live call waiting: the live call first.
        h.Offer("live1", caller: "13800000011");
        h.Ready("g1");
        Assert.Equal("g1", h.AgentOf("live1"));
        h.Answered("live1");
        h.End("live1");
        h.EndWrapUp("g1");

        // No live call now: g1 dials the callback.
        var assigned = Last(h, EventKind.CallbackAssigned);
        Assert.Equal("g1", assigned.AgentId);
        Assert.True(h.Run(new ReportCallbackOutcome(assigned.CallbackId!, reached: false)).IsOk);
        var retry = Last(h, EventKind.CallbackRescheduled);
        Assert.Equal((60_000L, 1), (retry.WaitMs, retry.Attempts));
        Assert.Equal(AgentState.Ready, h.StateOf("g1"));

        // Past the escalation age (30 min from its creation) the callback comes before a live call.
        h.NotReady("g1");
        h.AtSecond(15 + 1800 - 1);
        h.Offer("live2", caller: "13800000012");
        h.Ready("g1");
        Assert.Equal("g1", h.AgentOf("live2"));
        h.Answered("live2");
        h.Offer("live3", caller: "13800000013");
        h.AtSecond(15 + 1800);
        h.End("live2");
        h.EndWrapUp("g1");
        Assert.Equal(("g1", 2), (Last(h, EventKind.CallbackAssigned).AgentId, Last(h, EventKind.CallbackAssigned).Attempts));
        Assert.Null(h.AgentOf("live3"));
        Assert.Empty(router.CheckInvariants());
    }

    [Fact]
    public void With_skill_agents_kept_to_live_calls_only_outbound_agents_dial()
    {
        var (h, _) = Start(CallbackCentre(c => c.SkillAgentsDial = false));
        h.Login("g1", AgentState.NotReady);
        h.Offer("c1", caller: "13800000001");
        h.Wait(15);
        h.Abandon("c1");
        h.Ready("g1");
        h.AtSecond(3 * 3600);
        h.NotReady("g1");
        h.Ready("g1");
        Assert.DoesNotContain(h.Events, e => e.Kind == EventKind.CallbackAssigned);
        h.Login("o1");
        Assert.Equal("o1", Last(h, EventKind.CallbackAssigned).AgentId);
    }

    [Fact]
    public void Unreached_callbacks_retry_with_back_off_and_end_exhausted_with_an_sms()
    {
        var (h, router) = Start(CallbackCentre());
        h.Login("g1", AgentState.NotReady);
        h.Offer("c1", caller: "13800000001");
        h.Wait(15);
        h.Abandon("c1");
        h.Login("o1");
        var id = Last(h, EventKind.CallbackAssigned).CallbackId!;

        h.Wait(30);
        h.Run(new ReportCallbackOutcome(id, reached: false));
        Assert.Equal(60_000, Last(h, EventKind.CallbackRescheduled).WaitMs);
        var snapshot = router.ListCallbacks(false).Single();
        Assert.Equal((CallbackState.Open, h.Now + 60_000, 1), (snapshot.State, snapshot.NextAttemptMs, snapshot.Attempts));
        Assert.Equal(AgentState.Ready, h.StateOf("o1"));

        h.Wait(59.999);
        Assert.Equal(1, h.Events.Count(e => e.Kind == EventKind.CallbackAssigned));
        h.Wait(0.001);
        Assert.Equal(2, Last(h, EventKind.CallbackAssigned).Attempts);

        // No outcome reported within the outcome timeout counts as not reached; the next wait is the second back-off.
        h.Wait(600);
        var second = Last(h, EventKind.CallbackRescheduled);
        Assert.Equal((120_000L, 2, "no outcome reported"), (second.WaitMs, second.Attempts, second.Reason));

        h.Wait(120);
        Assert.Equal(3, Last(h, EventKind.CallbackAssigned).Attempts);
        h.Run(new ReportCallbackOutcome(id, reached: false));
        var exhausted = Last(h, EventKind.CallbackExhausted);
        Assert.Equal((id, "13800000001", 3, "sms"), (exhausted.CallbackId, exhausted.Caller, exhausted.Attempts, exhausted.Reason));
        Assert.Equal(new CallbackTotals(1, 0, 0, 1, 0, 0, 0), router.CallbackFigures);
        Assert.Equal(1.0, router.CallbackFigures.CompletionRatio);

        // Once closed, the caller's next unanswered call owes a new callback.
        h.Offer("c2", caller: "13800000001");
        Assert.Equal("o1", h.AgentOf("c2"));
    }

    [Fact]
    public void An_open_callback_may_be_cancelled_an_assigned_one_may_not()
    {
        var (h, router) = Start(CallbackCentre());
        h.Login("g1", AgentState.NotReady);
        h.Offer("c1", caller: "1");
        h.Offer("c2", caller: "2");
        h.Wait(15);
        h.Abandon("c1");
        h.Abandon("c2");
        var ids = h.Events.Where(e => e.Kind == EventKind.CallbackCreated).Select(e => e.CallbackId!).ToArray();
        Assert.True(h.Run(new CancelCallback(ids[1])).IsOk);
        Assert.Equal("cancelled", Last(h, EventKind.CallbackCompleted).Reason);
        h.Login("o1");
        Assert.Equal(ids[0], Last(h, EventKind.CallbackAssigned).CallbackId);
        Assert.Equal(ResultCode.FailedPrecondition, h.Run(new CancelCallback(ids[0])).Code);
        Assert.Equal(ResultCode.FailedPrecondition, h.Run(new CancelCallback(ids[1])).Code);
        Assert.Equal(new CallbackTotals(2, 0, 0, 0, 1, 0, 1), router.CallbackFigures);
        Assert.Equal(0.0, router.CallbackFigures.CompletionRatio);
    }

    [Fact]
    public void The_open_callbacks_are_bounded_beyond_the_limit_none_is_created_and_the_drop_is_counted()
    {
        var (h, router) = Start(CallbackCentre(c => c.MaxOpen = 2));
        h.Login("g1", AgentState.NotReady);
        for (var i = 0; i < 5; i++)
        {
            h.Offer($"c{i}", caller: $"{i}");
        }

        h.Wait(15);
        for (var i = 0; i < 5; i++)
        {
            h.Abandon($"c{i}");
        }

        Assert.Equal(new CallbackTotals(2, 0, 0, 0, 0, 3, 2), router.CallbackFigures);
    }

    [Fact]
    public void Every_unanswered_call_of_a_busy_hour_ends_completed_or_exhausted_and_the_completion_ratio_reads_one()
    {
        var (h, router) = Start(CallbackCentre(c => c.MaxAttempts = 2)
            .With(o =>
            {
                o.Skills[0].MaxWaitSeconds = 120;
                o.Skills[0].MaxQueueLength = 15;
                o.Callbacks.RetryBackoffSeconds = [90];
            }));
        h.AllReady("g1", "g2", "o1");
        var traffic = new Traffic(h, talkSeconds: 40)
        {
            // A small pool of repeat callers, so that merges happen; every fifth callback never reaches its caller.
            Caller = i => "1380000" + (i % 150).ToString("D4", System.Globalization.CultureInfo.InvariantCulture),
            Dialer = id => int.Parse(id.AsSpan(3, id.IndexOf('@', StringComparison.Ordinal) - 3), System.Globalization.CultureInfo.InvariantCulture) % 5 != 0,
        };

        // Arrivals at twice what three agents can take, so calls queue, time out and are refused; callers hang up.
        var abandoner = new Random(7);
        for (var minute = 0; minute < 60; minute++)
        {
            traffic.Run(h.Seconds + 60, 0.1);
            foreach (var waiting in h.Events.Where(e => e.Kind == EventKind.CallQueued).Select(e => e.CallId!).Distinct().ToList())
            {
                if (h.CallStateOf(waiting) == CallState.Queued && abandoner.Next(4) == 0)
                {
                    h.Abandon(waiting);
                }
            }
        }

        // After the rush: no new calls; the agents work the callbacks off.
        traffic.Run(h.Seconds + 7200, 0);

        var figures = router.CallbackFigures;
        var unanswered = h.Events.Count(e => e.Kind is EventKind.CallRejected or EventKind.CallTimedOut or EventKind.CallDeflected)
            + h.Events.Count(e => e.Kind == EventKind.CallAbandoned && e.WaitMs >= 10_000);
        Assert.True(figures.Created > 20, $"only {figures.Created} callbacks");
        Assert.True(figures.Merged > 0);
        Assert.True(figures.Exhausted > 0);
        Assert.Equal(unanswered, figures.Created + figures.Merged);
        Assert.Equal(0, figures.Owed);
        Assert.Equal(figures.Created, figures.Reached + figures.Exhausted);
        Assert.Equal(1.0, figures.CompletionRatio);
        Assert.Equal(figures.Exhausted, h.Events.Count(e => e.Kind == EventKind.CallbackExhausted && e.Reason == "sms"));
        Assert.Empty(router.CheckInvariants());
    }
}
