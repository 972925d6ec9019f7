using System.Net;
using Acd.Api.V1;
using Acd.Host.Tests.Support;
using Google.Protobuf;
using Grpc.Core;

namespace Acd.Host.Tests.Grpc;

/// <summary>The gRPC port as a standard client sees it (Grpc.Net.Client): statuses, limits, deadlines, auth, compression.</summary>
public sealed class GrpcProtocolTests
{
    [Fact]
    public async Task A_unary_call_returns_its_message_and_an_error_its_status_and_message()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 2));
        using var client = new GrpcTestClient(d.Grpc!);
        var agent = (await GrpcTestClient.Try(client.Agents.GetAgentAsync(new AgentRequest { AgentId = "A0001" }))).Ok;
        Assert.Equal(("A0001", Acd.Api.V1.AgentState.Ready), (agent.AgentId, agent.State));

        var missing = await GrpcTestClient.Try(client.Agents.GetAgentAsync(new AgentRequest { AgentId = "nobody" }));
        Assert.Equal((StatusCode.NotFound, "unknown agent 'nobody'"), (missing.Status, missing.Message));
    }

    [Fact]
    public async Task An_unknown_method_is_unimplemented()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre());
        using var client = new GrpcTestClient(d.Grpc!);
        var fly = new Method<AgentRequest, Agent>(MethodType.Unary, "acd.v1.AgentService", "Fly", Marshallers.Create(m => m.ToByteArray(), AgentRequest.Parser.ParseFrom), Marshallers.Create(m => m.ToByteArray(), Agent.Parser.ParseFrom));
        var error = await Assert.ThrowsAsync<RpcException>(() => client.Invoker.AsyncUnaryCall(fly, null, default, new AgentRequest()).ResponseAsync);
        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
    }

    [Fact]
    public async Task A_message_over_the_size_limit_is_resource_exhausted()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(), "--Acd:Grpc:MaxReceiveMessageBytes=1024");
        using var client = new GrpcTestClient(d.Grpc!);
        var result = await GrpcTestClient.Try(client.Agents.GetAgentAsync(new AgentRequest { AgentId = new string('x', 2000) }));
        Assert.Equal(StatusCode.ResourceExhausted, result.Status);
        Assert.Contains("exceeds the maximum", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_gzip_compressed_request_is_accepted_and_answered()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1, state: "not-ready"));
        using var client = new GrpcTestClient(d.Grpc!, compression: "gzip");

        var callId = "gz-" + new string('7', 200);
        var offer = (await GrpcTestClient.Try(client.Calls.OfferAsync(new OfferRequest { CallId = callId, Caller = "13800138000" }))).Ok;
        Assert.Equal(OfferResponse.Types.Outcome.Queued, offer.Outcome);
        Assert.Equal(callId, (await d.CallAsync(callId))!.CallId);
    }

    [Fact]
    public async Task Responses_are_gzip_compressed_when_configured_and_the_client_accepts_it()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 200), "--Acd:Grpc:ResponseCompression=gzip");
        using var http = new HttpClient();
        var payload = new ListAgentsRequest().ToByteArray();
        var body = new byte[5 + payload.Length];
        payload.CopyTo(body, 5);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://{d.Grpc}/acd.v1.AgentService/ListAgents")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("grpc-accept-encoding", "gzip");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        using var response = await http.SendAsync(request);
        var bytes = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal("gzip", response.Headers.GetValues("grpc-encoding").Single());
        Assert.Equal(1, bytes[0]); // the compressed flag of the frame

        // And a standard client reads it back whole.
        using var client = new GrpcTestClient(d.Grpc!);
        Assert.Equal(200, (await GrpcTestClient.Try(client.Agents.ListAgentsAsync(new ListAgentsRequest()))).Ok.Agents.Count);
    }

    [Fact]
    public async Task Http_1_1_is_refused_on_the_grpc_port()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre());
        using var http1 = new HttpClient { DefaultRequestVersion = HttpVersion.Version11, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact, Timeout = TimeSpan.FromSeconds(10) };
        var request = new HttpRequestMessage(HttpMethod.Post, $"http://{d.Grpc}/acd.v1.AgentService/GetAgent")
        {
            Content = new ByteArrayContent(new byte[5]),
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
        using var response = await http1.SendAsync(request);

        // The port speaks HTTP/2 only: Kestrel answers an HTTP/1.1 request with 400 and closes; no gRPC status, no routing.
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(response.Headers.Contains("grpc-status"));
    }

    [Fact]
    public async Task The_ports_are_apart_metrics_not_on_the_grpc_port_and_grpc_not_on_the_http_port()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre());
        using var h2 = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var metricsOnGrpc = await h2.GetAsync(new Uri($"http://{d.Grpc}/metrics"));
        Assert.Equal(HttpStatusCode.NotFound, metricsOnGrpc.StatusCode);

        using var http = new HttpClient();
        using var content = new ByteArrayContent(new byte[5]);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
        using var grpcOnHttp = await http.PostAsync(new Uri($"http://{d.Http}/acd.v1.AgentService/GetAgent"), content);
        Assert.Equal(HttpStatusCode.NotFound, grpcOnHttp.StatusCode);
    }

    [Fact]
    public async Task A_deadline_ends_a_watch_with_deadline_exceeded()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre());
        using var client = new GrpcTestClient(d.Grpc!);
        var started = DateTime.UtcNow;
        using var watch = client.Events.Watch(new WatchRequest(), deadline: DateTime.UtcNow.AddMilliseconds(300));
        var error = await Assert.ThrowsAsync<RpcException>(() => watch.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.InRange((DateTime.UtcNow - started).TotalSeconds, 0.25, 5);
    }

    [Fact]
    public async Task With_a_token_every_method_but_health_needs_it()
    {
        const string Token = "s3cret-token-0123456789";
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(), "--api-token", Token);
        using var anonymous = new GrpcTestClient(d.Grpc!);
        Assert.Equal(StatusCode.Unauthenticated, await GrpcTestClient.StatusOf(anonymous.Agents.GetAgentAsync(new AgentRequest { AgentId = "A0001" })));
        var health = (await GrpcTestClient.Try(anonymous.Health.CheckAsync(new global::Grpc.Health.V1.HealthCheckRequest()))).Ok;
        Assert.Equal(global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, health.Status);

        using var wrong = new GrpcTestClient(d.Grpc!, "not-the-token-at-all");
        Assert.Equal(StatusCode.PermissionDenied, await GrpcTestClient.StatusOf(wrong.Agents.GetAgentAsync(new AgentRequest { AgentId = "A0001" })));

        using var right = new GrpcTestClient(d.Grpc!, Token);
        Assert.Equal(StatusCode.OK, await GrpcTestClient.StatusOf(right.Agents.GetAgentAsync(new AgentRequest { AgentId = "A0001" })));
    }

    [Fact]
    public async Task Health_follows_readiness_and_knows_each_service()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre());
        using var client = new GrpcTestClient(d.Grpc!);
        foreach (var service in new[] { string.Empty, "acd.v1.CallService", "acd.v1.EventService", "acd.v1.CallbackService" })
        {
            var status = (await GrpcTestClient.Try(client.Health.CheckAsync(new global::Grpc.Health.V1.HealthCheckRequest { Service = service }))).Ok.Status;
            Assert.Equal(global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, status);
        }

        Assert.Equal(StatusCode.NotFound, await GrpcTestClient.StatusOf(client.Health.CheckAsync(new global::Grpc.Health.V1.HealthCheckRequest { Service = "acd.v1.Nothing" })));

        // A Watch of the health sees NOT_SERVING as the daemon stops.
        using var watch = client.Health.Watch(new global::Grpc.Health.V1.HealthCheckRequest());
        Assert.True(await watch.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, watch.ResponseStream.Current.Status);
        var stopping = d.DisposeAsync().AsTask();
        Assert.True(await watch.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.NotServing, watch.ResponseStream.Current.Status);
        await stopping;
    }
}
