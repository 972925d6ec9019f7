using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Text;

namespace Acd.Core.Sip;

/// <summary>
/// What every response to a request repeats (RFC 3261 §8.2.6): each Via in order, From, To (with a tag added on
/// answers other than 100), Call-ID and CSeq — copied out of the request once, as ready-to-write header lines, so that
/// a response can be written long after the request's bytes are gone (a 302 minutes after the INVITE).
/// </summary>
/// <remarks>
/// The bytes are laid out so that they are also the transaction's <see cref="Route"/> — what a daemon that recovers the
/// call after a restart or a takeover needs to answer the INVITE still open at the proxy: format (1 byte), the length
/// of the peer's address and the address (the source of the request: where a new connection goes), the To tag (4),
/// whether the To had a tag (1), the length of the To value (4), then the lines and the To value. One array serves the
/// live transaction and the journal. In format 2 (an INVITE's route, kept with its waiting call) the Call-ID line is
/// left out: it is the call's id, which the call keeps anyway, and is written from it (<see cref="FromRoute(byte[], string?)"/>);
/// format 1 carries it (every other transaction's echo, and routes journaled before format 2).
/// </remarks>
public readonly struct SipTransactionEcho
{
    private const byte RouteFormat = 1;
    private const byte RouteFormatWithoutCallId = 2;

    /// <summary>
    /// The largest route: the SIP port's largest header block (<see cref="SipLimits.MaxHeaderBytes"/> at most 1 MiB), its
    /// lines' compact names written in full (a few bytes a line, at most 1,024 lines), the peer, tag and lengths. Every
    /// route the port can capture is read back — from a journal or a snapshot too (<c>CommandCodec.MaxAnswerRoute</c>).
    /// </summary>
    public const int MaxRouteBytes = (1 << 20) + (64 * 1024);
    private const int HeaderTail = 4 + 1 + 4; // tag, whether To had one, To's length

    private readonly byte[] _lines;
    private readonly int _start;
    private readonly int _toStart;
    private readonly int _toLength;
    private readonly bool _toHasTag;
    private readonly uint _tag;
    private readonly string? _callId;

    private SipTransactionEcho(byte[] lines, int start, int toStart, int toLength, bool toHasTag, uint tag, string? callId)
    {
        _lines = lines;
        _start = start;
        _toStart = toStart;
        _toLength = toLength;
        _toHasTag = toHasTag;
        _tag = tag;
        _callId = callId;
    }

    /// <summary>Bytes kept for this transaction.</summary>
    public int Size => _lines.Length + (_callId?.Length ?? 0);

    /// <summary>The bytes that answer this transaction after the process that received it is gone (see remarks): kept by the router with a waiting call, journaled and in snapshots.</summary>
    public byte[] Route => _lines;

    /// <summary>The address the request came from (4 or 16 bytes; empty when unknown).</summary>
    public ReadOnlySpan<byte> PeerAddress => _lines.AsSpan(2, _lines[1]);

    /// <summary>
    /// The transaction a <see cref="Route"/> describes; refuses bytes that are not one. <paramref name="callId"/> is the
    /// call's id: the Call-ID of a route that leaves it out (an INVITE's); a route without it needs one, printable ASCII
    /// (as the SIP port accepts a Call-ID: nothing that could end the header line).
    /// </summary>
    public static SipTransactionEcho FromRoute(byte[] route, string? callId = null)
    {
        ArgumentNullException.ThrowIfNull(route);
        if (route.Length < 2 || route[0] is not (RouteFormat or RouteFormatWithoutCallId) || route[1] is not (0 or 4 or 16)
            || route.Length < 2 + route[1] + HeaderTail || route.Length > MaxRouteBytes
            || (route[0] == RouteFormatWithoutCallId && (callId is null || callId.Length is 0 or > 256 || callId.AsSpan().IndexOfAnyExceptInRange((char)0x21, (char)0x7E) >= 0)))
        {
            throw new InvalidDataException("not an answer route");
        }

        var at = 2 + route[1];
        var tag = BinaryPrimitives.ReadUInt32LittleEndian(route.AsSpan(at));
        var toHasTag = route[at + 4] == 1;
        var toLength = BinaryPrimitives.ReadInt32LittleEndian(route.AsSpan(at + 5));
        var start = at + HeaderTail;
        if (toLength < 0 || toLength > route.Length - start)
        {
            throw new InvalidDataException("not an answer route");
        }

        return new SipTransactionEcho(route, start, route.Length - toLength, toLength, toHasTag, tag, route[0] == RouteFormatWithoutCallId ? callId : null);
    }

    /// <summary>
    /// Copies the headers to repeat out of <paramref name="message"/>. Headers a malformed request lacks are left out.
    /// <paramref name="tagSalt"/> makes To tags differ between daemons; the tag of a transaction is fixed.
    /// </summary>
    public static SipTransactionEcho Capture(SipMessage message, uint tagSalt) => Capture(message, tagSalt, default);

    /// <summary>As <see cref="Capture(SipMessage, uint)"/>, naming the address the request came from (4 or 16 bytes) in the <see cref="Route"/>.</summary>
    public static SipTransactionEcho Capture(SipMessage message, uint tagSalt, ReadOnlySpan<byte> peer) => Capture(message, tagSalt, peer, null);

    /// <summary>
    /// As <see cref="Capture(SipMessage, uint, ReadOnlySpan{byte})"/> for a transaction whose <see cref="Route"/> is kept
    /// with its call: <paramref name="callId"/> is the request's Call-ID as the call keeps it, written from there, not
    /// kept twice (format 2).
    /// </summary>
    public static SipTransactionEcho Capture(SipMessage message, uint tagSalt, ReadOnlySpan<byte> peer, string? callId)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (peer.Length is not (0 or 4 or 16))
        {
            peer = default;
        }

        var header = 2 + peer.Length + HeaderTail;
        var size = header;
        foreach (var h in message.Headers)
        {
            size += h.Header switch
            {
                SipHeader.Via => 5 + h.Value.Length + 2,
                SipHeader.From => 6 + h.Value.Length + 2,
                SipHeader.CallId => callId is null ? 9 + h.Value.Length + 2 : 0,
                SipHeader.CSeq => 6 + h.Value.Length + 2,
                _ => 0,
            };
        }

        var to = message.TryGet(SipHeader.To, out var toLine) ? message[toLine.Value] : default;
        var lines = new byte[size + to.Length];
        lines[0] = callId is null ? RouteFormat : RouteFormatWithoutCallId;
        lines[1] = (byte)peer.Length;
        peer.CopyTo(lines.AsSpan(2));
        var n = header;
        void Put(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
        {
            name.CopyTo(lines.AsSpan(n));
            n += name.Length;
            value.CopyTo(lines.AsSpan(n));
            n += value.Length;
            "\r\n"u8.CopyTo(lines.AsSpan(n));
            n += 2;
        }

        foreach (var h in message.Headers)
        {
            if (h.Header == SipHeader.Via)
            {
                Put("Via: "u8, message[h.Value]);
            }
        }

        if (message.TryGet(SipHeader.From, out var from))
        {
            Put("From: "u8, message[from.Value]);
        }

        if (callId is null && message.TryGet(SipHeader.CallId, out var callIdLine))
        {
            Put("Call-ID: "u8, message[callIdLine.Value]);
        }

        if (message.TryGet(SipHeader.CSeq, out var cseq))
        {
            Put("CSeq: "u8, message[cseq.Value]);
        }

        to.CopyTo(lines.AsSpan(n));
        // The tag is the transaction's: the Call-ID and the top Via (its branch), so a retransmission gets the same tag
        // and a new INVITE of the same call (a proxy's ring-no-answer) a new one.
        var hash = default(HashCode);
        hash.Add(tagSalt);
        hash.AddBytes(message.Value(SipHeader.CallId));
        hash.AddBytes(message.Value(SipHeader.Via));
        var tag = (uint)hash.ToHashCode() | 1u;
        var toHasTag = SipValues.HasParameter(to, "tag"u8);
        BinaryPrimitives.WriteUInt32LittleEndian(lines.AsSpan(2 + peer.Length), tag);
        lines[2 + peer.Length + 4] = toHasTag ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteInt32LittleEndian(lines.AsSpan(2 + peer.Length + 5), to.Length);
        return new SipTransactionEcho(lines, header, n, to.Length, toHasTag, tag, callId);
    }

    /// <summary>
    /// Where a response goes when the request's connection is gone (RFC 3261 §18.2.2): the port of the top Via's sent-by
    /// (the sender's listening port), <paramref name="defaultPort"/> when it names none; false when there is no readable
    /// top Via or its transport is not <paramref name="transport"/>.
    /// </summary>
    public bool TryGetTopViaPort(ReadOnlySpan<byte> transport, int defaultPort, out int port)
    {
        port = 0;
        var lines = _lines.AsSpan(_start, _toStart - _start);
        if (!lines.StartsWith("Via: "u8))
        {
            return false;
        }

        var via = lines[5..lines.IndexOf("\r\n"u8)];
        var comma = via.IndexOf((byte)',');
        return SipValues.TryGetSentByPort(comma < 0 ? via : via[..comma], transport, defaultPort, out port);
    }

    /// <summary>Writes the repeated headers; <paramref name="addTag"/> adds this transaction's To tag when the To has none.</summary>
    public void Write(IBufferWriter<byte> writer, bool addTag)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var head = _lines.AsSpan(_start, _toStart - _start);
        var span = writer.GetSpan(head.Length + _toLength + 32 + (_callId is null ? 0 : _callId.Length + 11));
        head.CopyTo(span);
        var n = head.Length;
        if (_callId is not null)
        {
            "Call-ID: "u8.CopyTo(span[n..]);
            n += 9;
            n += Encoding.ASCII.GetBytes(_callId, span[n..]);
            "\r\n"u8.CopyTo(span[n..]);
            n += 2;
        }
        if (_toLength > 0)
        {
            "To: "u8.CopyTo(span[n..]);
            n += 4;
            _lines.AsSpan(_toStart, _toLength).CopyTo(span[n..]);
            n += _toLength;
            if (addTag && !_toHasTag)
            {
                ";tag="u8.CopyTo(span[n..]);
                n += 5;
                Utf8Formatter.TryFormat(_tag, span[n..], out var written, new StandardFormat('x', 8));
                n += written;
            }

            "\r\n"u8.CopyTo(span[n..]);
            n += 2;
        }

        writer.Advance(n);
    }
}

