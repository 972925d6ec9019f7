using System.Diagnostics;
using System.Globalization;
using Acd.Api.V1;
using Acd.Core.Statistics;
using HdrHistogram;

namespace Acd.LoadGen;

/// <summary>What every mode shares: connections, progress, counts, the daemon's figures.</summary>
internal abstract class Run(Options o) : ICallScript
{
    protected Options O { get; } = o;

    protected List<SipConnection> Connections { get; } = [];

    protected Timers Timers { get; } = new();

    protected Stopwatch Clock { get; } = new();

    public virtual bool KeepWaits => false;

    public virtual long TalkMs(int seat) => 0;

    public virtual long PatienceMs(int seat) => 0;

    protected static string F(double v, int decimals = 0) => v.ToString("N" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    protected void Open(int slotsPerConnection)
    {
        var run = "lg" + Convert.ToHexString(BitConverter.GetBytes(Environment.TickCount64 ^ O.Seed))[..8].ToLowerInvariant();
        for (var i = 0; i < O.Connections; i++)
        {
            Connections.Add(SipConnection.Open(O.Sip, i, run, slotsPerConnection, this, Timers));
        }
    }

    protected async Task CloseAsync()
    {
        Timers.Dispose();
        foreach (var c in Connections)
        {
            await c.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Waits until no call is in flight (or the time is up); returns the calls still in flight.</summary>
    protected async Task<int> DrainAsync(TimeSpan limit)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        while (Connections.Sum(c => c.InFlight) > 0 && Stopwatch.GetTimestamp() < deadline && !Connections.Any(c => c.ProtocolErrors > 0 && c.Closed))
        {
            await Task.Delay(20).ConfigureAwait(false);
        }

        return Connections.Sum(c => c.InFlight);
    }

    protected SeatCounts[] Totals()
    {
        var totals = Seats.Names.Select(_ => new SeatCounts()).ToArray();
        foreach (var c in Connections)
        {
            for (var i = 0; i < totals.Length; i++)
            {
                totals[i].Add(c.Counts[i]);
            }
        }

        return totals;
    }

    protected long ProtocolErrors => Connections.Sum(c => Interlocked.Read(ref c.ProtocolErrors));

    protected List<string> Problems => [.. Connections.SelectMany(c => c.Problems).Take(10)];

    protected long Completed => Connections.Sum(c => Interlocked.Read(ref c.Completed));

    protected void Progress(string line)
    {
        if (O.Quiet)
        {
            return;
        }

        if (Console.IsErrorRedirected)
        {
            Console.Error.WriteLine(line);
        }
        else
        {
            Console.Error.Write("\r" + line.PadRight(Math.Max(line.Length, 110)));
        }
    }

    protected void EndProgress()
    {
        if (!O.Quiet && !Console.IsErrorRedirected)
        {
            Console.Error.WriteLine();
        }
    }

    protected static Dictionary<string, object?> LatencyJson(LongHistogram h) => new(StringComparer.Ordinal)
    {
        ["count"] = h.TotalCount,
        ["p50Micros"] = h.GetValueAtPercentile(50),
        ["p90Micros"] = h.GetValueAtPercentile(90),
        ["p99Micros"] = h.GetValueAtPercentile(99),
        ["p999Micros"] = h.GetValueAtPercentile(99.9),
        ["maxMicros"] = h.GetMaxValue(),
    };

    protected static string Ms(long micros) => (micros / 1000.0).ToString("0.000", CultureInfo.InvariantCulture) + " ms";
}

/// <summary>Maximum throughput: every call routed at once, answered, hung up at once.</summary>
internal sealed class MaxRun(Options o) : Run(o)
{
    private long _issued;
    private long _scheduleFrom;
    private long _warmupBehind;

    public async Task<Dictionary<string, object?>> RunAsync(CancellationToken cancelled)
    {
        using var metrics = new DaemonMetrics(O.Http);
        Open(O.Window);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancelled);
        Clock.Start();
        var senders = Connections.Select((c, i) => Task.Run(() => SendAsync(c, i, stop.Token), CancellationToken.None)).ToList();

        // Warm-up: calls go, nothing is measured.
        await WatchAsync(O.WarmupSeconds, "warm-up", stop).ConfigureAwait(false);
        var before = await metrics.ScrapeAsync(cancelled).ConfigureAwait(false);
        var ownCpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var completedBefore = Completed;
        var measureFromTicks = Stopwatch.GetTimestamp();
        foreach (var c in Connections)
        {
            c.ResetLatency(measureFromTicks);
        }

        // At a rate, the senders start their schedule afresh: calls the warm-up fell behind by (a daemon whose JIT is
        // still compiling carries less) are not sent as a burst into the measured time.
        Volatile.Write(ref _scheduleFrom, measureFromTicks);

        var measuredFrom = Clock.Elapsed;
        await WatchAsync(O.DurationSeconds, "max", stop).ConfigureAwait(false);
        var measured = Clock.Elapsed - measuredFrom;
        var completedMeasured = Completed - completedBefore;
        var after = await metrics.ScrapeAsync(cancelled).ConfigureAwait(false);
        var ownCpu = Process.GetCurrentProcess().TotalProcessorTime - ownCpuBefore;
        await stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(senders).ConfigureAwait(false);
        var unfinished = await DrainAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        EndProgress();

        var latency = Latencies.New();
        foreach (var c in Connections)
        {
            latency.Add(c.Latency);
        }

        var totals = Totals();
        var errors = ProtocolErrors + unfinished + totals.Sum(t => t.Rejected + t.TimedOut + t.Errors + t.Deflected + t.Abandoned);
        var problems = Problems;
        await CloseAsync().ConfigureAwait(false);

        var rate = completedMeasured / measured.TotalSeconds;
        double? daemonCpu = metrics.Available ? DaemonMetrics.Sum(after, "process_cpu_seconds_total") - DaemonMetrics.Sum(before, "process_cpu_seconds_total") : null;
        var offeredByDaemon = metrics.Available ? DaemonMetrics.Sum(after, "acd_calls_offered_total") - DaemonMetrics.Sum(before, "acd_calls_offered_total") : (double?)null;
        Console.WriteLine();
        Console.WriteLine($"max mode: {O.Connections} SIP connections, {O.Window} calls in flight each{(O.Rate > 0 ? $", offered at {F(O.Rate)}/s" + (O.PaceMicroseconds > 0 ? $" (sends {O.PaceMicroseconds} µs apart)" : string.Empty) : ", as fast as taken")}");
        Console.WriteLine($"  measured         {F(measured.TotalSeconds, 1)} s (after {F(O.WarmupSeconds, 1)} s warm-up{(O.Rate > 0 ? $", which fell {F(Interlocked.Read(ref _warmupBehind))} calls behind the rate: not sent" : string.Empty)}; latency of calls sent after it only)");
        Console.WriteLine($"  calls completed  {F(completedMeasured)}  (INVITE → 100 → 302 → ACK, BYE → 200)");
        Console.WriteLine($"  calls a second   {F(rate)}");
        Console.WriteLine($"  INVITE→302       p50 {Ms(latency.GetValueAtPercentile(50))}  p90 {Ms(latency.GetValueAtPercentile(90))}  p99 {Ms(latency.GetValueAtPercentile(99))}  p99.9 {Ms(latency.GetValueAtPercentile(99.9))}  max {Ms(latency.GetMaxValue())}  ({F(latency.TotalCount)} calls)");
        if (daemonCpu is { } cpu)
        {
            Console.WriteLine($"  daemon CPU       {F(cpu, 2)} s = {F(cpu / completedMeasured * 1000, 4)} s per 1,000 calls ({F(cpu / measured.TotalSeconds * 100)} % of one core)");
            Console.WriteLine($"  daemon offered   {F(offeredByDaemon ?? 0)} calls (acd_calls_offered_total over the measured time)");
        }

        Console.WriteLine($"  load generator   {F(ownCpu.TotalSeconds, 2)} s CPU ({F(ownCpu.TotalSeconds / measured.TotalSeconds * 100)} % of one core)");
        Console.WriteLine($"  errors           {errors} (protocol {ProtocolErrorsText(problems)}; calls not routed at once {totals.Sum(t => t.Rejected + t.TimedOut + t.Deflected + t.Abandoned)}; unfinished {unfinished})");
        return new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["mode"] = "max",
            ["completed"] = true,
            ["connections"] = O.Connections,
            ["windowPerConnection"] = O.Window,
            ["offeredRate"] = O.Rate,
            ["paceMicroseconds"] = O.PaceMicroseconds,
            ["measuredSeconds"] = measured.TotalSeconds,
            ["warmupCallsBehind"] = O.Rate > 0 ? Interlocked.Read(ref _warmupBehind) : null,
            ["calls"] = completedMeasured,
            ["callsPerSecond"] = rate,
            ["latency"] = LatencyJson(latency),
            ["daemonCpuSeconds"] = daemonCpu,
            ["daemonCpuSecondsPer1000Calls"] = daemonCpu / completedMeasured * 1000,
            ["loadGeneratorCpuSeconds"] = ownCpu.TotalSeconds,
            ["protocolErrors"] = errors,
            ["problems"] = problems,
        };
    }

