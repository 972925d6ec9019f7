using System.Collections.Concurrent;
using System.Diagnostics;
using Acd.Core.Durability;
using Acd.Core.Engine;
using Acd.Core.Routing;
using Acd.Host.Configuration;

namespace Acd.Host.Durability;

/// <summary>
/// Group commit. The engine hands each executed batch over and goes on routing; a journal thread takes every batch
/// waiting, frames their state-changing commands into one write, flushes it to the disk once, and only then releases
/// the batches' answers — SIP 182/302/200, gRPC replies, events — in order. So nothing is acknowledged before it is
/// durable, and the cost of a flush is shared by everything that arrived meanwhile. The engine's small pool of
/// batches is the backpressure: when flushes fall behind, the engine waits for a batch, and producers for the ring.
/// Snapshots: the engine serializes its state at a batch boundary (a <see cref="StateQuery"/>, one pass over
/// the state, no replay), the query's answer is released once every record before it is durable, and the bytes are
/// written to the snapshot file in the background. The last snapshot at a stop is made from the files
/// (<see cref="DomainStore.TakeSnapshot"/>), the engine being stopped by then.
/// </summary>
public sealed partial class DurableSink : IDisposable
{
    private readonly IDomainStore _store;
    private readonly Action<EngineBatch> _deliver;
    private readonly JournalSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentQueue<EngineBatch> _pending = new();
    // Blocks without spinning: at a hotline's everyday rate a spin before each sleep costs more CPU than the work.
    private readonly ManualResetEventSlim _signal = new(false, 0);
    private readonly StateWriter _buffer = new(1 << 20);
    private readonly List<EngineBatch> _taken = new(64);
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stop = new();
    private long _nextIndex;
    private long _lastSnapshotMs;
    private Task _snapshot = Task.CompletedTask;
    private readonly Action _failedCallback;
    private readonly Func<Command, Task<CommandResult>> _execute;
    private StateQuery? _capture;
    private long _captureIndex = -1;
    private volatile bool _failed;
    private int _snapshots;
    private int _snapshotFailures;
    private readonly SnapshotHelper? _helper;
    // Held (1) by the thread committing: the journal's, or a poster committing its own batch (CommitInline). The
    // journal's thread keeps it once it has stopped.
    private int _committer;
    // How busy the journal is: the share of time spent committing, a moving average over the last commits (in 1/1024,
    // written and read by the committer only). A poster commits itself only while it is under half.
    private long _lastCommitEnd;
    private int _busyShare;
    // How long a commit takes, a moving average (Stopwatch ticks, committer only): a poster waits for a quick local
    // flush, never for a slow disk's.
    private long _commitTicks;
    // Posters commit only into the local data directory: in cluster mode a commit is a round trip to PostgreSQL, and a
    // socket's thread must not wait on the network.
    private readonly bool _posterMayCommit;
    private long _inlineCommits;

    public DurableSink(IDomainStore store, long lastIndex, Action<EngineBatch> deliver, JournalSettings settings, TimeProvider time, ILogger logger, Action failed, Func<Command, Task<CommandResult>> execute)
    {
        _execute = execute;
        _failedCallback = failed;
        _store = store;
        _deliver = deliver;
        _settings = settings;
        _time = time;
        _logger = logger;
        _nextIndex = lastIndex + 1;
        _helper = store.Helper;
        _posterMayCommit = settings.CommitOnPosterThread && store is DomainStore;
        _lastSnapshotMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        _thread = new Thread(Run) { IsBackground = true, Name = "acd-journal-" + Path.GetFileName(store.Location) };
        _thread.Start();
    }

    /// <summary>Index of the last record made durable.</summary>
    public long DurableIndex => _store.LastIndex;

    /// <summary>Snapshots written in the background since start.</summary>
    public int Snapshots => Volatile.Read(ref _snapshots);

    /// <summary>Snapshots that failed since start (each retried later; the journal is kept until one succeeds).</summary>
    public int SnapshotFailures => Volatile.Read(ref _snapshotFailures);

    /// <summary>Snapshot helper processes that failed since start (the daemon then replayed itself).</summary>
    public long HelperFailures => _helper?.Failures ?? 0;

    /// <summary>Whether a write failed (nothing is acknowledged any more).</summary>
    public bool Failed => _failed;

    /// <summary>Group commits made by a poster on its own thread (<see cref="CommitInline"/>) rather than the journal's.</summary>
    public long InlineCommits => Volatile.Read(ref _inlineCommits);

    /// <summary>
    /// Takes a batch from the engine (on the thread that executed it): queued for the journal thread, which is woken —
    /// unless a poster executed it (<see cref="EngineBatch.Inline"/>) and commits it itself (<see cref="CommitInline"/>).
    /// </summary>
    public void OnBatch(EngineBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        _pending.Enqueue(batch);
        if (!batch.Inline || !_posterMayCommit)
        {
            _signal.Set();
        }
    }

