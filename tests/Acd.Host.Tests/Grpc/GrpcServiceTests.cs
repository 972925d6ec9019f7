using Acd.Api.V1;
using Acd.Host.Grpc;
using Acd.Host.Tests.Support;

namespace Acd.Host.Tests.Grpc;

/// <summary>The services of SPEC section 6 over HTTP/2, and a call offered over gRPC routing like one over SIP.</summary>
public sealed class GrpcServiceTests
{
    private static Task<GrpcResult<T>> Call<T>(GrpcTestClient c, string path, Google.Protobuf.IMessage request, Google.Protobuf.MessageParser<T> parser)
        where T : Google.Protobuf.IMessage<T> => c.UnaryAsync(path, request, parser);

    [Fact]
    public async Task Agents_log_in_change_state_and_are_listed()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 3, state: "logged-out"));
        using var c = new GrpcTestClient(d.Grpc!);
        var login = (await Call(c, "/acd.v1.AgentService/Login", new LoginRequest { AgentId = "A0002", Contact = "sip:a2@desk" }, Agent.Parser)).Ok;
        Assert.Equal((Acd.Api.V1.AgentState.Ready, "sip:a2@desk", 5), (login.State, login.Contact, login.Skills["general"]));

        var notReady = (await Call(c, "/acd.v1.AgentService/SetState", new SetStateRequest { AgentId = "A0002", State = Acd.Api.V1.AgentState.NotReady, Reason = "lunch" }, Agent.Parser)).Ok;
        Assert.Equal((Acd.Api.V1.AgentState.NotReady, "lunch"), (notReady.State, notReady.Reason));

        var illegal = await Call(c, "/acd.v1.AgentService/Login", new LoginRequest { AgentId = "A0002" }, Agent.Parser);
        Assert.Equal(GrpcStatus.FailedPrecondition, illegal.Status);
        var talking = await Call(c, "/acd.v1.AgentService/SetState", new SetStateRequest { AgentId = "A0002", State = Acd.Api.V1.AgentState.Talking }, Agent.Parser);
        Assert.Equal(GrpcStatus.InvalidArgument, talking.Status);
        var unknown = await Call(c, "/acd.v1.AgentService/Logout", new AgentRequest { AgentId = "ghost" }, Agent.Parser);
        Assert.Equal(GrpcStatus.NotFound, unknown.Status);

        var extra = (await Call(c, "/acd.v1.AgentService/Login", new LoginRequest { AgentId = "temp-9", Skills = { ["general"] = 8 }, Role = AgentRole.TeamLead, InitialState = Acd.Api.V1.AgentState.Standby }, Agent.Parser)).Ok;
        Assert.Equal((Acd.Api.V1.AgentState.Standby, AgentRole.TeamLead), (extra.State, extra.Role));

        var list = (await Call(c, "/acd.v1.AgentService/ListAgents", new ListAgentsRequest { State = Acd.Api.V1.AgentState.LoggedOut }, ListAgentsResponse.Parser)).Ok;
        Assert.Equal(["A0001", "A0003"], list.Agents.Select(a => a.AgentId));
        var logout = (await Call(c, "/acd.v1.AgentService/Logout", new AgentRequest { AgentId = "A0002" }, Agent.Parser)).Ok;
        Assert.Equal(Acd.Api.V1.AgentState.LoggedOut, logout.State);
    }

    [Fact]
    public async Task An_offered_call_rings_is_answered_ended_and_the_queue_moves()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1, wrapUp: 0));
        using var c = new GrpcTestClient(d.Grpc!);
        var first = (await Call(c, "/acd.v1.CallService/Offer", new OfferRequest { CallId = "g1", Caller = "13800000001" }, OfferResponse.Parser)).Ok;
        Assert.Equal((OfferResponse.Types.Outcome.Routed, "A0001", "sip:A0001@agents.test"), (first.Outcome, first.AgentId, first.Contact));
        var second = (await Call(c, "/acd.v1.CallService/Offer", new OfferRequest { CallId = "g2" }, OfferResponse.Parser)).Ok;
        Assert.Equal((OfferResponse.Types.Outcome.Queued, 1), (second.Outcome, second.Position));
        Assert.Equal(GrpcStatus.AlreadyExists, (await Call(c, "/acd.v1.CallService/Offer", new OfferRequest { CallId = "g2" }, OfferResponse.Parser)).Status);

        var answered = (await Call(c, "/acd.v1.CallService/Answered", new CallRequest { CallId = "g1" }, Acd.Api.V1.Call.Parser)).Ok;
        Assert.Equal((Acd.Api.V1.CallState.Talking, "A0001"), (answered.State, answered.AgentId));
        Assert.Equal(GrpcStatus.FailedPrecondition, (await Call(c, "/acd.v1.CallService/Answered", new CallRequest { CallId = "g2" }, Acd.Api.V1.Call.Parser)).Status);

        await Call(c, "/acd.v1.CallService/End", new CallRequest { CallId = "g1" }, Ack.Parser);
        var g2 = (await Call(c, "/acd.v1.CallService/GetCall", new CallRequest { CallId = "g2" }, Acd.Api.V1.Call.Parser)).Ok;
        Assert.Equal((Acd.Api.V1.CallState.Offered, "A0001"), (g2.State, g2.AgentId));
        Assert.Equal(GrpcStatus.NotFound, (await Call(c, "/acd.v1.CallService/GetCall", new CallRequest { CallId = "g1" }, Acd.Api.V1.Call.Parser)).Status);

        var queues = (await Call(c, "/acd.v1.QueueService/ListQueues", new ListQueuesRequest(), ListQueuesResponse.Parser)).Ok;
        var general = Assert.Single(queues.Queues);
        Assert.Equal(("general", 2L, 1L, 1), (general.Skill, general.Offered, general.Answered, general.AgentsByState["reserved"]));
        Assert.Equal(GrpcStatus.NotFound, (await Call(c, "/acd.v1.QueueService/GetQueue", new QueueRequest { Skill = "nope" }, QueueStats.Parser)).Status);
    }

    [Fact]
    public async Task A_full_queue_is_resource_exhausted_and_no_agent_is_a_rejected_outcome()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1, state: "not-ready", maxQueue: 1, extraSkills: ", { \"Name\": \"english\" }"));
        using var c = new GrpcTestClient(d.Grpc!);
        Assert.Equal(OfferResponse.Types.Outcome.Queued, (await Call(c, "/acd.v1.CallService/Offer", new OfferRequest { CallId = "q1" }, OfferResponse.Parser)).Ok.Outcome);
        Assert.Equal(GrpcStatus.ResourceExhausted, (await Call(c, "/acd.v1.CallService/Offer", new OfferRequest { CallId = "q2" }, OfferResponse.Parser)).Status);
        var rejected = (await Call(c, "/acd.v1.CallService/Offer", new OfferRequest { CallId = "e1", Skill = "english" }, OfferResponse.Parser)).Ok;
        Assert.Equal((OfferResponse.Types.Outcome.Rejected, "no-agents"), (rejected.Outcome, rejected.Reason));
    }

    [Fact]
    public async Task A_watch_sees_events_filtered_by_kind_and_skill()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 2, extraSkills: ", { \"Name\": \"data\" }")
            .Replace("\"Skills\": { \"general\": 5 }", "\"Skills\": { \"general\": 5, \"data\": 5 }", StringComparison.Ordinal));
        using var watcher = new GrpcTestClient(d.Grpc!);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var request = watcher.Request("/acd.v1.EventService/Watch", GrpcTestClient.Frame(new WatchRequest { Kinds = { EventKind.CallRouted }, Skills = { "data" } }));
        var response = await watcher.SendAsync(request, cancel.Token);
        var stream = await response.Content.ReadAsStreamAsync(cancel.Token);

        using var c = new GrpcTestClient(d.Grpc!);
        await Call(c, "/acd.v1.CallService/Offer", new OfferRequest { CallId = "w-general" }, OfferResponse.Parser);
        await Call(c, "/acd.v1.CallService/Offer", new OfferRequest { CallId = "w-data", Skill = "data" }, OfferResponse.Parser);

        var header = new byte[5];
        await stream.ReadExactlyAsync(header, cancel.Token);
        var payload = new byte[System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(1))];
        await stream.ReadExactlyAsync(payload, cancel.Token);
        var e = Event.Parser.ParseFrom(payload);
        Assert.Equal((EventKind.CallRouted, "w-data", "data"), (e.Kind, e.CallRouted.CallId, e.CallRouted.Skill));
        Assert.Equal(Event.PayloadOneofCase.CallRouted, e.PayloadCase);
        Assert.True(e.Sequence > 0 && e.TimeUnixMs > 0);
    }

    [Fact]
    public async Task A_slow_watcher_is_dropped_with_resource_exhausted_while_routing_goes_on()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1, state: "not-ready", maxQueue: 100_000, domainExtras: "\"MaxLiveCalls\": 100000,"), "--Acd:Grpc:WatchBuffer=16");
        using var slow = new GrpcTestClient(d.Grpc!);
        var response = await slow.SendAsync(slow.Request("/acd.v1.EventService/Watch", GrpcTestClient.Frame(new WatchRequest())));

        // The watcher reads nothing; offers keep being routed (queued) at full speed.
        using var c = new GrpcTestClient(d.Grpc!);
        var started = DateTime.UtcNow;
        await Parallel.ForEachAsync(Enumerable.Range(0, 6000), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            var r = await Call(c, "/acd.v1.CallService/Offer", new OfferRequest { CallId = $"s{i}" }, OfferResponse.Parser);
            Assert.Equal(OfferResponse.Types.Outcome.Queued, r.Ok.Outcome);
        });
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(60));
        Assert.Equal(6000, (await d.QueueAsync()).Waiting);

        // Now it reads: what was buffered, then the end of the stream with RESOURCE_EXHAUSTED.
        var messages = 0;
        await using var stream = await response.Content.ReadAsStreamAsync();
        var header = new byte[5];
        while (await stream.ReadAtLeastAsync(header, 5, throwOnEndOfStream: false) == 5)
        {
            var payload = new byte[System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(1))];
            await stream.ReadExactlyAsync(payload);
            messages++;
        }

        Assert.Equal("8", response.TrailingHeaders.GetValues("grpc-status").Single());
        Assert.InRange(messages, 16, 11_999);
    }

    [Fact]
    public async Task Forecast_uses_given_or_measured_load_and_refuses_what_it_cannot_compute()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 2, state: "not-ready"));
        using var c = new GrpcTestClient(d.Grpc!);
        var given = (await Call(c, "/acd.v1.QueueService/Forecast", new ForecastRequest { Skill = "general", ArrivalRatePerS = 360 / 1800.0, AhtMs = 240_000, ThresholdMs = 15_000, Target = 0.7 }, ForecastResponse.Parser)).Ok;
        Assert.Equal((53, 48.0, 15_000L, 0.7), (given.AgentsRequired, Math.Round(given.TrafficErlangs, 9), given.ThresholdMs, given.Target));
        Assert.Equal(given.AgentsRequired / given.TrafficErlangs, 1 / given.Occupancy, 9);

        // Measured: no arrivals yet, so nobody is required; the skill's own threshold and target are used.
        var idle = (await Call(c, "/acd.v1.QueueService/Forecast", new ForecastRequest { Skill = "general" }, ForecastResponse.Parser)).Ok;
        Assert.Equal((0, 0.0, 20_000L, 0.8, 180_000L), (idle.AgentsRequired, idle.ArrivalRatePerS, idle.ThresholdMs, idle.Target, idle.AhtMs));

        // Three arrivals in the last five minutes: 0.01 per second at the default handle time of 180 s.
        for (var i = 0; i < 3; i++)
        {
            await Call(c, "/acd.v1.CallService/Offer", new OfferRequest { CallId = $"f{i}" }, OfferResponse.Parser);
        }

        var measured = (await Call(c, "/acd.v1.QueueService/Forecast", new ForecastRequest { Skill = "general" }, ForecastResponse.Parser)).Ok;
        Assert.Equal(0.01, measured.ArrivalRatePerS, 9);
        Assert.Equal(Acd.Core.Statistics.ErlangC.Required(0.01, 180, 20, 0.8).Agents, measured.AgentsRequired);
        Assert.Equal(0, measured.AgentsNow); // both agents are not ready

        Assert.Equal(GrpcStatus.InvalidArgument, (await Call(c, "/acd.v1.QueueService/Forecast", new ForecastRequest { Skill = "general", Target = 1.5 }, ForecastResponse.Parser)).Status);
        Assert.Equal(GrpcStatus.InvalidArgument, (await Call(c, "/acd.v1.QueueService/Forecast", new ForecastRequest { Skill = "general", ArrivalRatePerS = 1e9, AhtMs = 1000 }, ForecastResponse.Parser)).Status);
        Assert.Equal(GrpcStatus.InvalidArgument, (await Call(c, "/acd.v1.QueueService/Forecast", new ForecastRequest(), ForecastResponse.Parser)).Status);
        Assert.Equal(GrpcStatus.NotFound, (await Call(c, "/acd.v1.QueueService/Forecast", new ForecastRequest { Skill = "nope" }, ForecastResponse.Parser)).Status);
    }

    [Fact]
    public async Task Surge_status_of_the_domain_and_of_a_skill_and_its_errors()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1, extraSkills: ", { \"Name\": \"complaint\" }"));
        using var c = new GrpcTestClient(d.Grpc!);
        var forced = (await Call(c, "/acd.v1.SurgeService/ForceTier", new ForceTierRequest { Skill = "complaint", Tier = 2, DurationSeconds = 60 }, SurgeStatus.Parser)).Ok;
        Assert.Equal((2, true, "complaint", "forced by a duty manager"), (forced.Tier, forced.Forced, forced.Skill, forced.Reason));
        var domain = (await Call(c, "/acd.v1.SurgeService/GetSurge", new SurgeRequest(), SurgeStatus.Parser)).Ok;
        Assert.Equal((0, 2, 0), (domain.Tier, domain.EffectiveTiers["complaint"], domain.EffectiveTiers["general"]));
        Assert.Equal(GrpcStatus.NotFound, (await Call(c, "/acd.v1.SurgeService/GetSurge", new SurgeRequest { Skill = "nope" }, SurgeStatus.Parser)).Status);
        Assert.Equal(GrpcStatus.FailedPrecondition, (await Call(c, "/acd.v1.SurgeService/ClearOverride", new SurgeRequest(), SurgeStatus.Parser)).Status);
        Assert.Equal(GrpcStatus.InvalidArgument, (await Call(c, "/acd.v1.SurgeService/ForceTier", new ForceTierRequest { Tier = 1, DurationSeconds = 0 }, SurgeStatus.Parser)).Status);
        Assert.Equal(GrpcStatus.InvalidArgument, (await Call(c, "/acd.v1.CallbackService/CompleteCallback", new CompleteCallbackRequest { CallbackId = "cb-1@test" }, Callback.Parser)).Status);
        Assert.Equal(GrpcStatus.NotFound, (await Call(c, "/acd.v1.CallbackService/CompleteCallback", new CompleteCallbackRequest { CallbackId = "cb-1@test", Outcome = CallbackOutcome.Reached }, Callback.Parser)).Status);
        Assert.Equal(GrpcStatus.InvalidArgument, (await Call(c, "/acd.v1.CallService/SetVip", new SetVipRequest { Caller = "1", Vip = 10 }, Ack.Parser)).Status);
    }

    [Fact]
    public async Task Open_callbacks_are_listed_in_pages_oldest_first_and_a_closed_one_leaves_no_gap()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1, state: "not-ready", hotline: true, domainExtras: "\"Callbacks\": { \"MinAbandonWaitSeconds\": 0, \"SkillAgentsDial\": false }, \"Repeat\": { \"Enabled\": false },"));
        using var c = new GrpcTestClient(d.Grpc!);
        for (var i = 1; i <= 7; i++)
        {
            Assert.Equal(OfferResponse.Types.Outcome.Queued, (await Call(c, "/acd.v1.CallService/Offer", new OfferRequest { CallId = $"p{i}", Caller = $"1380000000{i}" }, OfferResponse.Parser)).Ok.Outcome);
            await Call(c, "/acd.v1.CallService/Abandon", new CallRequest { CallId = $"p{i}" }, Ack.Parser);
        }

        var first = (await Call(c, "/acd.v1.CallbackService/ListCallbacks", new ListCallbacksRequest { Limit = 3 }, ListCallbacksResponse.Parser)).Ok;
        Assert.Equal(["13800000001", "13800000002", "13800000003"], first.Callbacks.Select(x => x.Caller));
        Assert.Equal(7, first.Totals.Owed);
        Assert.NotEmpty(first.NextPageToken);

        // The last one listed closes between pages: the next page still starts right after it.
        await Call(c, "/acd.v1.CallbackService/CancelCallback", new CallbackRequest { CallbackId = first.Callbacks[2].CallbackId }, Callback.Parser);
        var second = (await Call(c, "/acd.v1.CallbackService/ListCallbacks", new ListCallbacksRequest { Limit = 3, PageToken = first.NextPageToken }, ListCallbacksResponse.Parser)).Ok;
        Assert.Equal(["13800000004", "13800000005", "13800000006"], second.Callbacks.Select(x => x.Caller));
        var third = (await Call(c, "/acd.v1.CallbackService/ListCallbacks", new ListCallbacksRequest { Limit = 3, PageToken = second.NextPageToken }, ListCallbacksResponse.Parser)).Ok;
        Assert.Equal(["13800000007"], third.Callbacks.Select(x => x.Caller));
        Assert.Empty(third.NextPageToken);
        Assert.Equal(GrpcStatus.InvalidArgument, (await Call(c, "/acd.v1.CallbackService/ListCallbacks", new ListCallbacksRequest { PageToken = "nonsense" }, ListCallbacksResponse.Parser)).Status);
    }
}
