using Acd.Core.Engine;
using Acd.Core.Sip;
using Acd.Host.Configuration;
using Acd.Host.Routing;

namespace Acd.Host.Sip;

/// <summary>
/// The SIP port's shared state: limits, connection ids, the To-tag salt, and the listener that turns routing events
/// into responses on the transactions that own the calls.
/// </summary>
public sealed partial class SipServer : IBatchListener, IDeliveryScope
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<System.Net.IPAddress, int> _perSource = new();
    private long _nextConnection;
    private int _open;
    private long _pendingBytes;

    /// <summary>Creates the server.</summary>
    public SipServer(AcdSettings settings, DomainDirectory domains, SipRegistrations registrations, TimeProvider time, IHostApplicationLifetime lifetime, ILogger<SipServer> logger, MemoryReliever? reliever = null)
    {
        Reliever = reliever;
        ArgumentNullException.ThrowIfNull(lifetime);
        Stopping = lifetime.ApplicationStopping;
        Registrations = registrations;
        ArgumentNullException.ThrowIfNull(settings);
        Limits = settings.SipLimits;
        Settings = settings.Options.Sip;
        Domains = domains;
        Logger = logger;
        TagSalt = (uint)Random.Shared.Next();
        Time = time;
        Peers = settings.SipPeers;
        Digest = new SipDigest(settings.Options.Sip.Realm, settings.SipCredentials, settings.Options.Sip.NonceLifetimeSeconds, time);
        var limits = settings.Options.Sip.RateLimits;
        RateLimits = new SipRateLimits(limits.TrustedPerSource, limits.CallPeerPerSource, limits.PerCaller);
        ContactChange = settings.Options.Sip.ContactChange;
        Fallback = new SipFallback(this, logger);

        // Connection ids are journaled with the calls they carry: start from the clock so they never repeat across restarts.
        _nextConnection = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() << 12;
    }

    /// <summary>Answers whose connection is gone, over a new one.</summary>
    internal SipFallback Fallback { get; }

    /// <summary>New connections opened to deliver answers whose connection was gone.</summary>
    public long AnswerConnections => Fallback.Opened;

    /// <summary>Final answers that reached no one (their connection gone, no new one possible).</summary>
    public long UndeliveredAnswers => Fallback.Undelivered;

    /// <summary>Told of the answers of a slow reader dropped with its connection.</summary>
    internal MemoryReliever? Reliever { get; }

    /// <summary>Signalled when the daemon begins to stop: sessions finish what they read and close.</summary>
    public CancellationToken Stopping { get; }

    /// <summary>Agents' REGISTER bindings and their expiry.</summary>
    public SipRegistrations Registrations { get; }

    /// <summary>Parser and connection limits.</summary>
    public SipLimits Limits { get; }

    /// <summary>Other SIP settings (Retry-After values).</summary>
    public SipSettings Settings { get; }

    /// <summary>The routing domains.</summary>
    public DomainDirectory Domains { get; }

    /// <summary>The log.</summary>
    public ILogger Logger { get; }

    /// <summary>Salt of the To tags this daemon writes.</summary>
    public uint TagSalt { get; }

    /// <summary>The clock.</summary>
    public TimeProvider Time { get; }

    /// <summary>What peers may do, by their network.</summary>
    internal SipPeers Peers { get; }

    /// <summary>Agents' digest credentials and challenges.</summary>
    internal SipDigest Digest { get; }

    /// <summary>Limits on new calls a second.</summary>
    internal SipRateLimits RateLimits { get; }

    /// <summary>Who may move a logged-in agent to another contact: authenticated, registrar or any.</summary>
    public string ContactChange { get; }

    /// <summary>Open connections now.</summary>
    public int OpenConnections => Volatile.Read(ref _open);

    /// <summary>Counters of the SIP port (messages, responses, rejections).</summary>
    public SipCounters Counters { get; } = new();

    /// <summary>A new, never repeated connection id.</summary>
    public long NewConnectionId() => Interlocked.Increment(ref _nextConnection);

    /// <summary>Bytes of answers queued over every connection and not yet written.</summary>
    public long PendingBytes => Volatile.Read(ref _pendingBytes);

    /// <summary>Adds to (or, negative, takes from) the bytes queued over every connection; the new total.</summary>
    internal long AddPendingBytes(long bytes) => Interlocked.Add(ref _pendingBytes, bytes);

    /// <summary>Counts a connection in; null when a limit refuses it, else the reason it was refused.</summary>
    public string? TryOpen(System.Net.IPAddress? source)
    {
        if (Interlocked.Increment(ref _open) > Limits.MaxConnections)
        {
            Interlocked.Decrement(ref _open);
            Counters.ConnectionRefused(total: true);
            return $"{Limits.MaxConnections} connections open";
        }

        if (source is not null && _perSource.AddOrUpdate(source, 1, static (_, n) => n + 1) > Limits.MaxConnectionsPerSource)
        {
            Release(source);
            Interlocked.Decrement(ref _open);
            Counters.ConnectionRefused(total: false);
            return $"{Limits.MaxConnectionsPerSource} connections open from {source}";
        }

        return null;
    }

    /// <summary>Counts a connection out.</summary>
    public void Closed(System.Net.IPAddress? source)
    {
        if (source is not null)
        {
            Release(source);
        }

        Interlocked.Decrement(ref _open);
    }

    private void Release(System.Net.IPAddress source)
    {
        // Decrement, and forget an address with no connection left (so the table holds only live sources).
        while (_perSource.TryGetValue(source, out var n))
        {
            if (n <= 1 ? _perSource.TryRemove(new KeyValuePair<System.Net.IPAddress, int>(source, n)) : _perSource.TryUpdate(source, n - 1, n))
            {
                return;
            }
        }
    }

    /// <summary>
    /// After a restart or a takeover, before the domain's engine starts: every waiting SIP call whose INVITE the proxy
    /// still holds gets a transaction again, answering over a new connection to the proxy (its journaled route).
    /// Returns how many.
    /// </summary>
    public int ResumeAnswers(DomainRuntime domain, Acd.Core.Routing.Router router)
    {
        ArgumentNullException.ThrowIfNull(router);
        if (!Settings.AnswerOverNewConnection)
        {
            return 0;
        }

        var resumed = 0;
        var peers = new Dictionary<System.Net.IPAddress, RecoveredPeer>(); // one per proxy address, shared by its calls
        foreach (var (callId, route) in router.AnswerRoutes())
        {
            SipTransactionEcho echo;
            try
            {
                echo = SipTransactionEcho.FromRoute(route, callId);
            }
            catch (InvalidDataException)
            {
                continue;
            }

            if (echo.PeerAddress.Length == 0)
            {
                continue;
            }

            var address = new System.Net.IPAddress(echo.PeerAddress);
            if (!peers.TryGetValue(address, out var peer))
            {
                peers.Add(address, peer = new RecoveredPeer(Fallback, address));
            }

            if (router.AttachOwner(callId, peer))
            {
                resumed++;
            }
        }

        return resumed;
    }

    /// <summary>
    /// Batches up to this many commands have their answers written by the delivering thread. A larger batch means load:
    /// its answers are queued for the connections' write loops, which then send in parallel on the thread pool instead of
    /// one after another on the journal's thread, the stage every answer waits for (docs/performance.md, issue 18's ninth step).
    /// </summary>
    public const int DirectWriteBatchMax = 64;

    /// <inheritdoc/>
    public bool BeginDelivery(EngineBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Entries.Length > DirectWriteBatchMax)
        {
            return false;
        }

        SipDirectWrites.Begin();
        return true;
    }

    /// <inheritdoc/>
    public void EndDelivery() => SipDirectWrites.End();

    /// <inheritdoc/>
    public void SendWritten() => SipDirectWrites.FlushHeld();

    /// <inheritdoc/>
    public bool MayWaitForDisk() => SipDirectWrites.Current?.Reading?.NothingMoreToRead() ?? true;

    /// <inheritdoc/>
    public void OnBatch(DomainRuntime domain, EngineBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        foreach (ref readonly var e in batch.Events.Span)
        {
            if (e.Owner is ISipAnswerTarget target)
            {
                SipInviteAnswers.OnEvent(target, in e, this, domain);
            }
        }
    }
}

