using System.Globalization;
using Acd.Core.Domain;
using Acd.Core.Routing;
using Acd.Host.Configuration;
using Acd.Host.Cluster;
using Acd.Host.Durability;
using Npgsql;

namespace Acd.Host.Routing;

/// <summary>
/// Starts the domains: recovers each one's state from its data directory (newest snapshot plus the journal), starts its
/// engine behind the journal, and then either logs in the roster's initial states (a first start) or holds the SIP
/// calls whose proxy connection died with the old process (a restart: a reconnecting proxy resumes them). Stops the
/// engines last, flushing the journal and taking a final snapshot.
/// </summary>
public sealed partial class EngineHost(
    DomainDirectory domains,
    AcdSettings settings,
    IEnumerable<IBatchListener> listeners,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILoggerFactory loggers,
    ILogger<EngineHost> logger,
    ClusterDatabase? cluster = null,
    Acd.Host.Sip.SipServer? sip = null) : IHostedService
{
    private readonly List<IDomainStore> _stores = [];
    private readonly List<DomainLease> _leases = [];
    private readonly List<Task> _activations = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly Dictionary<string, RecoveredState> _recovered = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _digests = new(StringComparer.Ordinal);

    /// <summary>True once every domain has started and restored its state (in cluster mode: every domain is active here).</summary>
    public bool Ready { get; private set; }

    /// <summary>Cluster mode: a domain's lease passed to another daemon; the daemon stops with exit code 6.</summary>
    public bool OwnershipLost { get; private set; }

    /// <summary>Cluster mode: why a domain could not be started after its lease was taken (the daemon stops).</summary>
    public Exception? StartFailure { get; private set; }

    /// <summary>Whether the daemon runs in cluster mode.</summary>
    public bool Clustered => cluster is not null;

    /// <summary>True when a journal could not be written: the daemon stopped acknowledging and shuts down with exit code 4.</summary>
    public bool JournalFailed { get; private set; }

    /// <summary>A summary of each domain's roster as loaded, for the start-up log line.</summary>
    public IReadOnlyList<string> Summaries { get; private set; } = [];

    /// <summary>What recovery did, per domain (empty with durability off).</summary>
    public IReadOnlyDictionary<string, RecoveredState> Recovered
    {
        get
        {
            lock (_recovered)
            {
                return new Dictionary<string, RecoveredState>(_recovered, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>The state digest of each domain right after recovery, before anything else ran.</summary>
    public IReadOnlyDictionary<string, string> RecoveredDigests
    {
        get
        {
            lock (_recovered)
            {
                return new Dictionary<string, string>(_digests, StringComparer.Ordinal);
            }
        }
    }

    /// <inheritdoc/>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var summaries = new List<string>();
        foreach (var d in domains.All)
        {
            foreach (var listener in listeners)
            {
                d.AddListener(listener);
            }
        }

        if (cluster is not null)
        {
            // Cluster mode: every domain waits as standby until this daemon takes its lease; the listeners open meanwhile
            // (refusing requests with the owner's name, /readyz saying standby).
            foreach (var d in domains.All)
            {
                d.SetStandby(null);
                summaries.Add($"{d.Name} (standby until its lease is taken)");
                _activations.Add(Task.Run(() => ServeWhenOwnedAsync(d, _stopping.Token), CancellationToken.None));
            }

            Summaries = summaries;
            return;
        }

        foreach (var d in domains.All)
        {
            IDomainStore? store = null;
            if (settings.Options.Journal.Enabled)
            {
                store = new DomainStore(settings.Options.DataDirectory, d.Config, settings.Options.Journal, loggers.CreateLogger<DomainStore>())
                {
                    Helper = SnapshotHelper.ForThisProcess(settings.Options.Journal, loggers.CreateLogger<SnapshotHelper>()),
                };
                lock (_stores)
                {
                    _stores.Add(store);
                }
            }

            summaries.Add(await StartDomainAsync(d, store, cancellationToken).ConfigureAwait(false));
        }

        Summaries = summaries;
        if (settings.UsesDemoCentre)
        {
            LogDemo(logger);
        }

        Ready = true;
    }

    /// <summary>Recovers a domain's state from its store, starts its engine behind the journal, and logs the roster in (first start) or holds the calls of dead connections (restart).</summary>
    private async Task<string> StartDomainAsync(DomainRuntime d, IDomainStore? store, CancellationToken cancellationToken)
    {
        var fresh = true;
        if (store is not null)
        {
            var state = await Task.Run(store.Recover, cancellationToken).ConfigureAwait(false);
            var digest = state.Router.StateDigest();
            lock (_recovered)
            {
                _recovered[d.Name] = state;
                _digests[d.Name] = digest;
            }

            d.Engine.UseRouter(state.Router);
            domains.RememberCalls(d, state.Router.LiveCallIds());
            if (!state.Fresh && sip is not null)
            {
                // The INVITEs the proxy still holds for waiting callers are answered again, over a new connection.
                var resumed = sip.ResumeAnswers(d, state.Router);
                if (resumed > 0)
                {
                    LogResumed(logger, d.Name, resumed);
                }
            }

            d.UseJournal(new DurableSink(store, state.LastIndex, d.DeliverAndRelease, settings.Options.Journal, time, loggers.CreateLogger<DurableSink>(), OnJournalFailed, command => d.Engine.ExecuteAsync(command)));
            fresh = state.Fresh;
            if (!fresh)
            {
                LogRecovered(logger, d.Name, state.SnapshotIndex, state.Replayed, state.LastIndex, state.Elapsed.TotalMilliseconds, state.Router.LiveCalls, digest[..16]);
            }
        }

        d.Engine.Start();

        // A first start logs the roster in; a restart does not (agents are as they were) but holds the SIP calls of
        // connections that died with the old process, for a reconnecting proxy to resume.
        var result = await d.Engine.ExecuteAsync(fresh ? LoginRoster.Instance : new DetachConnection(0) { KeepAnswerable = settings.Options.Sip.AnswerOverNewConnection }, cancellationToken).ConfigureAwait(false);
        if (!result.IsOk)
        {
            throw new InvalidOperationException($"domain {d.Name}: start failed: {result.Message}");
        }

        var agents = (await d.Engine.AskAsync(AgentsQuery.Instance, cancellationToken).ConfigureAwait(false))!;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{d.Name} ({d.Config.Skills.Count} skills: {string.Join("/", d.Config.Skills.Select(s => s.Name))}; {agents.Count} agents: {agents.Count(a => a.State == AgentState.Ready)} ready, {agents.Count(a => a.State == AgentState.Standby)} standby, {agents.Count(a => a.State == AgentState.LoggedOut)} logged out)");
    }

    /// <summary>
    /// Cluster mode, per domain: waits as standby until the domain's lease can be taken, then recovers the state from
    /// PostgreSQL, serves the domain, and renews the lease; a lease lost (another daemon took over) stops the daemon
    /// (exit code 6) without acknowledging anything more — the service manager starts it again, as standby.
    /// </summary>
    private async Task ServeWhenOwnedAsync(DomainRuntime d, CancellationToken stopping)
    {
        var lease = new DomainLease(cluster!, d.Name);
        var options = cluster!.Settings;
        var poll = TimeSpan.FromMilliseconds(options.StandbyPollMilliseconds);
        PgDomainStore NewStore() => new(cluster, lease, d.Config, settings.Options.Journal, loggers.CreateLogger<PgDomainStore>())
        {
            Helper = SnapshotHelper.ForThisProcess(settings.Options.Journal, loggers.CreateLogger<SnapshotHelper>()),
        };

        var store = NewStore();
        var schema = false;
        string? lastProblem = null;
        NpgsqlConnection? listener = null;
        try
        {
            // Standby: try the lease; between tries follow the journal (woken by the owner's notifications), so that a
            // takeover has only the last rows to apply.
            while (true)
            {
                stopping.ThrowIfCancellationRequested();
                try
                {
                    if (!schema)
                    {
                        await cluster.EnsureSchemaAsync(stopping).ConfigureAwait(false);
                        schema = true;
                    }

                    if (await lease.TryAcquireAsync(stopping).ConfigureAwait(false))
                    {
                        break;
                    }

                    if (!string.Equals(d.Owner, lease.Holder, StringComparison.Ordinal) || lastProblem is not null)
                    {
                        LogStandby(logger, d.Name, lease.Holder ?? "nobody");
                    }

                    lastProblem = null;
                    d.SetStandby(lease.Holder);
                    // The lag as found on waking (before catching up): how far behind the standby's state was.
                    var (records, seconds) = await Task.Run(store.Lag, stopping).ConfigureAwait(false);
                    d.SetFollowing(store.Applied, records, seconds);
                    await Task.Run(store.Follow, stopping).ConfigureAwait(false);
                    if (listener is null)
                    {
                        listener = await cluster.Source.OpenConnectionAsync(stopping).ConfigureAwait(false);
                        await using var listen = new NpgsqlCommand($"LISTEN {ClusterDatabase.Channel}", listener);
                        await listen.ExecuteNonQueryAsync(stopping).ConfigureAwait(false);
                    }

                    // Woken by a commit of the owner, or at the next try of the lease.
                    await listener.WaitAsync(poll, stopping).ConfigureAwait(false);
                    continue;
                }
                catch (NpgsqlException e)
                {
                    if (!string.Equals(lastProblem, e.Message, StringComparison.Ordinal))
                    {
                        LogClusterUnreachable(logger, d.Name, e.Message);
                        lastProblem = e.Message;
                    }

                    if (listener is not null)
                    {
                        await listener.DisposeAsync().ConfigureAwait(false);
                        listener = null;
                    }
                }
                catch (DurableStateException e)
                {
                    // What the standby read cannot be applied; it starts over from the newest snapshot at its next look.
                    LogFollowFailed(logger, d.Name, e.Message);
                    store = NewStore();
                }

                await Task.Delay(poll, time, stopping).ConfigureAwait(false);
            }

            if (listener is not null)
            {
                await listener.DisposeAsync().ConfigureAwait(false);
                listener = null;
            }

            var previous = d.Owner;
            lock (_stores)
            {
                _stores.Add(store);
                _leases.Add(lease);
            }

            d.UseLease(() => lease.Held, () => lease.AgeSeconds);

            var summary = await StartDomainAsync(d, store, stopping).ConfigureAwait(false);
            d.SetActive(lease.Node, lease.Epoch);
            LogActive(logger, d.Name, lease.Epoch, previous ?? "nobody", summary);
            Ready = domains.All.All(x => x.Active);

            // Renewed until another daemon has taken the lease. While PostgreSQL cannot be reached the daemon keeps trying
            // (and, past the lease, tells probes it is not serving); whether it still owns the domain is decided by
            // PostgreSQL once it answers again — by this renewal, or by the fenced insert of its next group.
            var renew = TimeSpan.FromMilliseconds(options.RenewMilliseconds);
            while (true)
            {
                await Task.Delay(renew, time, stopping).ConfigureAwait(false);
                try
                {
                    if (!await lease.RenewAsync(stopping).ConfigureAwait(false))
                    {
                        break;
                    }
                }
                catch (NpgsqlException e)
                {
                    LogRenewFailed(logger, d.Name, e.Message);
                }
            }

            OnOwnershipLost(d);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopping.
        }
#pragma warning disable CA1031 // a domain that cannot start in cluster mode stops the daemon, with its reason logged
        catch (Exception e)
#pragma warning restore CA1031
        {
            StartFailure = e;
            LogClusterStartFailed(logger, d.Name, e);
            Ready = false;
            lifetime.StopApplication();
        }
        finally
        {
            if (listener is not null)
            {
                await listener.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private void OnOwnershipLost(DomainRuntime d)
    {
        d.SetStandby(null);
        OwnershipLost = true;
        Ready = false;
        LogOwnershipLost(logger, d.Name);
        lifetime.StopApplication();
    }

    private void OnJournalFailed()
    {
        // In cluster mode a group commit fails when the lease passed to another daemon (or PostgreSQL stayed out of
        // reach for longer than the lease): either way the domain is another daemon's now.
        if (cluster is not null)
        {
            OwnershipLost = true;
        }
        else
        {
            JournalFailed = true;
        }

        Ready = false;
        lifetime.StopApplication();
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Ready = false;
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_activations).ConfigureAwait(false);
        foreach (var d in domains.All)
        {
            // Commands already posted are executed; the engine stops on its own once drained; then the journal
            // flushes what is left and takes a last snapshot.
            await d.Engine.StopAsync().ConfigureAwait(false);
            if (d.Journal is { } sink)
            {
                await sink.StopAsync().ConfigureAwait(false);
                sink.Dispose();
            }
        }

        foreach (var store in _stores)
        {
            store.Dispose();
        }

        // The last group is committed: a standby may take over at once.
        foreach (var lease in _leases)
        {
            try
            {
                await lease.ReleaseAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (NpgsqlException e)
            {
                LogRenewFailed(logger, lease.Domain, e.Message);
            }
        }

        _stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Domain {Domain}: {Count} waiting SIP calls will be answered over a new connection to their proxy")]
    private static partial void LogResumed(ILogger logger, string domain, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Domain {Domain}: standby; owned by {Owner}")]
    private static partial void LogStandby(ILogger logger, string domain, string owner);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Domain {Domain}: ACTIVE under lease epoch {Epoch} (taken from {Previous}); {Summary}")]
    private static partial void LogActive(ILogger logger, string domain, long epoch, string previous, string summary);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Domain {Domain}: PostgreSQL cannot be reached ({Why}); waiting as standby")]
    private static partial void LogClusterUnreachable(ILogger logger, string domain, string why);

    [LoggerMessage(Level = LogLevel.Error, Message = "Domain {Domain}: the journal read from PostgreSQL cannot be followed ({Why}); starting over from the newest snapshot")]
    private static partial void LogFollowFailed(ILogger logger, string domain, string why);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Domain {Domain}: lease renewal failed ({Why}); retrying")]
    private static partial void LogRenewFailed(ILogger logger, string domain, string why);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Domain {Domain}: the lease passed to another daemon; nothing more is acknowledged here, stopping (exit code 6) to start again as standby")]
    private static partial void LogOwnershipLost(ILogger logger, string domain);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Domain {Domain}: could not start after taking its lease")]
    private static partial void LogClusterStartFailed(ILogger logger, string domain, Exception error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Running the embedded demo centre (10086): its agents are simulated as logged in; give --config FILE for a real roster")]
    private static partial void LogDemo(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Domain {Domain} recovered: snapshot at record {Snapshot}, {Replayed} journal records replayed up to {Last} in {Ms:0} ms; {Calls} live calls; state digest {Digest}")]
    private static partial void LogRecovered(ILogger logger, string domain, long snapshot, long replayed, long last, double ms, int calls, string digest);
}
