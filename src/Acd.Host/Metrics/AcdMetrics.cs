using Acd.Core.Domain;
using Acd.Core.Engine;
using Acd.Core.Routing;
using Acd.Core.Sip;
using Acd.Host.Grpc;
using Acd.Host.Routing;
using Acd.Host.Sip;
using Prometheus;
using StatusCode = Grpc.Core.StatusCode;

namespace Acd.Host.Metrics;

/// <summary>
/// The daemon's metrics on prometheus-net (names acd_* in base units), in a registry of this daemon's own, with the
/// library's process and .NET runtime figures. Call counters are kept by the engine threads in plain arrays (an
/// increment per event) and copied into the counters at each scrape; the routing decision and wait histograms are
/// observed on the engine's delivery thread; live queue and agent figures are read from the engines at each scrape,
/// so they are consistent within a domain. docs/operations.md says why prometheus-net's own instruments and not its
/// adapter over System.Diagnostics.Metrics.
/// </summary>
public sealed class AcdMetrics : IBatchListener, IDisposable
{
    private static readonly double[] WaitBuckets = [0.5, 1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600];
    private static readonly double[] DecisionBuckets = [0.000_001, 0.000_002, 0.000_005, 0.000_01, 0.000_02, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.005];

    /// <summary>The counters of calls and callbacks: the metric, its help, and which counts it reports under which label value.</summary>
    private static readonly (string Name, string Help, string? Label, (CallCount What, string? Value)[] Counts)[] CallFamilies =
    [
        ("acd_calls_offered_total", "Calls that arrived at a skill (including refused ones and transfers in).", null, [(CallCount.Offered, null)]),
        ("acd_calls_routed_total", "Calls given to an agent.", null, [(CallCount.Routed, null)]),
        ("acd_calls_answered_total", "Calls answered (gRPC Answered, or a confirmed SIP hand-off).", null, [(CallCount.Answered, null)]),
        ("acd_calls_timed_out_total", "Calls ended by the skill's maximum wait.", null, [(CallCount.TimedOut, null)]),
        ("acd_calls_ended_total", "Connected calls that ended.", null, [(CallCount.Ended, null)]),
        ("acd_calls_ring_no_answer_total", "Offers the agent did not answer (the call went back to its place).", null, [(CallCount.RingNoAnswer, null)]),
        ("acd_calls_transferred_total", "Calls transferred into the skill.", null, [(CallCount.TransferredIn, null)]),
        ("acd_calls_abandoned_total", "Callers who hung up before reaching an agent, by reason.", "reason", [(CallCount.AbandonedCaller, "caller"), (CallCount.AbandonedDisconnected, "disconnected")]),
        ("acd_calls_rejected_total", "Calls refused at arrival, by reason.", "reason", [(CallCount.RejectedNoAgents, "no-agents"), (CallCount.RejectedQueueFull, "queue-full"), (CallCount.RejectedCapacity, "capacity")]),
        ("acd_calls_deflected_total", "New arrivals sent to self-service in surge tier 3.", null, [(CallCount.Deflected, null)]),
        ("acd_callbacks_created_total", "Callbacks owed to callers whose call did not reach an agent, by reason.", "reason",
            [(CallCount.CallbackAbandoned, "abandoned"), (CallCount.CallbackTimedOut, "timed-out"), (CallCount.CallbackRejected, "rejected"), (CallCount.CallbackDeflected, "deflected"), (CallCount.CallbackDisconnected, "disconnected")]),
        ("acd_callbacks_completed_total", "Callbacks closed, by outcome (exhausted: out of attempts, an SMS owed).", "outcome",
            [(CallCount.CallbackReached, "reached"), (CallCount.CallbackExhausted, "exhausted"), (CallCount.CallbackCancelled, "cancelled")]),
        ("acd_callback_attempts_total", "Callbacks given to an agent to dial.", null, [(CallCount.CallbackAttempts, null)]),
        ("acd_calls_talk_limit_total", "Connected calls the daemon ended at the maximum talk time (no BYE came).", null, [(CallCount.TalkLimit, null)]),
    ];

