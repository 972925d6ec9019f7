using System.Globalization;

namespace Acd.Host.Tests.Durability;

/// <summary>Kill -9 under load, again and again: nothing acknowledged is lost, nothing unacknowledged appears.</summary>
public sealed class CrashTests
{
    /// <summary>Kills per run: 20 in the test suite; <c>bench/crash-drill.sh</c> sets ACD_CRASH_KILLS=100.</summary>
    private static int Kills => int.TryParse(Environment.GetEnvironmentVariable("ACD_CRASH_KILLS"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 20;

    /// <summary>The drill's random seed: ACD_CRASH_SEED repeats a run (every failure names the seed it ran with); else a new one.</summary>
    private static int Seed => int.TryParse(Environment.GetEnvironmentVariable("ACD_CRASH_SEED"), NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : Environment.TickCount & 0xFFFF;

    [Fact]
    public async Task Kill_minus_nine_twenty_times_under_sip_and_grpc_load_loses_nothing_acknowledged()
    {
        var directory = Directory.CreateTempSubdirectory("acd-crash-").FullName;
        var seed = Seed;
        var drill = new CrashDrill(directory, seed);
        try
        {
            await drill.RunAsync(Kills);
            Assert.Equal(Kills, drill.Kills);
            Assert.True(drill.Checked > Kills * 20, $"only {drill.Checked} acknowledged facts were checked");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidOperationException($"crash drill with seed {seed} (repeat with ACD_CRASH_SEED={seed}) failed after {drill.Kills} kills: {e.Message}", e);
        }

        Console.WriteLine($"crash drill (seed {seed}): {drill.Kills} kills, {drill.Checked} acknowledged facts checked after restarts");
        Directory.Delete(directory, recursive: true);
    }
}
