using System.Diagnostics;
using System.Globalization;
using Acd.Core.Configuration;
using Acd.Host.Configuration;

namespace Acd.Host.Durability;

/// <summary>
/// Makes snapshots by replay in a child process: <c>acd snapshot DOMAIN UPTO FINGERPRINT</c> followed by the daemon's
/// own arguments, so that it reads the same configuration. The child loads the newest snapshot, replays the journal to
/// record UPTO, writes the new snapshot's temporary file (flushed) and exits; the daemon checks the file and renames
/// it into place. Replaying a million waiting calls builds a state as large as the live one — in the daemon that
/// doubled its resident memory after a burst (about +1.1 GB at 1,000,000 calls) and the collector kept the pages; in
/// a child they go back to the system when it exits. The child writes nothing else: pruning, the manifest and the
/// journal stay with the daemon. A child that cannot run or fails (its one line is logged) leaves the snapshot to the
/// daemon itself, as before.
/// </summary>
public sealed partial class SnapshotHelper(string executable, IReadOnlyList<string> prefix, IReadOnlyList<string> daemonArguments, TimeSpan timeout, ILogger logger)
{
    /// <summary>The verb that runs a helper.</summary>
    public const string Verb = "snapshot";

    private long _failures;

    /// <summary>Helpers that failed (or could not start) since the daemon started: each time the daemon replayed itself.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>
    /// The helper for this process, when it is the daemon started from its own program (<c>acd</c> or <c>dotnet
    /// acd.dll</c>); null when the daemon runs inside another program (tests), which has no verb to run.
    /// </summary>
    public static SnapshotHelper? ForThisProcess(JournalSettings settings, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var entry = System.Reflection.Assembly.GetEntryAssembly();
        var process = Environment.ProcessPath;
        if (!settings.SnapshotProcess || entry?.GetName().Name is not "acd" || process is null)
        {
            return null;
        }

        var arguments = Environment.GetCommandLineArgs().Skip(1).ToList();
        var viaHost = !string.Equals(Path.GetFileNameWithoutExtension(process), "acd", StringComparison.Ordinal);
        return new SnapshotHelper(process, viaHost ? [entry.Location] : [], arguments, TimeSpan.FromSeconds(settings.SnapshotProcessTimeoutSeconds), logger);
    }

    /// <summary>
    /// Where a helper in cluster mode leaves the body of the snapshot after record <paramref name="upTo"/> for the daemon
    /// to write into PostgreSQL (the system's temporary directory: the daemon and its helper share it; the daemon's
    /// process id keeps two daemons on one host apart).
    /// </summary>
    public static string BodyPath(DomainConfig config, long upTo, int daemonProcessId)
    {
        ArgumentNullException.ThrowIfNull(config);
        return Path.Combine(Path.GetTempPath(), $"acd-snapshot-{config.Name}-{upTo}-{daemonProcessId}.body");
    }

    /// <summary>Runs a helper for <paramref name="config"/>'s domain up to <paramref name="upTo"/>; true when its file is ready (a local journal's snapshot file, or in cluster mode the body at <see cref="BodyPath"/>).</summary>
    public bool TryReplay(DomainConfig config, long upTo)
    {
        ArgumentNullException.ThrowIfNull(config);
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var a in prefix)
        {
            start.ArgumentList.Add(a);
        }

        start.ArgumentList.Add(Verb);
        start.ArgumentList.Add(config.Name);
        start.ArgumentList.Add(upTo.ToString(CultureInfo.InvariantCulture));
        start.ArgumentList.Add(config.Fingerprint);
        foreach (var a in daemonArguments)
        {
            start.ArgumentList.Add(a);
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            using var child = Process.Start(start) ?? throw new InvalidOperationException("no process");
            var error = child.StandardError.ReadToEndAsync();
            _ = child.StandardOutput.ReadToEndAsync();
            if (!child.WaitForExit(timeout))
            {
                child.Kill(entireProcessTree: true);
                child.WaitForExit(); // gone before the daemon writes the same file itself
                Failed(config.Name, $"no answer within {timeout.TotalSeconds:F0} s; stopped");
                return false;
            }

            if (child.ExitCode != 0)
            {
                Failed(config.Name, $"exit {child.ExitCode}: {error.Result.Trim()}");
                return false;
            }
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            Failed(config.Name, e.Message);
            return false;
        }