/// <summary>Counters of the SIP port, read by the metrics exporter (array increments: no lock, no allocation).</summary>
public sealed class SipCounters
{
    private readonly long[] _messages = new long[(int)SipMethod.Other + 1];
    private readonly long[] _responses = new long[700];
    private readonly long[] _rejections = new long[(int)SipRejection.Junk + 1];
    private long _brokenConnections;
    private long _idleClosed;

    /// <summary>Messages received with a method (<see cref="SipMethod.None"/>: responses).</summary>
    public long Messages(SipMethod method) => Volatile.Read(ref _messages[(int)method]);

    /// <summary>Responses sent, by code (codes sent at least once).</summary>
    public IEnumerable<(int Code, long Count)> Responses()
    {
        for (var code = 100; code < _responses.Length; code++)
        {
            var n = Volatile.Read(ref _responses[code]);
            if (n > 0)
            {
                yield return (code, n);
            }
        }
    }

    /// <summary>Messages refused for a reason.</summary>
    public long Rejections(SipRejection reason) => Volatile.Read(ref _rejections[(int)reason]);

    internal void Message(SipMethod method) => Interlocked.Increment(ref _messages[(int)method]);

    internal void Response(int code)
    {
        if (code is >= 100 and < 700)
        {
            Interlocked.Increment(ref _responses[code]);
        }
    }

