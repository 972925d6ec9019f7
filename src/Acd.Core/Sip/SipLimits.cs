namespace Acd.Core.Sip;

/// <summary>
/// Limits on what a SIP peer may send (bound from <c>Acd:Sip</c>). Every limit exists because an untrusted peer
/// could otherwise make the daemon buffer without bound; each default is generous for real proxies.
/// </summary>
public sealed class SipLimits
{
    private int _maxStartLineBytes = 1024;
    private int _maxHeaderBytes = 8192;
    private int _maxHeaders = 64;
    private int _maxBodyBytes = 16_384;
    private int _idleTimeoutSeconds = 300;
    private int _maxPendingResponses = 65_536;
    private int _maxConnections = 10_000;
    private int _maxConnectionsPerSource = 256;
    private int _messageTimeoutSeconds = 30;
    private long _maxPendingBytes = 4L << 20;
    private long _maxPendingBytesTotal = 256L << 20;

    /// <summary>Longest request or status line, CRLF excluded. Default 1024: a long Request-URI with parameters fits.</summary>
    public int MaxStartLineBytes { get => _maxStartLineBytes; set => _maxStartLineBytes = Check(value, 32, 65_536); }

    /// <summary>Longest header block (start line and headers, up to the blank line). Default 8 KiB, like Kestrel's request line plus a typical header budget.</summary>
    public int MaxHeaderBytes { get => _maxHeaderBytes; set => _maxHeaderBytes = Check(value, 256, 1 << 20); }

    /// <summary>Most header lines. Default 64: an INVITE through several proxies has some 15-25.</summary>
    public int MaxHeaders { get => _maxHeaders; set => _maxHeaders = Check(value, 8, 1024); }

    /// <summary>Largest body. Default 16 KiB: an SDP offer is 0.5-2 KiB; ACD needs no body at all.</summary>
    public int MaxBodyBytes { get => _maxBodyBytes; set => _maxBodyBytes = Check(value, 0, 1 << 24); }

    /// <summary>A connection that sends nothing for this long is closed. Default 300 s: proxies ping with OPTIONS or CRLF well within it.</summary>
    public int IdleTimeoutSeconds { get => _idleTimeoutSeconds; set => _idleTimeoutSeconds = Check(value, 1, 86_400); }

    /// <summary>Responses queued for a connection that does not read them; beyond it the connection is closed. Default 65,536.</summary>
    public int MaxPendingResponses { get => _maxPendingResponses; set => _maxPendingResponses = Check(value, 16, 1 << 24); }

    /// <summary>Most open SIP connections. Default 10,000.</summary>
    public int MaxConnections { get => _maxConnections; set => _maxConnections = Check(value, 1, 1_000_000); }

    /// <summary>Most open SIP connections from one address. Default 256: a proxy needs a handful; one host cannot take them all.</summary>
    public int MaxConnectionsPerSource { get => _maxConnectionsPerSource; set => _maxConnectionsPerSource = Check(value, 1, 1_000_000); }

    /// <summary>
    /// A message begun must be complete within this many seconds, however it trickles in (every byte restarts the idle
    /// timer, not this one). Default 30: a message is a few hundred bytes, sent at once.
    /// </summary>
    public int MessageTimeoutSeconds { get => _messageTimeoutSeconds; set => _messageTimeoutSeconds = Check(value, 1, 3600); }

    /// <summary>
    /// Bytes of answers queued for one connection and not yet written (a peer that does not read); beyond, the connection
    /// is closed. Default 4 MiB: thousands of answers, each at most a header block.
    /// </summary>
    public long MaxPendingBytes { get => _maxPendingBytes; set => _maxPendingBytes = Check(value, 64 * 1024, 1L << 32); }

    /// <summary>
    /// Bytes of answers queued over every connection; beyond, a connection holding more than its share of it is closed.
    /// Default 256 MiB.
    /// </summary>
    public long MaxPendingBytesTotal { get => _maxPendingBytesTotal; set => _maxPendingBytesTotal = Check(value, 1 << 20, 1L << 36); }

    private static long Check(long value, long min, long max) =>
        value < min || value > max ? throw new ArgumentOutOfRangeException(nameof(value), value, $"must be between {min} and {max}") : value;

    private static int Check(int value, int min, int max) =>
        value < min || value > max ? throw new ArgumentOutOfRangeException(nameof(value), value, $"must be between {min} and {max}") : value;
}
