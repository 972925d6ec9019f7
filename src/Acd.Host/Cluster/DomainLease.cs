using System.Diagnostics;
using Npgsql;

namespace Acd.Host.Cluster;

/// <summary>
/// The ownership of one routing domain: its row in <c>acd_lease</c> — owner, epoch, expiry by PostgreSQL's clock. A
/// daemon takes a lease only once it has expired, always with the epoch one higher, and renews it well within its
/// length. Correctness does not rest on clocks: every journal insert commits only while its epoch still holds the lease
/// (<see cref="PgDomainStore"/>). The local estimate of validity (the time a renewal was sent plus the lease length)
/// only lets an owner that can no longer renew stop early.
/// </summary>
public sealed class DomainLease(ClusterDatabase database, string domain)
{
    private long _epoch;
    private long _validUntil;
    private string? _holder;

    /// <summary>The routing domain.</summary>
    public string Domain { get; } = domain;

    /// <summary>This daemon's name.</summary>
    public string Node => database.NodeName;

    /// <summary>The epoch this daemon holds the lease under; 0 when it does not.</summary>
    public long Epoch => Volatile.Read(ref _epoch);

    /// <summary>Whether the lease is surely still this daemon's (by the local clock, from the last renewal sent).</summary>
    public bool Held => Epoch > 0 && Stopwatch.GetTimestamp() < Volatile.Read(ref _validUntil);

    /// <summary>Who holds the lease, as last seen (this daemon when it does).</summary>
    public string? Holder => Volatile.Read(ref _holder);

    /// <summary>Since when (Stopwatch timestamp) the lease was last renewed.</summary>
    public long RenewedAt { get => Volatile.Read(ref _renewedAt); private set => Volatile.Write(ref _renewedAt, value); }

    private long _renewedAt;

    /// <summary>Seconds since the last renewal (or taking) of the lease was sent; 0 when this daemon does not hold it.</summary>
    public double AgeSeconds => Epoch == 0 ? 0 : Stopwatch.GetElapsedTime(RenewedAt).TotalSeconds;

    /// <summary>Takes the lease if it is free (never taken, or expired): true with <see cref="Epoch"/> set; false with <see cref="Holder"/> naming who has it.</summary>
    public async Task<bool> TryAcquireAsync(CancellationToken cancellationToken)
    {
        var sent = Stopwatch.GetTimestamp();
        await using (var take = database.Source.CreateCommand("""
            INSERT INTO acd_lease (domain, owner, epoch, expires) VALUES ($1, $2, 1, clock_timestamp() + $3 * interval '1 millisecond')
            ON CONFLICT (domain) DO UPDATE SET owner = EXCLUDED.owner, epoch = acd_lease.epoch + 1, expires = EXCLUDED.expires
                WHERE acd_lease.expires < clock_timestamp()
            RETURNING epoch
            """))
        {
            take.Parameters.Add(new NpgsqlParameter { Value = Domain });
            take.Parameters.Add(new NpgsqlParameter { Value = Node });
            take.Parameters.Add(new NpgsqlParameter { Value = (double)database.Settings.LeaseMilliseconds });
            if (await take.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long epoch)
            {
                Volatile.Write(ref _validUntil, sent + (long)(database.Settings.LeaseMilliseconds / 1000.0 * Stopwatch.Frequency));
                Volatile.Write(ref _epoch, epoch);
                Volatile.Write(ref _holder, Node);
                RenewedAt = sent;
                return true;
            }
        }

        await using var who = database.Source.CreateCommand("SELECT owner FROM acd_lease WHERE domain = $1");
        who.Parameters.Add(new NpgsqlParameter { Value = Domain });
        Volatile.Write(ref _holder, await who.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string);
        return false;
    }

    /// <summary>
    /// Renews the lease: true while it is still this daemon's — also after it lapsed, when nobody took it meanwhile (a
    /// PostgreSQL failover longer than the lease: nobody else acknowledged anything); false once another daemon took it.
    /// </summary>
    public async Task<bool> RenewAsync(CancellationToken cancellationToken)
    {
        var sent = Stopwatch.GetTimestamp();
        await using var renew = database.Source.CreateCommand("""
            UPDATE acd_lease SET expires = clock_timestamp() + $3 * interval '1 millisecond'
            WHERE domain = $1 AND owner = $2 AND epoch = $4
            """);
        renew.Parameters.Add(new NpgsqlParameter { Value = Domain });
        renew.Parameters.Add(new NpgsqlParameter { Value = Node });
        renew.Parameters.Add(new NpgsqlParameter { Value = (double)database.Settings.LeaseMilliseconds });
        renew.Parameters.Add(new NpgsqlParameter { Value = Epoch });
        if (await renew.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1)
        {
            Volatile.Write(ref _validUntil, sent + (long)(database.Settings.LeaseMilliseconds / 1000.0 * Stopwatch.Frequency));
            RenewedAt = sent;
            return true;
        }

        Volatile.Write(ref _epoch, 0);
        return false;
    }

    /// <summary>Gives the lease up at a clean stop (after the last group commit), so a standby takes over at once.</summary>
    public async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        var epoch = Epoch;
        Volatile.Write(ref _epoch, 0);
        if (epoch == 0)
        {
            return;
        }

        await using var release = database.Source.CreateCommand("UPDATE acd_lease SET expires = clock_timestamp() - interval '1 millisecond' WHERE domain = $1 AND owner = $2 AND epoch = $3");
        release.Parameters.Add(new NpgsqlParameter { Value = Domain });
        release.Parameters.Add(new NpgsqlParameter { Value = Node });
        release.Parameters.Add(new NpgsqlParameter { Value = epoch });
        await release.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
