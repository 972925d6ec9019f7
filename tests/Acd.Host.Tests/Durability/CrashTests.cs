using System.Globalization;

namespace Acd.Host.Tests.Durability;

/// <summary>Kill -9 under load, again and again: nothing acknowledged is lost, nothing unacknowledged appears.</summary>
public sealed class CrashTests
{
    /// <summary>Kills per run: 20 in the test suite; <c>bench/crash-drill.sh</c> sets ACD_CRASH_KILLS=100.</summary>
    private static int Kills => int.TryParse(Environment.GetEnvironmentVariable("ACD_CRASH_KILLS"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 20;

    [Fact]
    public async Task Kill_minus_nine_twenty_times_under_sip_and_grpc_load_loses_nothing_acknowledged()
    {
        var directory = Directory.CreateTempSubdirectory("acd-crash-").FullName;
        var drill = new CrashDrill(directory, seed: Environment.TickCount & 0xFFFF);
        await drill.RunAsync(Kills);
        Assert.Equal(Kills, drill.Kills);
        Assert.True(drill.Checked > Kills * 20, $"only {drill.Checked} acknowledged facts were checked");
        Console.WriteLine($"crash drill: {drill.Kills} kills, {drill.Checked} acknowledged facts checked after restarts");
        Directory.Delete(directory, recursive: true);
    }
}
