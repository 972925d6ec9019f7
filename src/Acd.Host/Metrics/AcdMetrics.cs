using System.Diagnostics;
using System.Diagnostics.Metrics;
using Acd.Core.Engine;
using Acd.Core.Routing;
using Acd.Core.Sip;
using Acd.Host.Grpc;
using Acd.Host.Routing;
using Acd.Host.Sip;
using CoreAgentState = Acd.Core.Domain.AgentState;

namespace Acd.Host.Metrics;

/// <summary>
/// The daemon's instruments (meter "Acd", names acd_* in base units) and the process figures. Call counters are
/// kept by the engine threads; live queue and agent figures are read from the engines at each scrape
/// (<see cref="RefreshAsync"/>), so they are consistent within a domain.
/// </summary>
public sealed class AcdMetrics : IBatchListener, IDisposable
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Acd";

    private static readonly double[] WaitBuckets = [0.5, 1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600];
    private static readonly double[] DecisionBuckets = [0.000_001, 0.000_002, 0.000_005, 0.000_01, 0.000_02, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.005];

    private readonly Meter _meter = new(MeterName);
    private readonly Dictionary<string, DomainCallCounters> _counters;
    private readonly Histogram<double> _wait;
    private readonly Histogram<double> _decision;
    private readonly Counter<long> _grpcRequests;
    private readonly DomainDirectory _domains;
    private readonly SipServer _sip;
    private readonly EventHub _hub;
    private readonly DateTimeOffset _started = new(Process.GetCurrentProcess().StartTime.ToUniversalTime(), TimeSpan.Zero);
    private volatile Snapshot[] _snapshots = [];
    private volatile DomainFigures[] _domainFigures = [];

    public AcdMetrics(DomainDirectory domains, SipServer sip, EventHub hub)
    {
        ArgumentNullException.ThrowIfNull(domains);
        _domains = domains;
        _sip = sip;
        _hub = hub;
        _counters = domains.All.ToDictionary(d => d.Name, d => new DomainCallCounters(d), StringComparer.Ordinal);

        CallCounter("acd_calls_offered_total", "Calls that arrived at a skill (including refused ones and transfers in).", CallCount.Offered);
        CallCounter("acd_calls_routed_total", "Calls given to an agent.", CallCount.Routed);
        CallCounter("acd_calls_answered_total", "Calls answered (gRPC Answered, or a confirmed SIP hand-off).", CallCount.Answered);
        CallCounter("acd_calls_timed_out_total", "Calls ended by the skill's maximum wait.", CallCount.TimedOut);
        CallCounter("acd_calls_ended_total", "Connected calls that ended.", CallCount.Ended);
        CallCounter("acd_calls_ring_no_answer_total", "Offers the agent did not answer (the call went back to its place).", CallCount.RingNoAnswer);
        CallCounter("acd_calls_transferred_total", "Calls transferred into the skill.", CallCount.TransferredIn);
        _meter.CreateObservableCounter("acd_calls_abandoned_total", () => Calls(
            [(CallCount.AbandonedCaller, "caller"), (CallCount.AbandonedDisconnected, "disconnected")]), description: "Callers who hung up before reaching an agent, by reason.");
        _meter.CreateObservableCounter("acd_calls_rejected_total", () => Calls(
            [(CallCount.RejectedNoAgents, "no-agents"), (CallCount.RejectedQueueFull, "queue-full"), (CallCount.RejectedCapacity, "capacity")]), description: "Calls refused at arrival, by reason.");
        CallCounter("acd_calls_deflected_total", "New arrivals sent to self-service in surge tier 3.", CallCount.Deflected);

        _meter.CreateObservableCounter("acd_callbacks_created_total", () => Calls(
            [(CallCount.CallbackAbandoned, "abandoned"), (CallCount.CallbackTimedOut, "timed-out"), (CallCount.CallbackRejected, "rejected"),
             (CallCount.CallbackDeflected, "deflected"), (CallCount.CallbackDisconnected, "disconnected")]), description: "Callbacks owed to callers whose call did not reach an agent, by reason.");
        _meter.CreateObservableCounter("acd_callbacks_completed_total", () => Calls(
            [(CallCount.CallbackReached, "reached"), (CallCount.CallbackExhausted, "exhausted"), (CallCount.CallbackCancelled, "cancelled")], "outcome"), description: "Callbacks closed, by outcome (exhausted: out of attempts, an SMS owed).");
        CallCounter("acd_callback_attempts_total", "Callbacks given to an agent to dial.", CallCount.CallbackAttempts);
        _meter.CreateObservableGauge("acd_callbacks_owed", () => PerDomain(d => d.Callbacks.Owed), description: "Callbacks open or being dialed now.");
        _meter.CreateObservableGauge("acd_callback_completion_ratio", () => PerDomain(d => d.Callbacks.CompletionRatio), description: "Callbacks reached or exhausted over callbacks owed (cancelled excluded) since start; 1 with none.");
        _meter.CreateObservableGauge("acd_surge_tier", () => PerDomain(d => d.Surge.Tier), description: "The domain's surge warning tier (0-3).");
        _meter.CreateObservableGauge("acd_surge_forced", () => PerDomain(d => d.Surge.Forced ? 1 : 0), description: "1 while a duty manager forces the domain's tier.");
        _meter.CreateObservableGauge("acd_skill_surge_tier", () => Live(s => s.Queue.SurgeTier), description: "A skill's effective surge tier (the higher of the domain's and its own).");
        _meter.CreateObservableGauge("acd_required_agents", () => Live(s => s.RequiredAgents), description: "Erlang C: agents the skill needs to meet its service level target at the arrival rate of the last five minutes and today's handle time.");

        _wait = _meter.CreateHistogram("acd_call_wait_seconds", unit: "s", description: "Wait from first enqueue until the call was given to an agent.", tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = WaitBuckets });
        _decision = _meter.CreateHistogram("acd_routing_decision_seconds", unit: "s", description: "Time the router took over one offer (enqueue and match).", tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DecisionBuckets });

        _meter.CreateObservableGauge("acd_calls_waiting", () => Live(s => s.Queue.Waiting), description: "Calls waiting now.");
        _meter.CreateObservableGauge("acd_calls_longest_wait_seconds", () => Live(s => s.Queue.LongestWaitMs / 1000.0), description: "Longest current wait among queued calls.");
        _meter.CreateObservableGauge("acd_service_level_ratio", ServiceLevels, description: "Answered within the threshold over answered plus abandoned after it, by window (5m rolling, today).");
        _meter.CreateObservableGauge("acd_service_level_target_ratio", () => Live(s => s.Queue.ServiceLevelTarget), description: "The skill's service level target.");
        _meter.CreateObservableGauge("acd_skill_service_level_threshold_seconds", () => Live(s => s.Queue.ThresholdMs / 1000.0), description: "The skill's service level threshold T.");
        _meter.CreateObservableGauge("acd_skill_max_wait_seconds", () => _domains.All.SelectMany(d => d.Config.Skills.Select(k => new Measurement<double>(k.MaxWaitMs / 1000.0, Tag("domain", d.Name), Tag("skill", k.Name)))), description: "The skill's maximum wait before a call times out.");
        _meter.CreateObservableGauge("acd_average_speed_of_answer_seconds", () => Live(s => s.Queue.AsaMs / 1000.0), description: "Average wait of answered calls today.");
        _meter.CreateObservableGauge("acd_average_handle_time_seconds", () => Live(s => s.Queue.AhtMs / 1000.0), description: "Average talk plus wrap-up time today.");
        _meter.CreateObservableGauge("acd_occupancy_ratio", () => Live(s => s.Queue.Occupancy), description: "Agents ringing, talking or in wrap-up over those plus ready agents.");
        _meter.CreateObservableGauge("acd_agents", AgentsByState, description: "Agents by state.");
        _meter.CreateObservableGauge("acd_skill_agents", SkillAgentsByState, description: "Agents holding the skill, by state.");
        _meter.CreateObservableGauge("acd_engine_backlog", () => _domains.All.Select(d => new Measurement<long>(d.Engine.Backlog, new KeyValuePair<string, object?>("domain", d.Name))), description: "Commands posted to the routing engine and not yet executed.");
        _meter.CreateObservableCounter("acd_engine_commands_total", () => _domains.All.Select(d => new Measurement<long>(d.Engine.CommandsExecuted, new KeyValuePair<string, object?>("domain", d.Name))), description: "Commands the routing engine executed.");

        _meter.CreateObservableCounter("acd_sip_messages_total", SipMessages, description: "SIP messages received, by method (responses as method=response).");
        _meter.CreateObservableCounter("acd_sip_responses_total", SipResponses, description: "SIP responses sent, by status code.");
        _meter.CreateObservableCounter("acd_sip_rejections_total", SipRejections, description: "SIP messages refused, by reason.");
        _meter.CreateObservableGauge("acd_sip_connections", () => _sip.OpenConnections, description: "Open SIP connections.");
        _meter.CreateObservableCounter("acd_sip_connections_closed_total", () => new[]
        {
            new Measurement<long>(_sip.Counters.BrokenConnections, new KeyValuePair<string, object?>("reason", "broken-framing")),
            new Measurement<long>(_sip.Counters.IdleClosed, new KeyValuePair<string, object?>("reason", "idle")),
        }, description: "SIP connections the daemon closed, by reason.");
        _grpcRequests = _meter.CreateCounter<long>("acd_grpc_requests_total", description: "gRPC calls, by method and status code.");
        _meter.CreateObservableGauge("acd_grpc_watchers", () => _hub.Count, description: "Open Watch streams.");

        _meter.CreateObservableCounter("process_cpu_seconds_total", () => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds, unit: "s", description: "Total user and system CPU time spent in seconds.");
        _meter.CreateObservableGauge("process_resident_memory_bytes", () => Environment.WorkingSet, unit: "By", description: "Resident memory size in bytes.");
        _meter.CreateObservableGauge("process_start_time_seconds", () => _started.ToUnixTimeMilliseconds() / 1000.0, unit: "s", description: "Start time of the process since unix epoch in seconds.");
        _meter.CreateObservableGauge("process_open_fds", OpenFileDescriptors, description: "Number of open file descriptors.");
    }

    /// <summary>This daemon's meter (several daemons in one process, as in tests, each export only their own).</summary>
    public Meter Meter => _meter;

    /// <summary>Counts a finished gRPC call.</summary>
    public void GrpcCompleted(string method, GrpcStatus status) =>
        _grpcRequests.Add(1, new KeyValuePair<string, object?>("method", method), new KeyValuePair<string, object?>("code", StatusName(status)));

    /// <inheritdoc/>
    public void OnBatch(DomainRuntime domain, EngineBatch batch)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(batch);
        var counters = _counters[domain.Name];
        counters.Count(batch, (skill, waitMs) => _wait.Record(waitMs / 1000.0, new KeyValuePair<string, object?>("domain", domain.Name), new KeyValuePair<string, object?>("skill", counters.Skills[skill])));
        var frequency = (double)domain.Engine.TimestampFrequency;
        foreach (ref readonly var entry in batch.Entries)
        {
            if (entry.Command.Kind == CommandKind.Offer)
            {
                _decision.Record(entry.ElapsedTicks / frequency, new KeyValuePair<string, object?>("domain", domain.Name));
            }
        }
    }

    /// <summary>Reads the live queue and agent figures of every domain from its engine (before a scrape).</summary>
    public async Task RefreshAsync(CancellationToken cancelled)
    {
        var snapshots = new List<Snapshot>();
        var figures = new List<DomainFigures>();
        foreach (var d in _domains.All)
        {
            var queues = await d.Engine.ExecuteAsync(new QueryCommand(QueryKind.Queues), cancelled).ConfigureAwait(false);
            var agents = await d.Engine.ExecuteAsync(new QueryCommand(QueryKind.AgentStates), cancelled).ConfigureAwait(false);
            var surge = await d.Engine.ExecuteAsync(new QueryCommand(QueryKind.Surge), cancelled).ConfigureAwait(false);
            var callbacks = await d.Engine.ExecuteAsync(new QueryCommand(QueryKind.CallbackTotals), cancelled).ConfigureAwait(false);
            foreach (var q in (IReadOnlyList<QueueSnapshot>)queues.Data!)
            {
                snapshots.Add(new Snapshot(d.Name, q, (int[])agents.Data!, RequiredAgents(q, d.Config.DefaultHandleTimeMs)));
            }

            figures.Add(new DomainFigures(d.Name, (SurgeSnapshot)surge.Data!, (Acd.Core.Routing.CallbackTotals)callbacks.Data!));
        }

        _snapshots = [.. snapshots];
        _domainFigures = [.. figures];
    }

    /// <inheritdoc/>
    public void Dispose() => _meter.Dispose();

    private void CallCounter(string name, string description, CallCount what) =>
        _meter.CreateObservableCounter(name, () => Calls([(what, null)]), description: description);

    private IEnumerable<Measurement<double>> PerDomain(Func<DomainFigures, double> value)
    {
        foreach (var d in _domainFigures)
        {
            yield return new Measurement<double>(value(d), Tag("domain", d.Domain));
        }
    }

    private IEnumerable<Measurement<long>> Calls((CallCount What, string? Reason)[] kinds, string label = "reason")
    {
        foreach (var c in _counters.Values)
        {
            for (var s = 0; s < c.Skills.Length; s++)
            {
                foreach (var (what, reason) in kinds)
                {
                    yield return reason is null
                        ? new Measurement<long>(c.Read(s, what), Tag("domain", c.Domain), Tag("skill", c.Skills[s]))
                        : new Measurement<long>(c.Read(s, what), Tag("domain", c.Domain), Tag("skill", c.Skills[s]), Tag(label, reason));
                }
            }
        }
    }

    private IEnumerable<Measurement<double>> Live(Func<Snapshot, double> value)
    {
        foreach (var s in _snapshots)
        {
            yield return new Measurement<double>(value(s), Tag("domain", s.Domain), Tag("skill", s.Queue.Skill));
        }
    }

    private IEnumerable<Measurement<double>> ServiceLevels()
    {
        foreach (var s in _snapshots)
        {
            yield return new Measurement<double>(s.Queue.ServiceLevelRolling, Tag("domain", s.Domain), Tag("skill", s.Queue.Skill), Tag("window", "5m"));
            yield return new Measurement<double>(s.Queue.ServiceLevelToday, Tag("domain", s.Domain), Tag("skill", s.Queue.Skill), Tag("window", "today"));
        }
    }

    private IEnumerable<Measurement<int>> AgentsByState()
    {
        foreach (var s in _snapshots.DistinctBy(s => s.Domain, StringComparer.Ordinal))
        {
            for (var state = 0; state < s.Agents.Length; state++)
            {
                yield return new Measurement<int>(s.Agents[state], Tag("domain", s.Domain), Tag("state", Acd.Core.Domain.Names.Of((CoreAgentState)state)));
            }
        }
    }

    private IEnumerable<Measurement<int>> SkillAgentsByState()
    {
        foreach (var s in _snapshots)
        {
            for (var state = 0; state < s.Queue.AgentsByState.Count; state++)
            {
                yield return new Measurement<int>(s.Queue.AgentsByState[state], Tag("domain", s.Domain), Tag("skill", s.Queue.Skill), Tag("state", Acd.Core.Domain.Names.Of((CoreAgentState)state)));
            }
        }
    }

    private IEnumerable<Measurement<long>> SipMessages()
    {
        foreach (var method in Enum.GetValues<SipMethod>())
        {
            var name = method == SipMethod.None ? "response" : method.ToString().ToUpperInvariant();
            yield return new Measurement<long>(_sip.Counters.Messages(method), Tag("method", name));
        }
    }

    private IEnumerable<Measurement<long>> SipResponses()
    {
        foreach (var (code, count) in _sip.Counters.Responses())
        {
            yield return new Measurement<long>(count, Tag("code", code.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
    }

    private IEnumerable<Measurement<long>> SipRejections()
    {
        foreach (var reason in Enum.GetValues<SipRejection>())
        {
            if (reason != SipRejection.None)
            {
                yield return new Measurement<long>(_sip.Counters.Rejections(reason), Tag("reason", Acd.Core.Sip.SipRejections.Label(reason)));
            }
        }
    }

    private static int OpenFileDescriptors()
    {
        try
        {
            return Directory.GetFiles("/proc/self/fd").Length;
        }
        catch (IOException)
        {
            return 0;
        }
        catch (UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static KeyValuePair<string, object?> Tag(string key, object? value) => new(key, value);

    private static string StatusName(GrpcStatus status) => status switch
    {
        GrpcStatus.Ok => "OK",
        GrpcStatus.InvalidArgument => "INVALID_ARGUMENT",
        GrpcStatus.DeadlineExceeded => "DEADLINE_EXCEEDED",
        GrpcStatus.NotFound => "NOT_FOUND",
        GrpcStatus.AlreadyExists => "ALREADY_EXISTS",
        GrpcStatus.PermissionDenied => "PERMISSION_DENIED",
        GrpcStatus.ResourceExhausted => "RESOURCE_EXHAUSTED",
        GrpcStatus.FailedPrecondition => "FAILED_PRECONDITION",
        GrpcStatus.Unimplemented => "UNIMPLEMENTED",
        GrpcStatus.Internal => "INTERNAL",
        GrpcStatus.Unavailable => "UNAVAILABLE",
        GrpcStatus.Unauthenticated => "UNAUTHENTICATED",
        GrpcStatus.Cancelled => "CANCELLED",
        _ => status.ToString().ToUpperInvariant(),
    };

    /// <summary>Erlang C staffing for a queue at its measured load (0 with no arrivals, or a load beyond the forecast's range).</summary>
    private static int RequiredAgents(QueueSnapshot q, long defaultHandleTimeMs)
    {
        var aht = q.AhtMs > 0 ? q.AhtMs : defaultHandleTimeMs;
        if (q.ArrivalRatePerSecond <= 0 || q.ArrivalRatePerSecond * aht / 1000.0 > QueueApi.MaxErlangs)
        {
            return 0;
        }

        return QueueApi.Forecast(q.ArrivalRatePerSecond, aht, q.ThresholdMs, q.ServiceLevelTarget).Agents;
    }

    private sealed record Snapshot(string Domain, QueueSnapshot Queue, int[] Agents, int RequiredAgents);

    private sealed record DomainFigures(string Domain, SurgeSnapshot Surge, Acd.Core.Routing.CallbackTotals Callbacks);
}
