using System.Buffers;
using System.Text;

namespace Acd.Core.Sip;

/// <summary>
/// The compact form of a header value kept in an INVITE's answer route (route format 3): the pieces nearly every Via,
/// From and To repeats (<c>SIP/2.0/TCP </c>, <c>;branch=z9hG4bK</c>, <c>&lt;sip:</c>, <c>;tag=</c>, …) stand as one byte
/// each. A value may hold any byte, so the code bytes are control characters a header value practically never has
/// (0x01–0x1E but TAB, LF and CR); a value byte that is one of them, or 0x00 or 0x1F, is written after <see cref="Escape"/>.
/// The table is fixed: a route read back from a journal or a snapshot decodes the same in any later release.
/// </summary>
internal static class SipRouteCodec
{
    private const byte Escape = 0x1F;

    /// <summary>The pieces, by code byte; never change or reorder a piece once released (journaled routes name them).</summary>
    private static readonly byte[]?[] Pieces = Table();

    /// <summary>Per first byte, the codes of the pieces that start with it, the longest first.</summary>
    private static readonly byte[]?[] ByFirstByte = Index();

    /// <summary>The bytes the encoder stops at: a piece's first byte, or one that needs its escape.</summary>
    private static readonly SearchValues<byte> Stops = SearchValues.Create(
        [.. Enumerable.Range(0, 256).Where(b => ByFirstByte[b] is not null || NeedsEscape((byte)b)).Select(b => (byte)b)]);

    /// <summary>The most a value of <paramref name="length"/> bytes takes encoded (every byte escaped).</summary>
    public static int MaxEncodedLength(int length) => 2 * length;

    /// <summary>Encodes <paramref name="value"/> into <paramref name="destination"/> (at least <see cref="MaxEncodedLength"/>); returns the bytes written.</summary>
    public static int Encode(ReadOnlySpan<byte> value, Span<byte> destination)
    {
        var n = 0;
        var i = 0;
        while (i < value.Length)
        {
            // Copy up to the next byte that may start a piece or needs its escape.
            var run = value[i..].IndexOfAny(Stops);
            if (run < 0)
            {
                run = value.Length - i;
            }

            value.Slice(i, run).CopyTo(destination[n..]);
            n += run;
            i += run;
            if (i >= value.Length)
            {
                break;
            }

            var b = value[i];
            if (ByFirstByte[b] is { } codes && Match(value[i..], codes) is var code and > 0)
            {
                destination[n++] = code;
                i += Pieces[code]!.Length;
                continue;
            }

            if (NeedsEscape(b))
            {
                destination[n++] = Escape;
            }

            destination[n++] = b;
            i++;
        }

        return n;
    }

    /// <summary>The code of the longest piece <paramref name="value"/> starts with, or 0.</summary>
    private static byte Match(ReadOnlySpan<byte> value, byte[] codes)
    {
        foreach (var code in codes)
        {
            if (value.StartsWith(Pieces[code]))
            {
                return code;
            }
        }

        return 0;
    }

    /// <summary>The length of <paramref name="encoded"/> decoded; false when it is not an encoded value (an unknown code, an escape at the end or before a byte that needs none).</summary>
    public static bool TryGetDecodedLength(ReadOnlySpan<byte> encoded, out int length)
    {
        length = Walk(encoded, default, write: false);
        return length >= 0;
    }

    /// <summary>Decodes <paramref name="encoded"/> (checked by <see cref="TryGetDecodedLength"/>) into <paramref name="destination"/>; returns the bytes written.</summary>
    public static int Decode(ReadOnlySpan<byte> encoded, Span<byte> destination) => Walk(encoded, destination, write: true);

    /// <summary>Walks an encoded value, writing it decoded when <paramref name="write"/>; its decoded length, or -1 when it is not one.</summary>
    private static int Walk(ReadOnlySpan<byte> encoded, Span<byte> destination, bool write)
    {
        var n = 0;
        var i = 0;
        while (i < encoded.Length)
        {
            // Copy up to the next code, escape or TAB/LF/CR.
            var run = encoded[i..].IndexOfAnyInRange((byte)0x00, Escape);
            if (run < 0)
            {
                run = encoded.Length - i;
            }

            if (write)
            {
                encoded.Slice(i, run).CopyTo(destination[n..]);
            }

            n += run;
            i += run;
            if (i >= encoded.Length)
            {
                break;
            }

            var b = encoded[i];
            ReadOnlySpan<byte> output;
            if (b is (byte)'\t' or (byte)'\n' or (byte)'\r')
            {
                output = encoded.Slice(i++, 1);
            }
            else if (b == Escape && i + 1 < encoded.Length && NeedsEscape(encoded[i + 1]))
            {
                output = encoded.Slice(i + 1, 1);
                i += 2;
            }
            else if (b != Escape && Pieces[b] is { } piece)
            {
                output = piece;
                i++;
            }
            else
            {
                return -1;
            }

            if (write)
            {
                output.CopyTo(destination[n..]);
            }

            n += output.Length;
        }

        return n;
    }

    private static bool NeedsEscape(byte b) => b <= Escape && b is not ((byte)'\t' or (byte)'\n' or (byte)'\r');

    private static byte[]?[] Table()
    {
        var pieces = new byte[]?[Escape];
        void Add(byte code, string piece) => pieces[code] = Encoding.ASCII.GetBytes(piece);
        Add(0x01, "SIP/2.0/TCP ");
        Add(0x02, "SIP/2.0/UDP ");
        Add(0x03, "SIP/2.0/TLS ");
        Add(0x04, ";branch=z9hG4bK");
        Add(0x05, ";received=");
        Add(0x06, ";rport=");
        Add(0x07, ";rport");
        Add(0x08, ";tag=");
        Add(0x0B, ">;tag=");
        Add(0x0C, "<sip:");
        Add(0x0E, "<sips:");
        Add(0x0F, ";transport=tcp");
        Add(0x10, ";transport=TCP");
        Add(0x11, ";transport=udp");
        Add(0x12, ";transport=tls");
        Add(0x13, ";lr");
        Add(0x14, ";user=phone");
        Add(0x15, ":5060");
        Add(0x16, ":5061");
        Add(0x17, "sip:");
        Add(0x18, "SIP/2.0/WS ");
        Add(0x19, "SIP/2.0/WSS ");
        Add(0x1A, ";alias");
        Add(0x1B, ";i=");
        return pieces;
    }

    private static byte[]?[] Index()
    {
        var byFirst = new byte[]?[256];
        foreach (var first in Pieces.Where(p => p is not null).Select(p => p![0]).Distinct())
        {
            byFirst[first] = [.. Enumerable.Range(0, Pieces.Length)
                .Where(c => Pieces[c] is { } p && p[0] == first)
                .OrderByDescending(c => Pieces[c]!.Length)
                .Select(c => (byte)c)];
        }

        return byFirst;
    }
}