    /// <summary>gRPC status names as the metrics label them (OK, INVALID_ARGUMENT, ...), indexed by code.</summary>
    private static readonly string[] StatusNames = [.. Enum.GetValues<StatusCode>().OrderBy(c => (int)c).Select(c => c == StatusCode.OK ? "OK" : string.Concat(c.ToString().Select((ch, i) => i > 0 && char.IsUpper(ch) ? "_" + ch : ch.ToString())).ToUpperInvariant())];

    private readonly CollectorRegistry _registry = Prometheus.Metrics.NewCustomRegistry();
    private readonly DomainDirectory _domains;
    private readonly SipServer _sip;
    private readonly EventHub _hub;
    private readonly Dictionary<string, DomainCallCounters> _counters;
    private readonly Dictionary<string, Histogram.Child> _decisions;
    private readonly IDisposable _runtime;

    private readonly Counter[] _callFamilies;
    private readonly Counter _grpcRequests;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Counter.Child?[]> _grpcChildren = new(StringComparer.Ordinal);
    private readonly Gauge _callbacksOwed;
    private readonly Gauge _completionRatio;
    private readonly Gauge _surgeTier;
    private readonly Gauge _surgeForced;
    private readonly Gauge _skillSurgeTier;
    private readonly Gauge _requiredAgents;
    private readonly Gauge _waiting;
    private readonly Gauge _longestWait;
    private readonly Gauge _serviceLevel;
    private readonly Gauge _serviceLevelTarget;
    private readonly Gauge _threshold;
    private readonly Gauge _maxWait;
    private readonly Gauge _asa;
    private readonly Gauge _aht;
    private readonly Gauge _occupancy;
    private readonly Gauge _agents;
    private readonly Gauge _skillAgents;
    private readonly Gauge _backlog;
    private readonly Gauge _role;
    private readonly Gauge _epoch;
    private readonly Counter _takeovers;
    private readonly Gauge _lagRecords;
    private readonly Gauge _lagSeconds;
    private readonly Gauge _leaseAge;
    private readonly Counter _commands;
    private readonly Counter _snapshots;
    private readonly Counter _snapshotFailures;
    private readonly Counter _helperFailures;
    private readonly Counter _sipMessages;
    private readonly Counter _sipResponses;
    private readonly Counter _sipRejections;
    private readonly Gauge _sipConnections;
    private readonly Gauge _sipPending;
    private readonly Counter _sipClosed;
    private readonly Counter _sipAnswers;
    private readonly Gauge _watchers;
    private readonly Gauge _wallboardViewers;
    private readonly Counter _wallboardDropped;
    private readonly MemoryReliever? _reliever;
    private readonly Counter _memoryCompactions;
    private readonly Counter _memoryCollections;
    private readonly Acd.Host.Wallboard.WallboardFeed _wallboard;
    private readonly Counter _sipRefused;
    private readonly Counter _registrations;
    private readonly Gauge _poolThreads;

