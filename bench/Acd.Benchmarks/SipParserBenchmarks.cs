using System.Buffers;
using Acd.Benchmarks.Workloads;
using Acd.Core.Sip;
using BenchmarkDotNet.Attributes;

namespace Acd.Benchmarks;

/// <summary>Parsing a typical INVITE (510 bytes, three Via) from one buffer, as the SIP port does (SPEC section 10).</summary>
[MemoryDiagnoser]
public class SipParserBenchmarks
{
    private readonly SipLimits _limits = new();
    private readonly SipMessage _message = new();
    private readonly ReadOnlySequence<byte> _invite = new(SipSamples.InviteBytes);
    private byte[]? _scratch;

    [Benchmark]
    public int ParseInvite()
    {
        var reader = new SequenceReader<byte>(_invite);
        SipParser.TryParse(ref reader, _limits, _message, ref _scratch);
        return _message.HeaderCount;
    }

    [Benchmark]
    public int ParseAndValidateInvite()
    {
        var reader = new SequenceReader<byte>(_invite);
        SipParser.TryParse(ref reader, _limits, _message, ref _scratch);
        return (int)SipRequests.Validate(_message);
    }
}
