using System.Globalization;
using Acd.Api.V1;
using Grpc.Core;
using Acd.Host.Tests.Support;
using SipText = Acd.Host.Tests.Support.Sip;

namespace Acd.Host.Tests.Durability;

/// <summary>
/// The daemon as a separate process under SIP and gRPC load, killed with SIGKILL at random moments and restarted on
/// the same data directory, again and again. The drill keeps what the daemon acknowledged — calls answered 182 or
/// QUEUED, hang-ups answered 200/OK (each owing a callback), agent states answered OK — and after every restart checks
/// that all of it is there, waiting calls in their order, and that nothing it was never told about appears. What was
/// in flight at the kill may have happened or not; the drill reads which, and carries on from there.
/// </summary>
public sealed class CrashDrill(string directory, int seed)
{
    private const string Centre = """
        { "Acd": { "Name": "dur",
          "Repeat": { "Enabled": false }, "Ownership": { "Enabled": false },
          "Callbacks": { "MinAbandonWaitSeconds": 0, "SkillAgentsDial": false },
          "DetachGraceSeconds": 3600,
          "Skills": [ { "Name": "general", "MaxWaitSeconds": 3600, "WrapUpSeconds": 0, "MaxQueueLength": 100000 }, { "Name": "other" } ],
          "Agents": [
            { "Id": "G1", "Skills": { "general": 5 }, "InitialState": "not-ready" },
            { "Id": "A1", "Skills": { "other": 5 }, "InitialState": "ready" },
            { "Id": "A2", "Skills": { "other": 5 }, "InitialState": "ready" },
            { "Id": "A3", "Skills": { "other": 5 }, "InitialState": "ready" },
            { "Id": "A4", "Skills": { "other": 5 }, "InitialState": "ready" } ],
          "Journal": { "SnapshotEveryRecords": 1000, "SegmentMegabytes": 2 } } }
        """;

    private static readonly (Acd.Api.V1.AgentState State, string Reason)[] States =
    [
        (Acd.Api.V1.AgentState.Ready, string.Empty), (Acd.Api.V1.AgentState.NotReady, "lunch"), (Acd.Api.V1.AgentState.NotReady, "training"), (Acd.Api.V1.AgentState.Standby, string.Empty),
    ];

    private readonly Random _rng = new(seed);

    // What the daemon acknowledged. Waiting calls in the order their offers were acknowledged (one offering task each way).
    private readonly List<string> _grpcWaiting = [];
    private readonly List<string> _sipWaiting = [];
    private readonly ConcurrentSet _hungUp = new();
    private readonly ConcurrentSet _hungUpSinceCheck = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _how = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _callerOf = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (Acd.Api.V1.AgentState State, string Reason)> _agents = new(StringComparer.Ordinal);

    // Sent, not answered when the daemon died.
    private readonly ConcurrentSet _offersInFlight = new();
    private readonly ConcurrentSet _hangUpsInFlight = new();
    private readonly HashSet<string> _agentsInFlight = new(StringComparer.Ordinal);
    private int _next;

    /// <summary>Acknowledged facts checked after restarts.</summary>
    public int Checked { get; private set; }

    /// <summary>Restarts survived.</summary>
    public int Kills { get; private set; }

    public string Log { get; private set; } = string.Empty;

