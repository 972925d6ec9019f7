using Acd.Host.Configuration;
using Acd.Host.Routing;

namespace Acd.Host;

/// <summary>
/// Gives memory back to the system. Two cases:
/// <list type="bullet">
/// <item>After a flood. Buffers a hostile or stuck peer made the daemon fill — a dropped Watch stream's events, a slow
/// reader's SIP answers — become garbage when the peer is cut off, but a quiet daemon allocates too little to bring on
/// the full collection that would free them, so its resident memory would stay at the flood's peak. What is released is
/// reported here; once 16 MiB or more has been, a background full collection is asked for (at most every 30 s).</item>
/// <item>When the daemon goes quiet after its heap grew (<see cref="MemorySettings.CompactWhenQuietMiB"/>). A surge that
/// queued many calls leaves the heap fragmented by the garbage made beside them (commands, requests, buffers): the
/// collector keeps the holes and the pages under them. Once the heap has grown by the setting since the last such
/// compaction and the routing engines have run fewer than <see cref="QuietCommandsPerSecond"/> commands a second for two
/// seconds, one blocking, compacting collection that returns free pages to the system is run (a pause of some tens of
/// milliseconds per 100,000 waiting calls, taken when nothing is being routed).</item>
/// </list>
/// A daemon that no peer floods and whose heap does not grow by the setting never triggers either.
/// </summary>
public sealed partial class MemoryReliever : BackgroundService
{
    /// <summary>Fewer commands than this a second, across every domain, is quiet.</summary>
    public const int QuietCommandsPerSecond = 10;

    private const long Threshold = 16L << 20;
    private static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(30);
    private readonly TimeProvider _time;
    private readonly ILogger<MemoryReliever> _logger;
    private readonly long _compactAfterBytes;
    private readonly Func<long> _commandsExecuted;
    private long _released;
    private long _collections;
    private long _compactions;
    private long _ticks;

    // The loop's own state (one thread at a time).
    private long _commandsSeen;
    private int _quietSeconds;
    private long _committedAfterCompaction;
    private long _lastCollection = long.MinValue;

    /// <summary>As the daemon makes it: quiet is told by its domains' engines.</summary>
    public MemoryReliever(TimeProvider time, ILogger<MemoryReliever> logger, AcdSettings settings, DomainDirectory domains)
        : this(time, logger, settings.Options.Memory.CompactWhenQuietMiB, () => domains.All.Sum(d => d.Engine.CommandsExecuted))
    {
    }

    /// <summary>With the commands executed so far told by <paramref name="commandsExecuted"/>; <paramref name="compactWhenQuietMiB"/> 0 turns compaction off.</summary>
    internal MemoryReliever(TimeProvider time, ILogger<MemoryReliever> logger, int compactWhenQuietMiB, Func<long> commandsExecuted)
    {
        _time = time;
        _logger = logger;
        _compactAfterBytes = (long)compactWhenQuietMiB << 20;
        _commandsExecuted = commandsExecuted;
    }

    /// <summary>Full collections asked for so far.</summary>
    public long Collections => Interlocked.Read(ref _collections);

    /// <summary>Compactions run when the daemon went quiet so far.</summary>
    public long Compactions => Interlocked.Read(ref _compactions);

    /// <summary>Seconds looked at so far (for tests that drive the clock).</summary>
    internal long Ticks => Interlocked.Read(ref _ticks);

    /// <summary>Reports bytes of buffers that just became garbage (an estimate is enough).</summary>
    public void Released(long bytes) => Interlocked.Add(ref _released, bytes);

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), _time);
        _commandsSeen = _commandsExecuted();
        _committedAfterCompaction = GC.GetGCMemoryInfo().TotalCommittedBytes;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                Step();
                Interlocked.Increment(ref _ticks);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One second's look: compact when quiet after growth, else collect after a flood's release.</summary>
    private void Step()
    {
        var now = _time.GetTimestamp();
        var executed = _commandsExecuted();
        _quietSeconds = executed - _commandsSeen < QuietCommandsPerSecond ? _quietSeconds + 1 : 0;
        _commandsSeen = executed;
        if (_compactAfterBytes > 0 && _quietSeconds >= 2 && GC.GetGCMemoryInfo().TotalCommittedBytes - _committedAfterCompaction >= _compactAfterBytes)
        {
            _committedAfterCompaction = Compact();
            return;
        }

        if (Interlocked.Read(ref _released) < Threshold || (_lastCollection != long.MinValue && _time.GetElapsedTime(_lastCollection, now) < MinInterval))
        {
            return;
        }

        var released = Interlocked.Exchange(ref _released, 0);
        _lastCollection = now;
        Interlocked.Increment(ref _collections);
        GC.Collect(2, GCCollectionMode.Forced, blocking: false);
        LogCollected(_logger, released >> 20);
    }

    /// <summary>One blocking, compacting collection that decommits what it frees; the heap's committed bytes after it.</summary>
    private long Compact()
    {
        var before = GC.GetGCMemoryInfo().TotalCommittedBytes;
        var started = _time.GetTimestamp();
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        var after = GC.GetGCMemoryInfo().TotalCommittedBytes;
        Interlocked.Increment(ref _compactions);
        LogCompacted(_logger, before >> 20, after >> 20, (long)_time.GetElapsedTime(started).TotalMilliseconds);
        return after;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "About {MiB} MiB of buffers of dropped peers released: a background full collection gives the memory back")]
    private static partial void LogCollected(ILogger logger, long mib);

    [LoggerMessage(Level = LogLevel.Information, Message = "Quiet after the heap grew: compacted it, {Before} MiB committed before, {After} MiB after, in {Milliseconds} ms (Acd:Memory:CompactWhenQuietMiB)")]
    private static partial void LogCompacted(ILogger logger, long before, long after, long milliseconds);
}