/// <summary>Writes SIP responses into a buffer writer (a connection's pipe).</summary>
public static class SipResponseWriter
{
    /// <summary>The methods ACD answers, for Allow headers.</summary>
    public static ReadOnlySpan<byte> Allow => "INVITE, ACK, CANCEL, BYE, REGISTER, OPTIONS"u8;

    /// <summary>Writes the status line and the repeated headers (tag added unless this is 100 Trying).</summary>
    public static void Begin(IBufferWriter<byte> writer, int status, string phrase, SipTransactionEcho? echo)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(phrase);
        var span = writer.GetSpan(16 + phrase.Length);
        "SIP/2.0 "u8.CopyTo(span);
        Utf8Formatter.TryFormat(status, span[8..], out var written);
        var n = 8 + written;
        span[n++] = (byte)' ';
        n += Encoding.ASCII.GetBytes(phrase, span[n..]);
        "\r\n"u8.CopyTo(span[n..]);
        writer.Advance(n + 2);
        echo?.Write(writer, addTag: status != 100);
    }

    /// <summary>Writes one header line.</summary>
    public static void Header(IBufferWriter<byte> writer, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var span = writer.GetSpan(name.Length + value.Length + 4);
        name.CopyTo(span);
        var n = name.Length;
        ": "u8.CopyTo(span[n..]);
        n += 2;
        value.CopyTo(span[n..]);
        n += value.Length;
        "\r\n"u8.CopyTo(span[n..]);
        writer.Advance(n + 2);
    }

    /// <summary>Writes one header line with an ASCII string value.</summary>
    public static void Header(IBufferWriter<byte> writer, ReadOnlySpan<byte> name, string value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        var span = writer.GetSpan(name.Length + value.Length + 4);
        name.CopyTo(span);
        var n = name.Length;
        ": "u8.CopyTo(span[n..]);
        n += 2;
        n += Encoding.ASCII.GetBytes(value, span[n..]);
        "\r\n"u8.CopyTo(span[n..]);
        writer.Advance(n + 2);
    }

    /// <summary>Writes one header line whose value is <paramref name="prefix"/> + an ASCII string + <paramref name="suffix"/>.</summary>
    public static void Header(IBufferWriter<byte> writer, ReadOnlySpan<byte> name, ReadOnlySpan<byte> prefix, string middle, ReadOnlySpan<byte> suffix)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(middle);
        var span = writer.GetSpan(name.Length + prefix.Length + middle.Length + suffix.Length + 4);
        name.CopyTo(span);
        var n = name.Length;
        ": "u8.CopyTo(span[n..]);
        n += 2;
        prefix.CopyTo(span[n..]);
        n += prefix.Length;
        n += Encoding.ASCII.GetBytes(middle, span[n..]);
        suffix.CopyTo(span[n..]);
        n += suffix.Length;
        "\r\n"u8.CopyTo(span[n..]);
        writer.Advance(n + 2);
    }

    /// <summary>Writes one header line with a number.</summary>
    public static void Header(IBufferWriter<byte> writer, ReadOnlySpan<byte> name, long value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var span = writer.GetSpan(name.Length + 24);
        name.CopyTo(span);
        var n = name.Length;
        ": "u8.CopyTo(span[n..]);
        n += 2;
        Utf8Formatter.TryFormat(value, span[n..], out var written);
        n += written;
        "\r\n"u8.CopyTo(span[n..]);
        writer.Advance(n + 2);
    }

    /// <summary>Ends the response: Content-Length 0 and the blank line.</summary>
    public static void End(IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var end = "Content-Length: 0\r\n\r\n"u8;
        end.CopyTo(writer.GetSpan(end.Length));
        writer.Advance(end.Length);
    }
}