    /// <summary>
    /// After a poster's batch (<see cref="EngineBatch.Inline"/>), on the poster's thread: when the journal is quiet, the
    /// poster makes the group commit itself — the write, the flush, the answers — instead of waking the journal's thread
    /// for it, which at a hotline's everyday rate costs a thread wake-up and a sleep a flush (docs/performance.md, issue
    /// 18's eleventh step). Quiet: no commit under way, the journal busy less than half the time over its last commits
    /// (under load the journal's thread flushes while the posters go on reading, which serial commits would stop), a
    /// commit taking under a millisecond on average (a poster's thread serves other connections too: it waits for a
    /// quick flush, not a sick disk's), and <paramref name="mayWait"/> agrees (the SIP port: nothing more waits on the poster's socket). Otherwise
    /// the journal's thread, or the commit under way, takes the batch. <paramref name="beforeWrite"/> runs just before
    /// the poster writes: what it wrote to its peers so far leaves before it waits for the disk.
    /// </summary>
    public void CommitInline(Func<bool>? mayWait = null, Action? beforeWrite = null)
    {
        if (!_posterMayCommit)
        {
            return; // OnBatch woke the journal's thread
        }

        if (Interlocked.CompareExchange(ref _committer, 1, 0) != 0)
        {
            // A commit is under way (whoever makes it looks at the queue once it is done), or the journal stopped, having
            // taken every batch the engine executed.
            if (!_stop.IsCancellationRequested)
            {
                _signal.Set();
            }

            return;
        }

        try
        {
            // Left to the journal's thread, ReleaseCommitter wakes it for what waits.
            if (!_pending.IsEmpty
                && _busyShare < BusyShareOne / 2
                && _commitTicks < PosterCommitMaxTicks
                && mayWait?.Invoke() != false
                && Take())
            {
                beforeWrite?.Invoke();
                Interlocked.Increment(ref _inlineCommits);
                Commit();
            }
        }
        finally
        {
            ReleaseCommitter();
        }
    }

