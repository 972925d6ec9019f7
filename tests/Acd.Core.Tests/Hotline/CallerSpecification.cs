using Acd.Core.Configuration;
using Acd.Core.Domain;
using Acd.Core.Routing;
using Acd.Core.Tests.Support;

namespace Acd.Core.Tests.Hotline;

/// <summary>Repeat callers and first-contact ownership (SPEC 4.3); VIP, language and IVR choice (SPEC 4.4).</summary>
[Collection(MemoryMeasured.Name)]
public sealed class CallerSpecification
{
    private static (Harness H, Router R) Start(CentreBuilder centre)
    {
        var model = new RealRouterModel(centre.Build());
        return (new Harness(model), model.Router);
    }

    private static CentreBuilder RepeatCentre() => new CentreBuilder()
        .Skill("general")
        .Skill("repeat")
        .Agent("g1", "general:5")
        .Agent("r1", "repeat:5")
        .With(o => o.Repeat = new RepeatOptions { Enabled = true, Calls = 3, WindowMinutes = 60, Skill = "repeat", PriorityBoost = 2 });

    private static CommandResult Call(Harness h, string id, string caller) => h.Run(new OfferCall { CallId = id, Caller = caller });

    [Fact]
    public void The_third_call_within_the_window_goes_to_the_repeat_seat_when_it_is_staffed()
    {
        var (h, _) = Start(RepeatCentre());
        h.Login("g1", AgentState.NotReady);
        h.Login("r1", AgentState.NotReady);
        Assert.Equal("general", Call(h, "x1", "13900000001").Skill);
        h.Abandon("x1");
        h.AtSecond(600);
        Assert.Equal("general", Call(h, "x2", "13900000001").Skill);
        h.Abandon("x2");
        Assert.Equal("general", Call(h, "y1", "13900000002").Skill);
        h.AtSecond(1200);
        Assert.Equal("repeat", Call(h, "x3", "13900000001").Skill);
        h.Abandon("x3");

        // At 60 min 1 s the first call has left the window: the calls at 10 and 20 min remain, so the next is the third.
        h.AtSecond(3601);
        Assert.Equal("repeat", Call(h, "x4", "13900000001").Skill);
        h.Abandon("x4");

        // At 85 min only the call at 60 min is within the window: this one is the second.
        h.AtSecond(85 * 60);
        Assert.Equal("general", Call(h, "x5", "13900000001").Skill);
        h.Abandon("x5");

        // Hours of quiet: a first call again.
        h.AtSecond(4 * 3600);
        Assert.Equal("general", Call(h, "x6", "13900000001").Skill);
    }

    [Fact]
    public void Without_a_staffed_repeat_seat_a_repeat_caller_gets_a_priority_boost_instead()
    {
        var (h, _) = Start(RepeatCentre());
        h.Login("g1", AgentState.NotReady);
        Call(h, "x1", "1");
        Call(h, "x2", "1");
        var third = Call(h, "x3", "1");
        Assert.Equal("general", third.Skill);
        Assert.Equal((0, 0, 2), (h.Model.GetCall("x1")!.Priority, h.Model.GetCall("x2")!.Priority, h.Model.GetCall("x3")!.Priority));
        Assert.Equal(1, third.Position); // ahead of the two calls before it
    }

    private static CentreBuilder OwnershipCentre() => new CentreBuilder()
        .Skill("general", s => s.WrapUpSeconds = 5)
        .Skill("data")
        .Agent("g1", "general:5")
        .Agent("g2", "general:5")
        .Agent("g3", "general:5")
        .Agent("d1", "data:5")
        .With(o => o.Ownership = new OwnershipOptions { Enabled = true, WindowMinutes = 60, WaitSeconds = 10 });

    [Fact]
    public void A_caller_goes_straight_to_its_last_agent_when_that_agent_is_ready_and_holds_the_skill()
    {
        var (h, _) = Start(OwnershipCentre());
        h.AllReady("g1", "g2", "g3", "d1");
        Call(h, "x1", "13900000001");
        Assert.Equal("g1", h.AgentOf("x1")); // the longest idle
        h.Answered("x1");
        h.End("x1");
        h.EndWrapUp("g1");

        // g2 and g3 have been idle longer, yet the caller's last agent takes the call.
        var second = Call(h, "x2", "13900000001");
        Assert.Equal((OfferOutcome.Routed, "g1"), (second.Outcome, second.AgentId));
        h.Answered("x2");
        h.End("x2");
        h.EndWrapUp("g1");

        // Another skill: the last agent does not hold it, routing is as usual.
        Assert.Equal("d1", h.Run(new OfferCall { CallId = "x3", Caller = "13900000001", Skill = "data" }).AgentId);

        // Past the window the last agent is forgotten.
        h.AtSecond(3700);
        Assert.Equal("g2", Call(h, "x4", "13900000001").AgentId);
    }