/// <summary>Checks that a parsed request has what every request needs (RFC 3261 §8.1.1) before it is acted on.</summary>
public static class SipRequests
{
    /// <summary>The reason to refuse the request, or <see cref="SipRejection.None"/>.</summary>
    public static SipRejection Validate(SipMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!message.Has(SipHeader.Via) || !message.Has(SipHeader.From) || !message.Has(SipHeader.To)
            || !message.Has(SipHeader.CallId) || !message.Has(SipHeader.CSeq))
        {
            return SipRejection.MissingHeader;
        }

        if (!SipValues.TryParseCSeq(message.Value(SipHeader.CSeq), out _, out _, out var methodRange)
            || !message.Value(SipHeader.CSeq)[methodRange].SequenceEqual(message[message.MethodName]))
        {
            return SipRejection.InvalidCSeq;
        }

        var callId = message.Value(SipHeader.CallId);
        if (!SipValues.IsPrintableAscii(callId) || callId.Length > 256)
        {
            return SipRejection.InvalidHeaderValue;
        }

        if (message.Repeats(SipHeader.CallId) || message.Repeats(SipHeader.From) || message.Repeats(SipHeader.To)
            || message.Repeats(SipHeader.CSeq) || message.Repeats(SipHeader.MaxForwards))
        {
            return SipRejection.RepeatedHeader; // which one holds cannot be known (RFC 4475 §3.3.8)
        }