    private static string ProtocolErrorsText(List<string> problems) => problems.Count == 0 ? "0" : string.Join("; ", problems);

    private async Task WatchAsync(double seconds, string phase, CancellationTokenSource stop)
    {
        var end = Clock.Elapsed + TimeSpan.FromSeconds(seconds);
        var last = (Time: Clock.Elapsed, Done: Completed);
        while (Clock.Elapsed < end && !stop.IsCancellationRequested && Interlocked.Read(ref _issued) < O.Calls)
        {
            await Task.Delay(Math.Min(1000, Math.Max(1, (int)(end - Clock.Elapsed).TotalMilliseconds))).ConfigureAwait(false);
            var now = (Time: Clock.Elapsed, Done: Completed);
            Progress($"[{phase}] {F(now.Time.TotalSeconds, 1)} s  completed {F(now.Done)}  {F((now.Done - last.Done) / (now.Time - last.Time).TotalSeconds)}/s  in flight {F(Connections.Sum(c => c.InFlight))}  errors {ProtocolErrors}");
            last = now;
        }
    }

    /// <summary>A sleep finer than the runtime's timers (whose 1 ms sends a connection's calls in bursts of rate / 1,000).</summary>
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "usleep")]
    private static extern int Usleep(uint microseconds);

    private async Task SendAsync(SipConnection c, int index, CancellationToken stop)
    {
        var random = new Random(O.Seed * 7919 + index);
        var seats = new byte[256];
        var perConnection = O.Rate / O.Connections;
        long sent = 0;
        var started = Stopwatch.GetTimestamp();
        var scheduleFrom = 0L;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var allowed = seats.Length;
                if (perConnection > 0)
                {
                    if (Volatile.Read(ref _scheduleFrom) is var from && from != scheduleFrom)
                    {
                        var behind = (long)(Stopwatch.GetElapsedTime(started, from).TotalSeconds * perConnection) - sent;
                        Interlocked.Add(ref _warmupBehind, Math.Max(0, behind));
                        (scheduleFrom, started, sent) = (from, from, 0);
                    }

                    var due = (long)(Stopwatch.GetElapsedTime(started).TotalSeconds * perConnection) + 1;
                    allowed = (int)Math.Min(seats.Length, due - sent);
                    if (allowed <= 0)
                    {
                        if (O.PaceMicroseconds > 0)
                        {
                            Usleep((uint)O.PaceMicroseconds); // blocks this connection's sender (a thread-pool thread) while it waits
                        }
                        else
                        {
                            await Task.Delay(1, stop).ConfigureAwait(false);
                        }

                        continue;
                    }
                }

                await c.WaitSlotAsync(stop).ConfigureAwait(false);
                var count = 1;
                while (count < allowed && c.TryTakeSlot())
                {
                    count++;
                }

                var first = Interlocked.Add(ref _issued, count) - count;
                var give = (int)Math.Clamp(O.Calls - first, 0, count);
                c.ReleaseSlots(count - give);
                if (give == 0)
                {
                    return;
                }

                for (var i = 0; i < give; i++)
                {
                    seats[i] = (byte)Seats.Pick(random.NextDouble());
                }

                c.Offer(seats.AsSpan(0, give), 13_900_000_000 + first);
                sent += give;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }
}