    [Fact]
    public void A_busy_last_agent_is_waited_for_up_to_the_configured_time_then_the_call_routes_normally()
    {
        var (h, _) = Start(OwnershipCentre());
        h.AllReady("g1", "g2");
        Call(h, "x1", "13900000001");
        h.Answered("x1");

        // The last agent is talking: the call waits for it, although g2 is ready.
        var waiting = Call(h, "x2", "13900000001");
        Assert.Equal(OfferOutcome.Queued, waiting.Outcome);
        Assert.Equal("g1", h.LastOf(EventKind.CallQueued, "x2").AgentId);
        Assert.Equal(AgentState.Ready, h.StateOf("g2"));

        // The agent is free within the wait: it takes the call.
        h.Wait(4);
        h.End("x1");
        h.EndWrapUp("g1");
        Assert.Equal("g1", h.AgentOf("x2"));
        h.Answered("x2");

        // This time the agent stays busy: after 10 s the call goes to g2.
        var third = Call(h, "x3", "13900000001");
        Assert.Equal(OfferOutcome.Queued, third.Outcome);
        h.Wait(9.999);
        Assert.Null(h.AgentOf("x3"));
        h.Wait(0.001);
        Assert.Equal("g2", h.AgentOf("x3"));
        var routed = h.LastOf(EventKind.CallRouted, "x3");
        Assert.Equal(10_000, routed.WaitMs);
    }

