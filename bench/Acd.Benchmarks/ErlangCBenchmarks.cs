using Acd.Core.Statistics;
using BenchmarkDotNet.Attributes;

namespace Acd.Benchmarks;

/// <summary>
/// Erlang C staffing at national scale (SPEC 4.5): the fewest agents for 80 % in 20 s at 20,000 Erlangs
/// (100 calls per second, 200 s handle time), found by the Erlang B recursion — no factorials. Target: at most 1 ms.
/// </summary>
[MemoryDiagnoser]
public class ErlangCBenchmarks
{
    [Params(100.0, 20_000.0)]
    public double Erlangs { get; set; }

    [Benchmark]
    public int RequiredAgents() => ErlangC.Required(Erlangs / 200, 200, 20, 0.8).Agents;
}
