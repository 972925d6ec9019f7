using Acd.Api.V1;
using Acd.Host;
using BenchmarkDotNet.Attributes;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Acd.Benchmarks;

/// <summary>
/// Unary acd.v1.CallService/Offer round trips per second: the daemon in this process on loopback (HTTP/2 without TLS),
/// a fresh one each iteration, 64 or 256 calls in flight from the generated client on a Grpc.Net.Client channel. Every call is routed (queued: its one agent
/// is not ready), so each one is a full offer: HTTP/2 stream, framing, engine hand-off, routing decision, journal
/// (group commit with fsync, when <see cref="Journal"/> is on), answer.
/// </summary>
[MemoryDiagnoser]
[InvocationCount(1)]
public class GrpcOfferBenchmarks
{
    private const int Calls = 20_000;
    private WebApplication? _app;
    private GrpcChannel? _channel;
    private CallService.CallServiceClient? _calls;
    private string _directory = string.Empty;
    private int _iteration;

    /// <summary>Calls in flight at once (the clients' concurrency).</summary>
    [Params(64, 256)]
    public int InFlight { get; set; }

    /// <summary>Whether the journal is on (every answer waits for its group commit to reach the disk).</summary>
    [Params(false, true)]
    public bool Journal { get; set; }

    [IterationSetup]
    public void Start()
    {
        _directory = Directory.CreateTempSubdirectory("acd-bench-").FullName;
        var config = Path.Combine(_directory, "centre.json");
        File.WriteAllText(config, """
            { "Acd": { "Name": "bench", "MaxLiveCalls": 1000000,
              "Skills": [ { "Name": "general", "MaxQueueLength": 1000000, "MaxWaitSeconds": 86400 } ],
              "Agents": [ { "Id": "A1", "Skills": { "general": 5 }, "InitialState": "not-ready" } ] } }
            """);
        _app = AcdProgram.Build(["--config", config, "--sip", "", "--http", "", "--grpc", "127.0.0.1:0", "--data", Path.Combine(_directory, "data"), "--Logging:LogLevel:Default=Warning", $"--Acd:Journal:Enabled={Journal}"]);
        _app.StartAsync().GetAwaiter().GetResult();
        var endpoint = _app.Services.GetRequiredService<ListenerRegistry>().Address("grpc")!;
        _channel = GrpcChannel.ForAddress($"http://{endpoint}", new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true } });
        _calls = new CallService.CallServiceClient(_channel);
        _iteration++;
    }

    [IterationCleanup]
    public void Stop()
    {
        _channel?.Dispose();
        _app?.StopAsync().GetAwaiter().GetResult();
        _app?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = Calls)]
    public async Task Offer()
    {
        var next = -1;
        var workers = Enumerable.Range(0, InFlight).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < Calls)
            {
                await OfferOneAsync($"bench-{_iteration}-{i}").ConfigureAwait(false);
            }
        });
        await Task.WhenAll(workers).ConfigureAwait(false);
    }

    private async Task OfferOneAsync(string callId)
    {
        var response = await _calls!.OfferAsync(new OfferRequest { CallId = callId, Caller = "13800138000", ServiceNumber = "10086" }).ConfigureAwait(false);
        if (response.Outcome != OfferResponse.Types.Outcome.Queued)
        {
            throw new InvalidOperationException($"offer {callId}: {response.Outcome}");
        }
    }
}
