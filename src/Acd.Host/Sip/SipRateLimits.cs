using System.Net;
using System.Threading.RateLimiting;

namespace Acd.Host.Sip;

/// <summary>
/// Limits on new calls a second (<c>Acd:Sip:RateLimits</c>): per source address — one limit for trusted peers (often none:
/// a proxy carries a province) and one for call peers — and per caller number, whichever peer sends it. Over a limit, an
/// INVITE is answered 503 with Retry-After. Per source: System.Threading.RateLimiting's partitioned fixed windows, a
/// partition per address, dropped by the library once idle. Per caller, where numbers are the attacker's to invent: a
/// fixed-size count-min sketch (two rows of 65,536 one-second counters), so memory does not grow with the numbers seen;
/// two callers sharing both counters would share a limit, which the two independent rows make rare.
/// </summary>
internal sealed class SipRateLimits : IDisposable
{
    private const int Width = 1 << 16;
    private readonly PartitionedRateLimiter<(IPAddress Source, bool Trusted)>? _sources;
    private readonly Func<(IPAddress, bool), RateLimiter>? _trusted;
    private readonly Func<(IPAddress, bool), RateLimiter>? _callPeer;
    private readonly int _perCaller;
    private readonly Lock _sketchLock = new();
    private readonly long[] _seconds = new long[2 * Width];
    private readonly int[] _counts = new int[2 * Width];
    private readonly int _salt = Random.Shared.Next();

    public SipRateLimits(int trustedPerSource, int callPeerPerSource, int perCaller)
    {
        _perCaller = perCaller;
        // The partitioner runs on every limited INVITE: its limiter factories are made once here, so that it allocates nothing.
        _trusted = Factory(trustedPerSource);
        _callPeer = Factory(callPeerPerSource);
        if (_trusted is not null || _callPeer is not null)
        {
            _sources = PartitionedRateLimiter.Create<(IPAddress Source, bool Trusted), (IPAddress, bool)>(key => RateLimitPartition.Get(key, FactoryFor(key.Trusted)!));
        }
    }

    /// <summary>The limiter factory of a class of peer; null: that class has no limit.</summary>
    private Func<(IPAddress, bool), RateLimiter>? FactoryFor(bool trusted) => trusted ? _trusted : _callPeer;

    /// <summary>What makes a source's limiter of <paramref name="limit"/> calls a second (null: no limit).</summary>
    private static Func<(IPAddress, bool), RateLimiter>? Factory(int limit)
    {
        if (limit <= 0)
        {
            return null;
        }

        var options = new FixedWindowRateLimiterOptions { PermitLimit = limit, Window = TimeSpan.FromSeconds(1), QueueLimit = 0 };
        return _ => new FixedWindowRateLimiter(options);
    }

    /// <summary>Whether a new call from this source may go on (false: over its limit this second).</summary>
    public bool AllowSource(IPAddress? source, bool trusted)
    {
        // A class of peer without a limit (trusted proxies, by default) does not go through the partitioned limiter at
        // all: each acquisition there takes its lock and allocates (a closure in the library's lookup), on every INVITE.
        if (source is null || FactoryFor(trusted) is null)
        {
            return true;
        }

        using var lease = _sources!.AttemptAcquire((source, trusted));
        return lease.IsAcquired;
    }

    /// <summary>Whether a new call from this caller number may go on at <paramref name="unixSeconds"/>.</summary>
    public bool AllowCaller(string? caller, long unixSeconds)
    {
        if (_perCaller <= 0 || string.IsNullOrEmpty(caller))
        {
            return true;
        }

        var h1 = (int)((uint)caller.GetHashCode(StringComparison.Ordinal) % Width);
        var h2 = Width + (int)((uint)HashCode.Combine(caller.GetHashCode(StringComparison.Ordinal), _salt) % Width);
        lock (_sketchLock)
        {
            // Both counters count; the smaller says how many calls this caller made (count-min).
            return Count(h1, unixSeconds) | Count(h2, unixSeconds);
        }
    }

    public void Dispose() => _sources?.Dispose();

    /// <summary>Counts one call in a counter of the sketch; true while it is within the limit.</summary>
    private bool Count(int i, long second)
    {
        if (_seconds[i] != second)
        {
            _seconds[i] = second;
            _counts[i] = 0;
        }

        return ++_counts[i] <= _perCaller;
    }
}
