using Acd.Core.Configuration;

namespace Acd.Host.Configuration;

/// <summary>
/// The <c>Acd</c> configuration section. Its domain settings (skills, roster, timing) describe the single routing
/// domain, unless <see cref="Domains"/> lists several; the rest is the daemon's own (listeners, data, limits).
/// </summary>
public sealed class AcdOptions : DomainOptions
{
    /// <summary>Several independent routing domains (provinces, tenants). Empty: the section itself is the one domain.</summary>
    public IList<DomainOptions> Domains { get; set; } = new List<DomainOptions>();

    /// <summary>Listen addresses.</summary>
    public ListenOptions Listen { get; set; } = new();

    /// <summary>Where the journal and snapshots live.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>The routing engine's queue and batching.</summary>
    public EngineSettings Engine { get; set; } = new();

    /// <summary>The journal and snapshots in <see cref="DataDirectory"/>.</summary>
    public JournalSettings Journal { get; set; } = new();

    /// <summary>SIP port limits.</summary>
    public SipSettings Sip { get; set; } = new();

    /// <summary>gRPC endpoint settings.</summary>
    public Acd.Host.Grpc.GrpcSettings Grpc { get; set; } = new();

    /// <summary>API access.</summary>
    public ApiOptions Api { get; set; } = new();

    /// <summary>HTTP port settings.</summary>
    public HttpSettings Http { get; set; } = new();

    /// <summary>Cluster mode: the journal and snapshots in PostgreSQL, each domain owned by one daemon at a time.</summary>
    public ClusterSettings Cluster { get; set; } = new();

    /// <summary>Giving memory back to the system.</summary>
    public MemorySettings Memory { get; set; } = new();
}

/// <summary>Giving memory back to the system (see <see cref="MemoryReliever"/>).</summary>
public sealed class MemorySettings
{
    /// <summary>
    /// When the heap has grown by this many MiB since the last compaction and the daemon has gone quiet (fewer than 10
    /// commands a second for two seconds), compact it once and give the free pages back; 0 turns it off. The pause is
    /// taken when nothing is being routed, some tens of milliseconds per 100,000 waiting calls.
    /// </summary>
    public int CompactWhenQuietMiB { get; set; } = 256;
}

/// <summary>
/// Cluster mode (docs/cluster.md): on when <see cref="ConnectionString"/> is set. The durability point of a group commit
/// is a PostgreSQL transaction; each routing domain has one owner at a time, held by a lease row whose epoch fences
/// every journal insert; the other daemons wait as standby and take over when the lease expires.
/// </summary>
public sealed class ClusterSettings
{
    /// <summary>An Npgsql connection string (the multi-host form with <c>Target Session Attributes=primary</c> follows a PostgreSQL failover). Empty: cluster mode off.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>This daemon's name in the lease rows and logs; default: the host name and the process id.</summary>
    public string? NodeName { get; set; }

    /// <summary>How long a lease holds without renewal (by PostgreSQL's clock), in milliseconds: a dead owner is replaced this long after its last renewal.</summary>
    public int LeaseMilliseconds { get; set; } = 2000;

    /// <summary>How often the owner renews its lease, in milliseconds (well within the lease).</summary>
    public int RenewMilliseconds { get; set; } = 400;

    /// <summary>How often a standby tries to take a lease, in milliseconds.</summary>
    public int StandbyPollMilliseconds { get; set; } = 200;
}

/// <summary>API access.</summary>
public sealed class ApiOptions
{
    /// <summary>
    /// When set, every gRPC method but Health needs <c>authorization: Bearer &lt;token&gt;</c>, and so do /metrics, /state
    /// and the wallboard. Prefer <see cref="TokenFile"/>: a token on the command line is readable in /proc by any local user.
    /// </summary>
    public string? Token { get; set; }

    /// <summary>A file holding the API token (its first line), e.g. a systemd credential; wins over <see cref="Token"/>.</summary>
    public string? TokenFile { get; set; }
}

/// <summary>The HTTP port (metrics, health, state, wallboard).</summary>
public sealed class HttpSettings
{
    /// <summary>PFX certificate file for TLS on the HTTP port; empty: plain HTTP.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>Password of the PFX file.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>Seconds a /state answer is kept: the state digest is computed on the routing thread at most this often.</summary>
    public int StateCacheSeconds { get; set; } = 1;

    /// <summary>Open connections to the HTTP port. Default 256 (Prometheus, probes and wallboard screens).</summary>
    public int MaxConnections { get; set; } = 256;

