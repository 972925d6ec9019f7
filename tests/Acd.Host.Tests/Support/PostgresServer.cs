using System.Diagnostics;
using System.Globalization;

namespace Acd.Host.Tests.Support;

/// <summary>
/// Debian's PostgreSQL server for a test: <c>initdb</c> into a temporary directory as the unprivileged
/// <c>postgres</c> user, started on a free loopback port (its socket in the same directory), stopped and removed on
/// dispose.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private readonly string _directory;
    private readonly string _bin;
    private bool _stopped;

    private PostgresServer(string directory, string bin, int port)
    {
        _directory = directory;
        _bin = bin;
        Port = port;
    }

    public int Port { get; }

    /// <summary>An Npgsql connection string to its <c>postgres</c> database.</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port.ToString(CultureInfo.InvariantCulture)};Username=postgres;Database=postgres;Pooling=true";

    public string DataDirectory => Path.Combine(_directory, "data");

    public static async Task<PostgresServer> StartAsync()
    {
        var bin = Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => int.Parse(Path.GetFileName(d), CultureInfo.InvariantCulture)).Select(d => Path.Combine(d, "bin")).FirstOrDefault(Directory.Exists)
            ?? throw new InvalidOperationException("PostgreSQL is not installed (/usr/lib/postgresql/*/bin): the test command installs postgresql");
        var directory = Directory.CreateTempSubdirectory("pg-").FullName;
        await RunAsync("chown", "postgres:postgres", directory);
        await AsPostgresAsync(Path.Combine(bin, "initdb"), "-D", Path.Combine(directory, "data"), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync");
        var port = FreePorts.UdpAndTcp();
        var server = new PostgresServer(directory, bin, port);
        await server.StartServerAsync();
        return server;
    }

    /// <summary>Stops the server at once (as a crash would); <see cref="StartServerAsync"/> starts it again.</summary>
    public async Task StopAsync()
    {
        await AsPostgresAsync(Path.Combine(_bin, "pg_ctl"), "-D", DataDirectory, "-m", "immediate", "-w", "stop");
        _stopped = true;
    }

    public async Task StartServerAsync()
    {
        await AsPostgresAsync(
            Path.Combine(_bin, "pg_ctl"), "-D", DataDirectory, "-l", Path.Combine(_directory, "server.log"), "-w", "-t", "60",
            "-o", $"-p {Port.ToString(CultureInfo.InvariantCulture)} -k {_directory} -c listen_addresses=127.0.0.1 -c max_connections=200", "start");
        _stopped = false;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopped)
        {
            try
            {
                await StopAsync();
            }
            catch (InvalidOperationException)
            {
                // Already down.
            }
        }

        Directory.Delete(_directory, recursive: true);
    }

    private static Task AsPostgresAsync(params string[] command) => RunAsync("runuser", ["-u", "postgres", "--", .. command]);

    private static async Task RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/tmp" };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"{file} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(limit.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}: {await output}{await error}");
        }
    }
}