    internal void Rejection(SipRejection reason) => Interlocked.Increment(ref _rejections[(int)reason]);

    /// <summary>Connections closed because framing was lost.</summary>
    public long BrokenConnections => Volatile.Read(ref _brokenConnections);

    /// <summary>Connections closed for idleness.</summary>
    public long IdleClosed => Volatile.Read(ref _idleClosed);

    internal void Broken() => Interlocked.Increment(ref _brokenConnections);

    internal void Idle() => Interlocked.Increment(ref _idleClosed);

    private long _slowReaders;
    private long _messageTimeouts;
    private long _refusedTotal;
    private long _refusedPerSource;

    /// <summary>Connections closed because their peer did not read its answers (a pending bound was reached).</summary>
    public long SlowReaders => Volatile.Read(ref _slowReaders);

    /// <summary>Connections closed because a message was not complete within the message timeout.</summary>
    public long MessageTimeouts => Volatile.Read(ref _messageTimeouts);

    /// <summary>Connections refused at accept: too many in all, or from one address.</summary>
    public (long Total, long PerSource) ConnectionsRefused => (Volatile.Read(ref _refusedTotal), Volatile.Read(ref _refusedPerSource));

    internal void SlowReader() => Interlocked.Increment(ref _slowReaders);

    internal void MessageTimeout() => Interlocked.Increment(ref _messageTimeouts);

    internal void ConnectionRefused(bool total) => Interlocked.Increment(ref total ? ref _refusedTotal : ref _refusedPerSource);

    private readonly long[] _refusals = new long[Enum.GetValues<SipRefusal>().Length];
    private readonly long[] _registrations = new long[Enum.GetValues<RegistrationAction>().Length];

    /// <summary>Requests refused by policy (who sent them, or how many), by reason.</summary>
    public long Refusals(SipRefusal reason) => Volatile.Read(ref _refusals[(int)reason]);

    /// <summary>Agent registrations over SIP, by what they did.</summary>
    public long Registrations(RegistrationAction action) => Volatile.Read(ref _registrations[(int)action]);

    internal void Refused(SipRefusal reason) => Interlocked.Increment(ref _refusals[(int)reason]);

    internal void Registered(RegistrationAction action) => Interlocked.Increment(ref _registrations[(int)action]);
}

/// <summary>Why the SIP port refused a request it could read (policy, not syntax).</summary>
public enum SipRefusal
{
    /// <summary>From a network that may not send it (403).</summary>
    UntrustedSource,

    /// <summary>A REGISTER from outside the registrar networks, for an agent with no credentials (403).</summary>
    RegistrationForbidden,

    /// <summary>Digest credentials that did not verify (401 again).</summary>
    AuthenticationFailed,

    /// <summary>A REGISTER that would move a logged-in agent to another contact, not authenticated (403).</summary>
    ContactChange,

    /// <summary>More new calls a second from one source than its limit (503).</summary>
    SourceRateLimit,

    /// <summary>More new calls a second from one caller number than the limit (503).</summary>
    CallerRateLimit,
}

/// <summary>What an agent's REGISTER did.</summary>
public enum RegistrationAction
{
    /// <summary>Logged the agent in.</summary>
    Login,

    /// <summary>Refreshed a binding (same contact).</summary>
    Refresh,

    /// <summary>Moved a logged-in agent to another contact.</summary>
    ContactChange,

