using System.Runtime.CompilerServices;

namespace Acd.Core.Sip;

/// <summary>SIP methods ACD knows; any other is <see cref="Other"/>.</summary>
public enum SipMethod : byte
{
    /// <summary>Not a request (a response), or not yet parsed.</summary>
    None = 0,

    /// <summary>INVITE.</summary>
    Invite,

    /// <summary>ACK.</summary>
    Ack,

    /// <summary>BYE.</summary>
    Bye,

    /// <summary>CANCEL.</summary>
    Cancel,

    /// <summary>REGISTER.</summary>
    Register,

    /// <summary>OPTIONS.</summary>
    Options,

    /// <summary>Any other method (INFO, UPDATE, REFER, MESSAGE...).</summary>
    Other,
}

/// <summary>Headers ACD reads, by their full or compact names; everything else is <see cref="Other"/>.</summary>
public enum SipHeader : byte
{
    /// <summary>Not one ACD reads.</summary>
    Other = 0,

    /// <summary>Via (v).</summary>
    Via,

    /// <summary>From (f).</summary>
    From,

    /// <summary>To (t).</summary>
    To,

    /// <summary>Call-ID (i).</summary>
    CallId,

    /// <summary>CSeq.</summary>
    CSeq,

    /// <summary>Content-Length (l).</summary>
    ContentLength,

    /// <summary>Contact (m).</summary>
    Contact,

    /// <summary>Expires.</summary>
    Expires,

    /// <summary>Content-Type (c).</summary>
    ContentType,

    /// <summary>Max-Forwards.</summary>
    MaxForwards,

    /// <summary>Accept-Language.</summary>
    AcceptLanguage,

    /// <summary>X-Acd-Skill.</summary>
    XAcdSkill,

    /// <summary>X-Acd-Priority.</summary>
    XAcdPriority,

    /// <summary>X-Acd-Vip.</summary>
    XAcdVip,

    /// <summary>X-Acd-Language.</summary>
    XAcdLanguage,

    /// <summary>X-Acd-Ivr.</summary>
    XAcdIvr,

    /// <summary>X-Acd-Domain.</summary>
    XAcdDomain,

    /// <summary>Supported (k).</summary>
    Supported,

    /// <summary>Content-Encoding (e).</summary>
    ContentEncoding,

    /// <summary>Subject (s).</summary>
    Subject,

    /// <summary>Event (o).</summary>
    Event,

    /// <summary>Authorization (digest credentials of a REGISTER).</summary>
    Authorization,

    /// <summary>Require: extensions the request needs the server to support (ACD supports none: 420).</summary>
    Require,

    /// <summary>Reason (RFC 3326): why a BYE or CANCEL was sent; <c>SIP;cause=487</c> says the call never connected.</summary>
    Reason,
}

/// <summary>The names of the headers ACD reads: one table, which the parser and the message's index are derived from.</summary>
public static class SipHeaders
{
    /// <summary>How many kinds of header there are (<see cref="SipHeader.Other"/> included).</summary>
    public static readonly int Count = Enum.GetValues<SipHeader>().Length;

    /// <summary>Every header ACD reads (all but <see cref="SipHeader.Other"/>).</summary>
    public static readonly IReadOnlyList<SipHeader> Known = [.. Enum.GetValues<SipHeader>().Where(h => h != SipHeader.Other)];

    /// <summary>A header's names: the full one, then the compact form where RFC 3261 or its extensions give one.</summary>
    public static IReadOnlyList<string> NamesOf(SipHeader header) => header switch
    {
        SipHeader.Via => ["Via", "v"],
        SipHeader.From => ["From", "f"],
        SipHeader.To => ["To", "t"],
        SipHeader.CallId => ["Call-ID", "i"],
        SipHeader.CSeq => ["CSeq"],
        SipHeader.ContentLength => ["Content-Length", "l"],
        SipHeader.Contact => ["Contact", "m"],
        SipHeader.Expires => ["Expires"],
        SipHeader.ContentType => ["Content-Type", "c"],
        SipHeader.MaxForwards => ["Max-Forwards"],
        SipHeader.AcceptLanguage => ["Accept-Language"],
        SipHeader.XAcdSkill => ["X-Acd-Skill"],
        SipHeader.XAcdPriority => ["X-Acd-Priority"],
        SipHeader.XAcdVip => ["X-Acd-Vip"],
        SipHeader.XAcdLanguage => ["X-Acd-Language"],
        SipHeader.XAcdIvr => ["X-Acd-Ivr"],
        SipHeader.XAcdDomain => ["X-Acd-Domain"],
        SipHeader.Supported => ["Supported", "k"],
        SipHeader.ContentEncoding => ["Content-Encoding", "e"],
        SipHeader.Subject => ["Subject", "s"],
        SipHeader.Event => ["Event", "o"],
        SipHeader.Authorization => ["Authorization"],
        SipHeader.Require => ["Require"],
        SipHeader.Reason => ["Reason"],
        _ => throw new ArgumentOutOfRangeException(nameof(header), header, "no names for this header"),
    };
}

