using System.Diagnostics;
using Acd.Core.Configuration;
using Acd.Core.Durability;
using Acd.Core.Routing;
using Acd.Host.Configuration;
using Acd.Host.Durability;
using Npgsql;

namespace Acd.Host.Cluster;

/// <summary>The lease of a domain passed to another daemon: nothing more may be acknowledged here.</summary>
public sealed class OwnershipLostException(string message) : Exception(message);

/// <summary>
/// A domain's journal and snapshots in PostgreSQL (cluster mode). A group commit is one insert of the batch's framed
/// records, committed only while this daemon's epoch still holds the domain's lease: the lease row is locked for share
/// in the same statement, so a takeover (which updates that row) waits for an insert already under way and every
/// insert after it fails. An insert whose outcome a broken connection hid is retried while the lease holds; the
/// primary key on the first index makes the retry find its own row rather than write twice.
/// </summary>
public sealed partial class PgDomainStore(ClusterDatabase database, DomainLease lease, DomainConfig config, JournalSettings settings, ILogger logger) : IDomainStore
{
    private const string Insert = """
        WITH held AS (SELECT 1 FROM acd_lease WHERE domain = $1 AND owner = $2 AND epoch = $3 FOR SHARE),
             ins AS (INSERT INTO acd_journal (domain, first_index, last_index, epoch, records) SELECT $1, $4, $5, $3, $6 FROM held RETURNING 1)
        SELECT count(*) FROM ins, pg_notify('acd_journal', $1)
        """;

    private const string InsertSnapshot = """
        WITH held AS (SELECT 1 FROM acd_lease WHERE domain = $1 AND owner = $2 AND epoch = $3 FOR SHARE)
        INSERT INTO acd_snapshot (domain, index, body) SELECT $1, $4, $5 FROM held ON CONFLICT (domain, index) DO NOTHING
        """;

    /// <summary>How long a group may wait for PostgreSQL before the domain is given up.</summary>
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(30);

    private readonly Lock _write = new();
    private Router? _follower;
    private long _applied;
    private long _followedSnapshot;
    private long _lastIndex;
    private long _snapshotIndex;

    /// <inheritdoc/>
    public string Location => $"postgresql/{config.Name}";

    /// <inheritdoc/>
    public long LastIndex => Volatile.Read(ref _lastIndex);

    /// <inheritdoc/>
    public long SnapshotIndex => Volatile.Read(ref _snapshotIndex);

    /// <inheritdoc/>
    public RecoveredState Recover()
    {
        var started = Stopwatch.GetTimestamp();
        if (_follower is not null)
        {
            // A standby that followed the journal: only what came since its last look is applied (the lease is held,
            // so nothing more can be committed by anyone else).
            var caughtUp = Follow();
            Volatile.Write(ref _lastIndex, _applied);
            Volatile.Write(ref _snapshotIndex, _followedSnapshot);
            var followed = _follower;
            _follower = null;
            return new RecoveredState(followed, _applied, _followedSnapshot, caughtUp, Stopwatch.GetElapsedTime(started), null);
        }

        var (router, snapshotIndex) = LoadNewestSnapshot();
        var (last, replayed) = Replay(router, snapshotIndex, long.MaxValue);
        Volatile.Write(ref _lastIndex, last);
        Volatile.Write(ref _snapshotIndex, snapshotIndex);
        if (snapshotIndex == 0 && last == 0)
        {
            // A first start binds the domain's rows to this configuration (its fingerprint), as the local store does.
            var body = new StateWriter(1 << 16);
            router.WriteState(body);
            WriteSnapshot(body.Written, 0);
        }

        return new RecoveredState(router, last, snapshotIndex, replayed, Stopwatch.GetElapsedTime(started), null);
    }

    /// <summary>The last record a following standby has applied.</summary>
    public long Applied => Volatile.Read(ref _applied);

