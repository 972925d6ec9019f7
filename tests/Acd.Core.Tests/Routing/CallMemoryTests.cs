using Acd.Core.Domain;
using Acd.Core.Durability;
using Acd.Core.Routing;
using Acd.Core.Tests.Support;

namespace Acd.Core.Tests.Routing;

/// <summary>What a waiting call keeps, and what the router hands its owner with each event.</summary>
public sealed class CallMemoryTests
{
    /// <summary>One agent, logged in but not ready: calls wait.</summary>
    private static Router Centre()
    {
        var router = new Router(new CentreBuilder().Skill("general").Agent("a1", "general:5").Build());
        Assert.True(router.Execute(new LoginAgent { AgentId = "a1", InitialState = AgentState.NotReady, Reason = "break" }, 500, new EventBuffer()).IsOk);
        return router;
    }

    private static OfferCall Offer(string id, byte[]? route = null, string serviceNumber = "10086") => new()
    {
        CallId = id,
        Caller = "13800000000",
        ServiceNumber = new string(serviceNumber.AsSpan()), // a string of its own, as one parsed from a request or the journal
        Language = new string("zh-CN".AsSpan()),
        Mode = OfferMode.Sip,
        Owner = "connection",
        AnswerRoute = route,
    };

    [Fact]
    public void Calls_with_the_same_service_number_and_language_share_one_string_of_each()
    {
        var router = Centre();
        var events = new EventBuffer();
        router.Execute(Offer("c1"), 1_000, events);
        router.Execute(Offer("c2"), 1_000, events);
        var first = router.GetCall("c1")!;
        var second = router.GetCall("c2")!;
        Assert.Equal("10086", second.ServiceNumber);
        Assert.Same(first.ServiceNumber, second.ServiceNumber);
        Assert.Same(first.Language, second.Language);
    }

    [Fact]
    public void Values_beyond_the_shared_bound_are_kept_as_given()
    {
        var router = Centre();
        var events = new EventBuffer();
        for (var i = 0; i < 300; i++)
        {
            router.Execute(Offer($"c{i}", serviceNumber: $"n{i}"), 1_000, events);
        }

        // The 256 first distinct values are shared; the later ones are not remembered (a peer sending junk grows nothing).
        router.Execute(Offer("again-early", serviceNumber: "n5"), 1_000, events);
        router.Execute(Offer("again-late", serviceNumber: "n299"), 1_000, events);
        Assert.Same(router.GetCall("c5")!.ServiceNumber, router.GetCall("again-early")!.ServiceNumber);
        Assert.NotSame(router.GetCall("c299")!.ServiceNumber, router.GetCall("again-late")!.ServiceNumber);
        Assert.Equal("n299", router.GetCall("again-late")!.ServiceNumber);
        Assert.Equal("zh-CN", router.GetCall("again-late")!.Language);
        Assert.Empty(router.CheckInvariants());

        // The values kept beside such a call go with it (the invariants count them against the calls that have them).
        router.Execute(new CallCommand(CommandKind.Abandon, "again-late"), 2_000, events);
        router.Execute(new CallCommand(CommandKind.Abandon, "c299"), 2_000, events);
        Assert.Empty(router.CheckInvariants());
        Assert.Equal("n5", router.GetCall("again-early")!.ServiceNumber);
    }

    [Fact]
    public void A_call_record_fits_two_cache_lines() =>
        Assert.Equal(128, System.Runtime.CompilerServices.Unsafe.SizeOf<CallRecord>());

    [Fact]
    public void Events_carry_the_answer_route_until_the_final_answer_and_not_after()
    {
        var router = Centre();
        var events = new EventBuffer();
        var route = new byte[] { 1, 2, 3 };
        router.Execute(Offer("c1", route), 1_000, events);
        var queued = events.Span.ToArray().Single(e => e.Kind == EventKind.CallQueued);
        Assert.Same(route, queued.AnswerRoute);
        Assert.Equal("connection", queued.Owner);

        events.Clear();
        router.Execute(new AgentCommand(CommandKind.SetState, "a1") { State = AgentState.Ready }, 2_000, events);
        var routed = events.Span.ToArray().Single(e => e.Kind == EventKind.CallRouted);
        Assert.Same(route, routed.AnswerRoute);

        // After the 302, the call's later events reach its owner without a route: nothing more to answer.
        events.Clear();
        router.Execute(new CallCommand(CommandKind.End, "c1"), 3_000, events);
        var ended = events.Span.ToArray().Single(e => e.Kind == EventKind.CallEnded);
        Assert.Equal("connection", ended.Owner);
        Assert.Null(ended.AnswerRoute);
    }

