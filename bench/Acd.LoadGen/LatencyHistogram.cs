namespace Acd.LoadGen;

/// <summary>
/// Latencies in microseconds, log-linear buckets (64 sub-buckets per power of two: at most 1.6 % error), from 1 µs
/// to about 2^36 µs. Recording is one increment; not thread-safe (one per connection, merged at the end).
/// </summary>
internal sealed class LatencyHistogram
{
    private const int SubBits = 6;
    private const int Sub = 1 << SubBits;
    private readonly long[] _counts = new long[(37 - SubBits) * Sub + Sub];

    public long Count { get; private set; }

    public long MaxMicros { get; private set; }

    public void Record(long micros)
    {
        micros = Math.Max(0, micros);
        _counts[Index(micros)]++;
        Count++;
        MaxMicros = Math.Max(MaxMicros, micros);
    }

    public void Add(LatencyHistogram other)
    {
        for (var i = 0; i < _counts.Length; i++)
        {
            _counts[i] += other._counts[i];
        }

        Count += other.Count;
        MaxMicros = Math.Max(MaxMicros, other.MaxMicros);
    }

    /// <summary>The value at or below which <paramref name="percentile"/> % of the recordings lie (the bucket's upper bound).</summary>
    public long Percentile(double percentile)
    {
        if (Count == 0)
        {
            return 0;
        }

        var rank = (long)Math.Ceiling(percentile / 100.0 * Count);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank && _counts[i] > 0)
            {
                return Math.Min(UpperBound(i), MaxMicros);
            }
        }

        return MaxMicros;
    }

    internal static int Index(long v)
    {
        if (v < Sub)
        {
            return (int)v;
        }

        var exponent = 63 - (int)long.LeadingZeroCount(v) - SubBits; // ≥ 0
        var mantissa = (int)(v >> exponent) - Sub;               // 0 … Sub-1
        return Math.Min(((exponent + 1) * Sub) + mantissa, (37 - SubBits) * Sub + Sub - 1);
    }

    internal static long UpperBound(int index)
    {
        if (index < Sub)
        {
            return index;
        }

        var exponent = (index / Sub) - 1;
        var mantissa = index % Sub;
        return ((long)(Sub + mantissa + 1) << exponent) - 1;
    }
}