    /// <summary>Logged the agent out.</summary>
    Logout,

    /// <summary>Refused (untrusted, unauthenticated, or a contact change not allowed).</summary>
    Refused,
}

/// <summary>The metric labels of the SIP port's policy counters.</summary>
public static class SipPolicyLabels
{
    /// <summary>The label of a refusal.</summary>
    public static string Of(SipRefusal reason) => reason switch
    {
        SipRefusal.UntrustedSource => "untrusted-source",
        SipRefusal.RegistrationForbidden => "registration-forbidden",
        SipRefusal.AuthenticationFailed => "authentication-failed",
        SipRefusal.ContactChange => "contact-change",
        SipRefusal.SourceRateLimit => "source-rate-limit",
        SipRefusal.CallerRateLimit => "caller-rate-limit",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };

    /// <summary>The label of a registration action.</summary>
    public static string Of(RegistrationAction action) => action switch
    {
        RegistrationAction.Login => "login",
        RegistrationAction.Refresh => "refresh",
        RegistrationAction.ContactChange => "contact-change",
        RegistrationAction.Logout => "logout",
        RegistrationAction.Refused => "refused",
        _ => throw new ArgumentOutOfRangeException(nameof(action), action, null),
    };
}

/// <summary>Kestrel's entry point for SIP connections.</summary>
public sealed class SipConnectionHandler(SipServer server) : Microsoft.AspNetCore.Connections.ConnectionHandler
{
    /// <inheritdoc/>
    public override async Task OnConnectedAsync(Microsoft.AspNetCore.Connections.ConnectionContext connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var source = (connection.RemoteEndPoint as System.Net.IPEndPoint)?.Address;
        if (server.TryOpen(source) is { } refused)
        {
            SipServer.LogTooManyConnections(server.Logger, connection.RemoteEndPoint?.ToString(), refused);
            connection.Abort();
            return;
        }

        try
        {
            await new SipSession(server, connection).RunAsync().ConfigureAwait(false);
        }
        finally
        {
            server.Closed(source);
        }
    }
}

/// <summary>Log messages of the SIP port.</summary>
public sealed partial class SipServer
{
    [LoggerMessage(Level = LogLevel.Information, Message = "SIP connection {Connection} opened to {Target} for {Answers} answers whose connection was gone")]
    internal static partial void LogAnswerConnection(ILogger logger, long connection, string target, int answers);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SIP answers to {Target} whose connection was gone could not be delivered ({Answers} given up): {Why}")]
    internal static partial void LogAnswerUnreachable(ILogger logger, string target, int answers, string why);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SIP connection from {Remote} refused: {Why}")]
    internal static partial void LogTooManyConnections(ILogger logger, string? remote, string why);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SIP connection {Connection} from {Remote} closed: {Reason}")]
    internal static partial void LogBroken(ILogger logger, long connection, string? remote, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "SIP connection {Connection} from {Remote} idle for {Seconds} s: closed")]
    internal static partial void LogIdle(ILogger logger, long connection, string? remote, int seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SIP connection {Connection} from {Remote} does not read its responses ({Pending} waiting, {Bytes} bytes): closed")]
    internal static partial void LogSlowReader(ILogger logger, long connection, string? remote, int pending, long bytes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SIP connection {Connection} from {Remote} did not complete a message within {Seconds} s: closed")]
    internal static partial void LogSlowSender(ILogger logger, long connection, string? remote, int seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "SIP connection {Connection} failed")]
    internal static partial void LogFailure(ILogger logger, Exception error, long connection);

    [LoggerMessage(Level = LogLevel.Debug, Message = "SIP connection {Connection} from {Remote} closed; {Calls} waiting calls held for the grace period")]
    internal static partial void LogDetached(ILogger logger, long connection, string? remote, int calls);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SIP {Method} from {Remote} refused: {Why} (logged once per connection; every refusal is counted in acd_sip_refused_total)")]
    internal static partial void LogRefused(ILogger logger, string method, string? remote, string why);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {Agent} {Action} by SIP REGISTER from {Remote}: contact {Contact}{Previous}")]
    internal static partial void LogRegistration(ILogger logger, string agent, string action, string? remote, string? contact, string previous);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {Agent}: SIP REGISTER from {Remote} refused: {Why}")]
    internal static partial void LogRegistrationRefused(ILogger logger, string agent, string? remote, string why);
}
