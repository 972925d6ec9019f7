using System.Text;

namespace Acd.Core.Sip;

/// <summary>Readers for the parts of header values ACD needs: numbers, CSeq, URIs and their user part, parameters.</summary>
public static class SipValues
{
    /// <summary>A non-negative decimal number (at most 9 digits), surrounding whitespace allowed.</summary>
    public static bool TryParseNumber(ReadOnlySpan<byte> text, out int value)
    {
        text = Trim(text);
        value = 0;
        if (text.IsEmpty || text.Length > 9)
        {
            return false;
        }

        foreach (var b in text)
        {
            if (b < (byte)'0' || b > (byte)'9')
            {
                return false;
            }

            value = (value * 10) + (b - '0');
        }

        return true;
    }

    /// <summary>CSeq: "number METHOD".</summary>
    public static bool TryParseCSeq(ReadOnlySpan<byte> value, out long number, out SipMethod method, out Range methodRange)
    {
        number = 0;
        method = SipMethod.None;
        methodRange = default;
        value = TrimStart(value);
        var i = 0;
        while (i < value.Length && value[i] >= (byte)'0' && value[i] <= (byte)'9')
        {
            number = (number * 10) + (value[i] - '0');
            if (++i > 10)
            {
                return false;
            }
        }

        if (i == 0 || number > uint.MaxValue)
        {
            return false;
        }

        var j = i;
        while (j < value.Length && IsLws(value[j]))
        {
            j++;
        }

        if (j == i)
        {
            return false;
        }

        var end = value.Length;
        while (end > j && IsLws(value[end - 1]))
        {
            end--;
        }

        if (end == j)
        {
            return false;
        }

        var token = value[j..end];
        foreach (var b in token)
        {
            if (!SipParser.IsTokenChar(b))
            {
                return false;
            }
        }

        method = SipParser.ClassifyMethod(token);
        methodRange = new Range(j, end);
        return true;
    }

    /// <summary>
    /// The URI inside a name-addr or addr-spec: <c>"Name" &lt;sip:u@h&gt;;tag=x</c> → <c>sip:u@h</c>;
    /// <c>sip:u@h;tag=x</c> → <c>sip:u@h</c> (header parameters are not part of a bare addr-spec).
    /// </summary>
    public static Range UriOf(ReadOnlySpan<byte> value)
    {
        var open = value.IndexOf((byte)'<');
        if (open >= 0)
        {
            var close = value[open..].IndexOf((byte)'>');
            return close < 0 ? new Range(open + 1, value.Length) : new Range(open + 1, open + close);
        }

        var start = 0;
        while (start < value.Length && IsLws(value[start]))
        {
            start++;
        }

        var end = start;
        while (end < value.Length && value[end] != (byte)';' && !IsLws(value[end]))
        {
            end++;
        }

        return new Range(start, end);
    }

    /// <summary>The user part of a sip:, sips: or tel: URI (<c>sip:10086@acd;user=phone</c> → <c>10086</c>); empty if none.</summary>
    public static Range UserOf(ReadOnlySpan<byte> uri)
    {
        int start;
        if (uri.StartsWith("sip:"u8) || uri.StartsWith("SIP:"u8))
        {
            start = 4;
        }
        else if (uri.StartsWith("sips:"u8) || uri.StartsWith("SIPS:"u8))
        {
            start = 5;
        }
        else if (uri.StartsWith("tel:"u8) || uri.StartsWith("TEL:"u8))
        {
            var telEnd = uri.IndexOfAny((byte)';', (byte)'?');
            return new Range(4, telEnd < 0 ? uri.Length : telEnd);
        }
        else
        {
            return default;
        }

        var at = uri[start..].IndexOf((byte)'@');
        if (at < 0)
        {
            return default;
        }

        var user = uri.Slice(start, at);
        var semicolon = user.IndexOfAny((byte)';', (byte)':');
        return new Range(start, start + (semicolon < 0 ? at : semicolon));
    }

    /// <summary>The value of parameter <paramref name="name"/> after the URI (<c>;tag=abc</c>, <c>;expires=60</c>), if present.</summary>
    public static bool TryGetParameter(ReadOnlySpan<byte> value, ReadOnlySpan<byte> name, out Range range)
    {
        range = default;
        var close = value.IndexOf((byte)'>');
        var offset = close >= 0 ? close + 1 : 0;
        var rest = value[offset..];
        while (true)
        {
            var semi = rest.IndexOf((byte)';');
            if (semi < 0)
            {
                return false;
            }

            offset += semi + 1;
            rest = rest[(semi + 1)..];
            var p = TrimStart(rest);
            offset += rest.Length - p.Length;
            rest = p;
            if (rest.Length > name.Length && System.Text.Ascii.EqualsIgnoreCase(rest[..name.Length], name) && rest[name.Length] == (byte)'=')
            {
                var start = name.Length + 1;
                var end = rest[start..].IndexOfAny((byte)';', (byte)',');
                end = end < 0 ? rest.Length : start + end;
                while (end > start && IsLws(rest[end - 1]))
                {
                    end--;
                }

                range = new Range(offset + start, offset + end);
                return true;
            }
        }
    }