/// <summary>A day of the hotline, compressed: the curve, the surge, the seats, patience, talk, staffing.</summary>
internal sealed class DayRun(Options o) : Run(o)
{
    /// <summary>Arrivals by hour relative to the busiest normal hour: quiet nights, a morning and an afternoon peak, an evening bump.</summary>
    public static readonly double[] Curve =
    [
        0.12, 0.07, 0.05, 0.04, 0.04, 0.06, 0.15, 0.40, 0.75, 1.00, 0.95, 0.85,
        0.70, 0.78, 0.92, 0.90, 0.82, 0.72, 0.66, 0.75, 0.80, 0.62, 0.40, 0.22,
    ];

    private readonly Lock _random = new();
    private readonly Random _rng = new(o.Seed);

    public override bool KeepWaits => true;

    public override long TalkMs(int seat) => Exponential(O.TalkSeconds);

    public override long PatienceMs(int seat) => Math.Max(1, Exponential(O.PatienceSeconds));

    private long Exponential(double mean)
    {
        double u;
        lock (_random)
        {
            u = _rng.NextDouble();
        }

        return (long)(-Math.Log(1 - u) * mean * 1000);
    }

    private double Rate(int hour, bool withSurge) =>
        O.PeakRate * Curve[hour % 24] * (withSurge && hour >= O.SurgeHours.From && hour < O.SurgeHours.To ? O.SurgeFactor : 1);

