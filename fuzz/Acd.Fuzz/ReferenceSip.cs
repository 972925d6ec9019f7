using System.Text;
using Acd.Core.Sip;

namespace Acd.Fuzz;

/// <summary>
/// A slow, obviously correct reading of SIP framing over a byte array — no spans, no search vectors, no segments: the
/// rules written out one at a time, to hold the fast parser against (as Garnet checks its RESP parser). It answers one
/// question: does a whole message start here, of how many bytes, with which header lines and Content-Length?
/// </summary>
public static class ReferenceSip
{
    /// <summary>The message framed at the start of <paramref name="data"/>; null when the rules frame none (a ping, junk, over a limit, no end of headers yet, a bad Content-Length).</summary>
    public static (long Consumed, List<(string Name, string Value)> Headers, int ContentLength)? Frame(byte[] data, SipLimits limits)
    {
        // Lone CRLFs before a message are skipped; CRLF CRLF is a keep-alive ping, not a message.
        var skip = 0;
        while (At(data, skip, "\r\n"))
        {
            if (At(data, skip, "\r\n\r\n") || data.Length - skip < 4)
            {
                return null;
            }

            skip += 2;
        }

        if (skip >= data.Length || !IsToken(data[skip]))
        {
            return null;
        }

        // The end of the header block, no further than the limit allows.
        var end = -1;
        for (var i = skip; i + 4 <= data.Length && i - skip <= limits.MaxHeaderBytes; i++)
        {
            if (At(data, i, "\r\n\r\n"))
            {
                end = i;
                break;
            }
        }

        if (end < 0)
        {
            return null;
        }

        var lines = new List<(int Start, int End)>();
        var lineStart = skip;
        for (var i = skip; i <= end; i++)
        {
            if (i == end || At(data, i, "\r\n"))
            {
                lines.Add((lineStart, i));
                lineStart = i + 2;
                i++;
            }
        }

        var (startLineBegin, startLineEnd) = lines[0];
        if (startLineEnd - startLineBegin > limits.MaxStartLineBytes)
        {
            return null;
        }

        for (var i = startLineBegin; i < startLineEnd; i++)
        {
            if (data[i] < 0x20 || data[i] == 0x7F)
            {
                return null;
            }
        }

        // A block with control characters other than HT, CR and LF is checked line by line; a clean one is not.
        var clean = true;
        for (var i = skip; i < end; i++)
        {
            var b = data[i];
            if (b is not (9 or 10 or 13) && (b < 0x20 || b == 0x7F))
            {
                clean = false;
            }
        }

        var headers = new List<(int NameStart, int NameEnd, int ValueStart, int ValueEnd)>();
        var contentLength = -1;
        foreach (var (start, stop) in lines.Skip(1))
        {
            if (start < stop && data[start] is (byte)' ' or (byte)'\t')
            {
                var trimmed = TrimEnd(data, start, stop);
                if (headers.Count > 0 && trimmed > start && (clean || IsHeaderText(data, start, trimmed)))
                {
                    headers[^1] = headers[^1] with { ValueEnd = trimmed };
                }

                continue;
            }

            if (headers.Count >= limits.MaxHeaders)
            {
                return null;
            }

            var colon = Array.IndexOf(data, (byte)':', start, stop - start);
            var nameEnd = colon < 0 ? start : TrimEnd(data, start, colon);
            if (nameEnd == start || !Enumerable.Range(start, nameEnd - start).All(i => IsToken(data[i])))
            {
                continue;
            }

            var valueStart = colon + 1;
            while (valueStart < stop && data[valueStart] is (byte)' ' or (byte)'\t')
            {
                valueStart++;
            }

            var valueEnd = TrimEnd(data, valueStart, stop);
            if (!clean && !IsHeaderText(data, valueStart, valueEnd))
            {
                continue;
            }

            headers.Add((start, nameEnd, valueStart, valueEnd));
            var name = Encoding.Latin1.GetString(data, start, nameEnd - start);
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || name.Equals("l", StringComparison.OrdinalIgnoreCase))
            {
                var text = Encoding.Latin1.GetString(data, valueStart, stop - valueStart).Trim(' ', '\t', '\r', '\n');
                if (text.Length is 0 or > 9 || !text.All(char.IsAsciiDigit) || (contentLength >= 0 && contentLength != int.Parse(text, System.Globalization.CultureInfo.InvariantCulture)))
                {
                    return null;
                }

                contentLength = int.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        if (contentLength < 0 || contentLength > limits.MaxBodyBytes)
        {
            return null;
        }

        var described = headers.Select(h => (Encoding.Latin1.GetString(data, h.NameStart, h.NameEnd - h.NameStart), Encoding.Latin1.GetString(data, h.ValueStart, h.ValueEnd - h.ValueStart))).ToList();
        return (end + 4 + contentLength, described, contentLength);
    }

    private static bool At(byte[] data, int at, string text)
    {
        if (at + text.Length > data.Length)
        {
            return false;
        }

        for (var i = 0; i < text.Length; i++)
        {
            if (data[at + i] != text[i])
            {
                return false;
            }
        }

        return true;
    }

    private static int TrimEnd(byte[] data, int start, int end)
    {
        while (end > start && data[end - 1] is (byte)' ' or (byte)'\t')
        {
            end--;
        }

        return end;
    }

    private static bool IsToken(byte b) =>
        (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || "-.!%*_+`'~".Contains((char)b, StringComparison.Ordinal);

    /// <summary>No control characters but HT, except escaped by a backslash inside a quoted string (and never CR or LF).</summary>
    private static bool IsHeaderText(byte[] data, int start, int end)
    {
        var quoted = false;
        for (var i = start; i < end; i++)
        {
            var b = data[i];
            if (quoted && b == '\\' && i + 1 < end && data[i + 1] is not ((byte)'\r' or (byte)'\n'))
            {
                i++;
            }
            else if (b == '"')
            {
                quoted = !quoted;
            }
            else if (b != '\t' && (b < 0x20 || b == 0x7F))
            {
                return false;
            }
        }

        return true;
    }
}