    /// <summary>
    /// The scheme of a URI (<c>sip</c> of <c>sip:u@h</c>): ALPHA *(ALPHA / DIGIT / "+" / "-" / ".") before a colon
    /// (RFC 3986 §3.1); empty when the text does not begin with one.
    /// </summary>
    public static ReadOnlySpan<byte> SchemeOf(ReadOnlySpan<byte> uri)
    {
        if (uri.IsEmpty || !char.IsAsciiLetter((char)uri[0]))
        {
            return default;
        }

        for (var i = 1; i < uri.Length; i++)
        {
            var b = uri[i];
            if (b == (byte)':')
            {
                return uri[..i];
            }

            if (!char.IsAsciiLetterOrDigit((char)b) && b is not ((byte)'+' or (byte)'-' or (byte)'.'))
            {
                return default;
            }
        }

        return default;
    }

    /// <summary>Whether a scheme is sip or sips (any case).</summary>
    public static bool IsSipScheme(ReadOnlySpan<byte> scheme) =>
        System.Text.Ascii.EqualsIgnoreCase(scheme, "sip"u8) || System.Text.Ascii.EqualsIgnoreCase(scheme, "sips"u8);

    private static readonly System.Buffers.SearchValues<byte> AddressSpecials = System.Buffers.SearchValues.Create("\"<;,?"u8);

    private static readonly System.Buffers.SearchValues<byte> ViaSpecials = System.Buffers.SearchValues.Create("\";,"u8);

    private static readonly System.Buffers.SearchValues<byte> Lws = System.Buffers.SearchValues.Create(" \t\r\n"u8);

    /// <summary>
    /// Whether a From, To or Contact value (a name-addr or an addr-spec with parameters; Contact may list several, or
    /// be <c>*</c>) is well formed where ACD can tell: quoted strings closed; no empty parameter or list element
    /// (<c>;;</c>, <c>;,</c>, a trailing <c>;</c>); a single value where one is allowed; and an addr-spec not in
    /// <c>&lt;&gt;</c> without a <c>?</c> or <c>,</c> in its URI, which RFC 3261 §20 requires the brackets for.
    /// On the request path: it jumps from one special byte to the next (a vectorized search), never byte by byte.
    /// </summary>
    public static bool IsWellFormedAddress(ReadOnlySpan<byte> value, bool list)
    {
        value = Trim(value);
        if (list && value.SequenceEqual("*"u8))
        {
            return true;
        }

        var sawAngle = false;
        var inUri = true; // an addr-spec's URI runs to its first ';'
        var expectElement = true;
        while (NextSpecial(ref value, AddressSpecials, ref expectElement, out var b))
        {
            switch (b)
            {
                case (byte)'"':
                    if (SkipQuoted(ref value) is false)
                    {
                        return false;
                    }

                    expectElement = false;
                    break;
                case (byte)'<':
                    var close = value.IndexOf((byte)'>');
                    if (close < 0)
                    {
                        return false;
                    }

                    value = value[(close + 1)..];
                    sawAngle = true;
                    inUri = false;
                    expectElement = false;
                    break;
                case (byte)';':
                    if (expectElement)
                    {
                        return false;
                    }

                    inUri = false;
                    expectElement = true;
                    break;
                case (byte)',':
                    if (expectElement || !list)
                    {
                        return false;
                    }

                    inUri = true;
                    sawAngle = false;
                    expectElement = true;
                    break;
                default: // '?'
                    if (inUri && !sawAngle)
                    {
                        return false;
                    }

                    expectElement = false;
                    break;
            }
        }

        return !expectElement;
    }

    /// <summary>Whether a Via value (one or several, comma-separated) has no empty parameter or element (<c>;;</c>, <c>,,</c>, a trailing <c>;</c>).</summary>
    public static bool IsWellFormedVia(ReadOnlySpan<byte> value)
    {
        value = Trim(value);
        var expectElement = true;
        while (NextSpecial(ref value, ViaSpecials, ref expectElement, out var b))
        {
            if (b == (byte)'"')
            {
                if (SkipQuoted(ref value) is false)
                {
                    return false;
                }

                expectElement = false;
            }
            else if (expectElement)
            {
                return false;
            }
            else
            {
                expectElement = true;
            }
        }

        return !expectElement;
    }

    /// <summary>
    /// Moves past the next of <paramref name="specials"/>, noting whether the segment before it had content where an
    /// element was expected; false at the end of the value (the last segment noted too).
    /// </summary>
    private static bool NextSpecial(ref ReadOnlySpan<byte> value, System.Buffers.SearchValues<byte> specials, ref bool expectElement, out byte special)
    {
        var j = value.IndexOfAny(specials);
        if (expectElement && HasContent(j < 0 ? value : value[..j]))
        {
            expectElement = false;
        }

        if (j < 0)
        {
            special = 0;
            return false;
        }

        special = value[j];
        value = value[(j + 1)..];
        return true;
    }