        var uri = message[message.RequestUri];
        var scheme = SipValues.SchemeOf(uri);
        if (scheme.IsEmpty || (SipValues.IsSipScheme(scheme) && uri[(uri.IndexOf((byte)'@') + 1)..].IndexOf((byte)'?') >= 0))
        {
            // No scheme (as "<sip:u@h>"), or escaped headers after the host, which a SIP Request-URI may not carry
            // (RFC 3261 §19.1.5; a '?' in the user part is only a character of it).
            return SipRejection.InvalidRequestUri;
        }

        if (!SipValues.IsWellFormedAddress(message.Value(SipHeader.From), list: false)
            || !SipValues.IsWellFormedAddress(message.Value(SipHeader.To), list: false))
        {
            return SipRejection.InvalidHeaderValue;
        }

        foreach (var line in message.Headers)
        {
            if ((line.Header == SipHeader.Via && !SipValues.IsWellFormedVia(message[line.Value]))
                || (line.Header == SipHeader.Contact && !SipValues.IsWellFormedAddress(message[line.Value], list: true)))
            {
                return SipRejection.InvalidHeaderValue;
            }
        }

        if (message.Method == SipMethod.Register)
        {
            // A registrar's To is the address of record: a SIP or SIPS URI (RFC 3261 §10.3; RFC 4475 §3.3.4).
            var to = message.Value(SipHeader.To);
            if (!SipValues.IsSipScheme(SipValues.SchemeOf(to[SipValues.UriOf(to)])))
            {
                return SipRejection.InvalidHeaderValue;
            }
        }

