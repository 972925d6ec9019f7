using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using Prometheus;

namespace Acd.Benchmarks;

/// <summary>
/// What recording one routing decision's latency costs on the engine's delivery thread, two ways prometheus-net can
/// serve it: its own histogram (a label child resolved once, then Observe — what the daemon does), or a
/// System.Diagnostics.Metrics histogram recorded with its domain tag and carried to prometheus-net by its MeterAdapter
/// (the alternative docs/operations.md weighs). Same buckets, one registry each, 1,000 observations an operation.
/// </summary>
[MemoryDiagnoser]
public class MetricsBenchmarks
{
    private const int Observations = 1000;
    private static readonly double[] Buckets = [0.000_001, 0.000_002, 0.000_005, 0.000_01, 0.000_02, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.005];
    private Histogram.Child _child = null!;
    private Meter _meter = null!;
    private Histogram<double> _instrument = null!;
    private IDisposable _adapter = null!;

    [GlobalSetup]
    public void Setup()
    {
        var registry = Metrics.NewCustomRegistry();
        _child = Metrics.WithCustomRegistry(registry)
            .CreateHistogram("acd_routing_decision_seconds", "decision", ["domain"], new HistogramConfiguration { Buckets = Buckets, ExemplarBehavior = ExemplarBehavior.NoExemplars() })
            .WithLabels("10086");

        var adapted = Metrics.NewCustomRegistry();
        _meter = new Meter("Acd.Benchmark");
        _instrument = _meter.CreateHistogram<double>("acd_routing_decision_seconds", "s", "decision");
        _adapter = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            Registry = adapted,
            MetricFactory = Metrics.WithCustomRegistry(adapted),
            InstrumentFilterPredicate = i => ReferenceEquals(i.Meter, _meter),
            ResolveHistogramBuckets = _ => Buckets,
        });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _adapter.Dispose();
        _meter.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Observations)]
    public void PrometheusNetHistogram()
    {
        for (var i = 0; i < Observations; i++)
        {
            _child.Observe((i & 63) * 1e-7);
        }
    }

    [Benchmark(OperationsPerInvoke = Observations)]
    public void MeterHistogramThroughAdapter()
    {
        var tag = new KeyValuePair<string, object?>("domain", "10086");
        for (var i = 0; i < Observations; i++)
        {
            _instrument.Record((i & 63) * 1e-7, tag);
        }
    }
}