    /// <summary>The wallboard (/wallboard): its language, viewers and how it pushes.</summary>
    public WallboardSettings Wallboard { get; set; } = new();
}

/// <summary>The floor's live wallboard on the HTTP port (docs/wallboard.md).</summary>
public sealed class WallboardSettings
{
    /// <summary>The page's language unless the viewer switches: "zh" or "en".</summary>
    public string Language { get; set; } = "zh";

    /// <summary>Open wallboard streams at once; more are answered 503 (the page retries).</summary>
    public int MaxViewers { get; set; } = 64;

    /// <summary>How often (ms) the floor is read when something changed; the page is at most this much behind the engine.</summary>
    public int RefreshMilliseconds { get; set; } = 250;

    /// <summary>A viewer that has not taken an update within this many seconds is dropped (its page reconnects).</summary>
    public int WriteTimeoutSeconds { get; set; } = 10;
}

/// <summary>Limits of the SIP port (see <see cref="Acd.Core.Sip.SipLimits"/> for what each guards against).</summary>
public sealed class SipSettings
{
    /// <summary>Longest start line.</summary>
    public int MaxStartLineBytes { get; set; } = 1024;

    /// <summary>Longest header block.</summary>
    public int MaxHeaderBytes { get; set; } = 8192;

    /// <summary>Most header lines.</summary>
    public int MaxHeaders { get; set; } = 64;

    /// <summary>Largest body.</summary>
    public int MaxBodyBytes { get; set; } = 16_384;

    /// <summary>Idle connections are closed after this.</summary>
    public int IdleTimeoutSeconds { get; set; } = 300;

    /// <summary>Unread responses per connection before it is closed.</summary>
    public int MaxPendingResponses { get; set; } = 65_536;

    /// <summary>Most open connections.</summary>
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>Most open connections from one address.</summary>
    public int MaxConnectionsPerSource { get; set; } = 256;

    /// <summary>A message begun must be complete within this many seconds.</summary>
    public int MessageTimeoutSeconds { get; set; } = 30;

    /// <summary>Bytes of unwritten answers per connection before it is closed.</summary>
    public long MaxPendingBytes { get; set; } = 4L << 20;

    /// <summary>Bytes of unwritten answers over all connections.</summary>
    public long MaxPendingBytesTotal { get; set; } = 256L << 20;

    /// <summary>Retry-After (seconds) on 480: no agent logged in.</summary>
    public int RetryAfterNoAgentsSeconds { get; set; } = 60;

    /// <summary>Retry-After (seconds) on 503: queue full or capacity.</summary>
    public int RetryAfterBusySeconds { get; set; } = 10;

    /// <summary>
    /// RFC 3261 §18.2.2: a final answer whose connection is gone (a proxy closed an idle connection while its caller
    /// waited) goes over a new connection to the peer's address and the top Via's port, and the calls of a closed
    /// connection keep their places. Off: they are held for <c>DetachGraceSeconds</c> for the peer to send the INVITE again.
    /// </summary>
    public bool AnswerOverNewConnection { get; set; } = true;

    /// <summary>How long a new connection for an answer may take to open; past it, a routed call counts as abandoned (its agent is free at once).</summary>
    public int AnswerConnectTimeoutSeconds { get; set; } = 3;

    /// <summary>After a new connection to a peer failed, answers to it are given up at once for this many seconds (a dead proxy costs one attempt, not one per call).</summary>
    public int AnswerRetrySeconds { get; set; } = 5;

    /// <summary>
    /// Networks (CIDR, or single addresses) of the proxies and PBXs trusted with calls: they may offer calls, their
    /// X-Acd-* routing headers are honoured, and their unanswered calls owe a callback. Default (unset): loopback only.
    /// </summary>
    public IList<string>? TrustedPeers { get; set; }

    /// <summary>
    /// Networks that may offer calls but are not trusted with routing: their X-Acd-* headers are ignored, their calls
    /// owe no callback, and they are held to <see cref="SipRateLimitSettings.CallPeerPerSource"/>. Default: none.
    /// </summary>
    public IList<string>? CallPeers { get; set; }

    /// <summary>Networks of the registrars that authenticated the agents whose REGISTER they relay. Default (unset): loopback only.</summary>
    public IList<string>? RegistrarPeers { get; set; }

    /// <summary>Digest credentials of agents who REGISTER from elsewhere (see docs/security.md for the format); none by default.</summary>
    public string? CredentialsFile { get; set; }

    /// <summary>The digest realm.</summary>
    public string Realm { get; set; } = "acd";