    /// <summary>Whether a segment holds more than whitespace (almost always decided by its first byte).</summary>
    private static bool HasContent(ReadOnlySpan<byte> segment) => !segment.IsEmpty && (!IsLws(segment[0]) || segment.IndexOfAnyExcept(Lws) >= 0);

    /// <summary>Moves past the end of a quoted string whose opening quote was just read; false when it is never closed.</summary>
    private static bool SkipQuoted(ref ReadOnlySpan<byte> value)
    {
        while (true)
        {
            var j = value.IndexOfAny((byte)'"', (byte)'\\');
            if (j < 0)
            {
                return false;
            }

            if (value[j] == (byte)'"')
            {
                value = value[(j + 1)..];
                return true;
            }

            value = value[Math.Min(j + 2, value.Length)..];
        }
    }

    /// <summary>Whether the value has the parameter (with or without a value).</summary>
    public static bool HasParameter(ReadOnlySpan<byte> value, ReadOnlySpan<byte> name) => TryGetParameter(value, name, out _);

    /// <summary>
    /// The sent-by port of one Via value (<c>SIP/2.0/TCP host:port;branch=…</c>) when its transport is
    /// <paramref name="transport"/>: the port written, or <paramref name="defaultPort"/> when none is (RFC 3261 §18.2.2).
    /// </summary>
    public static bool TryGetSentByPort(ReadOnlySpan<byte> via, ReadOnlySpan<byte> transport, int defaultPort, out int port)
    {
        port = 0;

        // sent-protocol = name LWS? "/" LWS? version LWS? "/" LWS? transport, then LWS and the sent-by.
        var first = via.IndexOf((byte)'/');
        var second = first < 0 ? -1 : via[(first + 1)..].IndexOf((byte)'/');
        if (second < 0)
        {
            return false;
        }

        var rest = TrimStart(via[(first + 1 + second + 1)..]);
        var space = rest.IndexOfAny(Lws);
        if (space <= 0 || !Ascii.EqualsIgnoreCase(rest[..space], transport))
        {
            return false;
        }

        var sentBy = TrimStart(rest[space..]);
        var end = sentBy.IndexOfAny((byte)';', (byte)',');
        sentBy = Trim(end < 0 ? sentBy : sentBy[..end]);
        var close = sentBy.LastIndexOf((byte)']');
        var colon = sentBy.LastIndexOf((byte)':');
        if (colon < 0 || colon < close || (close < 0 && sentBy.IndexOf((byte)':') != colon))
        {
            port = defaultPort;
            return sentBy.Length > 0;
        }

        return int.TryParse(sentBy[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port)
            && port is > 0 and <= 65535;
    }

    /// <summary>
    /// Whether a BYE or CANCEL says the call never connected: a <c>Reason</c> (RFC 3326) of protocol <c>SIP</c> with
    /// <c>cause=487</c> (Request Terminated), on any of its lines or among its comma-separated values.
    /// </summary>
    public static bool SaysNeverConnected(SipMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        foreach (var line in message.Headers)
        {
            if (line.Header != SipHeader.Reason)
            {
                continue;
            }

            var rest = message[line.Value];
            while (!rest.IsEmpty)
            {
                var comma = rest.IndexOf((byte)',');
                var value = Trim(comma < 0 ? rest : rest[..comma]);
                rest = comma < 0 ? default : rest[(comma + 1)..];
                var semi = value.IndexOf((byte)';');
                if (semi > 0 && Ascii.EqualsIgnoreCase(Trim(value[..semi]), "SIP"u8)
                    && TryGetParameter(value, "cause"u8, out var cause) && value[cause].SequenceEqual("487"u8))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Printable ASCII without spaces (for ids turned into strings).</summary>
    public static bool IsPrintableAscii(ReadOnlySpan<byte> text) => text.Length > 0 && text.IndexOfAnyExceptInRange((byte)0x21, (byte)0x7E) < 0;

    /// <summary>An ASCII span as a string.</summary>
    public static string ToAscii(ReadOnlySpan<byte> text) => Encoding.ASCII.GetString(text);

    /// <summary>Removes leading and trailing whitespace, CR and LF (folded values).</summary>
    public static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> text) => TrimEnd(TrimStart(text));

    private static ReadOnlySpan<byte> TrimStart(ReadOnlySpan<byte> text)
    {
        var i = 0;
        while (i < text.Length && IsLws(text[i]))
        {
            i++;
        }

        return text[i..];
    }

    private static ReadOnlySpan<byte> TrimEnd(ReadOnlySpan<byte> text)
    {
        var n = text.Length;
        while (n > 0 && IsLws(text[n - 1]))
        {
            n--;
        }

        return text[..n];
    }

    private static bool IsLws(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';
}
