using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;

namespace Acd.Core.Sip;

/// <summary>What one call of <see cref="SipParser.TryParse"/> found.</summary>
public enum SipParseResult : byte
{
    /// <summary>Not a whole message yet: nothing was consumed; read more.</summary>
    Incomplete = 0,

    /// <summary>A well-formed message, consumed.</summary>
    Message,

    /// <summary>A message that was delimited but is refused (see <see cref="SipMessage.Rejection"/>); consumed; answer it and go on.</summary>
    Malformed,

    /// <summary>Framing is lost (see <see cref="SipMessage.Rejection"/>); nothing consumed; answer if the headers allow, then close.</summary>
    Broken,

    /// <summary>A keep-alive ping (CRLF CRLF, RFC 5626), consumed; answer with one CRLF.</summary>
    KeepAlive,
}

/// <summary>
/// RFC 3261 message syntax over a stream: start line, headers (case-insensitive names, compact forms, folded
/// continuation lines, repeated and comma-separated values), Content-Length framing, body.
/// A frame in one segment is parsed where it lies; one split across segments is copied once into a scratch buffer.
/// Limits are applied by slicing before searching, so a peer cannot make the parser look further than they allow.
/// </summary>
public static class SipParser
{
    /// <summary>
    /// Every name of every known header (full and compact), derived from <see cref="SipHeaders.NamesOf"/>, grouped by
    /// length up to the longest known name, so a lookup compares against a handful at most. A name longer than the
    /// longest known one is no known header.
    /// </summary>
    private static readonly (byte[] Name, SipHeader Header)[][] KnownByLength = GroupByLength(
        [.. SipHeaders.Known.SelectMany(h => SipHeaders.NamesOf(h).Select(n => (System.Text.Encoding.ASCII.GetBytes(n), h)))]);

    private static readonly SearchValues<byte> TokenChars = SearchValues.Create(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~"u8);

    /// <summary>A start line's bytes: no control characters (UTF-8 is allowed, in a reason phrase; a request line is checked for ASCII apart).</summary>
    private static readonly SearchValues<byte> StartLineText = SearchValues.Create(
        Enumerable.Range(0x20, 256 - 0x20).Where(b => b != 0x7F).Select(b => (byte)b).ToArray());

    private static readonly SearchValues<byte> HeaderBlockText = SearchValues.Create(
        Enumerable.Range(0, 256).Where(b => b is 9 or 10 or 13 || (b >= 0x20 && b != 0x7F)).Select(b => (byte)b).ToArray());

    private static readonly SearchValues<byte> HeaderText = SearchValues.Create(
        Enumerable.Range(0, 256).Where(b => b == 9 || (b >= 0x20 && b != 0x7F)).Select(b => (byte)b).ToArray());

    private static ReadOnlySpan<byte> Crlf => "\r\n"u8;

    private static ReadOnlySpan<byte> CrlfCrlf => "\r\n\r\n"u8;

    private static ReadOnlySpan<byte> Version => "SIP/2.0"u8;

    /// <summary>
    /// Parses one message at the reader's position. <paramref name="scratch"/> is the connection's copy buffer, rented on
    /// first need (return it to <see cref="ArrayPool{T}.Shared"/> when the connection ends).
    /// </summary>
    public static SipParseResult TryParse(ref SequenceReader<byte> reader, SipLimits limits, SipMessage message, ref byte[]? scratch)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(message);
        message.Reset(limits.MaxHeaders);
        var unread = reader.UnreadSequence;
        if (unread.IsEmpty)
        {
            return SipParseResult.Incomplete;
        }

        // Keep-alive: CRLF CRLF is a ping; a lone CRLF (a pong, or padding) is skipped.
        var first = reader.UnreadSpan[0];
        if (first == (byte)'\r')
        {
            if (reader.IsNext(CrlfCrlf))
            {
                reader.Advance(4);
                return SipParseResult.KeepAlive;
            }

            if (unread.Length < 4)
            {
                return SipParseResult.Incomplete;
            }

            if (reader.IsNext(Crlf))
            {
                reader.Advance(2);
                var result = TryParse(ref reader, limits, message, ref scratch);
                if (result is SipParseResult.Incomplete or SipParseResult.Broken)
                {
                    reader.Rewind(2);
                }

                return result;
            }

            return Broken(message, SipRejection.Junk);
        }

        if (!IsTokenChar(first))
        {
            return Broken(message, SipRejection.Junk);
        }

        // Find the end of the header block, looking no further than the limit allows. Fast path: it lies in the
        // first segment, searched as a span; otherwise the sequence is searched and the block copied once.
        var max = limits.MaxHeaderBytes + 4;
        var firstSpan = reader.UnreadSpan;
        var window = firstSpan.Length > max ? firstSpan[..max] : firstSpan;
        var headLength = window.IndexOf(CrlfCrlf);
        ReadOnlySpan<byte> headSpan;
        if (headLength >= 0)
        {
            headSpan = firstSpan[..headLength];
        }
        else if (firstSpan.Length < unread.Length && firstSpan.Length < max)
        {
            var sequenceWindow = unread.Length > max ? unread.Slice(0, max) : unread;
            var search = new SequenceReader<byte>(sequenceWindow);
            if (!search.TryReadTo(out ReadOnlySequence<byte> head, CrlfCrlf))
            {
                return IncompleteOrTooLong(sequenceWindow, unread.Length, limits, message);
            }

            headLength = (int)head.Length;
            EnsureScratch(ref scratch, limits);
            head.CopyTo(scratch);
            headSpan = scratch.AsSpan(0, headLength);
        }
        else
        {
            return IncompleteOrTooLong(unread.Length > max ? unread.Slice(0, max) : unread, unread.Length, limits, message);
        }

        var status = ParseHead(headSpan, limits, message);
        if (status == SipParseResult.Broken)
        {
            return status;
        }

        if (message.ContentLength < 0)
        {
            return Broken(message, message.Rejection == SipRejection.InvalidContentLength ? SipRejection.InvalidContentLength : SipRejection.MissingContentLength);
        }

        if (message.ContentLength > limits.MaxBodyBytes)
        {
            return Broken(message, SipRejection.BodyTooLarge);
        }

        var total = headLength + 4 + message.ContentLength;
        if (unread.Length < total)
        {
            // Keep what was parsed out of the caller's view: nothing is consumed.
            return SipParseResult.Incomplete;
        }

        var frame = unread.Slice(0, total);
        if (frame.IsSingleSegment)
        {
            message.Frame = frame.First;
        }
        else
        {
            EnsureScratch(ref scratch, limits);
            frame.CopyTo(scratch);
            message.Frame = scratch.AsMemory(0, total);
        }

        message.Body = new SipRange(headLength + 4, message.ContentLength);
        reader.Advance(total);
        return message.Rejection == SipRejection.None ? SipParseResult.Message : SipParseResult.Malformed;
    }

