using System.Collections.Concurrent;
using Acd.Core.Routing;

namespace Acd.Core.Engine;

/// <summary>Tuning of a <see cref="RoutingEngine"/>.</summary>
public sealed class EngineOptions
{
    /// <summary>Slots in the command ring; producers wait (or push back) when it is full. Default 65,536.</summary>
    public int QueueCapacity { get; set; } = 65_536;

    /// <summary>Most commands executed in one batch (one sink hand-off, one journal write). Default 1,024.</summary>
    public int MaxBatch { get; set; } = 1024;

    /// <summary>Batches that may be out with the sink at once (e.g. waiting for fsync). Default 4.</summary>
    public int Batches { get; set; } = 4;

    /// <summary>Longest the loop sleeps with nothing to do, in milliseconds; timers wake it sooner. Default 100.</summary>
    public int IdleWaitMs { get; set; } = 100;
}

/// <summary>
/// The single writer of one routing domain. Producers on any thread post commands into a lock-free ring; one
/// dedicated thread takes them in order, stamps each batch with the clock (the only place time is read), executes
/// them on the <see cref="Router"/>, and hands the batch to the sink. When no command comes, due timers are fired by a
/// journaled tick. Nothing on the routing path takes a lock. While that thread sleeps, a poster that asks for it
/// (<see cref="TryPostQuietly"/>, <see cref="RunPosted"/>) executes a batch on its own thread instead of waking it; a
/// token (one interlocked word) keeps a single thread executing at a time, so the order and the single writer stay.
/// </summary>
public sealed class RoutingEngine : IAsyncDisposable
{
    private Router _router;
    private readonly TimeProvider _time;
    private readonly IEngineSink _sink;
    private readonly EngineOptions _options;
    private readonly int _maxBatch;
    private readonly CommandQueue _queue;
    private readonly ConcurrentQueue<EngineBatch> _freeBatches = new();
    // The wait blocks without spinning; the loop spins itself only under load (Park), where the next command is
    // microseconds away. At a hotline's everyday rate a spin before every sleep cost more CPU than the routing.
    private readonly ManualResetEventSlim _wake = new(false, 0);
    private int _lastBatch;
    private bool _shortSleep;
    private readonly ManualResetEventSlim _batchFree = new(false, 64);
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _space = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Thread? _thread;
    private int _sleeping;
    // Held (1) by whoever executes commands: the loop, except while it sleeps, or a poster running a batch inline
    // (RunPosted). Made held: the loop owns it from its start, and keeps it once it has ended.
    private int _token = 1;
    private long _parkedUntil;
    private long _inlineBatches;
    private int _spaceWaiters;
    private volatile bool _stopping;
    private long _batchNumber;
    private long _commands;
    private long _lastNow;

    /// <summary>Creates an engine around a router (the engine becomes its only user).</summary>
    public RoutingEngine(Router router, TimeProvider time, IEngineSink sink, EngineOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(router);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(sink);
        _router = router;
        _time = time;
        _sink = sink;
        _options = options ?? new EngineOptions();
        _maxBatch = Math.Max(1, _options.MaxBatch);
        _queue = new CommandQueue(_options.QueueCapacity);
        for (var i = 0; i < Math.Max(1, _options.Batches); i++)
        {
            _freeBatches.Enqueue(new EngineBatch(Recycle) { Domain = router.Config.Name });
        }
    }

    /// <summary>The domain name.</summary>
    public string Domain => _router.Config.Name;

    /// <summary>Ticks per second of <see cref="BatchEntry.ElapsedTicks"/>.</summary>
    public long TimestampFrequency => _time.TimestampFrequency;

    /// <summary>The router; touch it only from the sink (on the thread that executes the batch) or after the engine stopped.</summary>
    public Router Router => _router;

    /// <summary>Commands posted and not yet executed.</summary>
    public long Backlog => _queue.Count;

    /// <summary>Commands executed so far.</summary>
    public long CommandsExecuted => Volatile.Read(ref _commands);

    /// <summary>Batches handed to the sink so far.</summary>
    public long Batches => Volatile.Read(ref _batchNumber);

    /// <summary>Completes when the loop has stopped.</summary>
    public Task Stopped => _stopped.Task;

    /// <summary>
    /// Puts a recovered router in place of the one the engine was made with (before <see cref="Start"/> only);
    /// the engine's clock continues from the router's.
    /// </summary>
    public void UseRouter(Router router)
    {
        ArgumentNullException.ThrowIfNull(router);
        if (_thread is not null)
        {
            throw new InvalidOperationException("the engine has started");
        }

        if (!string.Equals(router.Config.Name, _router.Config.Name, StringComparison.Ordinal))
        {
            throw new ArgumentException($"a router of domain '{router.Config.Name}' for the engine of '{_router.Config.Name}'", nameof(router));
        }

        _router = router;
        _lastNow = router.Now;
    }

    /// <summary>Starts the writer thread.</summary>
    public void Start()
    {
        if (_thread is not null)
        {
            throw new InvalidOperationException("already started");
        }

        _thread = new Thread(Run) { IsBackground = true, Name = "acd-engine-" + Domain };
        _thread.Start();
    }