        return SipRejection.None;
    }

    /// <summary>
    /// What ACD cannot serve in a well-formed request it otherwise handles, checked in RFC 3261 §8.2.2's order: a
    /// Request-URI scheme other than sip or sips (416), then a Require naming any extension (420: ACD supports none;
    /// CANCEL and ACK are never refused for one).
    /// </summary>
    public static SipRejection Unsupported(SipMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!SipValues.IsSipScheme(SipValues.SchemeOf(message[message.RequestUri])))
        {
            return SipRejection.UnsupportedUriScheme;
        }

        return message.Has(SipHeader.Require) && message.Method is not (SipMethod.Cancel or SipMethod.Ack)
            && !SipValues.Trim(message.Value(SipHeader.Require)).IsEmpty
            ? SipRejection.BadExtension
            : SipRejection.None;
    }

    /// <summary>The extensions a request requires (every Require line's values), for the Unsupported header of a 420.</summary>
    public static string RequiredExtensions(SipMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var tags = new List<string>();
        foreach (var line in message.Headers)
        {
            if (line.Header == SipHeader.Require)
            {
                tags.AddRange(SipValues.ToAscii(message[line.Value]).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
            }
        }

        return string.Join(", ", tags.Where(t => t.All(c => c < 0x7F && SipParser.IsTokenChar((byte)c))));
    }

    /// <summary>
    /// Whether a method ACD does not serve is one of the standard SIP methods (405 Method Not Allowed) rather than one it
    /// does not know at all (501 Not Implemented, RFC 3261 §8.2.1).
    /// </summary>
    public static bool IsStandardMethod(ReadOnlySpan<byte> method) =>
        method.SequenceEqual("INFO"u8) || method.SequenceEqual("UPDATE"u8) || method.SequenceEqual("REFER"u8)
        || method.SequenceEqual("MESSAGE"u8) || method.SequenceEqual("SUBSCRIBE"u8) || method.SequenceEqual("NOTIFY"u8)
        || method.SequenceEqual("PRACK"u8) || method.SequenceEqual("PUBLISH"u8);
}
