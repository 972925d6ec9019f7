using System.Text;

namespace Acd.Host.Grpc;

/// <summary>The gRPC status codes (grpc/grpc doc/statuscodes.md).</summary>
public enum GrpcStatus
{
    /// <summary>Not an error.</summary>
    Ok = 0,

    /// <summary>Cancelled by the caller.</summary>
    Cancelled = 1,

    /// <summary>Unknown error.</summary>
    Unknown = 2,

    /// <summary>The request is malformed.</summary>
    InvalidArgument = 3,

    /// <summary>The deadline passed.</summary>
    DeadlineExceeded = 4,

    /// <summary>The entity does not exist.</summary>
    NotFound = 5,

    /// <summary>The entity exists already.</summary>
    AlreadyExists = 6,

    /// <summary>Authenticated, but not allowed.</summary>
    PermissionDenied = 7,

    /// <summary>A limit was hit.</summary>
    ResourceExhausted = 8,

    /// <summary>Illegal in the current state.</summary>
    FailedPrecondition = 9,

    /// <summary>Aborted.</summary>
    Aborted = 10,

    /// <summary>Out of range.</summary>
    OutOfRange = 11,

    /// <summary>No such method, or a feature not supported.</summary>
    Unimplemented = 12,

    /// <summary>An internal error (or an unreadable message).</summary>
    Internal = 13,

    /// <summary>Not available now.</summary>
    Unavailable = 14,

    /// <summary>Data loss.</summary>
    DataLoss = 15,

    /// <summary>No valid credentials.</summary>
    Unauthenticated = 16,
}

/// <summary>Ends a call with a status other than OK.</summary>
public sealed class GrpcException : Exception
{
    /// <summary>Creates the exception.</summary>
    public GrpcException(GrpcStatus status, string message)
        : base(message)
    {
        Status = status;
    }

    /// <summary>The status sent.</summary>
    public GrpcStatus Status { get; }
}

/// <summary>The percent-encoding of grpc-message (PROTOCOL-HTTP2.md): UTF-8, with bytes outside 0x20-0x7E and '%' as %XX.</summary>
public static class GrpcMessageEncoding
{
    /// <summary>Encodes a status message.</summary>
    public static string Encode(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var bytes = Encoding.UTF8.GetBytes(message);
        var builder = new StringBuilder(bytes.Length);
        foreach (var b in bytes)
        {
            if (b is >= 0x20 and <= 0x7E and not (byte)'%')
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }

    /// <summary>Decodes a status message (lenient: a malformed escape is kept as is).</summary>
    public static string Decode(string encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        var bytes = new List<byte>(encoded.Length);
        for (var i = 0; i < encoded.Length; i++)
        {
            if (encoded[i] == '%' && i + 2 < encoded.Length
                && byte.TryParse(encoded.AsSpan(i + 1, 2), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture, out var b))
            {
                bytes.Add(b);
                i += 2;
            }
            else
            {
                bytes.Add((byte)encoded[i]);
            }
        }

        return Encoding.UTF8.GetString([.. bytes]);
    }
}

/// <summary>The grpc-timeout header: 1-8 digits and a unit (H, M, S, m, u, n).</summary>
public static class GrpcTimeout
{
    /// <summary>Parses a timeout; false when malformed.</summary>
    public static bool TryParse(string? text, out TimeSpan timeout)
    {
        timeout = default;
        if (string.IsNullOrEmpty(text) || text.Length < 2 || text.Length > 9)
        {
            return false;
        }

        if (!long.TryParse(text.AsSpan(0, text.Length - 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value))
        {
            return false;
        }

        var ticks = text[^1] switch
        {
            'H' => value * TimeSpan.TicksPerHour,
            'M' => value * TimeSpan.TicksPerMinute,
            'S' => value * TimeSpan.TicksPerSecond,
            'm' => value * TimeSpan.TicksPerMillisecond,
            'u' => value * 10,
            'n' => value / 100,
            _ => -1,
        };
        if (ticks < 0)
        {
            return false;
        }

        timeout = TimeSpan.FromTicks(ticks);
        return true;
    }
}
