using System.Buffers;
using Acd.Benchmarks.Workloads;
using Acd.Core.Sip;
using Acd.Core.Tests.Support;

namespace Acd.Core.Tests.Sip;

public sealed class SipAllocationTests
{
    [Fact]
    public void Parsing_and_validating_a_typical_invite_allocates_nothing()
    {
        var limits = new SipLimits();
        var message = new SipMessage();
        var data = new ReadOnlySequence<byte>(SipSamples.InviteBytes);
        byte[]? scratch = null;
        for (var i = 0; i < 1000; i++)
        {
            var warm = new SequenceReader<byte>(data);
            SipParser.TryParse(ref warm, limits, message, ref scratch);
        }

        var failures = 0;
        AllocationBudget.AssertNone(
            () =>
            {
                for (var i = 0; i < 10_000; i++)
                {
                    var reader = new SequenceReader<byte>(data);
                    if (SipParser.TryParse(ref reader, limits, message, ref scratch) != SipParseResult.Message || SipRequests.Validate(message) != SipRejection.None)
                    {
                        failures++;
                    }
                }
            },
            "10,000 parsed and validated INVITEs");
        Assert.Equal(0, failures);
    }
}
