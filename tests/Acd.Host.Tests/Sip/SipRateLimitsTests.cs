using System.Net;
using Acd.Host.Sip;

namespace Acd.Host.Tests.Sip;

/// <summary>The per-source limits of <see cref="SipRateLimits"/> on their own (the SIP port's 503s are in SipSecurityTests).</summary>
public sealed class SipRateLimitsTests
{
    [Fact]
    public void A_class_of_peer_without_a_limit_costs_nothing_a_call_and_the_limited_class_is_still_held_to_its_limit()
    {
        // Trusted proxies without a limit (the default), call peers at 50 a second.
        using var limits = new SipRateLimits(trustedPerSource: 0, callPeerPerSource: 50, perCaller: 0);
        var proxy = IPAddress.Parse("10.1.1.1");
        var phone = IPAddress.Parse("10.2.2.2");
        Assert.True(limits.AllowSource(proxy, trusted: true)); // warm

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            Assert.True(limits.AllowSource(proxy, trusted: true));
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);

        var allowed = Enumerable.Range(0, 200).Count(_ => limits.AllowSource(phone, trusted: false));
        Assert.InRange(allowed, 50, 100); // 50 in this second's window (100 if the window turned during the loop)
    }

    [Fact]
    public void A_trusted_limit_applies_to_trusted_sources_and_leaves_call_peers_unlimited()
    {
        using var limits = new SipRateLimits(trustedPerSource: 20, callPeerPerSource: 0, perCaller: 0);
        var proxy = IPAddress.Parse("10.1.1.1");
        var phone = IPAddress.Parse("10.2.2.2");
        Assert.InRange(Enumerable.Range(0, 100).Count(_ => limits.AllowSource(proxy, trusted: true)), 20, 40);
        Assert.Equal(100, Enumerable.Range(0, 100).Count(_ => limits.AllowSource(phone, trusted: false)));
    }
}
