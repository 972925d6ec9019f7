using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Acd.Host.Tests.Support;

/// <summary>The outcome of a sipp run, read from its exit code and final statistics screen.</summary>
public sealed record SippResult(int ExitCode, long Successful, long Failed, double CallRate, string Output)
{
    public override string ToString() => $"exit {ExitCode}, {Successful} successful, {Failed} failed, {CallRate} cps\n{Output}";
}

/// <summary>Runs Debian's sipp (sip-tester) against the daemon, over TCP, bounded in calls and time.</summary>
public static partial class Sipp
{
    public static async Task<SippResult> RunAsync(string scenario, IPEndPoint target, string service, int rate, int calls, int pauseMs, int timeoutSeconds = 120, string transport = "t1", int recvTimeoutMs = 10_000)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "sipp", scenario);
        var workDir = Directory.CreateTempSubdirectory("sipp-").FullName;
        var psi = new ProcessStartInfo("sipp")
        {
            WorkingDirectory = workDir,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[]
        {
            "-sf", path, "-s", service, "-t", transport, "-r", rate.ToString(CultureInfo.InvariantCulture),
            "-m", calls.ToString(CultureInfo.InvariantCulture), "-d", pauseMs.ToString(CultureInfo.InvariantCulture),
            "-recv_timeout", recvTimeoutMs.ToString(CultureInfo.InvariantCulture), "-timeout", $"{timeoutSeconds}s", "-nostdin", "-i", "127.0.0.1",
            "-p", FreePorts.UdpAndTcp().ToString(CultureInfo.InvariantCulture),
            $"{target.Address}:{target.Port}",
        })
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException("sipp did not start (is sip-tester installed?)");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds + 30));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var output = await stdout + await stderr;
        Directory.Delete(workDir, recursive: true);
        return new SippResult(
            process.ExitCode,
            Cumulative(output, "Successful call"),
            Cumulative(output, "Failed call"),
            Rate(output),
            output);
    }

    private static long Cumulative(string output, string counter)
    {
        var matches = CounterLine().Matches(output).Where(m => m.Groups["name"].Value.Trim() == counter).ToList();
        return matches.Count == 0 ? -1 : long.Parse(matches[^1].Groups["total"].Value, CultureInfo.InvariantCulture);
    }

    private static double Rate(string output)
    {
        var matches = RateLine().Matches(output);
        return matches.Count == 0 ? -1 : double.Parse(matches[^1].Groups["rate"].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"^\s*(?<name>[A-Za-z ]+?)\s*\|\s*\d+\s*\|\s*(?<total>\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex CounterLine();

    [GeneratedRegex(@"Call Rate\s*\|[^|]*\|\s*(?<rate>[\d.]+) cps", RegexOptions.Multiline)]
    private static partial Regex RateLine();
}