    private static SipParseResult IncompleteOrTooLong(ReadOnlySequence<byte> window, long available, SipLimits limits, SipMessage message)
    {
        // The start line alone: junk or over its limit can be told before the header block is whole.
        var lineWindow = window.Length > limits.MaxStartLineBytes + 2 ? window.Slice(0, limits.MaxStartLineBytes + 2) : window;
        var lineReader = new SequenceReader<byte>(lineWindow);
        if (lineReader.TryReadTo(out ReadOnlySequence<byte> line, Crlf))
        {
            // A whole first line that cannot start a message (left over after a lying Content-Length, or not SIP):
            // no later blank line could make it frame correctly.
            if (!IsPrintableLine(line) || !LooksLikeStartLine(line))
            {
                return Broken(message, SipRejection.Junk);
            }
        }
        else if (!IsPrintableLine(lineWindow) && !EndsWithCr(lineWindow))
        {
            return Broken(message, SipRejection.Junk);
        }
        else if (available > limits.MaxStartLineBytes + 1)
        {
            return Broken(message, SipRejection.StartLineTooLong);
        }

        if (available >= limits.MaxHeaderBytes + 4)
        {
            return Broken(message, SipRejection.HeaderBlockTooLarge);
        }

        return SipParseResult.Incomplete;
    }

    private static bool LooksLikeStartLine(ReadOnlySequence<byte> line)
    {
        Span<byte> head = stackalloc byte[64];
        var n = (int)Math.Min(line.Length, head.Length);
        line.Slice(0, n).CopyTo(head);
        head = head[..n];
        if (head.StartsWith("SIP/"u8))
        {
            return true;
        }

        var space = head.IndexOf((byte)' ');
        return space > 0 ? IsToken(head[..space]) : n == head.Length && IsToken(head);
    }

    private static bool EndsWithCr(ReadOnlySequence<byte> data)
    {
        if (data.IsEmpty)
        {
            return false;
        }

        var last = data.Slice(data.Length - 1).FirstSpan[0];
        return last == (byte)'\r' && IsPrintableLine(data.Slice(0, data.Length - 1));
    }

    private static bool IsPrintableLine(ReadOnlySequence<byte> line)
    {
        foreach (var segment in line)
        {
            if (segment.Span.IndexOfAnyExcept(StartLineText) >= 0)
            {
                return false;
            }
        }

        return true;
    }

    private static SipParseResult Broken(SipMessage message, SipRejection rejection)
    {
        message.Rejection = rejection;
        return SipParseResult.Broken;
    }