    /// <summary>
    /// A standby follows the journal: the first call loads the newest snapshot; each call applies the rows committed
    /// since, through the same router code as recovery, so a takeover has only the last few to apply. When the owner's
    /// snapshots pruned rows this standby had not read yet, it starts again from the newest snapshot. Returns how many
    /// records it applied.
    /// </summary>
    public long Follow()
    {
        if (_follower is null)
        {
            (_follower, _followedSnapshot) = LoadNewestSnapshot();
            Volatile.Write(ref _applied, _followedSnapshot);
        }

        try
        {
            var (last, replayed) = Replay(_follower, _applied, long.MaxValue);
            Volatile.Write(ref _applied, last);
            return replayed;
        }
        catch (DurableStateException) when (NewestSnapshotIndex() > _applied)
        {
            (_follower, _followedSnapshot) = LoadNewestSnapshot();
            var (last, replayed) = Replay(_follower, _followedSnapshot, long.MaxValue);
            Volatile.Write(ref _applied, last);
            return replayed;
        }
    }

    /// <summary>How far a following standby is behind: records committed it has not applied, and how long ago the oldest of them was committed.</summary>
    public (long Records, double Seconds) Lag()
    {
        using var command = database.Source.CreateCommand(
            "SELECT coalesce(max(last_index), $2), coalesce(extract(epoch FROM clock_timestamp() - min(committed)), 0) FROM acd_journal WHERE domain = $1 AND last_index > $2");
        command.Parameters.Add(new NpgsqlParameter { Value = config.Name });
        command.Parameters.Add(new NpgsqlParameter { Value = Applied });
        using var reader = command.ExecuteReader();
        reader.Read();
        return (reader.GetInt64(0) - Applied, Convert.ToDouble(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture));
    }