    public async Task<Dictionary<string, object?>> RunAsync(CancellationToken cancelled)
    {
        using var grpc = new GrpcClients(O.Grpc, O.ApiToken);
        using var metrics = new DaemonMetrics(O.Http);
        var before = await metrics.ScrapeAsync(cancelled).ConfigureAwait(false);
        var queuesBefore = await QueuesAsync(grpc, cancelled).ConfigureAwait(false);
        var thresholds = Seats.Names.Select(s => queuesBefore.TryGetValue(s, out var q) ? q.ThresholdMs : 20_000).ToArray();
        var roster = (await grpc.Agents.ListAgentsAsync(new ListAgentsRequest(), cancellationToken: cancelled).ConfigureAwait(false)).Agents;
        var teams = Seats.Names.Select(s => roster.Where(a => a.Role == AgentRole.Agent && string.Equals(a.Team, s, StringComparison.Ordinal)).Select(a => a.AgentId).Order(StringComparer.Ordinal).ToList()).ToArray();
        if (teams.Any(t => t.Count == 0))
        {
            throw new UsageException($"day mode needs agents of role agent in teams named {string.Join(", ", Seats.Names)} (bench/configs/day.json); the daemon's roster has none for {string.Join(", ", Seats.Names.Where((_, i) => teams[i].Count == 0))}");
        }

        var staffing = new Staffing(grpc, teams);
        Open(O.Window);
        var aht = O.TalkSeconds + O.WrapSeconds;
        var hours = new List<HourFigures>();
        var tiers = new List<(string At, int From, int To)>();
        var tier = 0;
        var maxTier = 0;
        var offeredByHour = new long[O.Hours, Seats.Names.Length];
        var callers = 13_800_000_000L;
        var budget = -Math.Log(1 - NextDouble());
        var lastPass = 0.0;
        var connection = 0;
        var blocked = 0L;
        var lastHour = -1;
        var lastSurgePoll = TimeSpan.Zero;
        var lastProgress = TimeSpan.Zero;
        Clock.Start();
        var seat = new byte[1];
        while (!cancelled.IsCancellationRequested)
        {
            var now = Clock.Elapsed.TotalSeconds;
            var hour = (int)(now / O.HourSeconds);
            if (hour >= O.Hours)
            {
                break;
            }

            if (hour != lastHour)
            {
                // The workforce plan for this hour: agents per seat by Erlang C for the normal (not the surge) load.
                var plan = Seats.Names.Select((_, s) =>
                {
                    var rate = Rate(hour, withSurge: false) * Seats.Mix[s];
                    return rate <= 0 ? 1 : Math.Min(teams[s].Count, ErlangC.Required(rate, aht, thresholds[s] / 1000.0, 0.8).Agents);
                }).ToArray();
                await staffing.PlanAsync(plan, cancelled).ConfigureAwait(false);
                hours.Add(new HourFigures(hour, Rate(hour, true), plan));
                lastHour = hour;
            }

            await staffing.RetryAsync(cancelled).ConfigureAwait(false);

            // Poisson arrivals whose rate changes by the hour (time rescaling): each arrival needs an exponential
            // amount of "rate × time"; the elapsed time since the last pass is paid at this hour's rate.
            var rateNow = Rate(hour, withSurge: true);
            budget -= rateNow * (now - lastPass);
            lastPass = now;
            while (budget <= 0)
            {
                var s = Seats.Pick(NextDouble());
                var c = Connections[connection++ % Connections.Count];
                if (c.TryTakeSlot())
                {
                    seat[0] = (byte)s;
                    c.Offer(seat, callers++);
                    offeredByHour[hour, s]++;
                }
                else
                {
                    blocked++;
                }

                budget += -Math.Log(1 - NextDouble());
            }

            if (Clock.Elapsed - lastSurgePoll > TimeSpan.FromMilliseconds(250))
            {
                lastSurgePoll = Clock.Elapsed;
                var surge = await grpc.Surge.GetSurgeAsync(new SurgeRequest(), cancellationToken: cancelled).ConfigureAwait(false);
                var seen = Math.Max(surge.Tier, surge.EffectiveTiers.Values.DefaultIfEmpty(0).Max());
                if (seen != tier)
                {
                    tiers.Add((SimulatedTime(now), tier, seen));
                    tier = seen;
                    maxTier = Math.Max(maxTier, seen);
                }

                hours[^1].MaxTier = Math.Max(hours[^1].MaxTier, seen);
            }

            if (Clock.Elapsed - lastProgress > TimeSpan.FromSeconds(1))
            {
                lastProgress = Clock.Elapsed;
                var t = Totals();
                Progress($"[day {SimulatedTime(now)}] offered {F(t.Sum(x => x.Offered))}  answered {F(t.Sum(x => x.Answered))}  abandoned {F(t.Sum(x => x.Abandoned))}  in flight {F(Connections.Sum(c => c.InFlight))}  agents {staffing.LoggedIn}  tier {tier}  errors {ProtocolErrors}");
            }

            await Task.Delay(2, CancellationToken.None).ConfigureAwait(false);
        }

        // The day is over: what still waits is counted as waiting, then cancelled; talking calls hang up.
        var waiting = Connections.Sum(c => c.EndRun());
        var unfinished = await DrainAsync(TimeSpan.FromSeconds(20)).ConfigureAwait(false);
        EndProgress();
        var totals = Totals();
        var errors = ProtocolErrors + unfinished + totals.Sum(t => t.Errors) + blocked;
        var problems = Problems;
        await CloseAsync().ConfigureAwait(false);
        var after = await metrics.ScrapeAsync(cancelled).ConfigureAwait(false);
        var queuesAfter = await QueuesAsync(grpc, cancelled).ConfigureAwait(false);
        await staffing.LogOutAllAsync(cancelled).ConfigureAwait(false);

        // Erlang C for each seat: the prediction for each hour's arrivals (with the surge) and its planned agents,
        // weighted by the calls offered in that hour.
        var rows = new List<Dictionary<string, object?>>();
        Console.WriteLine();
        Console.WriteLine($"day mode: {O.Hours} hours of {F(O.HourSeconds, 1)} s, peak {F(O.PeakRate, 1)} calls/s, surge ×{F(O.SurgeFactor, 1)} in hours {O.SurgeHours.From}-{O.SurgeHours.To}, talk {F(O.TalkSeconds, 1)} s + wrap-up {F(O.WrapSeconds, 1)} s, patience {F(O.PatienceSeconds, 1)} s");
        Console.WriteLine($"{"seat",-10} {"offered",8} {"answered",8} {"abandon",8} {"timeout",8} {"reject",7} {"deflect",7} {"waiting",7} {"SL",7} {"ErlangC",7} {"ASA",9} {"daemon SL",9}");
        for (var s = 0; s < Seats.Names.Length; s++)
        {
            var t = totals[s];
            var thresholdMs = thresholds[s];
            var within = t.AnswerWaitsMs.Count(w => w <= thresholdMs);
            var ended = t.Answered + t.Abandoned + t.TimedOut;
            var sl = ended == 0 ? 1.0 : (double)within / ended;
            double predictedWeighted = 0;
            long weight = 0;
            foreach (var h in hours)
            {
                var offered = offeredByHour[h.Hour, s];
                var lambda = h.Rate * Seats.Mix[s];
                if (offered == 0 || lambda <= 0)
                {
                    continue;
                }

                predictedWeighted += offered * ErlangC.Evaluate(lambda, aht, h.Plan[s], thresholdMs / 1000.0).ServiceLevel;
                weight += offered;
            }

            var predicted = weight == 0 ? 1.0 : predictedWeighted / weight;
            var asaMs = t.Answered == 0 ? 0 : t.WaitMicrosAnswered / 1000.0 / t.Answered;
            queuesAfter.TryGetValue(Seats.Names[s], out var q);
            Console.WriteLine($"{Seats.Names[s],-10} {t.Offered,8} {t.Answered,8} {t.Abandoned,8} {t.TimedOut,8} {t.Rejected,7} {t.Deflected,7} {t.WaitingAtEnd,7} {sl,7:P1} {predicted,7:P1} {asaMs,7:0} ms {q?.ServiceLevelToday ?? 0,9:P1}");
            rows.Add(new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["seat"] = Seats.Names[s],
                ["offered"] = t.Offered,
                ["answered"] = t.Answered,
                ["abandoned"] = t.Abandoned,
                ["timedOut"] = t.TimedOut,
                ["rejected"] = t.Rejected,
                ["deflected"] = t.Deflected,
                ["waitingAtEnd"] = t.WaitingAtEnd,
                ["errors"] = t.Errors,
                ["serviceLevel"] = sl,
                ["serviceLevelThresholdMs"] = thresholdMs,
                ["erlangCServiceLevel"] = predicted,
                ["asaMs"] = asaMs,
                ["daemonOffered"] = q is null ? null : q.Offered - (queuesBefore.TryGetValue(Seats.Names[s], out var b) ? b.Offered : 0),
                ["daemonServiceLevelToday"] = q?.ServiceLevelToday,
            });
        }

