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

    private PostgresServer(string directory, string bin, int port, string data = "data")
    {
        _directory = directory;
        _bin = bin;
        Port = port;
        DataDirectory = Path.Combine(directory, data);
    }

    public int Port { get; }

    /// <summary>An Npgsql connection string to its <c>postgres</c> database.</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port.ToString(CultureInfo.InvariantCulture)};Username=postgres;Database=postgres;Pooling=true";

    public string DataDirectory { get; }

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

    /// <summary>
    /// A streaming replica of this server, made synchronous: from now on a commit returns only once the replica has the
    /// record on its disk (<c>synchronous_standby_names</c>, <c>synchronous_commit = on</c>).
    /// </summary>
    public async Task<PostgresServer> StartSynchronousStandbyAsync()
    {
        var port = FreePorts.UdpAndTcp();
        var standby = new PostgresServer(_directory, _bin, port, "standby");
        await AsPostgresAsync(Path.Combine(_bin, "pg_basebackup"), "-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres", "-D", standby.DataDirectory, "-R", "-X", "stream", "--no-sync");
        await AsPostgresAsync("sh", "-c", $"echo \"primary_conninfo = 'host=127.0.0.1 port={Port.ToString(CultureInfo.InvariantCulture)} user=postgres application_name=standby1'\" >> {standby.DataDirectory}/postgresql.auto.conf");
        await standby.StartServerAsync();
        await AsPostgresAsync(Path.Combine(_bin, "psql"), "-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres", "-c", "ALTER SYSTEM SET synchronous_standby_names = 'standby1'");
        await AsPostgresAsync(Path.Combine(_bin, "psql"), "-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres", "-c", "SELECT pg_reload_conf()");

        // Synchronous once the primary says so.
        await Eventually.TrueAsync(async () =>
        {
            var state = await QueryAsync("SELECT coalesce(string_agg(sync_state, ','), '') FROM pg_stat_replication");
            return state.Contains("sync", StringComparison.Ordinal);
        }, "the standby streaming synchronously", 30);
        return standby;
    }

    /// <summary>Promotes this replica to primary.</summary>
    public Task PromoteAsync() => AsPostgresAsync(Path.Combine(_bin, "pg_ctl"), "-D", DataDirectory, "-w", "promote");

    /// <summary>One value from a query (psql, unaligned).</summary>
    public async Task<string> QueryAsync(string sql)
    {
        var psi = new ProcessStartInfo("runuser") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/tmp" };
        foreach (var a in new[] { "-u", "postgres", "--", Path.Combine(_bin, "psql"), "-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres", "-At", "-c", sql })
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output.Trim();
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

        if (string.Equals(Path.GetFileName(DataDirectory), "data", StringComparison.Ordinal) && Directory.Exists(_directory))
        {
            // The primary's directory holds its replicas' too: removed once, by the primary, after the replicas stopped.
            Directory.Delete(_directory, recursive: true);
        }
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