/// <summary>A range of bytes inside <see cref="SipMessage.Frame"/>.</summary>
/// <param name="Start">Offset from the start of the frame.</param>
/// <param name="Length">Length in bytes.</param>
public readonly record struct SipRange(int Start, int Length)
{
    /// <summary>Whether the range is empty (or absent).</summary>
    public bool IsEmpty => Length == 0;
}

/// <summary>One header line (or a line and its continuation lines): the name as written and the value, trimmed.</summary>
/// <param name="Header">Which known header, if any.</param>
/// <param name="Name">The name as written.</param>
/// <param name="Value">The value without surrounding whitespace; a folded value still holds its CRLF and leading whitespace.</param>
public readonly record struct SipHeaderLine(SipHeader Header, SipRange Name, SipRange Value);

/// <summary>
/// One parsed SIP message: offsets into <see cref="Frame"/>, which is either the reader's own memory (a message in one
/// segment: no copy) or the connection's scratch buffer. Reused message after message; valid until the reader advances.
/// </summary>
public sealed class SipMessage
{
    private readonly short[] _first = new short[SipHeaders.Count];
    private ulong _repeated;
    private SipHeaderLine[] _headers = new SipHeaderLine[32];

    /// <summary>The whole message: start line, headers, blank line, body.</summary>
    public ReadOnlyMemory<byte> Frame { get; internal set; }

    /// <summary>Whether it is a request.</summary>
    public bool IsRequest { get; internal set; }

    /// <summary>Whether its start line is a status line ("SIP/…"): a response, which is never answered, even when malformed.</summary>
    public bool IsResponse { get; internal set; }

    /// <summary>The request method.</summary>
    public SipMethod Method { get; internal set; }

    /// <summary>The method token as written.</summary>
    public SipRange MethodName { get; internal set; }

    /// <summary>The Request-URI.</summary>
    public SipRange RequestUri { get; internal set; }

    /// <summary>For a response: the status code.</summary>
    public int StatusCode { get; internal set; }

    /// <summary>Header lines in order.</summary>
    public ReadOnlySpan<SipHeaderLine> Headers => _headers.AsSpan(0, HeaderCount);

    /// <summary>Number of header lines.</summary>
    public int HeaderCount { get; private set; }

    /// <summary>The body.</summary>
    public SipRange Body { get; internal set; }

    /// <summary>The Content-Length value.</summary>
    public int ContentLength { get; internal set; }

    /// <summary>For a framable message that was refused: why (the caller answers with its status).</summary>
    public SipRejection Rejection { get; internal set; }

    /// <summary>The bytes of a range.</summary>
    public ReadOnlySpan<byte> this[SipRange range]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Frame.Span.Slice(range.Start, range.Length);
    }

    /// <summary>The first line of a known header, if present.</summary>
    public bool TryGet(SipHeader header, out SipHeaderLine line)
    {
        var index = _first[(int)header] - 1;
        if (index < 0)
        {
            line = default;
            return false;
        }

        line = _headers[index];
        return true;
    }

    /// <summary>The value of the first line of a known header, or empty.</summary>
    public ReadOnlySpan<byte> Value(SipHeader header) => TryGet(header, out var line) ? this[line.Value] : default;

    /// <summary>Whether a known header is present.</summary>
    public bool Has(SipHeader header) => _first[(int)header] != 0;

    /// <summary>Whether a known header is present more than once (as separate lines).</summary>
    public bool Repeats(SipHeader header) => (_repeated & (1UL << (int)header)) != 0;

    internal void Reset(int capacity)
    {
        if (_headers.Length < capacity)
        {
            _headers = new SipHeaderLine[capacity];
        }

        HeaderCount = 0;
        Array.Clear(_first);
        _repeated = 0;
        IsRequest = IsResponse = false;
        Method = SipMethod.None;
        MethodName = RequestUri = Body = default;
        StatusCode = 0;
        ContentLength = -1;
        Rejection = SipRejection.None;
        Frame = default;
    }

    internal void AddHeader(SipHeader header, SipRange name, SipRange value)
    {
        _headers[HeaderCount++] = new SipHeaderLine(header, name, value);
        if (header != SipHeader.Other)
        {
            if (_first[(int)header] == 0)
            {
                _first[(int)header] = (short)HeaderCount;
            }
            else
            {
                _repeated |= 1UL << (int)header;
            }
        }
    }

    internal void ExtendLastValue(int end)
    {
        ref var last = ref _headers[HeaderCount - 1];
        last = last with { Value = new SipRange(last.Value.Start, end - last.Value.Start) };
    }
}
