using Acd.Core.Configuration;
using Acd.Core.Engine;
using Acd.Core.Routing;

namespace Acd.Host.Routing;

/// <summary>
/// Something that reads every executed batch of a domain, in order, without blocking: on the thread that delivers the
/// domain's batches — the engine's own, or the journal's once the batch is durable when the journal is on.
/// </summary>
public interface IBatchListener
{
    /// <summary>Reads a batch (its entries and events); must not keep references to it after returning.</summary>
    void OnBatch(DomainRuntime domain, EngineBatch batch);
}

/// <summary>
/// One routing domain in the daemon: its router, the engine (single writer) around it, and the delivery of each
/// executed batch — replies to whoever waits, events to the listeners (SIP transactions, event streams, metrics).
/// </summary>
public sealed class DomainRuntime : IEngineSink, IAsyncDisposable
{
    private readonly List<IBatchListener> _listeners = [];
    private readonly ILogger _logger;
    private Durability.DurableSink? _journal;

    /// <summary>Creates the domain and its (not yet started) engine.</summary>
    public DomainRuntime(DomainConfig config, TimeProvider time, EngineOptions engineOptions, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        _logger = logger;
        Engine = new RoutingEngine(new Router(config), time, this, engineOptions);
    }

    /// <summary>The domain's configuration.</summary>
    public DomainConfig Config { get; }

    /// <summary>Domain name.</summary>
    public string Name => Config.Name;

    /// <summary>The router; read only from the engine thread, or before the engine starts.</summary>
    public Router Router => Engine.Router;

    /// <summary>The journal, when durability is on.</summary>
    public Durability.DurableSink? Journal => _journal;

    /// <summary>The single writer.</summary>
    public RoutingEngine Engine { get; }

    /// <summary>Adds a listener (before the engine starts).</summary>
    public void AddListener(IBatchListener listener) => _listeners.Add(listener);

    /// <summary>Sends every batch through the journal first: its answers leave once it is durable (before the engine starts).</summary>
    public void UseJournal(Durability.DurableSink journal) => _journal = journal;

    /// <inheritdoc/>
    public void OnBatch(EngineBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (_journal is { } journal)
        {
            journal.OnBatch(batch);
            return;
        }

        DeliverAndRelease(batch);
    }

    /// <summary>Releases a batch's answers and events (once it is durable), then gives it back to the engine.</summary>
    public void DeliverAndRelease(EngineBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        try
        {
            Deliver(batch);
        }
        finally
        {
            batch.Release();
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => Engine.DisposeAsync();

    private void Deliver(EngineBatch batch)
    {
        foreach (ref readonly var entry in batch.Entries)
        {
            if (entry.Reply is ICommandReply reply)
            {
                reply.Complete(entry.Result);
            }
        }

        foreach (var listener in _listeners)
        {
            try
            {
                listener.OnBatch(this, batch);
            }
#pragma warning disable CA1031 // a failing listener must not stop routing; it is logged
            catch (Exception e)
#pragma warning restore CA1031
            {
                _logger.LogError(e, "Listener {Listener} failed on batch {Batch} of domain {Domain}", listener.GetType().Name, batch.Number, Name);
            }
        }
    }
}