    private static void EnsureScratch(ref byte[]? scratch, SipLimits limits)
    {
        var size = limits.MaxHeaderBytes + 4 + limits.MaxBodyBytes;
        if (scratch is null || scratch.Length < size)
        {
            if (scratch is not null)
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }

            scratch = ArrayPool<byte>.Shared.Rent(size);
        }
    }

    /// <summary>Parses the start line and the headers of <paramref name="head"/> (the frame up to, not including, its CRLF CRLF).</summary>
    private static SipParseResult ParseHead(ReadOnlySpan<byte> head, SipLimits limits, SipMessage message)
    {
        var lineEnd = head.IndexOf(Crlf);
        if (lineEnd < 0)
        {
            lineEnd = head.Length;
        }

        if (lineEnd > limits.MaxStartLineBytes)
        {
            return Broken(message, SipRejection.StartLineTooLong);
        }

        var startLine = head[..lineEnd];
        if (startLine.IndexOfAnyExcept(StartLineText) >= 0)
        {
            return Broken(message, SipRejection.Junk);
        }

        ParseStartLine(startLine, message);

        // One vectorized pass over the block: no control characters but HTAB, and every CR and LF part of a CRLF
        // (counted against the line breaks found below). Only a block that fails is checked line by line.
        var clean = head.IndexOfAnyExcept(HeaderBlockText) < 0;
        var crs = clean ? head.Count((byte)'\r') : -1;
        var lfs = clean ? head.Count((byte)'\n') : -1;
        var breaks = lineEnd < head.Length ? 1 : 0;

        var pos = lineEnd + 2;
        while (pos < head.Length)
        {
            var rest = head[pos..];
            var end = rest.IndexOf(Crlf);
            var line = end < 0 ? rest : rest[..end];
            var lineStart = pos;
            pos += end < 0 ? rest.Length : end + 2;
            breaks += end < 0 ? 0 : 1;

            if (line.Length > 0 && (line[0] == (byte)' ' || line[0] == (byte)'\t'))
            {
                // A continuation line: the value of the previous header goes on (LWS).
                if (message.HeaderCount == 0)
                {
                    Reject(message, SipRejection.InvalidHeader);
                    continue;
                }

                var trimmedEnd = TrimEnd(line);
                if (trimmedEnd > 0 && (clean || IsHeaderText(line[..trimmedEnd])))
                {
                    message.ExtendLastValue(lineStart + trimmedEnd);
                }

                continue;
            }

            if (message.HeaderCount >= limits.MaxHeaders)
            {
                return Broken(message, SipRejection.TooManyHeaders);
            }

            var colon = line.IndexOf((byte)':');
            var nameEnd = colon < 0 ? 0 : TrimEnd(line[..colon]);
            if (nameEnd == 0 || !IsToken(line[..nameEnd]))
            {
                Reject(message, SipRejection.InvalidHeader);
                continue;
            }

            var valueStart = colon + 1;
            while (valueStart < line.Length && (line[valueStart] == (byte)' ' || line[valueStart] == (byte)'\t'))
            {
                valueStart++;
            }

            var value = line[valueStart..];
            var valueLength = TrimEnd(value);
            if (!clean && !IsHeaderText(value[..valueLength]))
            {
                Reject(message, SipRejection.InvalidHeader);
                continue;
            }

            var header = Classify(line[..nameEnd]);
#if FUZZ_PLANTED_BUG
            if (header == SipHeader.Other && valueLength > 1 && line[valueStart] == (byte)'Z' && line[valueStart + 1] == (byte)'q')
            {
                throw new System.Diagnostics.UnreachableException("FUZZ_PLANTED_BUG sip");
            }
#endif
            message.AddHeader(header, new SipRange(lineStart, nameEnd), new SipRange(lineStart + valueStart, valueLength));
            if (header == SipHeader.ContentLength)
            {
                if (!SipValues.TryParseNumber(value[..valueLength], out var length) || (message.ContentLength >= 0 && message.ContentLength != length))
                {
                    message.ContentLength = -1;
                    message.Rejection = SipRejection.InvalidContentLength;
                    return SipParseResult.Broken;
                }

                message.ContentLength = length;
            }
        }

        if (clean && (crs != breaks || lfs != breaks))
        {
            // A bare CR or LF inside a line.
            Reject(message, SipRejection.InvalidHeader);
        }

        return SipParseResult.Message;
    }

    private static void Reject(SipMessage message, SipRejection rejection)
    {
        if (message.Rejection == SipRejection.None)
        {
            message.Rejection = rejection;
        }
    }

    private static void ParseStartLine(ReadOnlySpan<byte> line, SipMessage message)
    {
        if (line.StartsWith("SIP/"u8))
        {
            message.IsResponse = true;
            if (!line.StartsWith(Version) || line.Length < 12 || line[7] != (byte)' ' || line[11] != (byte)' '
                || !char.IsAsciiDigit((char)line[8]) || !char.IsAsciiDigit((char)line[9]) || !char.IsAsciiDigit((char)line[10]))
            {
                Reject(message, line.StartsWith(Version) ? SipRejection.InvalidStartLine : SipRejection.UnsupportedVersion);
                return;
            }

            message.StatusCode = ((line[8] - '0') * 100) + ((line[9] - '0') * 10) + (line[10] - '0');
            return;
        }

        message.IsRequest = true;
        var sp1 = line.IndexOf((byte)' ');
        var sp2 = sp1 < 0 ? -1 : line[(sp1 + 1)..].IndexOf((byte)' ');
        if (sp1 <= 0 || sp2 <= 0 || !IsToken(line[..sp1]) || line.IndexOfAnyInRange((byte)0x80, (byte)0xFF) >= 0)
        {
            Reject(message, SipRejection.InvalidStartLine);
            return;
        }

        sp2 += sp1 + 1;
        var version = line[(sp2 + 1)..];
        message.MethodName = new SipRange(0, sp1);
        message.RequestUri = new SipRange(sp1 + 1, sp2 - sp1 - 1);
        message.Method = ClassifyMethod(line[..sp1]);
        if (!version.SequenceEqual(Version))
        {
            // "SIP/2.0  " (trailing spaces) is a malformed line, not another version.
            Reject(message, version.StartsWith("SIP/"u8) && !version.StartsWith(Version) ? SipRejection.UnsupportedVersion : SipRejection.InvalidStartLine);
        }
    }

    /// <summary>Classifies a method token (methods are case-sensitive).</summary>
    public static SipMethod ClassifyMethod(ReadOnlySpan<byte> token) => token.Length switch
    {
        3 when token.SequenceEqual("ACK"u8) => SipMethod.Ack,
        3 when token.SequenceEqual("BYE"u8) => SipMethod.Bye,
        6 when token.SequenceEqual("INVITE"u8) => SipMethod.Invite,
        6 when token.SequenceEqual("CANCEL"u8) => SipMethod.Cancel,
        7 when token.SequenceEqual("OPTIONS"u8) => SipMethod.Options,
        8 when token.SequenceEqual("REGISTER"u8) => SipMethod.Register,
        _ => SipMethod.Other,
    };

    /// <summary>Classifies a header name, full or compact, in any case.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (byte[] Name, SipHeader Header)[][] GroupByLength((byte[] Name, SipHeader Header)[] names) =>
        [.. Enumerable.Range(0, names.Max(k => k.Name.Length) + 1).Select(n => names.Where(k => k.Name.Length == n).ToArray())];

    public static SipHeader Classify(ReadOnlySpan<byte> name)
    {
        if (name.Length >= KnownByLength.Length)
        {
            return SipHeader.Other;
        }

        foreach (var (known, header) in KnownByLength[name.Length])
        {
            if (Ascii.EqualsIgnoreCase(known, name))
            {
                return header;
            }
        }

        return SipHeader.Other;
    }

    private static int TrimEnd(ReadOnlySpan<byte> s)
    {
        var n = s.Length;
        while (n > 0 && (s[n - 1] == (byte)' ' || s[n - 1] == (byte)'\t'))
        {
            n--;
        }

        return n;
    }

    /// <summary>RFC 3261 token characters.</summary>
    public static bool IsTokenChar(byte b) =>
        (b >= (byte)'a' && b <= (byte)'z') || (b >= (byte)'A' && b <= (byte)'Z') || (b >= (byte)'0' && b <= (byte)'9')
        || b is (byte)'-' or (byte)'.' or (byte)'!' or (byte)'%' or (byte)'*' or (byte)'_' or (byte)'+' or (byte)'`' or (byte)'\'' or (byte)'~';

    private static bool IsToken(ReadOnlySpan<byte> s) => s.Length > 0 && s.IndexOfAnyExcept(TokenChars) < 0;

    /// <summary>
    /// Header text: no control characters but HTAB (UTF-8 above 0x7F is allowed in values) — except escaped, as a
    /// quoted-pair inside a quoted string (RFC 3261 §25.1: <c>"BEL:\&lt;07&gt;"</c>), where any byte but CR and LF may be.
    /// </summary>
    private static bool IsHeaderText(ReadOnlySpan<byte> s)
    {
        if (s.IndexOfAnyExcept(HeaderText) < 0)
        {
            return true;
        }

        var quoted = false;
        for (var i = 0; i < s.Length; i++)
        {
            var b = s[i];
            if (quoted && b == (byte)'\\' && i + 1 < s.Length && s[i + 1] is not ((byte)'\r' or (byte)'\n'))
            {
                i++;
            }
            else if (b == (byte)'"')
            {
                quoted = !quoted;
            }
            else if (!HeaderText.Contains(b))
            {
                return false;
            }
        }

        return true;
    }
}
