using System.Security.Cryptography;
using System.Text;

namespace Acd.Host;

/// <summary>The API token, checked the same way on the gRPC and the HTTP port: <c>authorization: Bearer &lt;token&gt;</c>, compared in constant time.</summary>
public sealed class BearerToken
{
    private const string Bearer = "Bearer ";
    private readonly byte[]? _token;

    /// <summary>The token of the settings (none: every request passes).</summary>
    public BearerToken(Acd.Host.Configuration.AcdSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _token = settings.ApiToken is null ? null : Encoding.UTF8.GetBytes(settings.ApiToken);
    }

    /// <summary>Whether a token is required.</summary>
    public bool Required => _token is not null;

    /// <summary>What an authorization header value proves: null when it passes, else why not.</summary>
    public TokenProblem? Check(string? authorization)
    {
        if (_token is null)
        {
            return null;
        }

        if (authorization is null || !authorization.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase) || authorization.Length == Bearer.Length)
        {
            return TokenProblem.Missing;
        }

        var presented = Encoding.UTF8.GetBytes(authorization[Bearer.Length..].Trim());
        return CryptographicOperations.FixedTimeEquals(presented, _token) ? null : TokenProblem.Wrong;
    }
}

/// <summary>Why a request's token did not pass.</summary>
public enum TokenProblem
{
    /// <summary>None was given.</summary>
    Missing,

    /// <summary>Another token was given.</summary>
    Wrong,
}
