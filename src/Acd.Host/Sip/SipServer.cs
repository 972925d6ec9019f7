using Acd.Core.Engine;
using Acd.Core.Sip;
using Acd.Host.Configuration;
using Acd.Host.Routing;

namespace Acd.Host.Sip;

/// <summary>
/// The SIP port's shared state: limits, connection ids, the To-tag salt, and the listener that turns routing events
/// into responses on the transactions that own the calls.
/// </summary>
public sealed partial class SipServer : IBatchListener
{
    private long _nextConnection;
    private int _open;

    /// <summary>Creates the server.</summary>
    public SipServer(AcdSettings settings, DomainDirectory domains, SipRegistrations registrations, IHostApplicationLifetime lifetime, ILogger<SipServer> logger)
    {
        ArgumentNullException.ThrowIfNull(lifetime);
        Stopping = lifetime.ApplicationStopping;
        Registrations = registrations;
        ArgumentNullException.ThrowIfNull(settings);
        Limits = settings.SipLimits;
        Settings = settings.Options.Sip;
        Domains = domains;
        Logger = logger;
        TagSalt = (uint)Random.Shared.Next();

        // Connection ids are journaled with the calls they carry: start from the clock so they never repeat across restarts.
        _nextConnection = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() << 12;
    }

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

    /// <summary>Open connections now.</summary>
    public int OpenConnections => Volatile.Read(ref _open);

    /// <summary>Counters of the SIP port (messages, responses, rejections).</summary>
    public SipCounters Counters { get; } = new();

    /// <summary>A new, never repeated connection id.</summary>
    public long NewConnectionId() => Interlocked.Increment(ref _nextConnection);

    /// <summary>Counts a connection in; false when the limit is reached.</summary>
    public bool TryOpen()
    {
        if (Interlocked.Increment(ref _open) > Limits.MaxConnections)
        {
            Interlocked.Decrement(ref _open);
            return false;
        }

        return true;
    }

    /// <summary>Counts a connection out.</summary>
    public void Closed() => Interlocked.Decrement(ref _open);

    /// <inheritdoc/>
    public void OnBatch(DomainRuntime domain, EngineBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        foreach (ref readonly var e in batch.Events.Span)
        {
            if (e.Owner is SipInviteTransaction transaction)
            {
                transaction.OnEvent(in e);
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
}

/// <summary>Kestrel's entry point for SIP connections.</summary>
public sealed class SipConnectionHandler(SipServer server) : Microsoft.AspNetCore.Connections.ConnectionHandler
{
    /// <inheritdoc/>
    public override async Task OnConnectedAsync(Microsoft.AspNetCore.Connections.ConnectionContext connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (!server.TryOpen())
        {
            SipServer.LogTooManyConnections(server.Logger, connection.RemoteEndPoint?.ToString(), server.Limits.MaxConnections);
            connection.Abort();
            return;
        }

        try
        {
            await new SipSession(server, connection).RunAsync().ConfigureAwait(false);
        }
        finally
        {
            server.Closed();
        }
    }
}

/// <summary>Log messages of the SIP port.</summary>
public sealed partial class SipServer
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "SIP connection from {Remote} refused: {Max} connections open")]
    internal static partial void LogTooManyConnections(ILogger logger, string? remote, int max);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SIP connection {Connection} from {Remote} closed: {Reason}")]
    internal static partial void LogBroken(ILogger logger, long connection, string? remote, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "SIP connection {Connection} from {Remote} idle for {Seconds} s: closed")]
    internal static partial void LogIdle(ILogger logger, long connection, string? remote, int seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SIP connection {Connection} from {Remote} does not read its responses ({Pending} waiting): closed")]
    internal static partial void LogSlowReader(ILogger logger, long connection, string? remote, int pending);

    [LoggerMessage(Level = LogLevel.Error, Message = "SIP connection {Connection} failed")]
    internal static partial void LogFailure(ILogger logger, Exception error, long connection);

    [LoggerMessage(Level = LogLevel.Debug, Message = "SIP connection {Connection} from {Remote} closed; {Calls} waiting calls held for the grace period")]
    internal static partial void LogDetached(ILogger logger, long connection, string? remote, int calls);
}
