using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Acd.Api.V1;
using Acd.Host.Tests.Support;
using Grpc.Core;
using Xunit.Abstractions;

namespace Acd.Host.Tests.Security;

/// <summary>
/// Hostile peers cannot grow the daemon's memory without bound: each flood of the hardening issue, reproduced against
/// the daemon as its own process, with its resident memory (VmRSS) sampled throughout. Each test asserts the peak stays
/// within a stated bound while another client is served, and that memory comes back down once the flood ends.
/// </summary>
[Collection(MemoryMeasured.Name)]
public sealed class MemoryBoundTests(ITestOutputHelper output)
{
    private const long MiB = 1024 * 1024;

    private static async Task<(DaemonProcess Daemon, string Directory)> StartAsync(params string[] extra)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("acd-mem-").FullName;
        var config = Path.Combine(directory, "centre.json");
        await File.WriteAllTextAsync(config, TestDaemon.Centre(agents: 200, maxQueue: 100_000));
        var daemon = DaemonProcess.Start([.. new[] { "--config", config, "--data", Path.Combine(directory, "data"), "--sip", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--Acd:Journal:Fsync=false" }, .. extra]);
        await daemon.WaitListeningAsync();
        return (daemon, directory);
    }

    /// <summary>Resident memory of a process, from /proc.</summary>
    private static long Rss(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line[6..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException("no VmRSS");
    }

    /// <summary>Samples a process's resident memory every 50 ms until disposed; keeps the peak.</summary>
    private sealed class RssSampler : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public RssSampler(int pid)
        {
            Peak = Rss(pid);
            _loop = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    Peak = Math.Max(Peak, Rss(pid));
                    await Task.Delay(50).ConfigureAwait(false);
                }
            });
        }