    /// <summary>After the engine stopped: flushes what is left, waits for a background snapshot, and takes a last one.</summary>
    public async Task StopAsync()
    {
        _stop.Cancel();
        _signal.Set();
        await Task.Run(_thread.Join).ConfigureAwait(false);
        await _snapshot.ConfigureAwait(false);
        if (!_failed && _store.LastIndex > _store.SnapshotIndex)
        {
            _store.Helper = null; // at a stop memory no longer matters, and replaying here is quicker than starting a helper

            var path = await Task.Run(() => _store.TakeSnapshot(_store.LastIndex)).ConfigureAwait(false);
            LogSnapshot(_logger, path, _store.LastIndex);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _signal.Dispose();
        _stop.Dispose();
    }

    private void Run()
    {
        while (true)
        {
            _signal.Wait();
            _signal.Reset();
            if (_stop.IsCancellationRequested)
            {
                // The engine has stopped: wait out a poster's commit, then take what is left, and keep the token.
                var spin = default(SpinWait);
                while (Interlocked.CompareExchange(ref _committer, 1, 0) != 0)
                {
                    spin.SpinOnce();
                }

                while (Take())
                {
                    Commit();
                }

                return;
            }

            if (Interlocked.CompareExchange(ref _committer, 1, 0) != 0)
            {
                continue; // a poster commits; it sets the signal again if batches wait once it is done
            }

            try
            {
                // Every batch waiting goes into this one flush (one queued after the take sets the signal again, or is
                // committed by its poster).
                if (Take())
                {
                    Commit();
                }
            }
            finally
            {
                ReleaseCommitter();
            }
        }
    }

    /// <summary>Takes every batch waiting into this commit; whether there was one. Only the committer calls it.</summary>
    private bool Take()
    {
        _taken.Clear();
        while (_pending.TryDequeue(out var batch))
        {
            _taken.Add(batch);
        }

        return _taken.Count > 0;
    }

    /// <summary>Lets the token go, then a last look: a batch queued meanwhile found a commit under way and left it to this one.</summary>
    private void ReleaseCommitter()
    {
        Interlocked.Exchange(ref _committer, 0);
        if (!_pending.IsEmpty && !_stop.IsCancellationRequested)
        {
            _signal.Set();
        }
    }

    private void Commit()
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            CommitTaken();
        }
        finally
        {
            // This commit's share of the time since the last one ended, into an average over about the last eight.
            var ended = Stopwatch.GetTimestamp();
            var share = (int)((ended - started) * BusyShareOne / Math.Max(1, ended - _lastCommitEnd));
            _busyShare += (share - _busyShare) / 8;
            _commitTicks += (ended - started - _commitTicks) / 8;
            _lastCommitEnd = ended;
        }
    }

    /// <summary>The whole of the time, in <see cref="_busyShare"/>'s unit.</summary>
    private const int BusyShareOne = 1024;

    /// <summary>Posters commit themselves only while a commit takes under a millisecond on average (a local flush here takes 0.1–0.3 ms).</summary>
    private static readonly long PosterCommitMaxTicks = Stopwatch.Frequency / 1000;

    private void CommitTaken()
    {
        _buffer.Clear();
        var index = _nextIndex;
        foreach (var batch in _taken)
        {
            foreach (ref readonly var entry in batch.Entries)
            {
                if (CommandCodec.IsJournaled(entry.Command))
                {
                    // An offer's answer route is journaled only when its call was left waiting (a routed call's is dropped).
                    JournalFormat.Append(_buffer, index++, entry.TimeMs, entry.Command, JournalSegment.CurrentVersion, entry.Result.Outcome == Acd.Core.Domain.OfferOutcome.Queued);
                }
                else if (ReferenceEquals(entry.Command, _capture))
                {
                    // The state the engine captured is the state after every record framed before it.
                    Volatile.Write(ref _captureIndex, index - 1);
                }
            }
        }

        if (index > _nextIndex && !_failed)
        {
            try
            {
                _store.Append(_buffer.Written, index - 1);
                _nextIndex = index;
            }
#pragma warning disable CA1031 // a failed write must stop acknowledgements, whatever the failure
            catch (Exception e)
#pragma warning restore CA1031
            {
                // Nothing of this or any later batch may be acknowledged: the state could not be made durable.
                _failed = true;
                LogWriteFailed(_logger, _store.Location, e);
                _failedCallback();
            }
        }

        foreach (var batch in _taken)
        {
            if (_failed)
            {
                Refuse(batch);
            }
            else
            {
                _deliver(batch);
            }
        }

        MaybeSnapshot();
    }

    /// <summary>The batch's answers are failures: its commands ran, but nothing of them is durable.</summary>
    private static void Refuse(EngineBatch batch)
    {
        foreach (ref readonly var entry in batch.Entries)
        {
            if (entry.Reply is TaskReply reply)
            {
                reply.Fail(new InvalidOperationException("the journal cannot be written; the daemon does not acknowledge what it cannot make durable"));
            }
        }

        batch.Release();
    }

    private void MaybeSnapshot()
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var since = _store.LastIndex - _store.SnapshotIndex;
        if (!_snapshot.IsCompleted || since == 0
            || (since < _settings.SnapshotEveryRecords && now - _lastSnapshotMs < _settings.SnapshotIntervalSeconds * 1000L))
        {
            return;
        }

        _lastSnapshotMs = now;
        if (_settings.SnapshotCaptureMaxCalls == 0)
        {
            _snapshot = Task.Run(SnapshotByReplay);
            return;
        }

        // The engine captures its state between two batches; the answer comes back (on this thread, in Commit) once
        // the records before it are durable; the file is written off both threads.
        var capture = new StateQuery(_settings.SnapshotCaptureMaxCalls);
        _capture = capture;
        Volatile.Write(ref _captureIndex, -1);
        _snapshot = Task.Run(async () =>
        {
            CommandResult state;
            try
            {
                state = await _execute(capture).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // a capture that fails (the journal failed, the engine stopped) is logged and retried later
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogSnapshotFailed(_logger, _store.Location, e);
                return;
            }

            var index = Volatile.Read(ref _captureIndex);
            if (capture.Answer(state)?.Body is not { } body)
            {
                // Too many live calls to capture without a long pause: replay the journal in the background instead.
                SnapshotByReplay();
                return;
            }

            Snapshot(() => index < 0
                ? throw new InvalidOperationException("the captured state was answered without passing the journal")
                : (_store.WriteSnapshot(body, index), index));
        });
    }

    /// <summary>A snapshot of everything durable now, made from the files (no pause for the engine; the routing work is redone).</summary>
    private void SnapshotByReplay()
    {
        var upTo = _store.LastIndex;
        Snapshot(() => (_store.TakeSnapshot(upTo), upTo));
    }

    private void Snapshot(Func<(string Path, long Index)> write)
    {
        try
        {
            var (path, index) = write();
            Interlocked.Increment(ref _snapshots);
            LogSnapshot(_logger, path, index);
        }
#pragma warning disable CA1031 // a failed snapshot is retried later; the journal still holds everything
        catch (Exception e)
#pragma warning restore CA1031
        {
            Interlocked.Increment(ref _snapshotFailures);
            LogSnapshotFailed(_logger, _store.Location, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Snapshot {Path} written (state after journal record {Index})")]
    private static partial void LogSnapshot(ILogger logger, string path, long index);

    [LoggerMessage(Level = LogLevel.Error, Message = "A snapshot in {Directory} failed; the journal is kept until one succeeds")]
    private static partial void LogSnapshotFailed(ILogger logger, string directory, Exception error);

    [LoggerMessage(Level = LogLevel.Critical, Message = "The journal in {Directory} cannot be written: nothing more is acknowledged")]
    private static partial void LogWriteFailed(ILogger logger, string directory, Exception error);
}