    /// <summary>Posts a command; false when the ring is full or the engine is stopping. Never blocks.</summary>
    public bool TryPost(Command command, object? reply = null)
    {
        if (_stopping || !_queue.TryEnqueue(command, reply))
        {
            return false;
        }

        if (Volatile.Read(ref _sleeping) != 0 && Interlocked.CompareExchange(ref _sleeping, 0, 1) == 1)
        {
            _wake.Set();
        }

        return true;
    }

    /// <summary>
    /// Posts a command without waking the loop; false when the ring is full or the engine is stopping. The caller must
    /// call <see cref="RunPosted"/> once it has posted what it has (at the end of a read, say).
    /// </summary>
    public bool TryPostQuietly(Command command, object? reply = null) => !_stopping && _queue.TryEnqueue(command, reply);

    /// <summary>
    /// After <see cref="TryPostQuietly"/>: when the loop sleeps and no one else executes commands, executes one batch of
    /// what waits on the calling thread, the sink's hand-off included; otherwise wakes the loop (or leaves the commands to
    /// the loop that is awake). At a hotline's everyday rate this saves the loop's wake-up and its sleep for each read
    /// (docs/performance.md, issue 18's tenth step). The loop takes over when more than a batch waits, when no batch is
    /// free, or when the batch brought a timer forward of the loop's own wake. Once the engine is free again, the sink's
    /// <see cref="IEngineSink.AfterInline"/> runs on the calling thread (the daemon's journal commits the batch there).
    /// </summary>
    public void RunPosted()
    {
        if (Volatile.Read(ref _sleeping) == 0 || Interlocked.CompareExchange(ref _sleeping, 0, 1) != 1)
        {
            return; // awake: whoever is (the loop, or another poster running inline) looks at the queue before it sleeps
        }

        // This thread now answers for the queue: it executes it here, or wakes the loop.
        if (_stopping || Interlocked.CompareExchange(ref _token, 1, 0) != 0)
        {
            _wake.Set();
            return;
        }

        var handOver = true;
        var ran = false;
        try
        {
            if (_freeBatches.TryDequeue(out var batch))
            {
                batch.Inline = true;
                if (ExecuteBatch(batch, out _) > 0)
                {
                    ran = true;
                    Interlocked.Increment(ref _inlineBatches);
                }
                else
                {
                    batch.Release();
                }

                handOver = _router.NextDueMs < _parkedUntil;
            }
        }
        finally
        {
            // Asleep again as far as posters know, then a last look: what was posted meanwhile saw "awake" and left it
            // to this thread (the loop's Park does the same).
            Volatile.Write(ref _token, 0);
            Interlocked.Exchange(ref _sleeping, 1);
            if ((handOver || !_queue.IsEmpty || _stopping) && Interlocked.CompareExchange(ref _sleeping, 0, 1) == 1)
            {
                _wake.Set();
            }
        }

        if (ran)
        {
            // The engine is free again (the loop or another poster may execute meanwhile): the batch's slow work, if the
            // sink does it here, holds up only this thread.
            _sink.AfterInline();
        }
    }

    /// <summary>Batches executed by posters on their own thread (<see cref="RunPosted"/>) rather than by the loop.</summary>
    public long InlineBatches => Volatile.Read(ref _inlineBatches);

    /// <summary>Posts a command, waiting asynchronously while the ring is full.</summary>
    public ValueTask PostAsync(Command command, object? reply, CancellationToken cancellationToken = default)
    {
        if (TryPost(command, reply))
        {
            return ValueTask.CompletedTask;
        }

        return WaitAndPostAsync(command, reply, cancellationToken);
    }

    /// <summary>
    /// Posts a command and waits for its result (delivered by the sink through a <see cref="TaskReply"/>). It wakes the
    /// loop rather than run inline: with 64 gRPC offers in flight, running them on the handlers' threads measured slower
    /// (docs/performance.md, issue 18's tenth step).
    /// </summary>
    public async Task<CommandResult> ExecuteAsync(Command command, CancellationToken cancellationToken = default)
    {
        var reply = new TaskReply();
        await PostAsync(command, reply, cancellationToken).ConfigureAwait(false);
        return await reply.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Asks a question of the router; its answer, or default when it was refused (an unknown agent, call or skill).</summary>
    public async Task<T?> AskAsync<T>(Query<T> query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var result = await ExecuteAsync(query, cancellationToken).ConfigureAwait(false);
        return query.Answer(result);
    }

    /// <summary>Stops taking commands, executes what was posted, and waits for the loop to end.</summary>
    public async Task StopAsync()
    {
        _stopping = true;
        _wake.Set();
        if (_thread is null)
        {
            _stopped.TrySetResult();
        }

        await _stopped.Task.ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _wake.Dispose();
        _batchFree.Dispose();
    }

    private async ValueTask WaitAndPostAsync(Command command, object? reply, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_stopping)
            {
                throw new InvalidOperationException($"the engine of domain '{Domain}' is stopping");
            }

            var space = Volatile.Read(ref _space);
            Interlocked.Increment(ref _spaceWaiters);
            try
            {
                if (TryPost(command, reply))
                {
                    return;
                }

                await space.Task.WaitAsync(TimeSpan.FromMilliseconds(50), cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Re-check: the ring may have drained while the signal was being replaced.
            }
            finally
            {
                Interlocked.Decrement(ref _spaceWaiters);
            }
        }
    }