        var all = totals.Aggregate(new SeatCounts(), (acc, t) =>
        {
            acc.Add(t);
            return acc;
        });
        var balanced = all.Offered == all.Answered + all.Abandoned + all.TimedOut + all.Rejected + all.Deflected + all.WaitingAtEnd + all.Errors;
        var daemonOffered = metrics.Available ? DaemonMetrics.Sum(after, "acd_calls_offered_total") - DaemonMetrics.Sum(before, "acd_calls_offered_total") : (double?)null;
        var callbacks = metrics.Available ? DaemonMetrics.Sum(after, "acd_callbacks_created_total") - DaemonMetrics.Sum(before, "acd_callbacks_created_total") : (double?)null;
        Console.WriteLine($"{"all",-10} {all.Offered,8} {all.Answered,8} {all.Abandoned,8} {all.TimedOut,8} {all.Rejected,7} {all.Deflected,7} {all.WaitingAtEnd,7}");
        Console.WriteLine($"  answered + abandoned + timed out + rejected + deflected + waiting = {all.Answered + all.Abandoned + all.TimedOut + all.Rejected + all.Deflected + all.WaitingAtEnd} of {all.Offered} offered{(balanced ? string.Empty : " — DOES NOT BALANCE")}");
        if (daemonOffered is not null)
        {
            Console.WriteLine($"  the daemon counted {F(daemonOffered.Value)} offered (acd_calls_offered_total); callbacks created {F(callbacks ?? 0)}");
        }

