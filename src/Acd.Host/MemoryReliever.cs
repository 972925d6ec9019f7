namespace Acd.Host;

/// <summary>
/// Gives memory back to the system after a flood. Buffers a hostile or stuck peer made the daemon fill — a dropped Watch
/// stream's events, a slow reader's SIP answers — become garbage when the peer is cut off, but a quiet daemon allocates
/// too little to bring on the full collection that would free them, so its resident memory would stay at the flood's
/// peak. What is released is reported here; once 16 MiB or more has been, a background full collection is asked for (at
/// most every 30 s). A daemon that no peer floods never triggers one.
/// </summary>
public sealed partial class MemoryReliever(TimeProvider time, ILogger<MemoryReliever> logger) : BackgroundService
{
    private const long Threshold = 16L << 20;
    private static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(30);
    private long _released;
    private long _collections;

    /// <summary>Full collections asked for so far.</summary>
    public long Collections => Interlocked.Read(ref _collections);

    /// <summary>Reports bytes of buffers that just became garbage (an estimate is enough).</summary>
    public void Released(long bytes) => Interlocked.Add(ref _released, bytes);

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        var last = long.MinValue;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var now = time.GetTimestamp();
                if (Interlocked.Read(ref _released) < Threshold || (last != long.MinValue && time.GetElapsedTime(last, now) < MinInterval))
                {
                    continue;
                }

                var released = Interlocked.Exchange(ref _released, 0);
                last = now;
                Interlocked.Increment(ref _collections);
                GC.Collect(2, GCCollectionMode.Forced, blocking: false);
                LogCollected(logger, released >> 20);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "About {MiB} MiB of buffers of dropped peers released: a background full collection gives the memory back")]
    private static partial void LogCollected(ILogger logger, long mib);
}