    public AcdMetrics(DomainDirectory domains, SipServer sip, EventHub hub, Acd.Host.Wallboard.WallboardFeed wallboard, MemoryReliever? reliever = null)
    {
        ArgumentNullException.ThrowIfNull(domains);
        _domains = domains;
        _reliever = reliever;
        _sip = sip;
        _hub = hub;
        var f = Prometheus.Metrics.WithCustomRegistry(_registry);
        string[] ds = ["domain", "skill"];

        _callFamilies = [.. CallFamilies.Select(c => f.CreateCounter(c.Name, c.Help, c.Label is null ? ds : ["domain", "skill", c.Label]))];
        _callbacksOwed = f.CreateGauge("acd_callbacks_owed", "Callbacks open or being dialed now.", "domain");
        _completionRatio = f.CreateGauge("acd_callback_completion_ratio", "Callbacks reached or exhausted over callbacks owed (cancelled excluded) since start; 1 with none.", "domain");
        _surgeTier = f.CreateGauge("acd_surge_tier", "The domain's surge warning tier (0-3).", "domain");
        _surgeForced = f.CreateGauge("acd_surge_forced", "1 while a duty manager forces the domain's tier.", "domain");
        _skillSurgeTier = f.CreateGauge("acd_skill_surge_tier", "A skill's effective surge tier (the higher of the domain's and its own).", ds);
        _requiredAgents = f.CreateGauge("acd_required_agents", "Erlang C: agents the skill needs to meet its service level target at the arrival rate of the last five minutes and today's handle time.", ds);

        var wait = f.CreateHistogram("acd_call_wait_seconds", "Wait from first enqueue until the call was given to an agent.", ds, new HistogramConfiguration { Buckets = WaitBuckets, ExemplarBehavior = ExemplarBehavior.NoExemplars() });
        var decision = f.CreateHistogram("acd_routing_decision_seconds", "Time the router took over one offer (enqueue and match).", ["domain"], new HistogramConfiguration { Buckets = DecisionBuckets, ExemplarBehavior = ExemplarBehavior.NoExemplars() });
        _counters = domains.All.ToDictionary(d => d.Name, d => new DomainCallCounters(d, skill => wait.WithLabels(d.Name, skill)), StringComparer.Ordinal);
        _decisions = domains.All.ToDictionary(d => d.Name, d => decision.WithLabels(d.Name), StringComparer.Ordinal);

        _waiting = f.CreateGauge("acd_calls_waiting", "Calls waiting now.", ds);
        _longestWait = f.CreateGauge("acd_calls_longest_wait_seconds", "Longest current wait among queued calls.", ds);
        _serviceLevel = f.CreateGauge("acd_service_level_ratio", "Answered within the threshold over answered plus abandoned after it, by window (5m rolling, today).", "domain", "skill", "window");
        _serviceLevelTarget = f.CreateGauge("acd_service_level_target_ratio", "The skill's service level target.", ds);
        _threshold = f.CreateGauge("acd_skill_service_level_threshold_seconds", "The skill's service level threshold T.", ds);
        _maxWait = f.CreateGauge("acd_skill_max_wait_seconds", "The skill's maximum wait before a call times out.", ds);
        _asa = f.CreateGauge("acd_average_speed_of_answer_seconds", "Average wait of answered calls today.", ds);
        _aht = f.CreateGauge("acd_average_handle_time_seconds", "Average talk plus wrap-up time today.", ds);
        _occupancy = f.CreateGauge("acd_occupancy_ratio", "Agents ringing, talking or in wrap-up over those plus ready agents.", ds);
        _agents = f.CreateGauge("acd_agents", "Agents by state.", "domain", "state");
        _skillAgents = f.CreateGauge("acd_skill_agents", "Agents holding the skill, by state.", "domain", "skill", "state");
        _role = f.CreateGauge("acd_cluster_active", "1 where this daemon serves the routing domain, 0 where it waits as standby (cluster mode; always 1 without it).", "domain");
        _epoch = f.CreateGauge("acd_cluster_epoch", "The lease epoch this daemon serves the domain under (cluster mode; 0 while standby).", "domain");
        _lagRecords = f.CreateGauge("acd_cluster_standby_lag_records", "A standby following the journal: records committed that it had not applied at its last look (cluster mode).", "domain");
        _lagSeconds = f.CreateGauge("acd_cluster_standby_lag_seconds", "A standby following the journal: how long ago the oldest record it had not applied was committed (cluster mode).", "domain");
        _leaseAge = f.CreateGauge("acd_cluster_lease_age_seconds", "The active daemon: seconds since it last renewed its lease on the domain; a value near Acd:Cluster:LeaseMilliseconds means renewals are late and a standby may take over (cluster mode; 0 while standby).", "domain");
        _takeovers = f.CreateCounter("acd_cluster_takeovers_total", "Times this daemon took a routing domain over (cluster mode).", "domain");
        _backlog = f.CreateGauge("acd_engine_backlog", "Commands posted to the routing engine and not yet executed.", "domain");
        _commands = f.CreateCounter("acd_engine_commands_total", "Commands the routing engine executed.", "domain");
        _snapshots = f.CreateCounter("acd_journal_snapshots_total", "Snapshots of the domain's state written (the journal before the kept ones is trimmed).", "domain");
        _snapshotFailures = f.CreateCounter("acd_journal_snapshot_failures_total", "Snapshots that failed (retried later; the journal is kept until one succeeds).", "domain");
        _helperFailures = f.CreateCounter("acd_snapshot_helper_failures_total", "Snapshot helper processes that failed or could not start: the daemon replayed the journal itself, its memory doubling meanwhile.", "domain");

        _sipMessages = f.CreateCounter("acd_sip_messages_total", "SIP messages received, by method (responses as method=response).", "method");
        _sipResponses = f.CreateCounter("acd_sip_responses_total", "SIP responses sent, by status code.", "code");
        _sipRejections = f.CreateCounter("acd_sip_rejections_total", "SIP messages refused, by reason.", "reason");
        _sipConnections = f.CreateGauge("acd_sip_connections", "Open SIP connections.");
        _sipPending = f.CreateGauge("acd_sip_pending_bytes", "Bytes of SIP answers queued and not yet written, over every connection.");
        _sipAnswers = f.CreateCounter("acd_sip_answers_after_close_total", "Final answers whose connection was gone (RFC 3261 §18.2.2): new connections opened for them (connected), answers that reached no one (undelivered).", "outcome");
        _sipClosed = f.CreateCounter("acd_sip_connections_closed_total", "SIP connections the daemon closed, by reason.", "reason");
        _sipRefused = f.CreateCounter("acd_sip_refused_total", "SIP requests refused by policy (source not trusted, registration, authentication, rate limits), by reason.", "reason");
        _registrations = f.CreateCounter("acd_agent_registrations_total", "Agents' SIP REGISTERs, by what they did (login, refresh, contact-change, logout, refused).", "action");
        _grpcRequests = f.CreateCounter("acd_grpc_requests_total", "gRPC calls, by method (unknown: a path this daemon does not serve) and status code.", "method", "code");
        _watchers = f.CreateGauge("acd_grpc_watchers", "Open Watch streams.");
        _wallboard = wallboard;
        _wallboardViewers = f.CreateGauge("acd_wallboard_viewers", "Open wallboard streams (/wallboard/stream).");
        _wallboardDropped = f.CreateCounter("acd_wallboard_viewers_dropped_total", "Wallboard viewers dropped for taking no update within Acd:Http:Wallboard:WriteTimeoutSeconds.");
        _memoryCompactions = f.CreateCounter("acd_memory_compactions_total", "Compacting collections run when the daemon went quiet after its heap grew (Acd:Memory:CompactWhenQuietMiB).");
        _memoryCollections = f.CreateCounter("acd_memory_collections_total", "Full collections asked for after dropped peers released their buffers.");

        // The library's process figures (process_*, dotnet_collection_count_total) and, through its adapter, the runtime's
        // own meter (system_runtime_dotnet_*: GC, heap, JIT, locks, thread pool queue). The adapter would name the
        // runtime's ".count" instruments "..._count", which Prometheus reads as part of a histogram (promtool refuses
        // them); they are left out, and the one the dashboard needs, the thread pool's threads, is published here.
        DotNetStats.Register(_registry);
        _runtime = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            Registry = _registry,
            MetricFactory = f,
            InstrumentFilterPredicate = i => string.Equals(i.Meter.Name, "System.Runtime", StringComparison.Ordinal) && !i.Name.EndsWith(".count", StringComparison.Ordinal),
        });
        _poolThreads = f.CreateGauge("dotnet_thread_pool_threads", "Threads in the .NET thread pool now.");
        _registry.AddBeforeCollectCallback(RefreshAsync);
    }

    /// <summary>This daemon's registry (several daemons in one process, as in tests, each export only their own).</summary>
    public CollectorRegistry Registry => _registry;

    /// <summary>Counts a finished gRPC call; <paramref name="method"/> is a served method's full name, or "unknown".</summary>
    public void GrpcCompleted(string method, StatusCode status)
    {
        // Label children resolved once per method and status (the methods are the served ones and "unknown": bounded).
        var byStatus = _grpcChildren.GetOrAdd(method, static (m, family) => new Counter.Child?[StatusNames.Length], _grpcRequests);
        var code = (uint)status < (uint)StatusNames.Length ? (int)status : (int)StatusCode.Unknown;
        (byStatus[code] ??= _grpcRequests.WithLabels(method, StatusNames[code])).Inc();
    }

    /// <inheritdoc/>
    public void OnBatch(DomainRuntime domain, EngineBatch batch)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(batch);
        _counters[domain.Name].Count(batch);
        var decisions = _decisions[domain.Name];
        var frequency = (double)domain.Engine.TimestampFrequency;
        foreach (ref readonly var entry in batch.Entries)
        {
            if (entry.Command.Kind == CommandKind.Offer)
            {
                decisions.Observe(entry.ElapsedTicks / frequency);
            }
        }
    }

    /// <summary>Reads the live figures of every domain from its engine and copies the counters (before a scrape).</summary>
    public async Task RefreshAsync(CancellationToken cancelled)
    {
        foreach (var d in _domains.All)
        {
            _role.WithLabels(d.Name).Set(d.Active ? 1 : 0);
            _epoch.WithLabels(d.Name).Set(d.Epoch);
            _takeovers.WithLabels(d.Name).IncTo(d.Takeovers);
            var (_, lagRecords, lagSeconds) = d.Following;
            _lagRecords.WithLabels(d.Name).Set(d.Active ? 0 : lagRecords);
            _lagSeconds.WithLabels(d.Name).Set(d.Active ? 0 : lagSeconds);
            _leaseAge.WithLabels(d.Name).Set(d.LeaseAgeSeconds);
            if (!d.Active)
            {
                continue; // cluster mode, standby: the owner reports the domain's figures
            }

            var queues = (await d.Engine.AskAsync(QueuesQuery.Instance, cancelled).ConfigureAwait(false))!;
            var agents = (await d.Engine.AskAsync(AgentStatesQuery.Instance, cancelled).ConfigureAwait(false))!.ByState;
            var surge = (await d.Engine.AskAsync(new SurgeQuery(), cancelled).ConfigureAwait(false))!;
            var callbacks = await d.Engine.AskAsync(CallbackTotalsQuery.Instance, cancelled).ConfigureAwait(false);
            foreach (var q in queues)
            {
                SetQueue(d, q);
            }

            for (var state = 0; state < agents.Count; state++)
            {
                _agents.WithLabels(d.Name, Names.AgentStates[state]).Set(agents[state]);
            }

            _surgeTier.WithLabels(d.Name).Set(surge.Tier);
            _surgeForced.WithLabels(d.Name).Set(surge.Forced ? 1 : 0);
            _callbacksOwed.WithLabels(d.Name).Set(callbacks.Owed);
            _completionRatio.WithLabels(d.Name).Set(callbacks.CompletionRatio);
            _backlog.WithLabels(d.Name).Set(d.Engine.Backlog);
            _commands.WithLabels(d.Name).IncTo(d.Engine.CommandsExecuted);
            if (d.Journal is { } journal)
            {
                _snapshots.WithLabels(d.Name).IncTo(journal.Snapshots);
                _snapshotFailures.WithLabels(d.Name).IncTo(journal.SnapshotFailures);
                _helperFailures.WithLabels(d.Name).IncTo(journal.HelperFailures);
            }
            foreach (var skill in d.Config.Skills)
            {
                _maxWait.WithLabels(d.Name, skill.Name).Set(skill.MaxWaitMs / 1000.0);
            }
        }

        foreach (var c in _counters.Values)
        {
            for (var family = 0; family < CallFamilies.Length; family++)
            {
                for (var s = 0; s < c.Skills.Length; s++)
                {
                    foreach (var (what, value) in CallFamilies[family].Counts)
                    {
                        var child = value is null ? _callFamilies[family].WithLabels(c.Domain, c.Skills[s]) : _callFamilies[family].WithLabels(c.Domain, c.Skills[s], value);
                        child.IncTo(c.Read(s, what));
                    }
                }
            }
        }

        SetSip();
        _watchers.Set(_hub.Count);
        _wallboardViewers.Set(_wallboard.Viewers);
        _wallboardDropped.IncTo(_wallboard.Dropped);
        if (_reliever is not null)
        {
            _memoryCompactions.IncTo(_reliever.Compactions);
            _memoryCollections.IncTo(_reliever.Collections);
        }
        _poolThreads.Set(ThreadPool.ThreadCount);
    }

    /// <inheritdoc/>
    public void Dispose() => _runtime.Dispose();

    private void SetQueue(DomainRuntime d, QueueView q)
    {
        var (domain, skill) = (d.Name, q.Skill);
        _waiting.WithLabels(domain, skill).Set(q.Waiting);
        _longestWait.WithLabels(domain, skill).Set(q.LongestWaitMs / 1000.0);
        _serviceLevel.WithLabels(domain, skill, "5m").Set(q.ServiceLevelRolling);
        _serviceLevel.WithLabels(domain, skill, "today").Set(q.ServiceLevelToday);
        _serviceLevelTarget.WithLabels(domain, skill).Set(q.ServiceLevelTarget);
        _threshold.WithLabels(domain, skill).Set(q.ThresholdMs / 1000.0);
        _asa.WithLabels(domain, skill).Set(q.AsaMs / 1000.0);
        _aht.WithLabels(domain, skill).Set(q.AhtMs / 1000.0);
        _occupancy.WithLabels(domain, skill).Set(q.Occupancy);
        _skillSurgeTier.WithLabels(domain, skill).Set(q.SurgeTier);
        _requiredAgents.WithLabels(domain, skill).Set(q.RequiredAgents(d.Config.DefaultHandleTimeMs));
        for (var state = 0; state < q.AgentsByState.Count; state++)
        {
            _skillAgents.WithLabels(domain, skill, Names.AgentStates[state]).Set(q.AgentsByState[state]);
        }
    }

    private void SetSip()
    {
        foreach (var method in Enum.GetValues<SipMethod>())
        {
            var name = method == SipMethod.None ? "response" : method.ToString().ToUpperInvariant();
            _sipMessages.WithLabels(name).IncTo(_sip.Counters.Messages(method));
        }

        foreach (var (code, count) in _sip.Counters.Responses())
        {
            _sipResponses.WithLabels(code.ToString(System.Globalization.CultureInfo.InvariantCulture)).IncTo(count);
        }

        foreach (var reason in Enum.GetValues<SipRejection>())
        {
            if (reason != SipRejection.None)
            {
                _sipRejections.WithLabels(SipRejections.Label(reason)).IncTo(_sip.Counters.Rejections(reason));
            }
        }

        foreach (var reason in Enum.GetValues<SipRefusal>())
        {
            _sipRefused.WithLabels(SipPolicyLabels.Of(reason)).IncTo(_sip.Counters.Refusals(reason));
        }

        foreach (var action in Enum.GetValues<RegistrationAction>())
        {
            _registrations.WithLabels(SipPolicyLabels.Of(action)).IncTo(_sip.Counters.Registrations(action));
        }

        _sipConnections.Set(_sip.OpenConnections);
        _sipClosed.WithLabels("broken-framing").IncTo(_sip.Counters.BrokenConnections);
        _sipClosed.WithLabels("idle").IncTo(_sip.Counters.IdleClosed);
        _sipClosed.WithLabels("slow-reader").IncTo(_sip.Counters.SlowReaders);
        _sipClosed.WithLabels("message-timeout").IncTo(_sip.Counters.MessageTimeouts);
        var (total, perSource) = _sip.Counters.ConnectionsRefused;
        _sipClosed.WithLabels("refused-total").IncTo(total);
        _sipClosed.WithLabels("refused-per-source").IncTo(perSource);
        _sipPending.Set(_sip.PendingBytes);
        _sipAnswers.WithLabels("connected").IncTo(_sip.AnswerConnections);
        _sipAnswers.WithLabels("undelivered").IncTo(_sip.UndeliveredAnswers);
    }
}