        Console.WriteLine($"  surge tiers: highest {maxTier}; changes {(tiers.Count == 0 ? "none" : string.Join(", ", tiers.Select(t => $"{t.At} {t.From}→{t.To}")))}");
        Console.WriteLine($"  agents by hour: {string.Join(" ", hours.Select(h => $"{h.Hour:00}h:{h.Plan.Sum()}"))}");
        Console.WriteLine($"  errors {errors} (protocol {(problems.Count == 0 ? "0" : string.Join("; ", problems))}; calls not offered for a full window {blocked}; unfinished {unfinished})");
        return new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["mode"] = "day",
            ["completed"] = balanced && unfinished == 0,
            ["hours"] = O.Hours,
            ["hourSeconds"] = O.HourSeconds,
            ["seats"] = rows,
            ["offered"] = all.Offered,
            ["answered"] = all.Answered,
            ["abandoned"] = all.Abandoned,
            ["timedOut"] = all.TimedOut,
            ["rejected"] = all.Rejected,
            ["deflected"] = all.Deflected,
            ["waitingAtEnd"] = all.WaitingAtEnd,
            ["waitingCancelledAtEnd"] = waiting,
            ["balanced"] = balanced,
            ["daemonOffered"] = daemonOffered,
            ["callbacksCreated"] = callbacks,
            ["maxSurgeTier"] = maxTier,
            ["surgeChanges"] = tiers.Select(t => new Dictionary<string, object?>(StringComparer.Ordinal) { ["at"] = t.At, ["from"] = t.From, ["to"] = t.To }).ToList(),
            ["agentsByHour"] = hours.Select(h => h.Plan.Sum()).ToList(),
            ["surgeTierByHour"] = hours.Select(h => h.MaxTier).ToList(),
            ["protocolErrors"] = errors,
            ["problems"] = problems,
        };
    }

    private double NextDouble()
    {
        lock (_random)
        {
            return _rng.NextDouble();
        }
    }

    private string SimulatedTime(double seconds)
    {
        var minutes = (int)(seconds / O.HourSeconds * 60);
        return $"{minutes / 60:00}:{minutes % 60:00}";
    }

    private static async Task<Dictionary<string, QueueStats>> QueuesAsync(GrpcClients grpc, CancellationToken cancelled) =>
        (await grpc.Queues.ListQueuesAsync(new ListQueuesRequest(), cancellationToken: cancelled).ConfigureAwait(false))
            .Queues.ToDictionary(q => q.Skill, StringComparer.Ordinal);

    private sealed class HourFigures(int hour, double rate, int[] plan)
    {
        public int Hour { get; } = hour;

        public double Rate { get; } = rate;

        public int[] Plan { get; } = plan;

        public int MaxTier { get; set; }
    }
}