        LogReplayed(logger, config.Name, upTo, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return true;
    }

    private void Failed(string domain, string problem)
    {
        Interlocked.Increment(ref _failures);
        LogFailed(logger, domain, problem);
    }

    /// <summary>
    /// The helper's side (<c>acd snapshot DOMAIN UPTO FINGERPRINT ARGS…</c>): loads the configuration from ARGS as the
    /// daemon does, checks that the domain's is the daemon's (its fingerprint), replays and writes the snapshot file.
    /// Returns the exit code; a failure is one line on stderr.
    /// </summary>
    public static int Run(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length < 3 || !long.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out var upTo))
        {
            Console.Error.WriteLine("acd: usage: acd snapshot DOMAIN UPTO FINGERPRINT [the daemon's options] (run by the daemon itself)");
            return AcdProgram.ConfigErrorExit;
        }

        // A helper outlives no daemon: one whose daemon is gone (killed) stops rather than write what nobody adopts.
        if (OperatingSystem.IsLinux())
        {
            var parent = GetParentProcessId();
            new Thread(() =>
            {
                while (GetParentProcessId() == parent)
                {
                    Thread.Sleep(250);
                }

                Environment.Exit(AcdProgram.StateErrorExit);
            }) { IsBackground = true, Name = "acd-snapshot-parent" }.Start();
        }

        AcdSettings settings;
        try
        {
            var configuration = new ConfigurationManager();
            ConfigLoader.AddSources(configuration, args[3..]);
            settings = ConfigLoader.Load(configuration);
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine("acd: " + string.Join("; ", e.Errors));
            return AcdProgram.ConfigErrorExit;
        }

        var config = settings.Domains.FirstOrDefault(d => string.Equals(d.Name, args[0], StringComparison.Ordinal));
        if (config is null || !string.Equals(config.Fingerprint, args[2], StringComparison.Ordinal))
        {
            Console.Error.WriteLine($"acd: the configuration now read for domain '{args[0]}' is not the one the daemon runs (changed since it started?)");
            return AcdProgram.ConfigErrorExit;
        }

        try
        {
            if (!string.IsNullOrWhiteSpace(settings.Options.Cluster.ConnectionString))
            {
                WriteClusterBody(settings, config, upTo);
                return 0;
            }

            using var store = new DomainStore(settings.Options.DataDirectory, config, settings.Options.Journal, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
            store.WritePendingSnapshot(upTo);
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or InvalidOperationException or DurableStateException or Npgsql.NpgsqlException)
        {
            Console.Error.WriteLine($"acd: snapshot of domain '{config.Name}' to record {upTo}: {e.Message}");
            return AcdProgram.StateErrorExit;
        }
    }

    /// <summary>Cluster mode: reads the state after record <paramref name="upTo"/> from PostgreSQL (read only) and leaves its body at <see cref="BodyPath"/>.</summary>
    private static void WriteClusterBody(AcdSettings settings, DomainConfig config, long upTo)
    {
        var database = new Acd.Host.Cluster.ClusterDatabase(settings.Options.Cluster);
        try
        {
            var store = new Acd.Host.Cluster.PgDomainStore(database, new Acd.Host.Cluster.DomainLease(database, config.Name), config, settings.Options.Journal, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
            var body = store.ReplayBody(upTo);
            using var file = File.OpenHandle(BodyPath(config, upTo, GetParentProcessId()), FileMode.Create, FileAccess.Write);
            RandomAccess.Write(file, body.Written, 0);
        }
        finally
        {
            database.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "getppid")]
    private static extern int GetParentProcessId();

    [LoggerMessage(Level = LogLevel.Information, Message = "Snapshot helper of domain {Domain} replayed the journal to record {Index} in {Milliseconds:F0} ms")]
    private static partial void LogReplayed(ILogger logger, string domain, long index, double milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Snapshot helper of domain {Domain} failed ({Problem}); the daemon replays the journal itself")]
    private static partial void LogFailed(ILogger logger, string domain, string problem);
}
