using System.Net;

namespace Acd.Host.Sip;

/// <summary>What a SIP peer may do, by the network it connects from.</summary>
[Flags]
internal enum PeerRights : byte
{
    /// <summary>Nothing: every request is answered 403.</summary>
    None = 0,

    /// <summary>Offer calls and report on them (INVITE, CANCEL, BYE, ACK, OPTIONS).</summary>
    Calls = 1,

    /// <summary>Be believed: X-Acd-* routing headers are honoured and its unanswered calls owe their callers a callback.</summary>
    Trusted = 2,

    /// <summary>Log agents in and out (REGISTER) without digest authentication: a registrar that authenticated them.</summary>
    Register = 4,
}

/// <summary>
/// The networks SIP peers may connect from, and what each may do (<c>Acd:Sip:TrustedPeers</c>, <c>CallPeers</c>,
/// <c>RegistrarPeers</c>; CIDR). A peer in none of them is answered 403 — unless it authenticates a REGISTER with
/// digest credentials. IPv4 peers reaching an IPv6 (dual-stack) listener are matched as IPv4.
/// </summary>
internal sealed class SipPeers
{
    private readonly IPNetwork[] _trusted;
    private readonly IPNetwork[] _calls;
    private readonly IPNetwork[] _registrars;

    public SipPeers(IEnumerable<IPNetwork> trusted, IEnumerable<IPNetwork> calls, IEnumerable<IPNetwork> registrars)
    {
        _trusted = [.. trusted];
        _calls = [.. calls];
        _registrars = [.. registrars];
    }

    /// <summary>Loopback only (127.0.0.0/8 and ::1): the default of each list.</summary>
    public static IReadOnlyList<string> Loopback { get; } = ["127.0.0.0/8", "::1/128"];

    /// <summary>Whether any list lets in a peer from beyond this machine.</summary>
    public bool TrustsRemotePeers => _trusted.Concat(_calls).Concat(_registrars).Any(n => !IPAddress.IsLoopback(n.BaseAddress));

    /// <summary>What a peer at <paramref name="address"/> may do.</summary>
    public PeerRights RightsOf(IPAddress? address)
    {
        if (address is null)
        {
            return PeerRights.None;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        var rights = PeerRights.None;
        if (In(_trusted, address))
        {
            rights |= PeerRights.Calls | PeerRights.Trusted;
        }
        else if (In(_calls, address))
        {
            rights |= PeerRights.Calls;
        }

        if (In(_registrars, address))
        {
            rights |= PeerRights.Register;
        }

        return rights;
    }

    /// <summary>Parses a list of networks (<c>10.0.0.0/8</c>, or a single address); adds an error per entry it cannot read.</summary>
    public static List<IPNetwork> Parse(IEnumerable<string>? entries, string key, List<Acd.Core.Configuration.ConfigError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var networks = new List<IPNetwork>();
        var i = 0;
        foreach (var entry in entries ?? [])
        {
            var text = entry.Trim();
            if (IPNetwork.TryParse(text, out var network))
            {
                networks.Add(network);
            }
            else if (IPAddress.TryParse(text, out var address))
            {
                networks.Add(new IPNetwork(address, address.GetAddressBytes().Length * 8));
            }
            else
            {
                errors.Add(new Acd.Core.Configuration.ConfigError($"{key}:{i}", $"'{entry}' is not a network (10.0.0.0/8, 192.0.2.10, 2001:db8::/32)"));
            }

            i++;
        }

        return networks;
    }

    private static bool In(IPNetwork[] networks, IPAddress address)
    {
        foreach (var n in networks)
        {
            if (n.Contains(address))
            {
                return true;
            }
        }

        return false;
    }
}