    [Fact]
    public void A_waiting_SIP_call_keeps_its_id_and_caller_in_its_route_until_it_leaves_the_queue()
    {
        var router = Centre();
        var events = new EventBuffer();
        router.Execute(Offer("c1"), 1_000, events);
        var route = SipRoutes.Waiting("c2", "13800000000");
        router.Execute(Offer("c2", route), 1_000, events);
        Assert.Equal((false, false), router.IdentityKeptInRoute("c1"));
        Assert.Equal((true, true), router.IdentityKeptInRoute("c2"));
        var queued = events.Span.ToArray().Last(e => e.Kind == EventKind.CallQueued);
        Assert.Equal(("c2", "13800000000"), (queued.CallId, queued.Caller));

        // Read back while it waits: made for the moment, the route keeps them still.
        var view = router.GetCall(new string("c2".AsSpan()))!;
        Assert.Equal(("c2", "13800000000"), (view.CallId, view.Caller));
        Assert.Equal((true, true), router.IdentityKeptInRoute("c2"));

        // Routed (behind c1): its events carry both, and the call keeps them as strings again from then on.
        events.Clear();
        router.Execute(new AgentCommand(CommandKind.SetState, "a1") { State = AgentState.Ready }, 2_000, events);
        router.Execute(new CallCommand(CommandKind.End, "c1"), 3_000, events);
        router.Execute(new AgentCommand(CommandKind.SetState, "a1") { State = AgentState.Ready }, 4_000, events);
        var routed = events.Span.ToArray().Last(e => e.Kind == EventKind.CallRouted);
        Assert.Equal(("c2", "13800000000"), (routed.CallId, routed.Caller));
        Assert.Same(route, routed.AnswerRoute);
        Assert.Equal((false, false), router.IdentityKeptInRoute("c2"));
        events.Clear();
        Assert.True(router.Execute(new CallCommand(CommandKind.End, "c2"), 5_000, events).IsOk);
        Assert.Equal(("c2", "13800000000"), (events.Span.ToArray().Single(e => e.Kind == EventKind.CallEnded).CallId, events.Span.ToArray().Single(e => e.Kind == EventKind.CallEnded).Caller));
        Assert.Empty(router.CheckInvariants());
    }

    [Fact]
    public void A_route_that_names_another_call_or_caller_keeps_nothing_that_is_not_the_calls()
    {
        var router = Centre();
        var events = new EventBuffer();
        router.Execute(Offer("c1", SipRoutes.Waiting("someone-else", "13800000000")), 1_000, events);
        router.Execute(Offer("c2", SipRoutes.Waiting("c2", "13999999999")), 1_000, events);
        router.Execute(Offer("c3", [4, 0, 0, 0, 0, 0, 0, (byte)'I', 2, (byte)'c', (byte)'3']), 1_000, events); // no lines: not a route, still its bytes
        Assert.Equal((false, false), router.IdentityKeptInRoute("c1"));
        Assert.Equal((true, false), router.IdentityKeptInRoute("c2")); // its id, not its caller
        Assert.Equal("13800000000", router.GetCall("c2")!.Caller);
        Assert.Equal((true, false), router.IdentityKeptInRoute("c3"));
        Assert.Equal("c3", router.GetCall("c3")!.CallId);
    }

    [Fact]
    public void A_waiting_call_whose_route_keeps_its_identity_is_found_by_its_id_abandoned_and_restored_from_a_snapshot()
    {
        var router = Centre();
        var events = new EventBuffer();
        router.Execute(Offer("c1", SipRoutes.Waiting("c1", "13800000000")), 1_000, events);
        router.Execute(Offer("c2", SipRoutes.Waiting("c2", "13800000000")), 1_000, events);

        var w = new StateWriter();
        router.WriteState(w);
        var copy = Router.ReadState(router.Config, new StateReader(w.WrittenMemory.ToArray()));
        Assert.Equal(router.StateDigest(), copy.StateDigest());
        Assert.Equal((true, true), copy.IdentityKeptInRoute("c2"));
        Assert.Equal(("c2", "13800000000"), (copy.GetCall("c2")!.CallId, copy.GetCall("c2")!.Caller));

        foreach (var r in new[] { router, copy })
        {
            events.Clear();
            Assert.True(r.Execute(new CallCommand(CommandKind.Abandon, new string("c2".AsSpan())), 2_000, events).IsOk);
            var abandoned = events.Span.ToArray().Single(e => e.Kind == EventKind.CallAbandoned);
            Assert.Equal(("c2", "13800000000"), (abandoned.CallId, abandoned.Caller));
            Assert.Null(r.GetCall("c2"));
            Assert.Equal((true, true), r.IdentityKeptInRoute("c1"));
            Assert.Empty(r.CheckInvariants());
        }
    }

    [Fact]
    public void An_event_buffer_grown_by_one_burst_shrinks_once_batches_are_small_again()
    {
        var buffer = new EventBuffer(64);
        for (var i = 0; i < 100_000; i++)
        {
            buffer.Add().Kind = EventKind.CallQueued;
        }

        var grown = buffer.Capacity;
        Assert.True(grown >= 100_000);
        buffer.Clear(); // the burst's own batch: kept, the next may be as large
        Assert.Equal(grown, buffer.Capacity);
        buffer.Add();
        buffer.Clear();
        Assert.Equal(64, buffer.Capacity);
        Assert.Equal(0, buffer.Count);
    }
}
