using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Acd.Host.Sip;

/// <summary>What a REGISTER's digest credentials proved.</summary>
internal enum DigestVerdict
{
    /// <summary>The credentials are the agent's.</summary>
    Authenticated,

    /// <summary>No credentials were given: challenge.</summary>
    Missing,

    /// <summary>Right credentials on a nonce that has expired: challenge again with stale=true.</summary>
    Stale,

    /// <summary>Wrong or malformed credentials.</summary>
    Failed,
}

/// <summary>
/// Digest authentication of REGISTER (RFC 3261 §22, SHA-256 per RFC 8760, MD5 for older phones): agents' HA1 hashes
/// come from a credentials file (<c>Acd:Sip:CredentialsFile</c>, one line per agent: <c>AGENT sha256:HEX</c> and/or
/// <c>AGENT md5:HEX</c>, HEX = H(agent:realm:password)) — the daemon never sees a password. Nonces are stateless: the
/// issue time and an HMAC of it under a key made at start, good for <c>NonceLifetimeSeconds</c>.
/// </summary>
internal sealed class SipDigest
{
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly Dictionary<string, (string? Sha256, string? Md5)> _credentials;
    private readonly TimeProvider _time;
    private readonly long _lifetimeSeconds;

    public SipDigest(string realm, IReadOnlyDictionary<string, (string? Sha256, string? Md5)> credentials, long lifetimeSeconds, TimeProvider time)
    {
        Realm = realm;
        _credentials = new Dictionary<string, (string?, string?)>(credentials, StringComparer.Ordinal);
        _lifetimeSeconds = lifetimeSeconds;
        _time = time;
    }

    /// <summary>The realm in challenges and in the HA1 hashes.</summary>
    public string Realm { get; }

    /// <summary>Agents with credentials.</summary>
    public int Count => _credentials.Count;

    /// <summary>Whether the agent has credentials (else an unauthenticated REGISTER from outside the registrars is simply forbidden).</summary>
    public bool Knows(string agentId) => _credentials.ContainsKey(agentId);

    /// <summary>The WWW-Authenticate values of a challenge for an agent: SHA-256 first, then MD5, for the hashes it has.</summary>
    public IReadOnlyList<string> Challenge(string agentId, bool stale)
    {
        var nonce = NewNonce();
        var (sha, md5) = _credentials[agentId];
        var staleText = stale ? ", stale=true" : string.Empty;
        var values = new List<string>(2);
        if (sha is not null)
        {
            values.Add($"Digest realm=\"{Realm}\", nonce=\"{nonce}\", algorithm=SHA-256, qop=\"auth\"{staleText}");
        }

        if (md5 is not null)
        {
            values.Add($"Digest realm=\"{Realm}\", nonce=\"{nonce}\", algorithm=MD5, qop=\"auth\"{staleText}");
        }

        return values;
    }

