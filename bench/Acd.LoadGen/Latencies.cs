using HdrHistogram;

namespace Acd.LoadGen;

/// <summary>INVITE→302 latencies in microseconds, kept in HdrHistogram (3 significant digits, 1 µs to 1 hour).</summary>
internal static class Latencies
{
    private const long Highest = 3_600_000_000;

    /// <summary>A histogram for one connection (recording is not thread-safe; merged at the end with <c>Add</c>).</summary>
    public static LongHistogram New() => new(Highest, 3);

    /// <summary>Records a latency, clamped into the trackable range.</summary>
    public static void Record(LongHistogram histogram, long micros) => histogram.RecordValue(Math.Clamp(micros, 0, Highest));
}
