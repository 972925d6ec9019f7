using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Acd.Host.Tests.Support;

/// <summary>
/// Debian's Kamailio running the shipped <c>deploy/kamailio/acd.cfg</c> in front of a daemon, on a free loopback port
/// (UDP and TCP), with the configuration's defines set by the test; killed with its children on dispose.
/// </summary>
public sealed class Kamailio : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;
    private readonly StringBuilder _log = new();

    private Kamailio(Process process, string directory, IPEndPoint endpoint)
    {
        _process = process;
        _directory = directory;
        Endpoint = endpoint;
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
    }

    /// <summary>Where callers, phones and registrations reach the proxy (UDP and TCP).</summary>
    public IPEndPoint Endpoint { get; }

    /// <summary>What Kamailio logged so far (for a failing test's message).</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public static Task<Kamailio> StartAsync(IPEndPoint acd, params string[] defines) => StartAsync([acd], defines);

    /// <summary>Kamailio with its dispatcher over several daemons: the first at the highest priority (the active one), then the others.</summary>
    public static async Task<Kamailio> StartAsync(IReadOnlyList<IPEndPoint> acds, params string[] defines)
    {
        ArgumentNullException.ThrowIfNull(acds);
        var directory = Directory.CreateTempSubdirectory("kamailio-").FullName;
        var list = Path.Combine(directory, "acd.list");
        await File.WriteAllTextAsync(list, string.Concat(acds.Select((acd, i) => $"1 sip:{acd.Address}:{acd.Port};transport=tcp 0 {10 - i}\n")));
        var port = FreePorts.UdpAndTcp();
        var psi = new ProcessStartInfo("kamailio") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[]
        {
            "-DD", "-E", "-f", Path.Combine(AppContext.BaseDirectory, "deploy", "kamailio", "acd.cfg"), "-m", "64", "-M", "8",
            "-w", directory, "-Y", directory, "-P", Path.Combine(directory, "kamailio.pid"),
            "-A", $"LISTEN_PORT={port}", "-A", $"ACD_LIST=\"{list}\"", "-A", "WORKERS=2",
        })
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var d in defines)
        {
            psi.ArgumentList.Add("-A");
            psi.ArgumentList.Add(d);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("kamailio did not start (is it installed?)");
        var kamailio = new Kamailio(process, directory, new IPEndPoint(IPAddress.Loopback, port));
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"kamailio exited with {process.ExitCode}:\n{kamailio.Log}");
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(kamailio.Endpoint, limit.Token);
                return kamailio;
            }
            catch (SocketException)
            {
                await Task.Delay(100, limit.Token);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            if (_log.Length < 1 << 20)
            {
                _log.AppendLine(line);
            }
        }
    }
}

/// <summary>An agent's phone: a sipp UAS on a free UDP port, running a phone scenario until disposed.</summary>
public sealed class SippPhone : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;
    private readonly Task<string> _stdout;
    private readonly Task<string> _stderr;

    private SippPhone(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
        _stdout = process.StandardOutput.ReadToEndAsync();
        _stderr = process.StandardError.ReadToEndAsync();
    }

    public int Port { get; }

    /// <summary>The contact an agent on this phone has.</summary>
    public string Contact(string agent) => $"sip:{agent}@127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    public static async Task<SippPhone> StartAsync(string scenario, int pauseMs = 100)
    {
        var port = FreePorts.UdpAndTcp();
        var directory = Directory.CreateTempSubdirectory("phone-").FullName;
        var psi = new ProcessStartInfo("sipp") { WorkingDirectory = directory, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[]
        {
            "-sf", Path.Combine(AppContext.BaseDirectory, "sipp", scenario), "-i", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture),
            "-t", "u1", "-d", pauseMs.ToString(CultureInfo.InvariantCulture), "-recv_timeout", "60000", "-timeout", "300s", "-nostdin", "-m", "100000",
        })
        {
            psi.ArgumentList.Add(a);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("sipp did not start (is sip-tester installed?)");
        var phone = new SippPhone(process, directory, port);

        // Listening once its UDP port is taken.
        await Eventually.TrueAsync(() =>
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"sipp phone exited with {process.ExitCode}");
            }

            try
            {
                using var probe = new UdpClient(new IPEndPoint(IPAddress.Loopback, port));
                return false;
            }
            catch (SocketException)
            {
                return true;
            }
        }, "the phone listening");
        return phone;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
            await Task.WhenAll(_stdout, _stderr);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
