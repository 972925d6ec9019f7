using System.Collections.Concurrent;
using Acd.Core.Engine;
using Acd.Host.Configuration;

namespace Acd.Host.Routing;

/// <summary>
/// The daemon's routing domains: by name, by agent work number (the roster, plus agents that logged in with their
/// own skills), and the default one for requests that name none.
/// </summary>
public sealed class DomainDirectory : IAsyncDisposable, IBatchListener
{
    private readonly Dictionary<string, DomainRuntime> _byName = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DomainRuntime> _byAgent = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DomainRuntime> _byCall = new(StringComparer.Ordinal);

    /// <summary>Creates a runtime per configured domain.</summary>
    public DomainDirectory(AcdSettings settings, TimeProvider time, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(loggers);
        var engineOptions = new EngineOptions
        {
            QueueCapacity = settings.Options.Engine.QueueCapacity,
            MaxBatch = settings.Options.Engine.MaxBatch,
            Batches = settings.Options.Engine.Batches,
        };
        var logger = loggers.CreateLogger<DomainRuntime>();
        var all = new List<DomainRuntime>();
        foreach (var config in settings.Domains)
        {
            var runtime = new DomainRuntime(config, time, engineOptions, logger);
            all.Add(runtime);
            _byName.Add(config.Name, runtime);
            foreach (var agent in config.Roster)
            {
                _byAgent[agent.Id] = runtime;
            }
        }

        All = all;
        Default = all[0];
    }

    /// <summary>Every domain, in configuration order.</summary>
    public IReadOnlyList<DomainRuntime> All { get; }

    /// <summary>The first domain: for requests that name none.</summary>
    public DomainRuntime Default { get; }

    /// <summary>A domain by name; null when unknown. Null or empty names the default.</summary>
    public DomainRuntime? Find(string? name) => string.IsNullOrEmpty(name) ? Default : _byName.GetValueOrDefault(name);

    /// <summary>The domain an agent belongs to; unknown agents belong to the default domain (where they may log in with skills).</summary>
    public DomainRuntime ForAgent(string agentId) => _byAgent.GetValueOrDefault(agentId) ?? Default;

    /// <summary>Remembers the domain of an agent that logged in with its own skills.</summary>
    public void RememberAgent(string agentId, DomainRuntime domain) => _byAgent.TryAdd(agentId, domain);

    /// <summary>
    /// The domain a live call is in (for requests that name a call but no domain). With one domain, that one;
    /// with several, the one its offer went to (remembered while the call lives), else the default.
    /// </summary>
    public DomainRuntime ForCall(string callId) => All.Count == 1 ? Default : _byCall.GetValueOrDefault(callId) ?? Default;

    /// <summary>Remembers the domain of calls that were live when it was recovered.</summary>
    public void RememberCalls(DomainRuntime domain, IEnumerable<string> callIds)
    {
        if (All.Count > 1)
        {
            foreach (var id in callIds)
            {
                _byCall[id] = domain;
            }
        }
    }

    /// <summary>The domain of a callback: its id ends with "@" and the domain's name.</summary>
    public DomainRuntime ForCallback(string callbackId)
    {
        var at = callbackId.LastIndexOf('@');
        return at < 0 ? Default : Find(callbackId[(at + 1)..]) ?? Default;
    }

    /// <inheritdoc/>
    public void OnBatch(DomainRuntime domain, Acd.Core.Engine.EngineBatch batch)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(batch);
        if (All.Count == 1)
        {
            return;
        }

        foreach (ref readonly var e in batch.Events.Span)
        {
            switch (e.Kind)
            {
                case Acd.Core.Routing.EventKind.CallQueued or Acd.Core.Routing.EventKind.CallRouted:
                    _byCall[e.CallId!] = domain;
                    break;
                case Acd.Core.Routing.EventKind.CallEnded or Acd.Core.Routing.EventKind.CallAbandoned
                    or Acd.Core.Routing.EventKind.CallTimedOut or Acd.Core.Routing.EventKind.CallRejected:
                    _byCall.TryRemove(e.CallId!, out _);
                    break;
            }
        }
    }

    /// <summary>Total commands waiting in every engine.</summary>
    public long Backlog => All.Sum(d => d.Engine.Backlog);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        foreach (var d in All)
        {
            await d.DisposeAsync().ConfigureAwait(false);
        }
    }
}
