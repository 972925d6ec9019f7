using Acd.Benchmarks.Workloads;
using BenchmarkDotNet.Attributes;

namespace Acd.Benchmarks;

/// <summary>
/// Routing decisions on one core with 10,000 agents, 20 skills and 100,000 waiting calls (SPEC section 10).
/// One operation = one decision (an enqueue with its match attempt, or an agent matched to the best waiting call).
/// <see cref="Callers"/>: with the hotline's caller features (repeat callers, first-contact ownership: one look-up of
/// the caller in a 200,000-entry history per arrival and per assignment), or routing alone.
/// </summary>
[MemoryDiagnoser]
public class RoutingBenchmarks
{
    private const int StepsPerInvoke = 1000;
    private RoutingWorkload _workload = null!;

    [Params(false, true)]
    public bool Callers { get; set; }

    [GlobalSetup]
    public void Setup() => _workload = new RoutingWorkload(agents: 10_000, skills: 20, waiting: 100_000, callerFeatures: Callers);

    [Benchmark(OperationsPerInvoke = StepsPerInvoke * 2)]
    public int RouteDecision()
    {
        for (var i = 0; i < StepsPerInvoke; i++)
        {
            _workload.Step();
        }

        return _workload.Decisions;
    }
}
