using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Acd.Host.Tests.Support;

/// <summary>The daemon as a separate process (dotnet acd.dll), its output captured, stopped with SIGTERM or killed with SIGKILL.</summary>
public sealed partial class DaemonProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly TaskCompletionSource<string> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private DaemonProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public IEnumerable<string> Lines => _lines;

    public string Output => string.Join('\n', _lines);

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public IPEndPoint? Sip { get; private set; }

    public IPEndPoint? Grpc { get; private set; }

    public IPEndPoint? Http { get; private set; }

    /// <summary>The daemon's entry assembly, as built beside the tests.</summary>
    public static string DaemonPath
    {
        get
        {
            var beside = Path.Combine(AppContext.BaseDirectory, "acd.dll");
            return File.Exists(beside) && File.Exists(Path.Combine(AppContext.BaseDirectory, "acd.runtimeconfig.json"))
                ? beside
                : throw new FileNotFoundException("acd.dll with its runtimeconfig is not beside the tests", beside);
        }
    }

    public static DaemonProcess Start(params string[] args) => StartIn(null, args);

    /// <summary>Starts the daemon in <paramref name="workingDirectory"/> (null: the tests' own).</summary>
    public static DaemonProcess StartIn(string? workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory ?? string.Empty };
        psi.ArgumentList.Add(DaemonPath);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return new DaemonProcess(Process.Start(psi) ?? throw new InvalidOperationException("the daemon did not start"));
    }

    /// <summary>Waits for the start-up line and reads the bound addresses from it.</summary>
    public async Task<string> WaitListeningAsync(double seconds = 60)
    {
        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(_listening.Task, exited, Task.Delay(TimeSpan.FromSeconds(seconds)));
        if (first != _listening.Task)
        {
            throw new InvalidOperationException($"the daemon did not start listening (exited: {_process.HasExited}):\n{Output}");
        }

        return await _listening.Task;
    }

    public async Task<int> WaitForExitAsync(double seconds = 60)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        await _process.WaitForExitAsync(limit.Token);
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>SIGTERM: a graceful stop.</summary>
    public void Terminate() => _ = Kill(_process.Id, 15);

    /// <summary>What <c>/readyz</c> says (<c>ready: active</c>, <c>not ready: standby</c>, …), or "unreachable".</summary>
    public async Task<string> ReadyzAsync()
    {
        try
        {
            using var http = new HttpClient();
            using var response = await http.GetAsync(new Uri($"http://{Http}/readyz"));
            return (await response.Content.ReadAsStringAsync()).Trim();
        }
        catch (HttpRequestException)
        {
            return "unreachable";
        }
    }

    /// <summary>The value of one series of <c>/metrics</c> (its name with labels as exported, e.g. <c>acd_cluster_epoch{domain="10086"}</c>).</summary>
    public async Task<double> MetricAsync(string series)
    {
        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri($"http://{Http}/metrics"));
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
            {
                return double.Parse(line[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"no series {series} in /metrics");
    }

    /// <summary>Cluster mode: waits until the daemon serves its domains (<c>/readyz</c> says active).</summary>
    public Task WaitActiveAsync(double seconds = 15) =>
        Eventually.TrueAsync(async () => await ReadyzAsync() == "ready: active", $"the daemon active\n{Output}", seconds);

    /// <summary>SIGSTOP: the process is frozen (a pause, a partition), its sockets open.</summary>
    public void Freeze() => _ = Kill(_process.Id, 19);

    /// <summary>SIGCONT: a frozen process goes on where it stopped.</summary>
    public void Thaw() => _ = Kill(_process.Id, 18);

    /// <summary>SIGKILL: no chance to flush anything.</summary>
    public void KillHard()
    {
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, 9);
            _process.WaitForExit();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            KillHard();
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        _lines.Enqueue(line);
        var m = ListeningLine().Match(line);
        if (m.Success)
        {
            Sip = Parse(line, "sip");
            Grpc = Parse(line, "grpc");
            Http = Parse(line, "http");
            _listening.TrySetResult(line);
        }
    }

    private static IPEndPoint? Parse(string line, string name)
    {
        var m = Regex.Match(line, $@"\b{name} (\d+\.\d+\.\d+\.\d+:\d+)");
        return m.Success ? IPEndPoint.Parse(m.Groups[1].Value) : null;
    }

    [GeneratedRegex("ACD listening on")]
    private static partial Regex ListeningLine();

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