    /// <summary>Runs <paramref name="kills"/> kill-and-restart rounds, then a graceful stop and a last restart.</summary>
    public async Task RunAsync(int kills)
    {
        var config = Path.Combine(directory, "centre.json");
        await File.WriteAllTextAsync(config, Centre);
        string[] args = ["--config", config, "--data", Path.Combine(directory, "data"), "--sip", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"];
        for (var round = 0; round < kills; round++)
        {
            await using var daemon = DaemonProcess.Start(args);
            await daemon.WaitListeningAsync();
            await VerifyAsync(daemon, round);
            using var stop = new CancellationTokenSource();
            var load = Task.WhenAll(OfferOverGrpcAsync(daemon, stop.Token), OfferOverSipAsync(daemon, stop.Token), ChangeAgentsAsync(daemon, stop.Token));
            await Task.Delay(_rng.Next(150, 700));
            daemon.KillHard();
            stop.Cancel();
            await load;
            Kills++;
            Log = daemon.Output;
        }

        await using (var daemon = DaemonProcess.Start(args))
        {
            await daemon.WaitListeningAsync();
            await VerifyAsync(daemon, kills);
            daemon.Terminate();
            var code = await daemon.WaitForExitAsync(30);
            Assert.True(code == 0, $"exit code {code} after SIGTERM:\n{daemon.Output}");
        }

        await using (var daemon = DaemonProcess.Start(args))
        {
            await daemon.WaitListeningAsync();
            await VerifyAsync(daemon, kills + 1);
            daemon.Terminate();
            var code = await daemon.WaitForExitAsync(30);
            Assert.True(code == 0, $"exit code {code} after SIGTERM:\n{daemon.Output}");
        }
    }

    /// <summary>
    /// Enough calls wait: new offers pause (gRPC callers keep hanging up), so each restart's check stays quick however
    /// many rounds the drill runs (every waiting call is read back after every restart).
    /// </summary>
    private bool Full => _grpcWaiting.Count + _sipWaiting.Count >= 3000;

    private string NewCall(string kind)
    {
        // Offers come from several tasks at once: each call takes its own number, and its caller is unique with it
        // (two calls of one caller would owe one merged callback, not two).
        var n = Interlocked.Increment(ref _next);
        var id = string.Create(CultureInfo.InvariantCulture, $"{kind}-{seed}-{n}");
        lock (_callerOf)
        {
            _callerOf[id] = string.Create(CultureInfo.InvariantCulture, $"139{seed:D5}{n:D6}");
        }

        return id;
    }

    private string CallerOf(string id)
    {
        lock (_callerOf)
        {
            return _callerOf[id];
        }
    }

    private async Task OfferOverGrpcAsync(DaemonProcess daemon, CancellationToken stop)
    {
        using var grpc = new GrpcTestClient(daemon.Grpc!);
        var rng = new Random(_rng.Next());
        while (!stop.IsCancellationRequested)
        {
            if (_grpcWaiting.Count > 3 && (rng.Next(5) == 0 || Full))
            {
                var victim = _grpcWaiting[rng.Next(_grpcWaiting.Count)];
                _hangUpsInFlight.Add(victim);
                if (!await TryAsync(() => grpc.Calls.AbandonAsync(new CallRequest { CallId = victim }), r => r.Status == StatusCode.OK))
                {
                    return;
                }

                _hangUpsInFlight.Remove(victim);
                _grpcWaiting.Remove(victim);
                _hungUp.Add(victim);
                _hungUpSinceCheck.Add(victim);
                _how[victim] = $"gRPC Abandon OK in round {Kills}";
                if (Full)
                {
                    await Task.Delay(5, CancellationToken.None);
                }
                continue;
            }

            if (Full)
            {
                await Task.Delay(5, CancellationToken.None);
                continue;
            }

            var id = NewCall("g");
            _offersInFlight.Add(id);
            if (!await TryAsync(() => grpc.Calls.OfferAsync(new OfferRequest { CallId = id, Caller = CallerOf(id) }), r => r.Ok.Outcome == OfferResponse.Types.Outcome.Queued))
            {
                return;
            }

            _offersInFlight.Remove(id);
            _grpcWaiting.Add(id);
        }
    }

    private async Task OfferOverSipAsync(DaemonProcess daemon, CancellationToken stop)
    {
        SipTestClient sip;
        try
        {
            sip = await SipTestClient.ConnectAsync(daemon.Sip!);
        }
        catch (System.Net.Sockets.SocketException)
        {
            return;
        }

        await using (sip)
        {
            var rng = new Random(_rng.Next());
            var mine = new List<string>();
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    if (mine.Count > 3 && rng.Next(5) == 0)
                    {
                        // Only calls offered on this connection can be cancelled on it.
                        var victim = mine[rng.Next(mine.Count)];
                        _hangUpsInFlight.Add(victim);
                        await sip.SendAsync(SipText.Request("CANCEL", victim, from: CallerOf(victim)));
                        var answers = await sip.ReadUntilAsync(200);
                        Assert.Equal(200, answers[^1].Status);
                        _hangUpsInFlight.Remove(victim);
                        mine.Remove(victim);
                        _sipWaiting.Remove(victim);
                        _hungUp.Add(victim);
                        _hungUpSinceCheck.Add(victim);
                        _how[victim] = $"SIP CANCEL answered {answers[^1].Status} in round {Kills} ({string.Join(",", answers.Select(a => a.Status))})";
                        continue;
                    }

                    if (Full)
                    {
                        await Task.Delay(5, CancellationToken.None);
                        continue;
                    }

                    var id = NewCall("s");
                    _offersInFlight.Add(id);
                    await sip.SendAsync(SipText.Invite(id, from: CallerOf(id)));
                    var replies = await sip.ReadUntilAsync(182);
                    Assert.Equal(182, replies[^1].Status);
                    _offersInFlight.Remove(id);
                    _sipWaiting.Add(id);
                    mine.Add(id);
                }
                catch (Exception e) when (e is IOException or OperationCanceledException or InvalidOperationException or System.Net.Sockets.SocketException)
                {
                    return; // the daemon died with this request unanswered
                }
            }
        }
    }

    private async Task ChangeAgentsAsync(DaemonProcess daemon, CancellationToken stop)
    {
        using var grpc = new GrpcTestClient(daemon.Grpc!);
        var rng = new Random(_rng.Next());
        while (!stop.IsCancellationRequested)
        {
            var agent = $"A{rng.Next(1, 5)}";
            var (state, reason) = States[rng.Next(States.Length)];
            _agentsInFlight.Add(agent);
            if (!await TryAsync(() => grpc.Agents.SetStateAsync(new SetStateRequest { AgentId = agent, State = state, Reason = reason }), r => r.Status == StatusCode.OK))
            {
                return;
            }

            _agentsInFlight.Remove(agent);
            _agents[agent] = (state, reason);
            await Task.Delay(rng.Next(1, 10), CancellationToken.None);
        }
    }

    /// <summary>Runs a request; false when the daemon died before answering (the request stays in flight).</summary>
    private static async Task<bool> TryAsync<T>(Func<AsyncUnaryCall<T>> call, Func<GrpcResult<T>, bool> acknowledged)
    {
        var result = await GrpcTestClient.Try(call());
        if (result.Status is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Cancelled)
        {
            return false;
        }

        Assert.True(acknowledged(result), $"unexpected answer {result.Status} {result.Message}");
        return true;
    }

    /// <summary>Everything acknowledged is there; what was in flight is resolved one way or the other; nothing else exists.</summary>
    private async Task VerifyAsync(DaemonProcess daemon, int round)
    {
        using var grpc = new GrpcTestClient(daemon.Grpc!);
        async Task<Acd.Api.V1.Call?> Get(string id)
        {
            var r = await GrpcTestClient.Try(grpc.Calls.GetCallAsync(new CallRequest { CallId = id }));
            return r.Status == StatusCode.NotFound ? null : r.Ok;
        }

        // Calls whose offer was in flight: if they exist, they are waiting, and join the model as the newest of their kind.
        foreach (var id in _offersInFlight.Items.OrderBy(x => int.Parse(x.AsSpan(x.LastIndexOf('-') + 1), CultureInfo.InvariantCulture)))
        {
            if (await Get(id) is { } call)
            {
                Assert.Equal(Acd.Api.V1.CallState.Queued, call.State);
                (id[0] == 'g' ? _grpcWaiting : _sipWaiting).Add(id);
            }
        }

        _offersInFlight.Clear();
        foreach (var id in _hangUpsInFlight.Items)
        {
            if (await Get(id) is null)
            {
                _grpcWaiting.Remove(id);
                _sipWaiting.Remove(id);
                _hungUp.Add(id);
                _hungUpSinceCheck.Add(id);
                _how[id] = $"hang-up in flight at kill {round}, found gone";
            }
        }

        _hangUpsInFlight.Clear();

        // Acknowledged waiting calls: all there; over gRPC in the order they were acknowledged; over SIP in the queue,
        // not held: their connection died with the old process, but their answer route is journaled, so their INVITEs
        // will be answered over a new connection to the proxy.
        var previous = 0;
        foreach (var id in _grpcWaiting)
        {
            var call = await Get(id);
            Assert.True(call is not null, $"round {round}: acknowledged call {id} is lost");
            Assert.Equal(Acd.Api.V1.CallState.Queued, call.State);
            Assert.True(call.Position > previous, $"round {round}: call {id} at position {call.Position}, after one at {previous}");
            previous = call.Position;
            Checked++;
        }

        foreach (var id in _sipWaiting)
        {
            var call = await Get(id);
            Assert.True(call is not null, $"round {round}: acknowledged SIP call {id} is lost");
            Assert.True(call.State == Acd.Api.V1.CallState.Queued && !call.Held, $"round {round}: SIP call {id} is {call.State}, held {call.Held}");
            Checked++;
        }

        // Calls hung up since the last check are gone (older ones were checked then; the queue count below would see
        // any call coming back).
        foreach (var id in _hungUpSinceCheck.Items)
        {
            Assert.Null(await Get(id));
        }

        // Nothing invented: the queue holds exactly the waiting calls the drill knows, and the callbacks are exactly those owed.
        var queue = (await GrpcTestClient.Try(grpc.Queues.GetQueueAsync(new QueueRequest { Skill = "general" }))).Ok;
        Assert.Equal(_grpcWaiting.Count + _sipWaiting.Count, queue.Waiting);
        var callbacks = new ListCallbacksResponse();
        var token = string.Empty;
        do
        {
            var page = (await GrpcTestClient.Try(grpc.Callbacks.ListCallbacksAsync(new ListCallbacksRequest { PageToken = token }))).Ok;
            callbacks.Callbacks.AddRange(page.Callbacks);
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        var owed = _hungUp.Items.ToDictionary(CallerOf, id => id, StringComparer.Ordinal);
        var listed = callbacks.Callbacks.Select(c => c.Caller).ToHashSet(StringComparer.Ordinal);
        var missing = owed.Where(o => !listed.Contains(o.Key)).Select(o => $"{o.Value} (caller {o.Key}; {_how.GetValueOrDefault(o.Value, "?")})").ToList();
        var extra = listed.Where(c => !owed.ContainsKey(c)).ToList();
        Assert.True(
            missing.Count == 0 && extra.Count == 0 && listed.Count == callbacks.Callbacks.Count,
            $"round {round}: callbacks missing for {string.Join(", ", missing)}; callbacks never owed for callers {string.Join(", ", extra)}; {callbacks.Callbacks.Count} listed\n--- this daemon:\n{daemon.Output}\n--- the one killed before:\n{Log}");
        Checked += _hungUp.Count;
        _hungUpSinceCheck.Clear();

        // Agents: as last acknowledged; one whose change was in flight is as it is.
        foreach (var agent in new[] { "A1", "A2", "A3", "A4" })
        {
            var now = (await GrpcTestClient.Try(grpc.Agents.GetAgentAsync(new AgentRequest { AgentId = agent }))).Ok;
            if (_agentsInFlight.Contains(agent) || !_agents.TryGetValue(agent, out var expected))
            {
                _agents[agent] = (now.State, now.Reason);
                continue;
            }

            Assert.True((expected.State, expected.Reason) == (now.State, now.Reason), $"round {round}: agent {agent} is {now.State} '{now.Reason}', acknowledged {expected.State} '{expected.Reason}'");
            Checked++;
        }

        _agentsInFlight.Clear();
    }

    /// <summary>A set several tasks add to and remove from.</summary>
    private sealed class ConcurrentSet
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _items = new(StringComparer.Ordinal);

        public int Count => _items.Count;

        public IReadOnlyList<string> Items => [.. _items.Keys];

        public void Add(string id) => _items[id] = 0;

        public void Remove(string id) => _items.TryRemove(id, out _);

        public void Clear() => _items.Clear();
    }
}