        public long Peak { get; private set; }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            _stop.Dispose();
        }
    }

    /// <summary>
    /// Warms the daemon up — every path a flood will take, used once by well-behaved clients: SIP calls, gRPC calls,
    /// Watch streams that read, a metrics scrape — so the baseline already holds the code and pools those paths need,
    /// and returns its resident memory then.
    /// </summary>
    private static async Task<long> BaselineAsync(DaemonProcess daemon)
    {
        using (var grpc = new GrpcTestClient(daemon.Grpc!))
        {
            using var watching = new CancellationTokenSource();
            var watches = Enumerable.Range(0, 12).Select(async _ =>
            {
                using var call = grpc.Events.Watch(new WatchRequest(), cancellationToken: watching.Token);
                try
                {
                    while (await call.ResponseStream.MoveNext(watching.Token))
                    {
                    }
                }
                catch (RpcException) when (watching.IsCancellationRequested)
                {
                }
            }).ToList();
            await ServeBystanderAsync(daemon, 2, "warm");
            for (var i = 0; i < 200; i++)
            {
                await grpc.Calls.OfferAsync(new OfferRequest { CallId = $"warm-grpc-{i}", Caller = "1" });
                await grpc.Calls.AbandonAsync(new CallRequest { CallId = $"warm-grpc-{i}" });
            }

            await watching.CancelAsync();
            await Task.WhenAll(watches);
            await Exposition.ScrapeAsync(daemon.Http!);
        }

        await Task.Delay(1000);
        return Rss(daemon.Id);
    }

    /// <summary>INVITE→302 latencies of a well-behaved client, while a flood goes on, for <paramref name="seconds"/>.</summary>
    private static async Task<List<double>> ServeBystanderAsync(DaemonProcess daemon, double seconds, string prefix)
    {
        var latencies = new List<double>();
        await using var c = await SipTestClient.ConnectAsync(daemon.Sip!);
        var until = Stopwatch.StartNew();
        for (var i = 0; until.Elapsed.TotalSeconds < seconds; i++)
        {
            var sent = Stopwatch.GetTimestamp();
            await c.SendAsync(Support.Sip.Invite($"{prefix}-{i}"));
            var replies = await c.ReadUntilAsync(302, 182, 480, 503);
            latencies.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
            if (replies[^1].Status == 302)
            {
                await c.SendAsync(Support.Sip.Request("BYE", $"{prefix}-{i}", cseq: 2));
                await c.ReadUntilAsync(200, 481);
            }

            await Task.Delay(20);
        }

        return latencies;
    }

    /// <summary>A call's status if it has ended, else null.</summary>
    private static Status? TryStatus(AsyncServerStreamingCall<Event> call)
    {
        try
        {
            return call.GetStatus();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private double Median(List<double> values)
    {
        var median = values.Order().ElementAt(values.Count / 2);
        output.WriteLine($"bystander INVITE→302: {values.Count} calls, median {median:F2} ms, max {values.Max():F1} ms");
        return median;
    }

    [Fact]
    public async Task Sip_connections_that_pipeline_big_requests_and_never_read_are_closed_and_memory_stays_bounded()
    {
        var (daemon, directory) = await StartAsync();
        await using var _ = daemon;
        var baseline = await BaselineAsync(daemon);

        // Three connections send OPTIONS with a 7 KB Via as fast as they can and read nothing. Every answer echoes the
        // Via, so each connection's unread answers grow by ~7 KB a request until its pending bound (4 MiB) closes it.
        var via = "Via: SIP/2.0/TCP flood.example;branch=z9hG4bK" + new string('v', 7000) + "\r\n";
        var sampler = new RssSampler(daemon.Id);
        var floods = Enumerable.Range(0, 3).Select(async n =>
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(daemon.Sip!);
            tcp.ReceiveBufferSize = 4096; // and never read
            var stream = tcp.GetStream();
            var sent = 0;
            var deadline = Stopwatch.StartNew();
            try
            {
                while (sent < 20_000 && deadline.Elapsed < TimeSpan.FromSeconds(30))
                {
                    var request = Support.Sip.Request("OPTIONS", $"flood-{n}-{sent}", extra: via, vias: 0);
                    using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(request), limit.Token);
                    sent++;
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or SocketException)
            {
                // closed by the daemon (or held back by TCP flow control once it stopped reading)
            }

            return sent;
        }).ToList();

        var bystander = await ServeBystanderAsync(daemon, 6, "bystander");
        var sentCounts = await Task.WhenAll(floods);
        await sampler.DisposeAsync();

        var metrics = await Exposition.ScrapeAsync(daemon.Http!);
        Assert.Equal(3, metrics.Value("acd_sip_connections_closed_total", "reason=\"slow-reader\""));
        Assert.True(sentCounts.All(n => n > 100), "each flood sent: " + string.Join(", ", sentCounts));
        Assert.True(sampler.Peak - baseline < 96 * MiB, $"resident memory rose from {baseline / MiB} MiB to {sampler.Peak / MiB} MiB (3 connections, 4 MiB of pending answers each)");
        var median = Median(bystander);
        Assert.True(median < 50, $"INVITE→302 median {median:F1} ms during the flood");
        Assert.Equal(0, metrics.Value("acd_sip_pending_bytes"));

        await ExpectMemoryBackAsync(daemon, baseline, sampler.Peak);
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task A_thousand_watch_streams_that_never_read_are_capped_dropped_and_their_buffers_freed()
    {
        var (daemon, directory) = await StartAsync("--Acd:Grpc:WatchWriteTimeoutSeconds=3");
        await using var _ = daemon;
        var baseline = await BaselineAsync(daemon);
        var sampler = new RssSampler(daemon.Id);

        // 1,000 Watch calls over 10 HTTP/2 connections, none of them reading a single event.
        var clients = Enumerable.Range(0, 10).Select(_ => new GrpcTestClient(daemon.Grpc!)).ToList();
        var calls = new List<AsyncServerStreamingCall<Event>>();
        foreach (var client in clients)
        {
            for (var i = 0; i < 100; i++)
            {
                calls.Add(client.Events.Watch(new WatchRequest()));
            }
        }

        var outcomes = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var call in calls)
        {
            string outcome;
            try
            {
                await call.ResponseHeadersAsync.WaitAsync(TimeSpan.FromSeconds(20));
                outcome = TryStatus(call) is { } status ? status.StatusCode.ToString() : "watching";
            }
            catch (RpcException e)
            {
                outcome = e.StatusCode.ToString();
            }

            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }

        // A refusal's trailers may come a moment after its headers.
        await Eventually.TrueAsync(() => calls.Count(c => TryStatus(c) is { StatusCode: StatusCode.ResourceExhausted }) == 872, "872 refused: " + string.Join(", ", outcomes.Select(o => $"{o.Key}×{o.Value}")));
        Assert.Equal(128, (await Exposition.ScrapeAsync(daemon.Http!)).Value("acd_grpc_watchers")); // Acd:Grpc:MaxWatchers

        // Traffic makes events for the watchers that do not read: their buffers fill and they are dropped, while a
        // well-behaved SIP client is served.
        var bystander = await ServeBystanderAsync(daemon, 8, "during-watch");
        await sampler.DisposeAsync();
        var median = Median(bystander);
        Assert.True(median < 50, $"INVITE→302 median {median:F1} ms with 128 stuck watchers");
        Assert.True(sampler.Peak - baseline < 192 * MiB, $"resident memory rose from {baseline / MiB} MiB to {sampler.Peak / MiB} MiB");
        await Eventually.TrueAsync(async () => (await Exposition.ScrapeAsync(daemon.Http!)).Value("acd_grpc_watchers") == 0, "every stuck watcher dropped", seconds: 30);

        foreach (var call in calls)
        {
            call.Dispose();
        }

        foreach (var client in clients)
        {
            client.Dispose();
        }

        await ExpectMemoryBackAsync(daemon, baseline, sampler.Peak);
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task Unfinished_grpc_messages_are_refused_at_their_length_and_hold_no_memory()
    {
        var (daemon, directory) = await StartAsync();
        await using var _ = daemon;
        var baseline = await BaselineAsync(daemon);
        var sampler = new RssSampler(daemon.Id);

        // 4 connections, 100 streams each, each announcing a 3.9 MiB message, sending what flow control lets through
        // and never finishing it.
        var clients = Enumerable.Range(0, 4).Select(_ => new HttpClient(new SocketsHttpHandler { EnableMultipleHttp2Connections = false }) { Timeout = TimeSpan.FromSeconds(30) }).ToList();
        using var stop = new CancellationTokenSource();
        var statuses = new List<string?>();
        var requests = clients.SelectMany(client => Enumerable.Range(0, 100).Select(async i =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"http://{daemon.Grpc}/acd.v1.CallService/Offer")
            {
                Content = new UnfinishedMessage(3_900_000, stop.Token),
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
            request.Headers.TryAddWithoutValidation("TE", "trailers");
            try
            {
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                var status = response.Headers.TryGetValues("grpc-status", out var values) ? values.First() : null;
                lock (statuses)
                {
                    statuses.Add(status);
                }
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
            {
                lock (statuses)
                {
                    statuses.Add("reset: " + e.GetType().Name);
                }
            }
        })).ToList();

        var bystander = await ServeBystanderAsync(daemon, 4, "during-unfinished");
        await Task.WhenAll(requests).WaitAsync(TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await sampler.DisposeAsync();

        Assert.Equal(400, statuses.Count);
        Assert.True(statuses.Count(s => s == "8") >= 300, "RESOURCE_EXHAUSTED at the length: " + string.Join(", ", statuses.GroupBy(s => s).Select(g => $"{g.Key}×{g.Count()}")));
        Assert.True(sampler.Peak - baseline < 64 * MiB, $"resident memory rose from {baseline / MiB} MiB to {sampler.Peak / MiB} MiB");
        var median = Median(bystander);
        Assert.True(median < 50, $"INVITE→302 median {median:F1} ms");
        foreach (var client in clients)
        {
            client.Dispose();
        }

        await ExpectMemoryBackAsync(daemon, baseline, sampler.Peak);
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task A_sip_message_trickled_a_byte_at_a_time_is_cut_off_at_the_message_deadline()
    {
        var (daemon, directory) = await StartAsync("--Acd:Sip:MessageTimeoutSeconds=2", "--Acd:Sip:IdleTimeoutSeconds=60");
        await using var _ = daemon;
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(daemon.Sip!);
        var stream = tcp.GetStream();
        var message = Encoding.ASCII.GetBytes(Support.Sip.Request("OPTIONS", "trickle"));
        var started = Stopwatch.StartNew();
        var closed = false;
        for (var i = 0; i < message.Length - 1 && started.Elapsed < TimeSpan.FromSeconds(20); i++)
        {
            try
            {
                await stream.WriteAsync(message.AsMemory(i, 1));
                await Task.Delay(200);
                if (tcp.Client.Poll(0, SelectMode.SelectRead) && tcp.Available == 0)
                {
                    closed = true;
                    break;
                }
            }
            catch (IOException)
            {
                closed = true;
                break;
            }
        }

        // Every byte restarted the idle timer (60 s); the whole message had 2 s.
        Assert.True(closed, "the trickling connection should have been closed");
        Assert.InRange(started.Elapsed.TotalSeconds, 1.8, 8);
        var metrics = await Exposition.ScrapeAsync(daemon.Http!);
        Assert.Equal(1, metrics.Value("acd_sip_connections_closed_total", "reason=\"message-timeout\""));

        // A message sent whole is untouched by the deadline, however long the connection lives.
        await using var c = await SipTestClient.ConnectAsync(daemon.Sip!);
        for (var i = 0; i < 4; i++)
        {
            await c.SendAsync(Support.Sip.Request("OPTIONS", $"steady-{i}"));
            Assert.Equal(200, (await c.ReadAsync()).Status);
            await Task.Delay(800);
        }

        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task One_address_cannot_take_every_sip_connection()
    {
        var (daemon, directory) = await StartAsync("--Acd:Sip:MaxConnectionsPerSource=5");
        await using var _ = daemon;
        var held = new List<SipTestClient>();
        for (var i = 0; i < 5; i++)
        {
            var c = await SipTestClient.ConnectAsync(daemon.Sip!, IPAddress.Parse("127.0.0.2"));
            await c.SendAsync(Support.Sip.Request("OPTIONS", $"held-{i}"));
            Assert.Equal(200, (await c.ReadAsync()).Status);
            held.Add(c);
        }

        await using (var sixth = await SipTestClient.ConnectAsync(daemon.Sip!, IPAddress.Parse("127.0.0.2")))
        {
            Assert.True(await sixth.ClosedAsync(5), "the sixth connection from one address is closed at once");
        }

        // Another address is served; closing one of the five makes room again.
        await using (var other = await SipTestClient.ConnectAsync(daemon.Sip!, IPAddress.Parse("127.0.0.3")))
        {
            await other.SendAsync(Support.Sip.Request("OPTIONS", "other"));
            Assert.Equal(200, (await other.ReadAsync()).Status);
        }

        await held[0].DisposeAsync();
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                // Until the daemon has seen the close, a new connection is still the sixth: refused, perhaps while connecting.
                await using var again = await SipTestClient.ConnectAsync(daemon.Sip!, IPAddress.Parse("127.0.0.2"));
                await again.SendAsync(Support.Sip.Request("OPTIONS", "again"));
                return (await again.ReadAsync(2)).Status == 200;
            }
            catch (Exception e) when (e is EndOfStreamException or IOException or OperationCanceledException or System.Net.Sockets.SocketException)
            {
                return false;
            }
        }, "a freed place is taken");

        var metrics = await Exposition.ScrapeAsync(daemon.Http!);
        Assert.True(metrics.Value("acd_sip_connections_closed_total", "reason=\"refused-per-source\"") >= 1);
        foreach (var c in held.Skip(1))
        {
            await c.DisposeAsync();
        }

        Directory.Delete(directory, recursive: true);
    }

    /// <summary>After a flood: memory comes back down — under the peak, and within 48 MiB of the baseline — within 30 s of ordinary traffic.</summary>
    private async Task ExpectMemoryBackAsync(DaemonProcess daemon, long baseline, long peak)
    {
        var deadline = Stopwatch.StartNew();
        long now;
        do
        {
            await ServeBystanderAsync(daemon, 1, $"after-{deadline.ElapsedMilliseconds}");
            now = Rss(daemon.Id);
        }
        while (now - baseline >= 48 * MiB && deadline.Elapsed < TimeSpan.FromSeconds(30));

        var metrics = await Exposition.ScrapeAsync(daemon.Http!);
        output.WriteLine($"resident memory: baseline {baseline / MiB} MiB, peak {peak / MiB} MiB, after {now / MiB} MiB ({deadline.Elapsed.TotalSeconds:F0} s after the flood)");
        Assert.True(
            now - baseline < 48 * MiB && now <= Math.Max(peak, baseline + 48 * MiB),
            $"resident memory {now / MiB} MiB after the flood (baseline {baseline / MiB} MiB, peak {peak / MiB} MiB; managed heap {metrics.Value("dotnet_total_memory_bytes") / MiB:F0} MiB; {string.Join(" | ", daemon.Lines.Where(l => l.Contains("released", StringComparison.Ordinal)))}; {string.Join(" | ", metrics.Samples.Where(m => m.Name.Contains("committed", StringComparison.Ordinal) || m.Name.Contains("thread", StringComparison.Ordinal) || m.Name.Contains("heap", StringComparison.Ordinal)).Select(m => $"{m.Name}{{{m.Labels}}}={m.Value}"))})");
    }

    /// <summary>A gRPC request body announcing a message of <c>length</c> bytes, of which it sends a part, then waits until cancelled.</summary>
    private sealed class UnfinishedMessage(int length, CancellationToken stop) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            // Cancelled by the test's end, or by the client once the server has answered and reset the stream.
            using var both = CancellationTokenSource.CreateLinkedTokenSource(stop, cancellationToken);
            var header = new byte[5];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(1), (uint)length);
            try
            {
                await stream.WriteAsync(header, both.Token);
                await stream.WriteAsync(new byte[60_000], both.Token);
                await stream.FlushAsync(both.Token);
                await Task.Delay(Timeout.Infinite, both.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
            {
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}
