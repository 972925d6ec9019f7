using System.Globalization;
using Acd.Core.Domain;
using Acd.Core.Routing;
using Acd.Host.Configuration;
using Acd.Host.Durability;

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
    ILogger<EngineHost> logger) : IHostedService
{
    private readonly List<DomainStore> _stores = [];

    /// <summary>True once every domain has started and restored its state.</summary>
    public bool Ready { get; private set; }

    /// <summary>True when a journal could not be written: the daemon stopped acknowledging and shuts down with exit code 4.</summary>
    public bool JournalFailed { get; private set; }

    /// <summary>A summary of each domain's roster as loaded, for the start-up log line.</summary>
    public IReadOnlyList<string> Summaries { get; private set; } = [];

    /// <summary>What recovery did, per domain (empty with durability off).</summary>
    public IReadOnlyDictionary<string, RecoveredState> Recovered { get; private set; } = new Dictionary<string, RecoveredState>(StringComparer.Ordinal);

    /// <summary>The state digest of each domain right after recovery, before anything else ran.</summary>
    public IReadOnlyDictionary<string, string> RecoveredDigests { get; private set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <inheritdoc/>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var summaries = new List<string>();
        var recovered = new Dictionary<string, RecoveredState>(StringComparer.Ordinal);
        var digests = new Dictionary<string, string>(StringComparer.Ordinal);
        var journal = settings.Options.Journal;
        foreach (var d in domains.All)
        {
            foreach (var listener in listeners)
            {
                d.AddListener(listener);
            }

            var fresh = true;
            if (journal.Enabled)
            {
                var store = new DomainStore(settings.Options.DataDirectory, d.Config, journal, loggers.CreateLogger<DomainStore>());
                _stores.Add(store);
                var state = await Task.Run(store.Recover, cancellationToken).ConfigureAwait(false);
                recovered[d.Name] = state;
                digests[d.Name] = state.Router.StateDigest();
                d.Engine.UseRouter(state.Router);
                domains.RememberCalls(d, state.Router.LiveCallIds());
                d.UseJournal(new DurableSink(store, state.LastIndex, d.DeliverAndRelease, journal, time, loggers.CreateLogger<DurableSink>(), OnJournalFailed, command => d.Engine.ExecuteAsync(command)));
                fresh = state.Fresh;
                if (!fresh)
                {
                    LogRecovered(logger, d.Name, state.SnapshotIndex, state.Replayed, state.LastIndex, state.Elapsed.TotalMilliseconds, state.Router.LiveCalls, digests[d.Name][..16]);
                }
            }

            d.Engine.Start();

            // A first start logs the roster in; a restart does not (agents are as they were) but holds the SIP calls of
            // connections that died with the old process, for a reconnecting proxy to resume.
            var result = await d.Engine.ExecuteAsync(fresh ? LoginRoster.Instance : new DetachConnection(0), cancellationToken).ConfigureAwait(false);
            if (!result.IsOk)
            {
                throw new InvalidOperationException($"domain {d.Name}: start failed: {result.Message}");
            }

            var agents = (await d.Engine.AskAsync(AgentsQuery.Instance, cancellationToken).ConfigureAwait(false))!;
            summaries.Add(string.Create(
                CultureInfo.InvariantCulture,
                $"{d.Name} ({d.Config.Skills.Count} skills: {string.Join("/", d.Config.Skills.Select(s => s.Name))}; {agents.Count} agents: {agents.Count(a => a.State == AgentState.Ready)} ready, {agents.Count(a => a.State == AgentState.Standby)} standby, {agents.Count(a => a.State == AgentState.LoggedOut)} logged out)"));
        }

        Summaries = summaries;
        Recovered = recovered;
        RecoveredDigests = digests;
        if (settings.UsesDemoCentre)
        {
            LogDemo(logger);
        }

        Ready = true;
    }

    private void OnJournalFailed()
    {
        JournalFailed = true;
        Ready = false;
        lifetime.StopApplication();
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Ready = false;
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
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Running the embedded demo centre (10086): its agents are simulated as logged in; give --config FILE for a real roster")]
    private static partial void LogDemo(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Domain {Domain} recovered: snapshot at record {Snapshot}, {Replayed} journal records replayed up to {Last} in {Ms:0} ms; {Calls} live calls; state digest {Digest}")]
    private static partial void LogRecovered(ILogger logger, string domain, long snapshot, long replayed, long last, double ms, int calls, string digest);
}