    /// <summary>How long a digest nonce is good for, in seconds.</summary>
    public int NonceLifetimeSeconds { get; set; } = 300;

    /// <summary>
    /// Who may move a logged-in agent to another contact: <c>authenticated</c> (default: only a REGISTER with the agent's
    /// digest credentials), <c>registrar</c> (also a registrar peer), <c>any</c> (whoever may REGISTER).
    /// </summary>
    public string ContactChange { get; set; } = "authenticated";

    /// <summary>Limits on new calls a second.</summary>
    public SipRateLimitSettings RateLimits { get; set; } = new();
}

/// <summary>Limits on new calls (INVITEs) a second; over one, 503 with Retry-After. 0: no limit.</summary>
public sealed class SipRateLimitSettings
{
    /// <summary>Per source address of a trusted peer (a proxy may carry a whole province: none by default).</summary>
    public int TrustedPerSource { get; set; }

    /// <summary>Per source address of a call peer.</summary>
    public int CallPeerPerSource { get; set; } = 50;

    /// <summary>Per caller number, whichever peer sends it (none by default: a test tool sends every call from one number).</summary>
    public int PerCaller { get; set; }
}

/// <summary>Listen addresses, each <c>ADDR:PORT</c>; port 0 picks a free port; an empty value turns the listener off.</summary>
public sealed class ListenOptions
{
    /// <summary>SIP over TCP.</summary>
    public string Sip { get; set; } = "127.0.0.1:5060";

    /// <summary>gRPC over HTTP/2.</summary>
    public string Grpc { get; set; } = "127.0.0.1:50051";

    /// <summary>HTTP: metrics, health.</summary>
    public string Http { get; set; } = "127.0.0.1:8080";
}

/// <summary>Durability (SPEC section 8): a journal with group commit and periodic snapshots, per domain.</summary>
public sealed class JournalSettings
{
    /// <summary>Whether state is journaled at all (off: a restart forgets everything).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Whether each group commit is flushed to the disk before its answers leave (off: the OS decides; a power cut may lose the last writes).</summary>
    public bool Fsync { get; set; } = true;

    /// <summary>
    /// Whether a connection's thread that executed its own commands (the engine asleep) also makes their group commit
    /// while the journal is quiet (no commit under way, busy less than half the time, commits under a millisecond, nothing
    /// more on the connection's socket; the local data directory only), instead of waking the journal's thread for it
    /// (off: the journal's thread makes every one).
    /// </summary>
    public bool CommitOnPosterThread { get; set; } = true;

    /// <summary>A journal file is closed and a new one begun beyond this size.</summary>
    public int SegmentMegabytes { get; set; } = 64;

    /// <summary>A snapshot is taken after this many journal records (recovery replays at most about this many: 1,000,000 ≈ 0.5 s).</summary>
    public int SnapshotEveryRecords { get; set; } = 1_000_000;

    /// <summary>
    /// Up to this many live calls a snapshot is captured by the engine between two batches (one pass over the state;
    /// routing waits for it: about 20 ms for 10,000 agents and 12,000 calls); above, it is made in the background by
    /// replaying the journal (no pause, but the routing work is done a second time). 0: always by replay.
    /// </summary>
    public int SnapshotCaptureMaxCalls { get; set; } = 20_000;

    /// <summary>A snapshot is taken at least this often while state changes, in seconds.</summary>
    public int SnapshotIntervalSeconds { get; set; } = 300;

    /// <summary>
    /// Whether snapshots by replay are made in a child process (<c>acd snapshot …</c>), so that the replayed state does
    /// not double the daemon's memory; off, or when the child fails, the daemon replays in a background thread.
    /// </summary>
    public bool SnapshotProcess { get; set; } = true;

    /// <summary>Longest a snapshot child may take before it is stopped (and the daemon replays itself), in seconds.</summary>
    public int SnapshotProcessTimeoutSeconds { get; set; } = 600;

    /// <summary>Snapshots kept (the journal is kept from the oldest of them on).</summary>
    public int KeepSnapshots { get; set; } = 2;
}

/// <summary>Engine tuning (see <see cref="Acd.Core.Engine.EngineOptions"/>).</summary>
public sealed class EngineSettings
{
    /// <summary>Slots in each domain's command ring.</summary>
    public int QueueCapacity { get; set; } = 65_536;

    /// <summary>Most commands per batch.</summary>
    public int MaxBatch { get; set; } = 1024;

    /// <summary>Batches in flight (journal pipelining).</summary>
    public int Batches { get; set; } = 4;
}
