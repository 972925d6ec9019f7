using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Acd.Api.V1;
using Acd.Host;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Acd.Benchmarks;

/// <summary>
/// Unary acd.v1.CallService/Offer round trips per second: the daemon in this process on loopback (HTTP/2 without TLS),
/// a fresh one each iteration, 64 or 256 calls in flight from a plain HttpClient. Every call is routed (queued: its one agent
/// is not ready), so each one is a full offer: HTTP/2 stream, framing, engine hand-off, routing decision, journal
/// (group commit with fsync, when <see cref="Journal"/> is on), answer.
/// </summary>
[MemoryDiagnoser]
[InvocationCount(1)]
public class GrpcOfferBenchmarks
{
    private const int Calls = 20_000;
    private WebApplication? _app;
    private HttpClient? _http;
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
        _http = new HttpClient(new SocketsHttpHandler { EnableMultipleHttp2Connections = true })
        {
            BaseAddress = new Uri($"http://{endpoint}"),
        };
        _iteration++;
    }

    [IterationCleanup]
    public void Stop()
    {
        _http?.Dispose();
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
        var message = new OfferRequest { CallId = callId, Caller = "13800138000", ServiceNumber = "10086" };
        var payload = message.ToByteArray();
        var body = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(body, 5);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/acd.v1.CallService/Offer")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        using var response = await _http!.SendAsync(request).ConfigureAwait(false);
        var bytes = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
        var status = response.TrailingHeaders.TryGetValues("grpc-status", out var s) ? s.First() : response.Headers.GetValues("grpc-status").First();
        if (!string.Equals(status, "0", StringComparison.Ordinal) || OfferResponse.Parser.ParseFrom(bytes.AsSpan(5).ToArray()).Outcome != OfferResponse.Types.Outcome.Queued)
        {
            throw new InvalidOperationException($"offer {callId} failed with status {status}");
        }
    }
}