    [Fact]
    public void The_caller_history_is_bounded_a_million_distinct_callers_cost_no_more_than_its_capacity()
    {
        const int Capacity = 10_000;
        var config = RepeatCentre().With(o => o.CallerHistoryCapacity = Capacity).Build();
        var router = new Router(config);
        var events = new EventBuffer();
        var now = Harness.Start;
        router.Execute(new LoginAgent { AgentId = "g1", InitialState = AgentState.NotReady }, now, events);
        router.Execute(new LoginAgent { AgentId = "r1", InitialState = AgentState.NotReady }, now, events);

        void Offer(int i)
        {
            events.Clear();
            var id = "m" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            router.Execute(new OfferCall { CallId = id, Caller = "caller-" + id }, now++, events);
            router.Execute(new CallCommand(CommandKind.Abandon, id), now, events);
        }

        for (var i = 0; i < 2 * Capacity; i++)
        {
            Offer(i);
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        for (var i = 2 * Capacity; i < 1_000_000; i++)
        {
            Offer(i);
        }

        var after = GC.GetTotalMemory(forceFullCollection: true);
        Assert.Equal(Capacity, router.RememberedCallers);
        Assert.True(after - before < 1_000_000, $"memory grew by {after - before} bytes over 980,000 more callers");

        // The most recent callers are remembered (two more calls make a repeat caller), the earliest are forgotten.
        string Skill(string caller, string id)
        {
            events.Clear();
            var r = router.Execute(new OfferCall { CallId = id, Caller = caller }, now++, events);
            return r.Skill!;
        }

        Assert.Equal("general", Skill("caller-m999999", "again1"));
        Assert.Equal("repeat", Skill("caller-m999999", "again2"));
        Assert.Equal("general", Skill("caller-m0", "old1"));
        Assert.Equal("general", Skill("caller-m0", "old2"));
        Assert.Equal("repeat", Skill("caller-m0", "old3"));
        Assert.Empty(router.CheckInvariants());
    }

    private static CentreBuilder ChoiceCentre() => new CentreBuilder()
        .Skill("general")
        .Skill("complaint")
        .Skill("data")
        .Skill("english")
        .Skill("vip")
        .Agent("g1", "general:5", "complaint:5", "data:5", "english:5", "vip:5")
        .With(o =>
        {
            o.VipCallers = ["13800138000"];
            o.MaxVipCallers = 3;
            o.Languages = new Dictionary<string, string>(StringComparer.Ordinal) { ["en"] = "english" };
            o.Routes =
            [
                new RouteOptions { ServiceNumber = "10086", Ivr = "3", Skill = "data" },
                new RouteOptions { ServiceNumber = "10086", Ivr = "31", Skill = "complaint", Priority = 4 },
                new RouteOptions { ServiceNumber = "10086", Ivr = "0", Skill = "general", Priority = 6 },
                new RouteOptions { Ivr = "9", Skill = "vip" },
            ];
        });

    private static (string Skill, int Priority) Classify(Harness h, OfferCall offer)
    {
        var r = h.Run(offer);
        Assert.True(r.IsOk, r.Message);
        var call = h.Model.GetCall(offer.CallId)!;
        h.Abandon(offer.CallId);
        return (call.Skill, call.Priority);
    }

    [Fact]
    public void Vip_callers_from_the_list_the_api_or_the_offer_go_to_the_vip_seat_at_top_priority()
    {
        var (h, router) = Start(ChoiceCentre());
        h.Login("g1", AgentState.NotReady);
        Assert.Equal(("vip", 9), Classify(h, new OfferCall { CallId = "a", Caller = "13800138000" }));
        Assert.Equal(("general", 0), Classify(h, new OfferCall { CallId = "b", Caller = "13900000001" }));
        Assert.Equal(("vip", 9), Classify(h, new OfferCall { CallId = "c", Caller = "13900000001", Vip = 3 }));

        Assert.True(h.Run(new SetCallerVip("13900000001", 2)).IsOk);
        Assert.Equal(2, router.VipClassOf("13900000001"));
        var d = Classify(h, new OfferCall { CallId = "d", Caller = "13900000001" });
        Assert.Equal(("vip", 9), d);

        Assert.True(h.Run(new SetCallerVip("13900000001", 0)).IsOk);
        Assert.Equal(("general", 0), Classify(h, new OfferCall { CallId = "e", Caller = "13900000001" }));

        // The list is bounded.
        Assert.True(h.Run(new SetCallerVip("1", 1)).IsOk);
        Assert.True(h.Run(new SetCallerVip("2", 1)).IsOk);
        Assert.Equal(ResultCode.ResourceExhausted, h.Run(new SetCallerVip("3", 1)).Code);
        Assert.Equal(ResultCode.InvalidArgument, h.Run(new SetCallerVip("4", 10)).Code);
        Assert.Equal(ResultCode.InvalidArgument, h.Run(new SetCallerVip(string.Empty, 1)).Code);
    }

    [Fact]
    public void A_language_selects_its_seat_and_the_dialed_number_and_ivr_digits_select_a_skill_by_the_table()
    {
        var (h, _) = Start(ChoiceCentre());
        h.Login("g1", AgentState.NotReady);
        Assert.Equal(("english", 0), Classify(h, new OfferCall { CallId = "a", Caller = "1", Language = "en-GB" }));
        Assert.Equal(("english", 0), Classify(h, new OfferCall { CallId = "b", Caller = "1", Language = "EN" }));
        Assert.Equal(("general", 0), Classify(h, new OfferCall { CallId = "c", Caller = "1", Language = "zh-CN" }));
        Assert.Equal(("data", 0), Classify(h, new OfferCall { CallId = "d", Caller = "1", ServiceNumber = "10086", IvrDigits = "35" }));
        Assert.Equal(("complaint", 4), Classify(h, new OfferCall { CallId = "e", Caller = "1", ServiceNumber = "10086", IvrDigits = "312" }));
        Assert.Equal(("general", 6), Classify(h, new OfferCall { CallId = "f", Caller = "1", ServiceNumber = "10086", IvrDigits = "0" }));
        Assert.Equal(("general", 0), Classify(h, new OfferCall { CallId = "g", Caller = "1", ServiceNumber = "10010", IvrDigits = "3" }));
        Assert.Equal(("vip", 0), Classify(h, new OfferCall { CallId = "h", Caller = "1", ServiceNumber = "10010", IvrDigits = "9" }));
    }

    [Fact]
    public void An_explicit_skill_wins_over_vip_language_and_the_table_and_an_explicit_priority_is_kept_if_higher()
    {
        var (h, _) = Start(ChoiceCentre());
        h.Login("g1", AgentState.NotReady);
        Assert.Equal(("data", 9), Classify(h, new OfferCall { CallId = "a", Caller = "13800138000", Skill = "data" }));
        Assert.Equal(("complaint", 0), Classify(h, new OfferCall { CallId = "b", Caller = "1", Skill = "complaint", Language = "en", ServiceNumber = "10086", IvrDigits = "3" }));
        Assert.Equal(("complaint", 8), Classify(h, new OfferCall { CallId = "c", Caller = "1", ServiceNumber = "10086", IvrDigits = "31", Priority = 8 }));
        Assert.Equal(("complaint", 4), Classify(h, new OfferCall { CallId = "d", Caller = "1", ServiceNumber = "10086", IvrDigits = "31", Priority = 2 }));
        Assert.Equal(ResultCode.NotFound, h.Run(new OfferCall { CallId = "e", Caller = "1", Skill = "nope" }).Code);
    }
}