    private void Recycle(EngineBatch batch)
    {
        _freeBatches.Enqueue(batch);
        _batchFree.Set();
    }

    private EngineBatch RentBatch()
    {
        while (true)
        {
            if (_freeBatches.TryDequeue(out var batch))
            {
                return batch;
            }

            _batchFree.Wait(10);
            _batchFree.Reset();
        }
    }

    /// <summary>The clock, never going backwards (a wall-clock step back holds time still): journal times are monotonic.</summary>
    private long Clock() => _lastNow = Math.Max(_lastNow, _time.GetUtcNow().ToUnixTimeMilliseconds());

    private void Run()
    {
        try
        {
            Loop();
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    private void Loop()
    {
        // The loop holds the token from its start (it was made held) and lets it go only while it sleeps.
        while (true)
        {
            var batch = RentBatch();
            batch.Inline = false;
            var n = ExecuteBatch(batch, out var now);
            if (n > 0)
            {
                _lastBatch = n;
                continue;
            }

            batch.Release();
            if (_stopping)
            {
                return; // the token stays held: nothing runs inline once the loop has ended
            }

            Park(now);
        }
    }

    /// <summary>
    /// Executes one batch (a due tick, then up to <see cref="EngineOptions.MaxBatch"/> commands) and hands it to the
    /// sink; the number of entries. Only the holder of the token calls it.
    /// </summary>
    private int ExecuteBatch(EngineBatch batch, out long now)
    {
        now = Clock();
        var events = batch.Events;
        var n = 0;

        // Whatever is due (timers, the day boundary) is fired by a tick of its own, so that it is journaled: the
        // commands of the batch, queries included, then find nothing due and change nothing but what they say.
        if (_router.NextDueMs <= now)
        {
            var started = _time.GetTimestamp();
            var result = _router.Execute(Tick.Instance, now, events);
            batch.Add(new BatchEntry(Tick.Instance, null, now, result, 0, events.Count, _time.GetTimestamp() - started));
            n = 1;
        }

        while (n < _maxBatch && _queue.TryDequeue(out var command, out var reply))
        {
            var first = events.Count;
            var started = _time.GetTimestamp();
            _router.LookAhead(_queue.Peek(Router.LookAheadDistance - 1));
            var result = _router.Execute(command, now, events);
            batch.Add(new BatchEntry(command, reply, now, result, first, events.Count - first, _time.GetTimestamp() - started));
            n++;
        }

        if (n > 0)
        {
            batch.Number = ++_batchNumber;
            batch.WaitingAfter = _router.Totals.Waiting;
            Interlocked.Add(ref _commands, n);
            _sink.OnBatch(batch);
            if (Volatile.Read(ref _spaceWaiters) > 0)
            {
                Interlocked.Exchange(ref _space, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            }
        }

        return n;
    }

    /// <summary>A batch at least this large means load: the loop spins briefly before it sleeps.</summary>
    private const int BusyBatch = 4;

    /// <summary>A sleep shorter than this (commands arriving tens of microseconds apart) means load too.</summary>
    private static readonly TimeSpan ShortSleep = TimeSpan.FromMicroseconds(200);

    private void Park(long now)
    {
        if (_lastBatch >= BusyBatch || _shortSleep)
        {
            _lastBatch = 0;
            _shortSleep = false;
            var spin = default(SpinWait);
            for (var i = 0; i < 64; i++)
            {
                if (!_queue.IsEmpty)
                {
                    return;
                }

                spin.SpinOnce(sleep1Threshold: -1);
            }
        }

        Interlocked.Exchange(ref _sleeping, 1);
        if (!_queue.IsEmpty || _stopping)
        {
            Volatile.Write(ref _sleeping, 0);
            return;
        }

        var due = _router.NextDueMs;
        var wait = due == long.MaxValue ? _options.IdleWaitMs : (int)Math.Clamp(due - now, 0, _options.IdleWaitMs);
        if (wait > 0)
        {
            // While the loop sleeps a poster may execute what it posted itself (RunPosted); it wakes the loop if it brings
            // a timer forward of this wake.
            _parkedUntil = now + wait;
            Volatile.Write(ref _token, 0);
            var asleep = _time.GetTimestamp();
            _wake.Wait(wait);
            TakeToken();
            _shortSleep = _time.GetElapsedTime(asleep) < ShortSleep;
        }

        _wake.Reset();
        Volatile.Write(ref _sleeping, 0);
    }

    /// <summary>Takes the token for the loop, waiting out a poster that executes a batch inline (microseconds).</summary>
    private void TakeToken()
    {
        var spin = default(SpinWait);
        while (Interlocked.CompareExchange(ref _token, 1, 0) != 0)
        {
            spin.SpinOnce();
        }
    }
}