    private long NewestSnapshotIndex()
    {
        using var command = database.Source.CreateCommand("SELECT coalesce(max(index), 0) FROM acd_snapshot WHERE domain = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = config.Name });
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>The state after record <paramref name="upTo"/> (or the end), read from PostgreSQL alone.</summary>
    public (Router Router, long Last) ReadState(long upTo)
    {
        var (router, index) = LoadNewestSnapshot(upTo);
        var (last, _) = Replay(router, index, upTo);
        return (router, last);
    }

    /// <inheritdoc/>
    public void Append(ReadOnlySpan<byte> records, long lastIndex)
    {
        lock (_write)
        {
            var first = LastIndex + 1;
            var bytes = records.ToArray();
            var epoch = lease.Epoch;
            var attempts = 0;
            var started = Stopwatch.GetTimestamp();
            while (true)
            {
                if (epoch == 0)
                {
                    throw new OwnershipLostException($"domain '{config.Name}' is no longer owned by {lease.Node}: nothing more is acknowledged here");
                }

                try
                {
                    using var command = database.Source.CreateCommand(Insert);
                    command.Parameters.Add(new NpgsqlParameter { Value = config.Name });
                    command.Parameters.Add(new NpgsqlParameter { Value = lease.Node });
                    command.Parameters.Add(new NpgsqlParameter { Value = epoch });
                    command.Parameters.Add(new NpgsqlParameter { Value = first });
                    command.Parameters.Add(new NpgsqlParameter { Value = lastIndex });
                    command.Parameters.Add(new NpgsqlParameter { Value = bytes });
                    if (command.ExecuteScalar() is not 1L)
                    {
                        throw Fenced(epoch);
                    }

                    Volatile.Write(ref _lastIndex, lastIndex);
                    return;
                }
                catch (PostgresException e) when (string.Equals(e.SqlState, PostgresErrorCodes.UniqueViolation, StringComparison.Ordinal) && OwnRowThere(first, lastIndex, epoch))
                {
                    // An earlier attempt committed and only its answer was lost.
                    Volatile.Write(ref _lastIndex, lastIndex);
                    return;
                }
                catch (NpgsqlException e)
                {
                    // The connection broke or PostgreSQL is failing over: the group waits (and with it its answers) and
                    // is retried until the insert itself says whose the lease is. Only if PostgreSQL stays out of reach
                    // for long is the domain given up (a standby that can reach it will have taken over).
                    if (Stopwatch.GetElapsedTime(started) > GiveUpAfter)
                    {
                        throw new OwnershipLostException($"domain '{config.Name}': the journal could not be written to PostgreSQL for {GiveUpAfter.TotalSeconds:0} s ({e.Message}); nothing more is acknowledged here");
                    }

                    if (attempts++ % 10 == 0)
                    {
                        LogRetry(logger, config.Name, first, e.Message);
                    }

                    Thread.Sleep(Math.Min(20 * attempts, 250));
                }
            }
        }
    }

    /// <inheritdoc/>
    public string TakeSnapshot(long upTo)
    {
        if (Helper is { } helper && helper.TryReplay(config, upTo))
        {
            // The replayed state lived in the helper; only its body comes here, on its way into PostgreSQL.
            var path = SnapshotHelper.BodyPath(config, upTo, Environment.ProcessId);
            try
            {
                return StoreSnapshot(File.ReadAllBytes(path), upTo);
            }
            finally
            {
                File.Delete(path);
            }
        }

        return WriteSnapshot(ReplayBody(upTo).Written, upTo);
    }

    /// <summary>The body of the snapshot after record <paramref name="upTo"/>, replayed from PostgreSQL (here, or in a snapshot helper).</summary>
    internal StateWriter ReplayBody(long upTo)
    {
        var (router, last) = ReadState(upTo);
        if (last != upTo)
        {
            throw new InvalidOperationException($"the journal of domain '{config.Name}' in PostgreSQL ends at record {last}, not {upTo}");
        }

        var body = new StateWriter(1 << 20);
        router.WriteState(body);
        return body;
    }

    /// <inheritdoc/>
    public string WriteSnapshot(ReadOnlySpan<byte> body, long index) => StoreSnapshot(body.ToArray(), index);

    /// <summary>
    /// A process that makes the snapshots by replay (<see cref="SnapshotHelper"/>), so that the replayed state does not
    /// double this daemon's memory; null: replayed here.
    /// </summary>
    public SnapshotHelper? Helper { get; set; }

    private string StoreSnapshot(byte[] body, long index)
    {
        if (index > LastIndex)
        {
            throw new InvalidOperationException($"a snapshot after record {index} while the journal is durable only to {LastIndex}");
        }

        using var connection = database.Source.OpenConnection();
        using var transaction = connection.BeginTransaction();
        using (var insert = new NpgsqlCommand(InsertSnapshot, connection, transaction))
        {
            insert.Parameters.Add(new NpgsqlParameter { Value = config.Name });
            insert.Parameters.Add(new NpgsqlParameter { Value = lease.Node });
            insert.Parameters.Add(new NpgsqlParameter { Value = lease.Epoch });
            insert.Parameters.Add(new NpgsqlParameter { Value = index });
            insert.Parameters.Add(new NpgsqlParameter { Value = body });
            insert.ExecuteNonQuery();
        }

        // The newest snapshots are kept, and the journal from the oldest of them on.
        using (var prune = new NpgsqlCommand("""
            WITH kept AS (SELECT index FROM acd_snapshot WHERE domain = $1 ORDER BY index DESC LIMIT $2),
                 oldest AS (SELECT min(index) AS index FROM kept),
                 gone AS (DELETE FROM acd_snapshot WHERE domain = $1 AND index < (SELECT index FROM oldest))
            DELETE FROM acd_journal WHERE domain = $1 AND last_index <= (SELECT index FROM oldest)
            """, connection, transaction))
        {
            prune.Parameters.Add(new NpgsqlParameter { Value = config.Name });
            prune.Parameters.Add(new NpgsqlParameter { Value = settings.KeepSnapshots });
            prune.ExecuteNonQuery();
        }

        transaction.Commit();
        Volatile.Write(ref _snapshotIndex, Math.Max(SnapshotIndex, index));
        return $"{Location}/snapshot {index}";
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        // The data source is the daemon's; nothing is held here.
    }

    private OwnershipLostException Fenced(long epoch) =>
        new($"domain '{config.Name}': the lease of epoch {epoch} is no longer {lease.Node}'s (another daemon took over): nothing more is acknowledged here");

    private bool OwnRowThere(long first, long last, long epoch)
    {
        using var command = database.Source.CreateCommand("SELECT last_index, epoch FROM acd_journal WHERE domain = $1 AND first_index = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = config.Name });
        command.Parameters.Add(new NpgsqlParameter { Value = first });
        using var reader = command.ExecuteReader();
        return reader.Read() && reader.GetInt64(0) == last && reader.GetInt64(1) == epoch;
    }

    private (Router Router, long Index) LoadNewestSnapshot(long upTo = long.MaxValue)
    {
        using var command = database.Source.CreateCommand("SELECT index, body FROM acd_snapshot WHERE domain = $1 AND index <= $2 ORDER BY index DESC LIMIT 1");
        command.Parameters.Add(new NpgsqlParameter { Value = config.Name });
        command.Parameters.Add(new NpgsqlParameter { Value = upTo });
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return (new Router(config), 0);
        }

        var index = reader.GetInt64(0);
        var body = (byte[])reader[1];
        try
        {
            return (Router.ReadState(config, new StateReader(body)), index);
        }
        catch (InvalidDataException e)
        {
            throw new DurableStateException($"the snapshot of record {index} of domain '{config.Name}' in PostgreSQL cannot be used: {e.Message}. Run the release and configuration that wrote it, or clear the domain's rows for a fresh start.", e);
        }
    }

    /// <summary>Applies the journal rows after <paramref name="after"/> up to <paramref name="upTo"/>; a gap or a record that does not decode stops with a <see cref="DurableStateException"/>.</summary>
    private (long Last, long Replayed) Replay(Router router, long after, long upTo)
    {
        using var command = database.Source.CreateCommand("SELECT first_index, last_index, records FROM acd_journal WHERE domain = $1 AND last_index > $2 AND first_index <= $3 ORDER BY first_index");
        command.Parameters.Add(new NpgsqlParameter { Value = config.Name });
        command.Parameters.Add(new NpgsqlParameter { Value = after });
        command.Parameters.Add(new NpgsqlParameter { Value = upTo });
        using var reader = command.ExecuteReader();
        var events = new Acd.Core.Routing.EventBuffer(256);
        var expected = after + 1;
        long replayed = 0;
        while (reader.Read() && expected <= upTo)
        {
            var first = reader.GetInt64(0);
            var last = reader.GetInt64(1);
            var records = (byte[])reader[2];
            if (first > expected)
            {
                throw new DurableStateException($"journal records {expected} to {first - 1} of domain '{config.Name}' are missing in PostgreSQL: starting without them would lose acknowledged calls and callbacks.");
            }

            var scanner = new JournalScanner(records);
            while (expected <= upTo && scanner.TryNext(out var payload))
            {
                long index;
                long time;
                Command cmd;
                try
                {
                    (index, time, cmd) = JournalFormat.Decode(payload);
                }
                catch (InvalidDataException e)
                {
                    throw new DurableStateException($"journal row {first}-{last} of domain '{config.Name}' in PostgreSQL holds a record that does not decode ({e.Message}).", e);
                }

                if (index < expected)
                {
                    continue;
                }

                if (index != expected)
                {
                    throw new DurableStateException($"journal row {first}-{last} of domain '{config.Name}' in PostgreSQL: record {index} follows record {expected - 1}.");
                }

                events.Clear();
                router.Execute(cmd, time, events);
                expected++;
                replayed++;
            }

            if (expected <= upTo && (scanner.End != JournalScanEnd.Clean || expected != last + 1))
            {
                throw new DurableStateException($"journal row {first}-{last} of domain '{config.Name}' in PostgreSQL is damaged ({scanner.Problem ?? $"it ends at record {expected - 1}"}).");
            }
        }

        return (expected - 1, replayed);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Domain {Domain}: journal insert from record {First} retried ({Why})")]
    private static partial void LogRetry(ILogger logger, string domain, long first, string why);
}
