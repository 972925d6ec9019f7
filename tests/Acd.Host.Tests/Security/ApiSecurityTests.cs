using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Acd.Api.V1;
using Acd.Host.Tests.Support;
using Grpc.Core;
using SipText = Acd.Host.Tests.Support.Sip;

namespace Acd.Host.Tests.Security;

/// <summary>The gRPC and HTTP ports against a stranger and a careless operator (docs/security.md).</summary>
public sealed class ApiSecurityTests
{
    private const string Token = "file-token-0123456789abcdef";

    [Fact]
    public async Task The_token_is_read_from_a_file_and_guards_grpc_metrics_and_state_but_not_health()
    {
        var directory = Directory.CreateTempSubdirectory("acd-token-").FullName;
        var file = Path.Combine(directory, "api-token");
        await File.WriteAllTextAsync(file, Token + "\n");
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(), "--api-token-file", file);

        using var anonymous = new GrpcTestClient(d.Grpc!);
        Assert.Equal(StatusCode.Unauthenticated, await GrpcTestClient.StatusOf(anonymous.Agents.GetAgentAsync(new AgentRequest { AgentId = "A0001" })));
        using var right = new GrpcTestClient(d.Grpc!, Token);
        Assert.Equal(StatusCode.OK, await GrpcTestClient.StatusOf(right.Agents.GetAgentAsync(new AgentRequest { AgentId = "A0001" })));

        using var http = new HttpClient();
        foreach (var path in new[] { "/metrics", "/state" })
        {
            var refused = await http.GetAsync(new Uri($"http://{d.Http}{path}"));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.StartsWith("Bearer", refused.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
            using var wrong = new HttpRequestMessage(HttpMethod.Get, new Uri($"http://{d.Http}{path}")) { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "not-the-token") } };
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(wrong)).StatusCode);
            using var allowed = new HttpRequestMessage(HttpMethod.Get, new Uri($"http://{d.Http}{path}")) { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", Token) } };
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(allowed)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri($"http://{d.Http}/healthz"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri($"http://{d.Http}/readyz"))).StatusCode);
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task A_token_on_the_command_line_and_an_exposed_listener_are_warned_about_at_start()
    {
        var directory = Directory.CreateTempSubdirectory("acd-warn-").FullName;
        await using var daemon = DaemonProcess.Start("--data", Path.Combine(directory, "data"), "--sip", "127.0.0.1:0", "--grpc", "0.0.0.0:0", "--http", "127.0.0.1:0", "--api-token", Token);
        await daemon.WaitListeningAsync();
        Assert.Contains(daemon.Lines, l => l.Contains("the API token was given on the command line", StringComparison.Ordinal));
        Assert.Contains(daemon.Lines, l => l.Contains("the gRPC port listens on 0.0.0.0:", StringComparison.Ordinal) && l.Contains("without TLS", StringComparison.Ordinal));
        Assert.DoesNotContain(daemon.Lines, l => l.Contains("the HTTP port listens on", StringComparison.Ordinal));
        daemon.Terminate();
        Assert.Equal(0, await daemon.WaitForExitAsync(30));
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task A_missing_or_empty_token_file_stops_the_start_naming_it()
    {
        var directory = Directory.CreateTempSubdirectory("acd-tokenfile-").FullName;
        var empty = Path.Combine(directory, "empty");
        await File.WriteAllTextAsync(empty, "\n");
        foreach (var (file, expected) in new[] { (Path.Combine(directory, "absent"), "cannot be read"), (empty, "holds no token") })
        {
            await using var daemon = DaemonProcess.Start("--data", Path.Combine(directory, "data"), "--sip", "", "--grpc", "", "--http", "", "--api-token-file", file);
            Assert.Equal(2, await daemon.WaitForExitAsync(30));
            Assert.Contains("Acd:Api:TokenFile", daemon.Output, StringComparison.Ordinal);
            Assert.Contains(expected, daemon.Output, StringComparison.Ordinal);
        }

        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task Twenty_thousand_unknown_grpc_paths_add_no_series()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre());
        using var client = new GrpcTestClient(d.Grpc!);
        var marshaller = Marshallers.Create<byte[]>(b => b, b => b);
        await Parallel.ForEachAsync(Enumerable.Range(0, 20_000), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
        {
            var method = new Method<byte[], byte[]>(MethodType.Unary, $"probe{i}.Service{i}", $"Method{i}", marshaller, marshaller);
            var error = await Assert.ThrowsAsync<RpcException>(() => client.Invoker.AsyncUnaryCall(method, null, default, []).ResponseAsync);
            Assert.True(error.StatusCode == StatusCode.Unimplemented, $"{error.StatusCode}: {error.Status.Detail} {error.Status.DebugException}");
        });

        using var http = new HttpClient();
        var m = new Exposition(await http.GetStringAsync(new Uri($"http://{d.Http}/metrics")));
        var series = m.Samples.Where(s => s.Name == "acd_grpc_requests_total").ToList();
        Assert.Equal(20_000, m.Value("acd_grpc_requests_total", "method=\"unknown\"", "code=\"UNIMPLEMENTED\""));
        Assert.Single(series);
        Assert.DoesNotContain("probe", m.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task State_hammered_by_four_clients_is_computed_at_most_once_a_second_and_routing_goes_on_as_before()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 2000, state: "ready"));
        var state = d.Services.GetRequiredService<StateEndpoint>();
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);

        async Task<double> MedianLatencyMsAsync(string prefix)
        {
            var latencies = new List<double>();
            for (var i = 0; i < 400; i++)
            {
                var watch = Stopwatch.StartNew();
                await c.SendAsync(SipText.Invite($"{prefix}-{i}"));
                await c.ReadUntilAsync(302);
                latencies.Add(watch.Elapsed.TotalMilliseconds);
                await c.SendAsync(SipText.Request("BYE", $"{prefix}-{i}", cseq: 2));
                await c.ReadUntilAsync(200);
            }

            latencies.Sort();
            return latencies[latencies.Count / 2];
        }

        await MedianLatencyMsAsync("warm");
        using var http = new HttpClient();

        // Four clients asking as fast as they can: first a trivial endpoint (the cost of the HTTP load itself on two
        // cores), then /state. Routing must not pay more for /state than for the load of any other request.
        async Task<(double Median, int Served, double Seconds)> UnderLoadAsync(string path, string prefix)
        {
            using var stop = new CancellationTokenSource();
            var served = 0;
            var started = Stopwatch.StartNew();
            var hammers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    (await http.GetAsync(new Uri($"http://{d.Http}{path}"), CancellationToken.None)).EnsureSuccessStatusCode();
                    Interlocked.Increment(ref served);
                }
            })).ToList();
            var median = await MedianLatencyMsAsync(prefix);
            await stop.CancelAsync();
            await Task.WhenAll(hammers);
            return (median, served, started.Elapsed.TotalSeconds);
        }

        var healthz = await UnderLoadAsync("/healthz", "healthz");
        var before = state.Computations;
        var hammered = await UnderLoadAsync("/state", "state");
        var computed = state.Computations - before;

        Assert.True(hammered.Served > 50 * hammered.Seconds, $"only {hammered.Served} /state answers in {hammered.Seconds:0.0} s");
        Assert.InRange(computed, 1, (int)Math.Ceiling(hammered.Seconds) + 1);
        Assert.True(hammered.Median <= (2 * healthz.Median) + 1, $"median INVITE→302 {healthz.Median:0.000} ms under /healthz, {hammered.Median:0.000} ms under /state ({hammered.Served} answers, {computed} digests)");

    }
}
