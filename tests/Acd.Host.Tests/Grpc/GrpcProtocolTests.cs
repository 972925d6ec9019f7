using System.Net;
using Acd.Api.V1;
using Acd.Host.Grpc;
using Acd.Host.Tests.Support;

namespace Acd.Host.Tests.Grpc;

/// <summary>The gRPC wire protocol's edges, with a real HTTP/2 client.</summary>
public sealed class GrpcProtocolTests
{
    [Fact]
    public async Task A_unary_call_returns_one_message_and_ok_in_the_trailers()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 2));
        using var client = new GrpcTestClient(d.Grpc!);
        var result = await client.UnaryAsync("/acd.v1.AgentService/GetAgent", new AgentRequest { AgentId = "A0001" }, Agent.Parser);
        Assert.Equal(GrpcStatus.Ok, result.Status);
        Assert.False(result.TrailersOnly);
        Assert.Equal(("A0001", Acd.Api.V1.AgentState.Ready), (result.Response!.AgentId, result.Response.State));
        Assert.Equal("application/grpc", result.Http.Content.Headers.ContentType!.MediaType);
        Assert.Equal(HttpStatusCode.OK, result.Http.StatusCode);
    }

    [Fact]
    public async Task An_error_before_any_message_is_a_trailers_only_response()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 2));
        using var client = new GrpcTestClient(d.Grpc!);
        var result = await client.UnaryAsync("/acd.v1.AgentService/GetAgent", new AgentRequest { AgentId = "nobody" }, Agent.Parser);
        Assert.Equal(GrpcStatus.NotFound, result.Status);
        Assert.True(result.TrailersOnly);
        Assert.Equal("unknown agent 'nobody'", result.Message);
    }

    [Fact]
    public async Task An_unknown_method_is_unimplemented()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre());
        using var client = new GrpcTestClient(d.Grpc!);
        var result = await client.UnaryAsync("/acd.v1.AgentService/Fly", new AgentRequest(), Agent.Parser);
        Assert.Equal((GrpcStatus.Unimplemented, true), (result.Status, result.TrailersOnly));
        Assert.Contains("/acd.v1.AgentService/Fly", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_message_over_the_size_limit_is_resource_exhausted()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(), "--Acd:Grpc:MaxMessageBytes=1024");
        using var client = new GrpcTestClient(d.Grpc!);
        var result = await client.UnaryAsync("/acd.v1.AgentService/GetAgent", new AgentRequest { AgentId = new string('x', 2000) }, Agent.Parser);
        Assert.Equal(GrpcStatus.ResourceExhausted, result.Status);
        Assert.Contains("over the limit of 1024", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_compressed_message_is_unimplemented_and_an_unknown_encoding_too()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre());
        using var client = new GrpcTestClient(d.Grpc!);
        var (compressed, _) = await client.CallAsync(client.Request("/acd.v1.AgentService/GetAgent", GrpcTestClient.Frame(new AgentRequest { AgentId = "A0001" }, flag: 1)), Agent.Parser);
        Assert.Equal(GrpcStatus.Unimplemented, compressed.Status);

        var request = client.Request("/acd.v1.AgentService/GetAgent", GrpcTestClient.Frame(new AgentRequest { AgentId = "A0001" }));
        request.Headers.TryAddWithoutValidation("grpc-encoding", "gzip");
        var (gzip, _) = await client.CallAsync(request, Agent.Parser);
        Assert.Equal(GrpcStatus.Unimplemented, gzip.Status);
        Assert.Equal("identity", gzip.Http.Headers.GetValues("grpc-accept-encoding").Single());
    }

    [Fact]
    public async Task A_request_that_is_not_grpc_is_refused_with_415()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre());
        using var client = new GrpcTestClient(d.Grpc!);
        var response = await client.SendAsync(client.Request("/acd.v1.AgentService/GetAgent", [1, 2, 3], contentType: "application/json"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.False(response.Headers.Contains("grpc-status"));
    }

    [Fact]
    public async Task Http_1_1_is_refused_on_the_grpc_port()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre());
        using var http1 = new HttpClient { DefaultRequestVersion = HttpVersion.Version11, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact, Timeout = TimeSpan.FromSeconds(10) };
        var request = new HttpRequestMessage(HttpMethod.Post, $"http://{d.Grpc}/acd.v1.AgentService/GetAgent")
        {
            Content = new ByteArrayContent(GrpcTestClient.Frame(new AgentRequest { AgentId = "A0001" })),
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
        using var response = await http1.SendAsync(request);

        // The port speaks HTTP/2 only: Kestrel answers an HTTP/1.1 request with 400 and closes; no gRPC status, no routing.
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(new Version(1, 1), response.Version);
        Assert.False(response.Headers.Contains("grpc-status"));
    }

    [Fact]
    public async Task A_request_without_a_message_or_with_two_is_refused()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre());
        using var client = new GrpcTestClient(d.Grpc!);
        var (none, _) = await client.CallAsync(client.Request("/acd.v1.AgentService/GetAgent", []), Agent.Parser);
        Assert.Equal(GrpcStatus.Internal, none.Status);
        var two = GrpcTestClient.Frame(new AgentRequest { AgentId = "A0001" }).Concat(GrpcTestClient.Frame(new AgentRequest { AgentId = "A0002" })).ToArray();
        var (twice, _) = await client.CallAsync(client.Request("/acd.v1.AgentService/GetAgent", two), Agent.Parser);
        Assert.Equal(GrpcStatus.Unimplemented, twice.Status);
        var (garbage, _) = await client.CallAsync(client.Request("/acd.v1.AgentService/GetAgent", [0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF]), Agent.Parser);
        Assert.Equal(GrpcStatus.Internal, garbage.Status);
    }

    [Fact]
    public async Task A_deadline_ends_a_watch_with_deadline_exceeded()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre());
        using var client = new GrpcTestClient(d.Grpc!);
        var started = DateTime.UtcNow;
        var (result, _) = await client.CallAsync(client.Request("/acd.v1.EventService/Watch", GrpcTestClient.Frame(new WatchRequest()), timeout: "300m"), Event.Parser);
        Assert.Equal(GrpcStatus.DeadlineExceeded, result.Status);
        Assert.InRange((DateTime.UtcNow - started).TotalSeconds, 0.25, 5);

        var (malformed, _) = await client.CallAsync(client.Request("/acd.v1.EventService/Watch", GrpcTestClient.Frame(new WatchRequest()), timeout: "soon"), Event.Parser);
        Assert.Equal(GrpcStatus.InvalidArgument, malformed.Status);
    }

    [Fact]
    public async Task With_a_token_every_method_but_health_needs_it()
    {
        const string Token = "s3cret-token-0123456789";
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(), "--api-token", Token);
        using var anonymous = new GrpcTestClient(d.Grpc!);
        Assert.Equal(GrpcStatus.Unauthenticated, (await anonymous.UnaryAsync("/acd.v1.AgentService/GetAgent", new AgentRequest { AgentId = "A0001" }, Agent.Parser)).Status);
        var health = await anonymous.UnaryAsync("/grpc.health.v1.Health/Check", new global::Grpc.Health.V1.HealthCheckRequest(), global::Grpc.Health.V1.HealthCheckResponse.Parser);
        Assert.Equal(global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, health.Ok.Status);

        using var wrong = new GrpcTestClient(d.Grpc!, "not-the-token-at-all");
        Assert.Equal(GrpcStatus.PermissionDenied, (await wrong.UnaryAsync("/acd.v1.AgentService/GetAgent", new AgentRequest { AgentId = "A0001" }, Agent.Parser)).Status);

        using var right = new GrpcTestClient(d.Grpc!, Token);
        Assert.Equal(GrpcStatus.Ok, (await right.UnaryAsync("/acd.v1.AgentService/GetAgent", new AgentRequest { AgentId = "A0001" }, Agent.Parser)).Status);
    }

    [Theory]
    [InlineData("plain text", "plain text")]
    [InlineData("100% sure", "100%25 sure")]
    [InlineData("agent '工号7' busy\n", "agent '%E5%B7%A5%E5%8F%B77' busy%0A")]
    public void Status_messages_are_percent_encoded(string message, string encoded)
    {
        Assert.Equal(encoded, GrpcMessageEncoding.Encode(message));
        Assert.Equal(message, GrpcMessageEncoding.Decode(encoded));
    }

    [Theory]
    [InlineData("1H", 3600_000)]
    [InlineData("2M", 120_000)]
    [InlineData("3S", 3000)]
    [InlineData("250m", 250)]
    [InlineData("5000u", 5)]
    [InlineData("7000000n", 7)]
    public void Timeouts_are_read_in_every_unit(string text, double milliseconds)
    {
        Assert.True(GrpcTimeout.TryParse(text, out var timeout));
        Assert.Equal(milliseconds, timeout.TotalMilliseconds);
        Assert.False(GrpcTimeout.TryParse("123456789S", out _));
        Assert.False(GrpcTimeout.TryParse("10x", out _));
    }
}