/// <summary>Agents logging in and out over gRPC to follow the hour's plan; a busy agent logs out once its call ends.</summary>
internal sealed class Staffing(GrpcClients grpc, List<string>[] teams)
{
    private readonly HashSet<string>[] _in = teams.Select(_ => new HashSet<string>(StringComparer.Ordinal)).ToArray();
    private readonly List<string> _leaving = [];

    public int LoggedIn => _in.Sum(s => s.Count);

    public async Task PlanAsync(int[] plan, CancellationToken cancelled)
    {
        for (var s = 0; s < plan.Length; s++)
        {
            // Agents still on their last call from an earlier shift come back first (they never left); then fresh logins.
            var wanted = Math.Max(0, plan[s] - _in[s].Count);
            var candidates = teams[s].Where(a => !_in[s].Contains(a)).OrderBy(a => _leaving.Contains(a) ? 0 : 1).ThenBy(a => a, StringComparer.Ordinal).Take(wanted).ToList();
            foreach (var id in candidates)
            {
                if (!_leaving.Remove(id))
                {
                    try
                    {
                        await grpc.Agents.LoginAsync(new LoginRequest { AgentId = id }, cancellationToken: cancelled).ConfigureAwait(false);
                    }
                    catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.FailedPrecondition)
                    {
                        // Logged in already (a previous run left it so): it works as it is.
                    }
                }

                _in[s].Add(id);
            }

            foreach (var id in _in[s].Order(StringComparer.Ordinal).Take(Math.Max(0, _in[s].Count - plan[s])).ToList())
            {
                _in[s].Remove(id);
                _leaving.Add(id);
            }
        }

        await RetryAsync(cancelled).ConfigureAwait(false);
    }

    /// <summary>Logs out the agents leaving; one on a call is told not ready first and logged out after it.</summary>
    public async Task RetryAsync(CancellationToken cancelled)
    {
        for (var i = _leaving.Count - 1; i >= 0; i--)
        {
            try
            {
                await grpc.Agents.LogoutAsync(new AgentRequest { AgentId = _leaving[i] }, cancellationToken: cancelled).ConfigureAwait(false);
                _leaving.RemoveAt(i);
            }
            catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.FailedPrecondition)
            {
                // On a call or in wrap-up: tried again later.
            }
        }
    }

    public async Task LogOutAllAsync(CancellationToken cancelled)
    {
        foreach (var set in _in)
        {
            _leaving.AddRange(set);
            set.Clear();
        }

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (_leaving.Count > 0 && DateTime.UtcNow < deadline)
        {
            await RetryAsync(cancelled).ConfigureAwait(false);
            if (_leaving.Count > 0)
            {
                await Task.Delay(100, cancelled).ConfigureAwait(false);
            }
        }
    }
}