    /// <summary>Checks an Authorization header of a request for the agent.</summary>
    public DigestVerdict Verify(string agentId, string? authorization, string method)
    {
        if (string.IsNullOrWhiteSpace(authorization))
        {
            return DigestVerdict.Missing;
        }

        if (!_credentials.TryGetValue(agentId, out var hashes) || !TryParse(authorization, out var p))
        {
            return DigestVerdict.Failed;
        }

        var algorithm = p.GetValueOrDefault("algorithm", "MD5");
        var ha1 = string.Equals(algorithm, "SHA-256", StringComparison.OrdinalIgnoreCase) ? hashes.Sha256
            : string.Equals(algorithm, "MD5", StringComparison.OrdinalIgnoreCase) ? hashes.Md5
            : null;
        if (ha1 is null
            || !string.Equals(p.GetValueOrDefault("username"), agentId, StringComparison.Ordinal)
            || !string.Equals(p.GetValueOrDefault("realm"), Realm, StringComparison.Ordinal)
            || p.GetValueOrDefault("nonce") is not { } nonce || p.GetValueOrDefault("uri") is not { } uri || p.GetValueOrDefault("response") is not { } response)
        {
            return DigestVerdict.Failed;
        }

        Func<string, string> h = string.Equals(algorithm, "SHA-256", StringComparison.OrdinalIgnoreCase) ? Sha256Hex : Md5Hex;
        var ha2 = h($"{method}:{uri}");
        var qop = p.GetValueOrDefault("qop");
        string expected;
        if (qop is null)
        {
            expected = h($"{ha1}:{nonce}:{ha2}");
        }
        else if (string.Equals(qop, "auth", StringComparison.OrdinalIgnoreCase) && p.GetValueOrDefault("nc") is { } nc && p.GetValueOrDefault("cnonce") is { } cnonce)
        {
            expected = h($"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}");
        }
        else
        {
            return DigestVerdict.Failed;
        }

        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(response.ToLowerInvariant())))
        {
            return DigestVerdict.Failed;
        }

        return NonceAge(nonce) switch
        {
            null => DigestVerdict.Failed,
            var age when age > _lifetimeSeconds => DigestVerdict.Stale,
            _ => DigestVerdict.Authenticated,
        };
    }

    /// <summary>Reads a credentials file: <c>AGENT sha256:HEX</c> or <c>AGENT md5:HEX</c> per line, # comments; problems named by line.</summary>
    public static Dictionary<string, (string? Sha256, string? Md5)> ReadCredentials(IEnumerable<string> lines, string file, List<Acd.Core.Configuration.ConfigError> errors)
    {
        ArgumentNullException.ThrowIfNull(lines);
        ArgumentNullException.ThrowIfNull(errors);
        var credentials = new Dictionary<string, (string? Sha256, string? Md5)>(StringComparer.Ordinal);
        var number = 0;
        foreach (var raw in lines)
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            var entry = parts.Length == 2 ? parts[1].Split(':', 2) : [];
            var (agent, kind, hex) = parts.Length == 2 && entry.Length == 2 ? (parts[0], entry[0].ToLowerInvariant(), entry[1].ToLowerInvariant()) : (string.Empty, string.Empty, string.Empty);
            var length = kind switch { "sha256" => 64, "md5" => 32, _ => -1 };
            if (length < 0 || hex.Length != length || !hex.All(char.IsAsciiHexDigit))
            {
                errors.Add(new Acd.Core.Configuration.ConfigError("Acd:Sip:CredentialsFile", $"{file} line {number}: expected 'AGENT sha256:<64 hex digits>' or 'AGENT md5:<32 hex digits>'"));
                continue;
            }

            var (sha, md5) = credentials.GetValueOrDefault(agent);
            credentials[agent] = string.Equals(kind, "sha256", StringComparison.Ordinal) ? (hex, md5) : (sha, hex);
        }

        return credentials;
    }

    /// <summary>The HA1 of an agent's password, as a credentials file holds it (for tests and the operator's tooling).</summary>
    public static string Ha1(string algorithm, string agent, string realm, string password) =>
        string.Equals(algorithm, "md5", StringComparison.OrdinalIgnoreCase) ? Md5Hex($"{agent}:{realm}:{password}") : Sha256Hex($"{agent}:{realm}:{password}");

    private string NewNonce()
    {
        var issued = _time.GetUtcNow().ToUnixTimeSeconds();
        return string.Create(CultureInfo.InvariantCulture, $"{issued:x}.{Mac(issued)}");
    }

    /// <summary>A nonce's age in seconds; null if this daemon did not issue it.</summary>
    private long? NonceAge(string nonce)
    {
        var dot = nonce.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || !long.TryParse(nonce.AsSpan(0, dot), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var issued)
            || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Mac(issued)), Encoding.ASCII.GetBytes(nonce[(dot + 1)..])))
        {
            return null;
        }

        return _time.GetUtcNow().ToUnixTimeSeconds() - issued;
    }

    private string Mac(long issued)
    {
        Span<byte> data = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(data, issued);
        return Convert.ToHexStringLower(HMACSHA256.HashData(_key, data)[..16]);
    }

    private static string Sha256Hex(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

#pragma warning disable CA5351 // MD5 is what RFC 3261 digest and older phones use; SHA-256 is offered first
    private static string Md5Hex(string text) => Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(text)));
#pragma warning restore CA5351

    /// <summary>Parses <c>Digest name=value, name="value", ...</c> into its parameters (names lower-cased).</summary>
    private static bool TryParse(string header, out Dictionary<string, string> parameters)
    {
        parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var text = header.AsSpan().Trim();
        if (!text.StartsWith("Digest ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        text = text[7..];
        while (!text.IsEmpty)
        {
            text = text.TrimStart(" ,\t");
            if (text.IsEmpty)
            {
                break;
            }

            var eq = text.IndexOf('=');
            if (eq <= 0 || parameters.Count > 16)
            {
                return false;
            }

            var name = text[..eq].Trim().ToString();
            text = text[(eq + 1)..].TrimStart();
            string value;
            if (!text.IsEmpty && text[0] == '"')
            {
                var end = text[1..].IndexOf('"');
                if (end < 0)
                {
                    return false;
                }

                value = text.Slice(1, end).ToString();
                text = text[(end + 2)..];
            }
            else
            {
                var end = text.IndexOf(',');
                value = (end < 0 ? text : text[..end]).Trim().ToString();
                text = end < 0 ? [] : text[end..];
            }

            parameters[name] = value;
        }

        return true;
    }
}
