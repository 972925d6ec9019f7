namespace Acd.Host.Durability;

/// <summary>
/// Where a domain's journal and snapshots live: the local data directory (<see cref="DomainStore"/>), or PostgreSQL in
/// cluster mode (<see cref="Acd.Host.Cluster.PgDomainStore"/>). The group commit (<see cref="DurableSink"/>) writes
/// through it and recovery reads from it.
/// </summary>
public interface IDomainStore : IDisposable
{
    /// <summary>Where the state is, for logs and thread names.</summary>
    string Location { get; }

    /// <summary>Index of the last record made durable.</summary>
    long LastIndex { get; }

    /// <summary>Index of the newest snapshot.</summary>
    long SnapshotIndex { get; }

    /// <summary>Loads the newest snapshot and replays the journal after it; refuses what it cannot prove whole.</summary>
    RecoveredState Recover();

    /// <summary>Makes records <c>LastIndex + 1 … lastIndex</c> (framed by <see cref="Acd.Core.Durability.JournalFormat"/>) durable; throws when it cannot.</summary>
    void Append(ReadOnlySpan<byte> records, long lastIndex);

    /// <summary>A snapshot of the state after record <paramref name="upTo"/>, made from the stored journal; returns where it went.</summary>
    string TakeSnapshot(long upTo);

    /// <summary>The process that replays for <see cref="TakeSnapshot"/> (<see cref="SnapshotHelper"/>); null: replayed in this one.</summary>
    SnapshotHelper? Helper { get; set; }

    /// <summary>Stores a snapshot body of the state after record <paramref name="index"/> (durable already); returns where it went.</summary>
    string WriteSnapshot(ReadOnlySpan<byte> body, long index);
}
