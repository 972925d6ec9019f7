using Acd.Host.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Acd.Host.Tests.Operations;

/// <summary>
/// The compaction a daemon runs when it goes quiet after its heap grew (Acd:Memory:CompactWhenQuietMiB), with the clock
/// driven by the test and the engines' command count made up; the heap and the collections are the process's own.
/// </summary>
[Collection(MemoryMeasured.Name)]
public sealed class MemoryRelieverTests
{
    /// <summary>Lets time pass until the reliever has looked at one more second (its loop starts on a thread of its own).</summary>
    private static async Task SecondAsync(FakeTimeProvider time, MemoryReliever reliever)
    {
        var ticks = reliever.Ticks;
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (reliever.Ticks == ticks)
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(20), "the reliever did not look at the second");
            time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(5);
        }
    }

    [Fact]
    public async Task The_heap_is_compacted_once_the_daemon_is_quiet_after_it_grew_and_never_while_busy()
    {
        var time = new FakeTimeProvider();
        long commands = 0;
        var reliever = new MemoryReliever(time, NullLogger<MemoryReliever>.Instance, compactWhenQuietMiB: 32, () => Interlocked.Read(ref commands));

        // The test process's heap holds what earlier tests left: given back first, so that what follows is growth.
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        await reliever.StartAsync(CancellationToken.None);
        await SecondAsync(time, reliever); // its loop has begun, and taken the heap's size
        try
        {
            // The heap grows by 96 MiB that stays live, fragmented by as much garbage in between.
            var kept = new List<byte[]>();
            for (var i = 0; i < 96; i++)
            {
                kept.Add(new byte[1 << 20]);
                _ = new byte[1 << 20];
            }

            GC.Collect();

            // Busy: 50 commands a second. No compaction however long it lasts.
            for (var s = 0; s < 5; s++)
            {
                Interlocked.Add(ref commands, 50);
                await SecondAsync(time, reliever);
            }

            Assert.Equal(0, reliever.Compactions);

            // Quiet (a few commands a second, as a timer would run): compacted after two seconds of it, once.
            Interlocked.Add(ref commands, 3);
            await SecondAsync(time, reliever);
            Assert.Equal(0, reliever.Compactions);
            Interlocked.Add(ref commands, 3);
            await SecondAsync(time, reliever);
            Assert.Equal(1, reliever.Compactions);
            for (var s = 0; s < 3; s++)
            {
                await SecondAsync(time, reliever);
            }

            Assert.Equal(1, reliever.Compactions);
            GC.KeepAlive(kept);
        }
        finally
        {
            await reliever.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Zero_turns_it_off()
    {
        var time = new FakeTimeProvider();
        var reliever = new MemoryReliever(time, NullLogger<MemoryReliever>.Instance, compactWhenQuietMiB: 0, () => 0);
        await reliever.StartAsync(CancellationToken.None);
        try
        {
            var kept = new List<byte[]>();
            for (var i = 0; i < 64; i++)
            {
                kept.Add(new byte[1 << 20]);
            }

            GC.Collect();
            for (var s = 0; s < 4; s++)
            {
                await SecondAsync(time, reliever);
            }

            Assert.Equal(0, reliever.Compactions);
            GC.KeepAlive(kept);
        }
        finally
        {
            await reliever.StopAsync(CancellationToken.None);
        }
    }
}
