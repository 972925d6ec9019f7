using System.Diagnostics;
using Acd.Host.Tests.Support;

namespace Acd.Host.Tests.Grpc;

/// <summary>
/// Interop with an independent client: Python code generated from protos/ by Debian's protoc, driving the running
/// daemon with Debian's python3-grpcio (run by /usr/bin/python3).
/// </summary>
public sealed class PythonInteropTests
{
    private const string Token = "interop-token-0123456789";

    [Fact]
    public async Task A_standard_python_grpc_client_drives_the_daemon()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1, state: "logged-out", wrapUp: 0), "--api-token", Token);
        var generated = GeneratePython();
        var (exit, output) = await RunAsync("/usr/bin/python3", Path.Combine(AppContext.BaseDirectory, "interop", "grpc_client.py"), generated, d.Grpc!.ToString(), Token);
        Assert.True(exit == 0, output);
        foreach (var check in new[]
        {
            "Health is SERVING", "Login puts the agent in READY", "Offer is ROUTED to that agent", "another Offer is QUEUED at position 1",
            "End of the first routes the second, seen on Watch", "an unknown agent is NOT_FOUND", "an illegal transition is FAILED_PRECONDITION",
            "a missing token is UNAUTHENTICATED", "a deadline is honoured",
        })
        {
            Assert.Contains("PASS " + check, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_standard_python_grpc_client_runs_the_hotline_operations()
    {
        const string Centre = """
            { "Acd": { "Name": "hot",
              "Callbacks": { "MinAbandonWaitSeconds": 0, "SkillAgentsDial": false, "RetryBackoffSeconds": [ 1 ] },
              "Surge": { "DeflectWaitSeconds": 1, "IvrUri": "sip:1008611@ivr.test" },
              "Skills": [ { "Name": "general", "WrapUpSeconds": 0 } ],
              "Agents": [
                { "Id": "G1", "Skills": { "general": 5 }, "InitialState": "not-ready" },
                { "Id": "O1", "Skills": { "general": 5 }, "Outbound": true },
                { "Id": "S1", "Role": "supervisor", "Skills": { "general": 9 }, "InitialState": "standby" } ] } }
            """;
        await using var d = await TestDaemon.StartAsync(Centre);
        var generated = GeneratePython();
        var (exit, output) = await RunAsync("/usr/bin/python3", Path.Combine(AppContext.BaseDirectory, "interop", "hotline_client.py"), generated, d.Grpc!.ToString());
        Assert.True(exit == 0, output);
        Assert.Equal(19, output.Split('\n').Count(l => l.StartsWith("PASS ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_standard_python_grpc_client_finds_the_api_by_reflection_and_sends_gzip()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1, state: "not-ready"), "--api-token", Token);
        var generated = GeneratePython();
        var (exit, output) = await RunAsync("/usr/bin/python3", Path.Combine(AppContext.BaseDirectory, "interop", "reflection_client.py"), generated, d.Grpc!.ToString(), Token);
        Assert.True(exit == 0, output);
        foreach (var check in new[]
        {
            "reflection lists every service", "reflection describes CallService.Offer", "reflection without the token is UNAUTHENTICATED", "a gzip-compressed Offer is answered",
        })
        {
            Assert.Contains("PASS " + check, output, StringComparison.Ordinal);
        }

        Assert.Equal(1, (await d.QueueAsync()).Waiting);
    }

    /// <summary>Runs protoc on the repository's protos; the health proto goes to a module of its own (its path would shadow grpcio's package).</summary>
    internal static string GeneratePython()
    {
        var protos = Path.Combine(AppContext.BaseDirectory, "protos");
        var output = Directory.CreateTempSubdirectory("acd-python-").FullName;
        var healthDir = Directory.CreateTempSubdirectory("acd-health-").FullName;
        File.Copy(Path.Combine(protos, "grpc/health/v1/health.proto"), Path.Combine(healthDir, "health.proto"));
        var acd = Directory.GetFiles(Path.Combine(protos, "acd/v1"), "*.proto").Select(f => Path.GetRelativePath(protos, f));
        Run("protoc", ["-I", protos, "--python_out", output, .. acd]);
        Run("protoc", ["-I", healthDir, "--python_out", output, "health.proto"]);
        Run("protoc", ["-I", Path.Combine(AppContext.BaseDirectory, "interop"), "--python_out", output, "reflection.proto"]);
        return output;
    }

    private static void Run(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} failed: {error}");
    }

    internal static async Task<(int Exit, string Output)> RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await p.WaitForExitAsync(limit.Token);
        return (p.ExitCode, await stdout + await stderr);
    }
}
