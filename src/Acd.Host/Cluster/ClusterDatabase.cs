using Acd.Host.Configuration;
using Npgsql;

namespace Acd.Host.Cluster;

/// <summary>
/// The PostgreSQL database of cluster mode: one pooled data source for the daemon, and the three tables every daemon
/// of the cluster shares — the leases (who owns each routing domain, under which epoch, until when by PostgreSQL's
/// clock), the journal (one row per group commit: the framed records of the batch, as the local journal writes them,
/// with the epoch of the owner that committed it) and the snapshots.
/// </summary>
public sealed class ClusterDatabase : IAsyncDisposable
{
    private const string Schema = """
        SELECT pg_advisory_xact_lock(727733);
        CREATE TABLE IF NOT EXISTS acd_lease (
            domain text PRIMARY KEY,
            owner text NOT NULL,
            epoch bigint NOT NULL,
            expires timestamptz NOT NULL);
        CREATE TABLE IF NOT EXISTS acd_journal (
            domain text NOT NULL,
            first_index bigint NOT NULL,
            last_index bigint NOT NULL,
            epoch bigint NOT NULL,
            records bytea NOT NULL,
            committed timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (domain, first_index));
        ALTER TABLE acd_journal ADD COLUMN IF NOT EXISTS committed timestamptz NOT NULL DEFAULT clock_timestamp();
        CREATE TABLE IF NOT EXISTS acd_snapshot (
            domain text NOT NULL,
            index bigint NOT NULL,
            body bytea NOT NULL,
            written timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (domain, index));
        """;

    private readonly NpgsqlDataSource _source;

    public ClusterDatabase(ClusterSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var builder = new NpgsqlConnectionStringBuilder(settings.ConnectionString)
        {
            // A statement that hangs (a PostgreSQL that stopped answering) must not outlive a lease.
            CommandTimeout = Math.Max(1, settings.LeaseMilliseconds / 1000),
            Timeout = Math.Max(1, settings.LeaseMilliseconds / 1000),
        };
        if (string.IsNullOrEmpty(builder.ApplicationName))
        {
            builder.ApplicationName = "acd";
        }

        _source = NpgsqlDataSource.Create(builder.ConnectionString);
        NodeName = string.IsNullOrWhiteSpace(settings.NodeName) ? $"{Environment.MachineName}:{Environment.ProcessId}" : settings.NodeName;
        Settings = settings;
    }

    /// <summary>This daemon's name in the leases.</summary>
    public string NodeName { get; }

    /// <summary>The cluster settings.</summary>
    public ClusterSettings Settings { get; }

    /// <summary>The channel every journal insert notifies (its payload: the domain), waking the standbys that follow it.</summary>
    public const string Channel = "acd_journal";

    /// <summary>The pooled connections.</summary>
    public NpgsqlDataSource Source => _source;

    /// <summary>Creates the tables if they are not there (several daemons may start at once: one does it).</summary>
    public async Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var command = new NpgsqlCommand(Schema, connection, transaction))
        {
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => _source.DisposeAsync();
}
