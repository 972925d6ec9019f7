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
/// format 1 carries it (every other transaction's echo, and routes journaled before format 2). Format 3 (an INVITE's
/// route since issue 18's fourth step) also leaves out the Call-ID, and keeps the lines compact, since a waiting call
/// holds its route for as long as it waits: after the peer, the tag and whether the To had one comes one field a line:
/// a kind byte (<c>V</c> Via, <c>F</c> From, <c>S</c> CSeq, <c>T</c> the To value, always and last), a variable-length
/// count and the value in <see cref="SipRouteCodec"/>'s form; a CSeq of the form <c>N INVITE</c> is kind <c>C</c> and
/// the number alone. Format 4 (an INVITE's route when calls wait, since issue 18's fifth step) is format 3 whose first
/// fields are the call id (kind <c>I</c>) and, when there is one, the caller (kind <c>U</c>), each a count and printable
/// ASCII: a waiting call then keeps them in its route instead of in strings of their own (the router checks that they
/// are the call's before it drops its strings: <see cref="TryGetIdentity"/>). Formats 1 to 3 are still read.
/// </remarks>
public readonly struct SipTransactionEcho
{
    private const byte RouteFormat = 1;
    private const byte RouteFormatWithoutCallId = 2;
    private const byte RouteFormatCompact = 3;
    private const byte RouteFormatWithIdentity = 4;

    /// <summary>The longest call id and caller a format-4 route carries (the router's own limits on them).</summary>
    private const int MaxIdentityBytes = 256;

    /// <summary>
    /// The largest route: the SIP port's largest header block (<see cref="SipLimits.MaxHeaderBytes"/> at most 1 MiB), its
    /// lines' compact names written in full (a few bytes a line, at most 1,024 lines), the peer, tag and lengths. Every
    /// route the port can capture is read back — from a journal or a snapshot too (<c>CommandCodec.MaxAnswerRoute</c>).
    /// </summary>
    public const int MaxRouteBytes = (1 << 20) + (64 * 1024);
    private const int HeaderTail = 4 + 1 + 4; // tag, whether To had one, To's length
    private const int CompactHeaderTail = 4 + 1; // tag, whether To had one

    private readonly byte[] _lines;
    private readonly int _start;
    private readonly int _toStart;
    private readonly int _toLength;
    private readonly bool _toHasTag;
    private readonly uint _tag;
    private readonly string? _callId;

    /// <summary>The lines before the To, decoded (in formats 1 and 2 they are <c>_lines[_start.._toStart]</c> as they are).</summary>
    private readonly int _headLength;
    private readonly bool _compact;

    private SipTransactionEcho(byte[] lines, int start, int toStart, int toLength, bool toHasTag, uint tag, string? callId, int headLength, bool compact)
    {
        _lines = lines;
        _start = start;
        _toStart = toStart;
        _toLength = toLength;
        _toHasTag = toHasTag;
        _tag = tag;
        _callId = callId;
        _headLength = headLength;
        _compact = compact;
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
        if (route.Length < 2 || route[0] is not (RouteFormat or RouteFormatWithoutCallId or RouteFormatCompact or RouteFormatWithIdentity) || route[1] is not (0 or 4 or 16)
            || route.Length < 2 + route[1] + HeaderTail || route.Length > MaxRouteBytes
            || (route[0] is RouteFormatWithoutCallId or RouteFormatCompact && (callId is null || !IsIdentityText(callId)))
            || (route[0] == RouteFormatWithIdentity && callId is not null && !IsIdentityText(callId)))
        {
            throw new InvalidDataException("not an answer route");
        }

        if (route[0] is RouteFormatCompact or RouteFormatWithIdentity)
        {
            return FromCompactRoute(route, callId);
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

        return new SipTransactionEcho(route, start, route.Length - toLength, toLength, toHasTag, tag, route[0] == RouteFormatWithoutCallId ? callId : null, route.Length - toLength - start, compact: false);
    }

    /// <summary>
    /// A format-3 or format-4 route, every field checked: kinds in order with the To last, counts within the route, values
    /// that decode; in format 4 the call id first (printable ASCII, the Call-ID written when <paramref name="callId"/> is
    /// null) and the caller next if there is one.
    /// </summary>
    private static SipTransactionEcho FromCompactRoute(byte[] route, string? callId)
    {
        var at = 2 + route[1];
        if (route.Length < at + CompactHeaderTail)
        {
            throw new InvalidDataException("not an answer route");
        }

        var tag = BinaryPrimitives.ReadUInt32LittleEndian(route.AsSpan(at));
        var toHasTag = route[at + 4] == 1;
        var start = at + CompactHeaderTail;
        var toLength = -1;
        var toStart = route.Length;
        long head = 0;
        var i = start;
        var last = (byte)0;
        var identity = route[0] == RouteFormatWithIdentity;
        if (identity && (route.Length <= i || route[i] != (byte)'I'))
        {
            throw new InvalidDataException("not an answer route");
        }

        while (i < route.Length)
        {
            var kind = route[i++];
            if (!TryReadCount(route, ref i, out var count) || Order(kind) < Order(last) || (Order(kind) == Order(last) && kind != (byte)'V') || toLength >= 0)
            {
                throw new InvalidDataException("not an answer route");
            }

            last = kind;
            if (kind is (byte)'I' or (byte)'U')
            {
                if (!identity || count > (uint)(route.Length - i) || !IsIdentityBytes(route.AsSpan(i, (int)count)))
                {
                    throw new InvalidDataException("not an answer route");
                }

                if (kind == (byte)'I')
                {
                    callId ??= Encoding.ASCII.GetString(route, i, (int)count);
                }

                i += (int)count;
                continue;
            }

            if (kind == (byte)'C')
            {
                head += "CSeq: "u8.Length + Digits(count) + " INVITE\r\n"u8.Length;
                continue;
            }

            if (count > route.Length - i || !SipRouteCodec.TryGetDecodedLength(route.AsSpan(i, (int)count), out var length))
            {
                throw new InvalidDataException("not an answer route");
            }

            if (kind == (byte)'T')
            {
                toStart = i;
                toLength = length;
            }
            else
            {
                head += NameOf(kind).Length + length + 2;
            }

            i += (int)count;
        }

        if (toLength < 0 || head + toLength > MaxRouteBytes) // a To last (so a route cut short is refused); decoded, no larger than the header block it came from
        {
            throw new InvalidDataException("not an answer route");
        }

        return new SipTransactionEcho(route, start, toStart, toLength, toHasTag, tag, callId, (int)head, compact: true);

        static int Order(byte kind) => kind switch
        {
            0 => 0,
            (byte)'I' => 1,
            (byte)'U' => 2,
            (byte)'V' => 3,
            (byte)'F' => 4,
            (byte)'C' or (byte)'S' => 5,
            (byte)'T' => 6,
            _ => throw new InvalidDataException("not an answer route"),
        };
    }

    /// <summary>What a format-4 route may carry as a call id or caller: 1 to 256 printable ASCII characters.</summary>
    private static bool IsIdentityText(string value) => value.Length is > 0 and <= MaxIdentityBytes && value.AsSpan().IndexOfAnyExceptInRange((char)0x21, (char)0x7E) < 0;

    /// <summary>The same as it stands in a route's bytes.</summary>
    private static bool IsIdentityBytes(ReadOnlySpan<byte> value) => value.Length is > 0 and <= MaxIdentityBytes && value.IndexOfAnyExceptInRange((byte)0x21, (byte)0x7E) < 0;

    /// <summary>
    /// The call id and caller a format-4 route carries (see remarks), without checking the rest of the route: what a
    /// router compares with the call's own before it lets the route keep them for it. False for any other route, and for
    /// bytes that do not hold them well formed; <paramref name="caller"/> is empty when the route carries no caller.
    /// </summary>
    public static bool TryGetIdentity(byte[]? route, out ReadOnlySpan<byte> callId, out ReadOnlySpan<byte> caller)
    {
        callId = default;
        caller = default;
        if (route is null || route.Length < 2 || route[0] != RouteFormatWithIdentity || route[1] is not (0 or 4 or 16))
        {
            return false;
        }

        var i = 2 + route[1] + CompactHeaderTail;
        if (!TryReadIdentityField(route, ref i, (byte)'I', out var idStart, out var idLength))
        {
            return false;
        }

        callId = route.AsSpan(idStart, idLength);
        if (TryReadIdentityField(route, ref i, (byte)'U', out var callerStart, out var callerLength))
        {
            caller = route.AsSpan(callerStart, callerLength);
        }

        return true;
    }

    private static bool TryReadIdentityField(byte[] route, ref int i, byte kind, out int start, out int length)
    {
        start = length = 0;
        var at = i;
        if (at >= route.Length || route[at] != kind)
        {
            return false;
        }

        at++;
        if (!TryReadCount(route, ref at, out var count) || count > (uint)(route.Length - at) || !IsIdentityBytes(route.AsSpan(at, (int)count)))
        {
            return false;
        }

        (start, length) = (at, (int)count);
        i = at + (int)count;
        return true;
    }

    private static ReadOnlySpan<byte> NameOf(byte kind) => kind switch
    {
        (byte)'V' => "Via: "u8,
        (byte)'F' => "From: "u8,
        _ => "CSeq: "u8,
    };

    private static int Digits(uint n)
    {
        var digits = 1;
        while (n >= 10)
        {
            n /= 10;
            digits++;
        }

        return digits;
    }

    private static bool TryReadCount(byte[] route, ref int i, out uint count)
    {
        count = 0;
        for (var shift = 0; shift < 32; shift += 7)
        {
            if (i >= route.Length)
            {
                return false;
            }

            var b = route[i++];
            count |= (uint)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return shift < 28 || b < 0x10;
            }
        }

        return false;
    }

    private static int WriteCount(Span<byte> destination, uint count)
    {
        var n = 0;
        while (count >= 0x80)
        {
            destination[n++] = (byte)(count | 0x80);
            count >>= 7;
        }

        destination[n++] = (byte)count;
        return n;
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
    /// kept twice, and the lines in compact form (format 3, see remarks).
    /// </summary>
    public static SipTransactionEcho Capture(SipMessage message, uint tagSalt, ReadOnlySpan<byte> peer, string? callId) => Capture(message, tagSalt, peer, callId, compact: true);

    /// <summary>
    /// As <see cref="Capture(SipMessage, uint, ReadOnlySpan{byte}, string?)"/>, choosing the form of the lines: compact
    /// (format 3: smaller, for a call that will wait and keep its route; about 150 ns more to capture and 150 ns more to
    /// write each answer from) or as received (format 2: for a call answered at once).
    /// </summary>
    public static SipTransactionEcho Capture(SipMessage message, uint tagSalt, ReadOnlySpan<byte> peer, string? callId, bool compact)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (peer.Length is not (0 or 4 or 16))
        {
            peer = default;
        }

        if (callId is not null && compact)
        {
            return CaptureCompact(message, TagOf(message, tagSalt), peer, callId);
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
        var tag = TagOf(message, tagSalt);
        var toHasTag = SipValues.HasParameter(to, "tag"u8);
        BinaryPrimitives.WriteUInt32LittleEndian(lines.AsSpan(2 + peer.Length), tag);
        lines[2 + peer.Length + 4] = toHasTag ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteInt32LittleEndian(lines.AsSpan(2 + peer.Length + 5), to.Length);
        return new SipTransactionEcho(lines, header, n, to.Length, toHasTag, tag, callId, n - header, compact: false);
    }

    /// <summary>
    /// The tag is the transaction's: the Call-ID and the top Via (its branch), so a retransmission gets the same tag and
    /// a new INVITE of the same call (a proxy's ring-no-answer) a new one.
    /// </summary>
    private static uint TagOf(SipMessage message, uint tagSalt)
    {
        var hash = default(HashCode);
        hash.Add(tagSalt);
        hash.AddBytes(message.Value(SipHeader.CallId));
        hash.AddBytes(message.Value(SipHeader.Via));
        return (uint)hash.ToHashCode() | 1u;
    }

    /// <summary>
    /// An INVITE's route in format 4 (see remarks), for a call that will likely wait: the lines compact as in format 3,
    /// and the call's id and caller (<paramref name="caller"/> when it is printable ASCII of at most 256 characters) kept
    /// in the route itself, so that a waiting call need not keep them as strings of their own as well.
    /// <paramref name="callId"/> is printable ASCII, as the SIP port accepts a Call-ID.
    /// </summary>
    public static SipTransactionEcho CaptureWaiting(SipMessage message, uint tagSalt, ReadOnlySpan<byte> peer, string callId, string? caller)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(callId);
        if (peer.Length is not (0 or 4 or 16))
        {
            peer = default;
        }

        if (!IsIdentityText(callId))
        {
            return CaptureCompact(message, TagOf(message, tagSalt), peer, callId);
        }

        return CaptureCompact(message, TagOf(message, tagSalt), peer, callId, caller is not null && IsIdentityText(caller) ? caller : null, identity: true);
    }

    /// <summary>An INVITE's route in format 3 (see remarks): the lines in compact form, the Call-ID left out; in format 4 with the call's id and caller first.</summary>
    private static SipTransactionEcho CaptureCompact(SipMessage message, uint tag, ReadOnlySpan<byte> peer, string callId, string? caller = null, bool identity = false)
    {
        var bound = 2 + peer.Length + CompactHeaderTail + (identity ? 2 * (1 + 2 + MaxIdentityBytes) : 0);
        foreach (var h in message.Headers)
        {
            if (h.Header is SipHeader.Via or SipHeader.From or SipHeader.CSeq or SipHeader.To)
            {
                bound += 1 + 5 + SipRouteCodec.MaxEncodedLength(message[h.Value].Length);
            }
        }

        var rented = ArrayPool<byte>.Shared.Rent(bound);
        try
        {
            var buffer = rented.AsSpan();
            buffer[0] = identity ? RouteFormatWithIdentity : RouteFormatCompact;
            buffer[1] = (byte)peer.Length;
            peer.CopyTo(buffer[2..]);
            var start = 2 + peer.Length + CompactHeaderTail;
            var n = start;
            void PutText(byte kind, string value, Span<byte> buffer)
            {
                buffer[n++] = kind;
                n += WriteCount(buffer[n..], (uint)value.Length);
                n += Encoding.ASCII.GetBytes(value, buffer[n..]);
            }

            if (identity)
            {
                PutText((byte)'I', callId, buffer);
                if (caller is not null)
                {
                    PutText((byte)'U', caller, buffer);
                }
            }

            var head = 0;
            int Put(byte kind, ReadOnlySpan<byte> value, Span<byte> buffer)
            {
                buffer[n++] = kind;
                // The count goes before the value: encode after a gap of the count's largest size, then close it up.
                const int Gap = 5;
                var length = SipRouteCodec.Encode(value, buffer[(n + Gap)..]);
                var countBytes = WriteCount(buffer[n..], (uint)length);
                buffer.Slice(n + Gap, length).CopyTo(buffer[(n + countBytes)..]);
                n += countBytes + length;
                return n - length;
            }

            foreach (var h in message.Headers)
            {
                if (h.Header == SipHeader.Via)
                {
                    Put((byte)'V', message[h.Value], buffer);
                    head += "Via: "u8.Length + message[h.Value].Length + 2;
                }
            }

            if (message.TryGet(SipHeader.From, out var from))
            {
                Put((byte)'F', message[from.Value], buffer);
                head += "From: "u8.Length + message[from.Value].Length + 2;
            }

            if (message.TryGet(SipHeader.CSeq, out var cseqLine))
            {
                var cseq = message[cseqLine.Value];
                head += "CSeq: "u8.Length + cseq.Length + 2;
                if (TryReadInviteCSeq(cseq, out var number))
                {
                    buffer[n++] = (byte)'C';
                    n += WriteCount(buffer[n..], number);
                }
                else
                {
                    Put((byte)'S', cseq, buffer);
                }
            }

            var to = message.TryGet(SipHeader.To, out var toLine) ? message[toLine.Value] : default;
            var toStart = Put((byte)'T', to, buffer); // always, last, even empty: a route cut short is told from a whole one

            var toHasTag = SipValues.HasParameter(to, "tag"u8);
            var at = 2 + peer.Length;
            BinaryPrimitives.WriteUInt32LittleEndian(buffer[at..], tag);
            buffer[at + 4] = toHasTag ? (byte)1 : (byte)0;
            var route = buffer[..n].ToArray();
            return new SipTransactionEcho(route, start, toStart, to.Length, toHasTag, tag, callId, head, compact: true);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>A CSeq exactly as <c>N INVITE</c> (N without leading zeros, below 2^31), kept as its number.</summary>
    private static bool TryReadInviteCSeq(ReadOnlySpan<byte> cseq, out uint number)
    {
        number = 0;
        var space = cseq.IndexOf((byte)' ');
        if (space is < 1 or > 10 || !cseq[space..].SequenceEqual(" INVITE"u8) || (cseq[0] == (byte)'0' && space > 1)
            || cseq[..space].IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0)
        {
            return false;
        }

        var value = 0UL;
        foreach (var digit in cseq[..space])
        {
            value = (value * 10) + (ulong)(digit - '0');
        }

        number = (uint)value;
        return value <= int.MaxValue;
    }

    /// <summary>
    /// Where a response goes when the request's connection is gone (RFC 3261 §18.2.2): the port of the top Via's sent-by
    /// (the sender's listening port), <paramref name="defaultPort"/> when it names none; false when there is no readable
    /// top Via or its transport is not <paramref name="transport"/>.
    /// </summary>
    public bool TryGetTopViaPort(ReadOnlySpan<byte> transport, int defaultPort, out int port)
    {
        port = 0;
        ReadOnlySpan<byte> via;
        if (_compact)
        {
            // The first field after the call's identity, if it is a Via (checked when the route was read).
            var i = SkipIdentity(_start);
            if (i >= _lines.Length || _lines[i++] != (byte)'V' || !TryReadCount(_lines, ref i, out var count))
            {
                return false;
            }

            var encoded = _lines.AsSpan(i, (int)count);
            SipRouteCodec.TryGetDecodedLength(encoded, out var length);
            var decoded = new byte[length];
            SipRouteCodec.Decode(encoded, decoded);
            via = decoded;
        }
        else
        {
            var lines = _lines.AsSpan(_start, _toStart - _start);
            if (!lines.StartsWith("Via: "u8))
            {
                return false;
            }

            via = lines[5..lines.IndexOf("\r\n"u8)];
        }

        var comma = via.IndexOf((byte)',');
        return SipValues.TryGetSentByPort(comma < 0 ? via : via[..comma], transport, defaultPort, out port);
    }

    /// <summary>Writes the repeated headers; <paramref name="addTag"/> adds this transaction's To tag when the To has none.</summary>
    public void Write(IBufferWriter<byte> writer, bool addTag)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var span = writer.GetSpan(_headLength + _toLength + 32 + (_callId is null ? 0 : _callId.Length + 11));
        var n = _compact ? WriteCompactHead(span) : Copy(_lines.AsSpan(_start, _toStart - _start), span);
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
            n += _compact ? SipRouteCodec.Decode(_lines.AsSpan(_toStart), span[n..]) : Copy(_lines.AsSpan(_toStart, _toLength), span[n..]);
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

    private static int Copy(ReadOnlySpan<byte> from, Span<byte> to)
    {
        from.CopyTo(to);
        return from.Length;
    }

    /// <summary>Where the lines of a compact route start: after the call id and caller of format 4 (checked when the route was read).</summary>
    private int SkipIdentity(int i)
    {
        while (i < _lines.Length && _lines[i] is (byte)'I' or (byte)'U')
        {
            i++;
            TryReadCount(_lines, ref i, out var count);
            i += (int)count;
        }

        return i;
    }

    /// <summary>The Via, From and CSeq lines of a format-3 or format-4 route, decoded (the route was checked when it was read).</summary>
    private int WriteCompactHead(Span<byte> span)
    {
        var n = 0;
        var i = SkipIdentity(_start);
        while (i < _lines.Length && _lines[i] != (byte)'T')
        {
            var kind = _lines[i++];
            TryReadCount(_lines, ref i, out var count);
            if (kind == (byte)'C')
            {
                "CSeq: "u8.CopyTo(span[n..]);
                n += 6;
                Utf8Formatter.TryFormat(count, span[n..], out var written);
                n += written;
                " INVITE\r\n"u8.CopyTo(span[n..]);
                n += 9;
                continue;
            }

            var name = NameOf(kind);
            name.CopyTo(span[n..]);
            n += name.Length;
            n += SipRouteCodec.Decode(_lines.AsSpan(i, (int)count), span[n..]);
            "\r\n"u8.CopyTo(span[n..]);
            n += 2;
            i += (int)count;
        }

        return n;
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