/// <summary>Calls that all wait: the daemon's memory for that many waiting calls.</summary>
internal sealed class FillRun(Options o) : Run(o)
{
    public async Task<Dictionary<string, object?>> RunAsync(CancellationToken cancelled)
    {
        using var metrics = new DaemonMetrics(O.Http ?? throw new UsageException("fill mode reads the daemon's memory from --http"));
        var before = await metrics.ScrapeAsync(cancelled).ConfigureAwait(false);
        var waitingBefore = DaemonMetrics.Sum(before, "acd_calls_waiting");
        var perConnection = (int)Math.Min(O.Window, (O.Calls + O.Connections - 1) / O.Connections);
        Open(perConnection);
        Clock.Start();
        var seats = new byte[256];
        var random = new Random(O.Seed);
        long offered = 0;
        var connection = 0;
        var limit = Clock.Elapsed + TimeSpan.FromSeconds(O.DurationSeconds);
        while (offered < O.Calls && Clock.Elapsed < limit && !cancelled.IsCancellationRequested)
        {
            var c = Connections[connection++ % Connections.Count];
            var n = 0;
            while (n < seats.Length && offered + n < O.Calls && c.TryTakeSlot())
            {
                seats[n++] = (byte)Seats.Pick(random.NextDouble());
            }

            if (n == 0)
            {
                if (Connections.All(x => x.InFlight >= perConnection))
                {
                    break;
                }

                continue;
            }

            c.Offer(seats.AsSpan(0, n), 13_700_000_000 + offered);
            offered += n;
            if (offered % 65_536 < n)
            {
                // Let the daemon keep up: wait while more than a window of calls has no answer yet.
                while (offered - Queued() > 200_000 && Clock.Elapsed < limit)
                {
                    await Task.Delay(5, cancelled).ConfigureAwait(false);
                }

                Progress($"[fill] {F(Clock.Elapsed.TotalSeconds, 1)} s  offered {F(offered)}  waiting {F(Queued())}  errors {ProtocolErrors}");
            }
        }

        while (Queued() < offered && Clock.Elapsed < limit && ProtocolErrors == 0)
        {
            await Task.Delay(50, cancelled).ConfigureAwait(false);
            Progress($"[fill] {F(Clock.Elapsed.TotalSeconds, 1)} s  offered {F(offered)}  waiting {F(Queued())}  errors {ProtocolErrors}");
        }

        var fillSeconds = Clock.Elapsed.TotalSeconds;
        EndProgress();

        // Let the daemon's allocations settle (a full GC happens on its own within seconds of an idle heap).
        await Task.Delay(3000, cancelled).ConfigureAwait(false);
        var after = await metrics.ScrapeAsync(cancelled).ConfigureAwait(false);
        var queued = Queued();
        var errors = ProtocolErrors + Totals().Sum(t => t.Rejected + t.Errors + t.TimedOut);
        var problems = Problems;
        // prometheus-net's process metrics: the working set is the resident set on Linux (VmRSS).
        var rssBefore = DaemonMetrics.Sum(before, "process_working_set_bytes");
        var rssAfter = DaemonMetrics.Sum(after, "process_working_set_bytes");
        var waiting = DaemonMetrics.Sum(after, "acd_calls_waiting") - waitingBefore;
        var agents = DaemonMetrics.Sum(after, "acd_agents");
        // The .NET runtime's System.Runtime meters as the daemon exports them (heap sizes by generation, summed).
        var heap = DaemonMetrics.Sum(after, "system_runtime_dotnet_gc_last_collection_heap_size");
        var fragmentation = DaemonMetrics.Sum(after, "system_runtime_dotnet_gc_last_collection_heap_fragmentation_size");
        var committed = DaemonMetrics.Sum(after, "system_runtime_dotnet_gc_last_collection_memory_committed_size");
        if (metrics.Available && (rssAfter <= 0 || heap <= 0))
        {
            problems.Add("the daemon's /metrics has no process_working_set_bytes or GC heap size: memory not measured");
            errors++;
        }
        Console.WriteLine();
        Console.WriteLine($"fill mode: {F(offered)} calls offered over {O.Connections} SIP connections in {F(fillSeconds, 1)} s; {F(queued)} answered 182 Queued");
        Console.WriteLine($"  the daemon: {F(waiting)} calls waiting, {F(agents)} agents; resident memory {F(rssAfter / 1048576.0)} MiB (before the calls: {F(rssBefore / 1048576.0)} MiB)");
        Console.WriteLine($"  per waiting call: {F((rssAfter - rssBefore) / Math.Max(1, waiting))} bytes");
        Console.WriteLine($"  GC heap at the last collection {F(heap / 1048576.0)} MiB ({F(fragmentation / 1048576.0)} MiB of it free space), committed {F(committed / 1048576.0)} MiB");
        Console.WriteLine($"  errors {errors}{(problems.Count == 0 ? string.Empty : " (" + string.Join("; ", problems) + ")")}");

        // The calls are left to the daemon: closing the connections starts their grace period, after which they count
        // as abandoned. (Cancelling a million calls one by one would measure nothing.)
        await CloseAsync().ConfigureAwait(false);
        return new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["mode"] = "fill",
            ["completed"] = queued == offered && offered == O.Calls,
            ["offered"] = offered,
            ["queued"] = queued,
            ["fillSeconds"] = fillSeconds,
            ["daemonWaiting"] = waiting,
            ["daemonAgents"] = agents,
            ["residentBytesBefore"] = rssBefore,
            ["residentBytes"] = rssAfter,
            ["bytesPerWaitingCall"] = (rssAfter - rssBefore) / Math.Max(1, waiting),
            ["gcHeapBytes"] = heap,
            ["gcFragmentationBytes"] = fragmentation,
            ["gcCommittedBytes"] = committed,
            ["protocolErrors"] = errors,
            ["problems"] = problems,
        };
    }

    private long Queued() => Connections.Sum(c => c.QueuedCount);
}
