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
/// A listener told, on the delivering thread, when a batch's delivery begins and when it has ended (its replies completed
/// and every listener called): the SIP port writes a batch's answers on that thread and flushes each connection once at
/// the end.
/// </summary>
public interface IDeliveryScope
{
    /// <summary>Before a batch's replies are completed; true when the scope is open (then <see cref="EndDelivery"/> follows).</summary>
    bool BeginDelivery(EngineBatch batch);

    /// <summary>After the last listener (also when one failed), for a scope that was opened.</summary>
    void EndDelivery();

    /// <summary>Whether the calling thread may wait for the disk now (a SIP read loop: only when nothing more waits on its socket).</summary>
    bool MayWaitForDisk();

    /// <summary>Sends what the calling thread has written so far in an open scope (it is about to wait for the disk); the scope stays open.</summary>
    void SendWritten();
}

/// <summary>
/// One routing domain in the daemon: its router, the engine (single writer) around it, and the delivery of each
/// executed batch — replies to whoever waits, events to the listeners (SIP transactions, event streams, metrics).
/// </summary>
public sealed class DomainRuntime : IEngineSink, IAsyncDisposable
{
    private readonly List<IBatchListener> _listeners = [];
    private readonly List<IDeliveryScope> _scopes = [];
    private readonly ILogger _logger;
    private Durability.DurableSink? _journal;
    private Action? _sendWritten;
    private Func<bool>? _mayWait;
    private volatile bool _active = true;
    private volatile string? _owner;
    private long _epoch;
    private long _waiting;
    private long _takeovers;
    private Func<bool>? _leaseHeld;
    private Func<double>? _leaseAge;
    private long _applied;
    private long _lagRecords;
    private double _lagSeconds;

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

    /// <summary>The router; read only in a batch's hand-off to the sink (on the thread executing it), or before the engine starts.</summary>
    public Router Router => Engine.Router;

    /// <summary>The journal, when durability is on.</summary>
    public Durability.DurableSink? Journal => _journal;

    /// <summary>The single writer.</summary>
    public RoutingEngine Engine { get; }

    /// <summary>
    /// Whether this daemon serves the domain: always without cluster mode; in cluster mode once it holds the domain's
    /// lease and has recovered its state. A standby domain refuses requests (SIP 503, gRPC UNAVAILABLE) naming its owner.
    /// </summary>
    public bool Active => _active;

    /// <summary>In cluster mode: the daemon that owns the domain, as last seen (this one when active).</summary>
    public string? Owner => _owner;

    /// <summary>In cluster mode: the epoch of this daemon's lease while active; 0 otherwise.</summary>
    public long Epoch => Volatile.Read(ref _epoch);

    /// <summary>Whether calls waited in the domain after its last batch (read from any thread; a moment old).</summary>
    public bool CallsWaiting => Volatile.Read(ref _waiting) > 0;

    /// <summary>In cluster mode: how often this daemon took the domain over (became its owner).</summary>
    public long Takeovers => Interlocked.Read(ref _takeovers);

    /// <summary>Waits as standby: another daemon owns the domain (or nobody yet: <paramref name="owner"/> null).</summary>
    public void SetStandby(string? owner)
    {
        _active = false;
        _owner = owner;
        Volatile.Write(ref _epoch, 0);
    }

    /// <summary>Serves the domain (its engine running on the recovered state) under lease epoch <paramref name="epoch"/>.</summary>
    public void SetActive(string owner, long epoch)
    {
        Interlocked.Increment(ref _takeovers);
        _owner = owner;
        Volatile.Write(ref _epoch, epoch);
        _active = true;
    }

    /// <summary>Whether this daemon can serve now: not standby, and in cluster mode its lease surely still its own (probes are told otherwise: a proxy then sends calls to whoever can).</summary>
    public bool Serving => _active && (_leaseHeld?.Invoke() ?? true);

    /// <summary>In cluster mode: the check of the lease (<see cref="Serving"/>) and its age (<see cref="LeaseAgeSeconds"/>).</summary>
    public void UseLease(Func<bool> held, Func<double> ageSeconds)
    {
        _leaseAge = ageSeconds;
        _leaseHeld = held;
    }

    /// <summary>In cluster mode, while active: seconds since this daemon last renewed its lease (0 otherwise).</summary>
    public double LeaseAgeSeconds => _active ? _leaseAge?.Invoke() ?? 0 : 0;

    /// <summary>A standby following the journal: the last record applied, and how far behind it was at its last look.</summary>
    public (long Applied, long LagRecords, double LagSeconds) Following => (Volatile.Read(ref _applied), Volatile.Read(ref _lagRecords), Volatile.Read(ref _lagSeconds));

    /// <summary>Notes how far a following standby has got.</summary>
    public void SetFollowing(long applied, long lagRecords, double lagSeconds)
    {
        Volatile.Write(ref _applied, applied);
        Volatile.Write(ref _lagRecords, lagRecords);
        Volatile.Write(ref _lagSeconds, lagSeconds);
    }

    /// <summary>Why a request is refused while standby.</summary>
    public string StandbyMessage => $"standby: routing domain '{Name}' is served by {(_owner is { } o ? "the active daemon " + o : "no daemon yet (a takeover is under way)")}";

    /// <summary>Adds a listener (before the engine starts).</summary>
    public void AddListener(IBatchListener listener)
    {
        _listeners.Add(listener);
        if (listener is IDeliveryScope scope)
        {
            _scopes.Add(scope);
        }
    }

    /// <summary>Sends every batch through the journal first: its answers leave once it is durable (before the engine starts).</summary>
    public void UseJournal(Durability.DurableSink journal) => _journal = journal;

    /// <inheritdoc/>
    public void OnBatch(EngineBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        Volatile.Write(ref _waiting, batch.WaitingAfter);
        if (_journal is { } journal)
        {
            journal.OnBatch(batch);
            return;
        }

        DeliverAndRelease(batch);
    }

    /// <inheritdoc/>
    public void AfterInline() => _journal?.CommitInline(_mayWait ??= MayWaitForDisk, _sendWritten ??= SendWritten);

    private bool MayWaitForDisk()
    {
        foreach (var scope in _scopes)
        {
            if (!scope.MayWaitForDisk())
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Before a poster waits for the disk: a read's 100 Trying leaves now, not after the flush.</summary>
    private void SendWritten()
    {
        foreach (var scope in _scopes)
        {
            scope.SendWritten();
        }
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
        // Scopes are few (the SIP port's): which of them opened, on the stack.
        Span<bool> opened = stackalloc bool[_scopes.Count];
        for (var i = 0; i < opened.Length; i++)
        {
            opened[i] = _scopes[i].BeginDelivery(batch);
        }

        try
        {
            DeliverInScope(batch);
        }
        finally
        {
            for (var i = 0; i < opened.Length; i++)
            {
                if (opened[i])
                {
                    _scopes[i].EndDelivery();
                }
            }
        }
    }

    private void DeliverInScope(EngineBatch batch)
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
