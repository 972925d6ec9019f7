using Acd.Api.V1;
using Grpc.Core;
using Acd.Host.Tests.Support;

namespace Acd.Host.Tests.Grpc;

/// <summary>The services of SPEC section 6 over HTTP/2, and a call offered over gRPC routing like one over SIP.</summary>
public sealed class GrpcServiceTests
{
    private static Task<GrpcResult<T>> Try<T>(AsyncUnaryCall<T> call) => GrpcTestClient.Try(call);

    [Fact]
    public async Task Agents_log_in_change_state_and_are_listed()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 3, state: "logged-out"));
        using var c = new GrpcTestClient(d.Grpc!);
        var login = (await Try(c.Agents.LoginAsync(new LoginRequest { AgentId = "A0002", Contact = "sip:a2@desk" }))).Ok;
        Assert.Equal((Acd.Api.V1.AgentState.Ready, "sip:a2@desk", 5), (login.State, login.Contact, login.Skills["general"]));

        var notReady = (await Try(c.Agents.SetStateAsync(new SetStateRequest { AgentId = "A0002", State = Acd.Api.V1.AgentState.NotReady, Reason = "lunch" }))).Ok;
        Assert.Equal((Acd.Api.V1.AgentState.NotReady, "lunch"), (notReady.State, notReady.Reason));

        var illegal = await Try(c.Agents.LoginAsync(new LoginRequest { AgentId = "A0002" }));
        Assert.Equal(StatusCode.FailedPrecondition, illegal.Status);
        var talking = await Try(c.Agents.SetStateAsync(new SetStateRequest { AgentId = "A0002", State = Acd.Api.V1.AgentState.Talking }));
        Assert.Equal(StatusCode.InvalidArgument, talking.Status);
        var unknown = await Try(c.Agents.LogoutAsync(new AgentRequest { AgentId = "ghost" }));
        Assert.Equal(StatusCode.NotFound, unknown.Status);

        var extra = (await Try(c.Agents.LoginAsync(new LoginRequest { AgentId = "temp-9", Skills = { ["general"] = 8 }, Role = AgentRole.TeamLead, InitialState = Acd.Api.V1.AgentState.Standby }))).Ok;
        Assert.Equal((Acd.Api.V1.AgentState.Standby, AgentRole.TeamLead), (extra.State, extra.Role));

        var list = (await Try(c.Agents.ListAgentsAsync(new ListAgentsRequest { State = Acd.Api.V1.AgentState.LoggedOut }))).Ok;
        Assert.Equal(["A0001", "A0003"], list.Agents.Select(a => a.AgentId));
        var logout = (await Try(c.Agents.LogoutAsync(new AgentRequest { AgentId = "A0002" }))).Ok;
        Assert.Equal(Acd.Api.V1.AgentState.LoggedOut, logout.State);
    }

    [Fact]
    public async Task An_offered_call_rings_is_answered_ended_and_the_queue_moves()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1, wrapUp: 0));
        using var c = new GrpcTestClient(d.Grpc!);
        var first = (await Try(c.Calls.OfferAsync(new OfferRequest { CallId = "g1", Caller = "13800000001" }))).Ok;
        Assert.Equal((OfferResponse.Types.Outcome.Routed, "A0001", "sip:A0001@agents.test"), (first.Outcome, first.AgentId, first.Contact));
        var second = (await Try(c.Calls.OfferAsync(new OfferRequest { CallId = "g2" }))).Ok;
        Assert.Equal((OfferResponse.Types.Outcome.Queued, 1), (second.Outcome, second.Position));
        Assert.Equal(StatusCode.AlreadyExists, (await Try(c.Calls.OfferAsync(new OfferRequest { CallId = "g2" }))).Status);

        var answered = (await Try(c.Calls.AnsweredAsync(new CallRequest { CallId = "g1" }))).Ok;
        Assert.Equal((Acd.Api.V1.CallState.Talking, "A0001"), (answered.State, answered.AgentId));
        Assert.Equal(StatusCode.FailedPrecondition, (await Try(c.Calls.AnsweredAsync(new CallRequest { CallId = "g2" }))).Status);

        await Try(c.Calls.EndAsync(new CallRequest { CallId = "g1" }));
        var g2 = (await Try(c.Calls.GetCallAsync(new CallRequest { CallId = "g2" }))).Ok;
        Assert.Equal((Acd.Api.V1.CallState.Offered, "A0001"), (g2.State, g2.AgentId));
        Assert.Equal(StatusCode.NotFound, (await Try(c.Calls.GetCallAsync(new CallRequest { CallId = "g1" }))).Status);

        var queues = (await Try(c.Queues.ListQueuesAsync(new ListQueuesRequest()))).Ok;
        var general = Assert.Single(queues.Queues);
        Assert.Equal(("general", 2L, 1L, 1), (general.Skill, general.Offered, general.Answered, general.AgentsByState["reserved"]));
        Assert.Equal(StatusCode.NotFound, (await Try(c.Queues.GetQueueAsync(new QueueRequest { Skill = "nope" }))).Status);
    }

    [Fact]
    public async Task A_full_queue_is_resource_exhausted_and_no_agent_is_a_rejected_outcome()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1, state: "not-ready", maxQueue: 1, extraSkills: ", { \"Name\": \"english\" }"));
        using var c = new GrpcTestClient(d.Grpc!);
        Assert.Equal(OfferResponse.Types.Outcome.Queued, (await Try(c.Calls.OfferAsync(new OfferRequest { CallId = "q1" }))).Ok.Outcome);
        Assert.Equal(StatusCode.ResourceExhausted, (await Try(c.Calls.OfferAsync(new OfferRequest { CallId = "q2" }))).Status);
        var rejected = (await Try(c.Calls.OfferAsync(new OfferRequest { CallId = "e1", Skill = "english" }))).Ok;
        Assert.Equal((OfferResponse.Types.Outcome.Rejected, "no-agents"), (rejected.Outcome, rejected.Reason));
    }

    [Fact]
    public async Task A_watch_sees_events_filtered_by_kind_and_skill()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 2, extraSkills: ", { \"Name\": \"data\" }")
            .Replace("\"Skills\": { \"general\": 5 }", "\"Skills\": { \"general\": 5, \"data\": 5 }", StringComparison.Ordinal));
        using var watcher = new GrpcTestClient(d.Grpc!);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var watch = watcher.Events.Watch(new WatchRequest { Kinds = { EventKind.CallRouted }, Skills = { "data" } }, cancellationToken: cancel.Token);
        await watch.ResponseHeadersAsync;

        using var c = new GrpcTestClient(d.Grpc!);
        await Try(c.Calls.OfferAsync(new OfferRequest { CallId = "w-general" }));
        await Try(c.Calls.OfferAsync(new OfferRequest { CallId = "w-data", Skill = "data" }));

        Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
        var e = watch.ResponseStream.Current;
        Assert.Equal((EventKind.CallRouted, "w-data", "data"), (e.Kind, e.CallRouted.CallId, e.CallRouted.Skill));
        Assert.Equal(Event.PayloadOneofCase.CallRouted, e.PayloadCase);
        Assert.True(e.Sequence > 0 && e.TimeUnixMs > 0);
    }

    [Fact]
    public async Task A_skill_filter_passes_the_state_changes_of_agents_whose_roster_skills_include_the_skill()
    {
        var dataGroup = ", { \"IdPrefix\": \"D\", \"Count\": 1, \"Skills\": { \"general\": 5, \"data\": 3 }, \"InitialState\": \"not-ready\", \"ContactTemplate\": \"sip:{id}@agents.test\" } ] } }";
        var config = TestDaemon.Centre(agents: 1, state: "not-ready", extraSkills: ", { \"Name\": \"data\" }").TrimEnd();
        await using var d = await TestDaemon.StartAsync(config[..config.LastIndexOf("] } }", StringComparison.Ordinal)] + dataGroup);
        using var watcher = new GrpcTestClient(d.Grpc!);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var watch = watcher.Events.Watch(new WatchRequest { Kinds = { EventKind.AgentStateChanged }, Skills = { "data" } }, cancellationToken: cancel.Token);
        await watch.ResponseHeadersAsync;

        using var c = new GrpcTestClient(d.Grpc!);
        await Try(c.Agents.SetStateAsync(new SetStateRequest { AgentId = "A0001", State = Acd.Api.V1.AgentState.Ready }));
        await Try(c.Agents.SetStateAsync(new SetStateRequest { AgentId = "D0001", State = Acd.Api.V1.AgentState.Ready }));
        await Try(c.Agents.LoginAsync(new LoginRequest { AgentId = "temp-1", Skills = { ["general"] = 5 }, InitialState = Acd.Api.V1.AgentState.Ready }));

        // A0001 (general only) is filtered out; D0001 (general and data) passes; an agent outside the roster passes.
        Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
        Assert.Equal(("D0001", Acd.Api.V1.AgentState.Ready), (watch.ResponseStream.Current.AgentStateChanged.AgentId, watch.ResponseStream.Current.AgentStateChanged.To));
        Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
        Assert.Equal("temp-1", watch.ResponseStream.Current.AgentStateChanged.AgentId);
    }

    [Fact]
    public async Task A_slow_watcher_is_dropped_with_resource_exhausted_while_routing_goes_on()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1, state: "not-ready", maxQueue: 100_000, domainExtras: "\"MaxLiveCalls\": 100000,"), "--Acd:Grpc:WatchBuffer=16");
        using var slow = new GrpcTestClient(d.Grpc!);
        using var watch = slow.Events.Watch(new WatchRequest());
        await watch.ResponseHeadersAsync;

        // The watcher reads nothing; offers keep being routed (queued) at full speed.
        using var c = new GrpcTestClient(d.Grpc!);
        var started = DateTime.UtcNow;
        await Parallel.ForEachAsync(Enumerable.Range(0, 6000), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            var r = await Try(c.Calls.OfferAsync(new OfferRequest { CallId = $"s{i}" }));
            Assert.Equal(OfferResponse.Types.Outcome.Queued, r.Ok.Outcome);
        });
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(60));
        Assert.Equal(6000, (await d.QueueAsync()).Waiting);

        // Now it reads: what had already gone out to the transport before it fell behind (the buffer itself is emptied at the
        // drop, so its memory is not held for a watcher that does not read), then the end of the stream with RESOURCE_EXHAUSTED.
        var messages = 0;
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await watch.ResponseStream.MoveNext(CancellationToken.None))
            {
                messages++;
            }
        });
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.InRange(messages, 0, 11_999);
    }

    [Fact]
    public async Task Forecast_uses_given_or_measured_load_and_refuses_what_it_cannot_compute()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 2, state: "not-ready"));
        using var c = new GrpcTestClient(d.Grpc!);
        var given = (await Try(c.Queues.ForecastAsync(new ForecastRequest { Skill = "general", ArrivalRatePerS = 360 / 1800.0, AhtMs = 240_000, ThresholdMs = 15_000, Target = 0.7 }))).Ok;
        Assert.Equal((53, 48.0, 15_000L, 0.7), (given.AgentsRequired, Math.Round(given.TrafficErlangs, 9), given.ThresholdMs, given.Target));
        Assert.Equal(given.AgentsRequired / given.TrafficErlangs, 1 / given.Occupancy, 9);

        // Measured: no arrivals yet, so nobody is required; the skill's own threshold and target are used.
        var idle = (await Try(c.Queues.ForecastAsync(new ForecastRequest { Skill = "general" }))).Ok;
        Assert.Equal((0, 0.0, 20_000L, 0.8, 180_000L), (idle.AgentsRequired, idle.ArrivalRatePerS, idle.ThresholdMs, idle.Target, idle.AhtMs));

        // Three arrivals in the last five minutes: 0.01 per second at the default handle time of 180 s.
        for (var i = 0; i < 3; i++)
        {
            await Try(c.Calls.OfferAsync(new OfferRequest { CallId = $"f{i}" }));
        }

        var measured = (await Try(c.Queues.ForecastAsync(new ForecastRequest { Skill = "general" }))).Ok;
        Assert.Equal(0.01, measured.ArrivalRatePerS, 9);
        Assert.Equal(Acd.Core.Statistics.ErlangC.Required(0.01, 180, 20, 0.8).Agents, measured.AgentsRequired);
        Assert.Equal(0, measured.AgentsNow); // both agents are not ready

        Assert.Equal(StatusCode.InvalidArgument, (await Try(c.Queues.ForecastAsync(new ForecastRequest { Skill = "general", Target = 1.5 }))).Status);
        Assert.Equal(StatusCode.InvalidArgument, (await Try(c.Queues.ForecastAsync(new ForecastRequest { Skill = "general", ArrivalRatePerS = 1e9, AhtMs = 1000 }))).Status);
        Assert.Equal(StatusCode.InvalidArgument, (await Try(c.Queues.ForecastAsync(new ForecastRequest()))).Status);
        Assert.Equal(StatusCode.NotFound, (await Try(c.Queues.ForecastAsync(new ForecastRequest { Skill = "nope" }))).Status);
    }

    [Fact]
    public async Task Surge_status_of_the_domain_and_of_a_skill_and_its_errors()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1, extraSkills: ", { \"Name\": \"complaint\" }"));
        using var c = new GrpcTestClient(d.Grpc!);
        var forced = (await Try(c.Surge.ForceTierAsync(new ForceTierRequest { Skill = "complaint", Tier = 2, DurationSeconds = 60 }))).Ok;
        Assert.Equal((2, true, "complaint", "forced by a duty manager"), (forced.Tier, forced.Forced, forced.Skill, forced.Reason));
        var domain = (await Try(c.Surge.GetSurgeAsync(new SurgeRequest()))).Ok;
        Assert.Equal((0, 2, 0), (domain.Tier, domain.EffectiveTiers["complaint"], domain.EffectiveTiers["general"]));
        Assert.Equal(StatusCode.NotFound, (await Try(c.Surge.GetSurgeAsync(new SurgeRequest { Skill = "nope" }))).Status);
        Assert.Equal(StatusCode.FailedPrecondition, (await Try(c.Surge.ClearOverrideAsync(new SurgeRequest()))).Status);
        Assert.Equal(StatusCode.InvalidArgument, (await Try(c.Surge.ForceTierAsync(new ForceTierRequest { Tier = 1, DurationSeconds = 0 }))).Status);
        Assert.Equal(StatusCode.InvalidArgument, (await Try(c.Callbacks.CompleteCallbackAsync(new CompleteCallbackRequest { CallbackId = "cb-1@test" }))).Status);
        Assert.Equal(StatusCode.NotFound, (await Try(c.Callbacks.CompleteCallbackAsync(new CompleteCallbackRequest { CallbackId = "cb-1@test", Outcome = CallbackOutcome.Reached }))).Status);
        Assert.Equal(StatusCode.InvalidArgument, (await Try(c.Calls.SetVipAsync(new SetVipRequest { Caller = "1", Vip = 10 }))).Status);
    }

    [Fact]
    public async Task Open_callbacks_are_listed_in_pages_oldest_first_and_a_closed_one_leaves_no_gap()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1, state: "not-ready", hotline: true, domainExtras: "\"Callbacks\": { \"MinAbandonWaitSeconds\": 0, \"SkillAgentsDial\": false }, \"Repeat\": { \"Enabled\": false },"));
        using var c = new GrpcTestClient(d.Grpc!);
        for (var i = 1; i <= 7; i++)
        {
            Assert.Equal(OfferResponse.Types.Outcome.Queued, (await Try(c.Calls.OfferAsync(new OfferRequest { CallId = $"p{i}", Caller = $"1380000000{i}" }))).Ok.Outcome);
            await Try(c.Calls.AbandonAsync(new CallRequest { CallId = $"p{i}" }));
        }

        var first = (await Try(c.Callbacks.ListCallbacksAsync(new ListCallbacksRequest { Limit = 3 }))).Ok;
        Assert.Equal(["13800000001", "13800000002", "13800000003"], first.Callbacks.Select(x => x.Caller));
        Assert.Equal(7, first.Totals.Owed);
        Assert.NotEmpty(first.NextPageToken);

        // The last one listed closes between pages: the next page still starts right after it.
        await Try(c.Callbacks.CancelCallbackAsync(new CallbackRequest { CallbackId = first.Callbacks[2].CallbackId }));
        var second = (await Try(c.Callbacks.ListCallbacksAsync(new ListCallbacksRequest { Limit = 3, PageToken = first.NextPageToken }))).Ok;
        Assert.Equal(["13800000004", "13800000005", "13800000006"], second.Callbacks.Select(x => x.Caller));
        var third = (await Try(c.Callbacks.ListCallbacksAsync(new ListCallbacksRequest { Limit = 3, PageToken = second.NextPageToken }))).Ok;
        Assert.Equal(["13800000007"], third.Callbacks.Select(x => x.Caller));
        Assert.Empty(third.NextPageToken);
        Assert.Equal(StatusCode.InvalidArgument, (await Try(c.Callbacks.ListCallbacksAsync(new ListCallbacksRequest { PageToken = "nonsense" }))).Status);
    }
}
