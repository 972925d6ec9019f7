using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Acd.Host.Metrics;

/// <summary>
/// The Prometheus text exposition format (0.0.4) over System.Diagnostics.Metrics: a MeterListener aggregates the
/// measurements of the meters it is told to (counters as sums, up-down counters as sums, gauges as last values,
/// histograms as cumulative buckets ending in +Inf with _sum and _count), and <see cref="Write"/> renders them with
/// HELP and TYPE lines and escaped labels. Instrument names are used as given when they are Prometheus names already
/// (acd_*); dotted OpenTelemetry names (the runtime's) are converted: dots to underscores, the unit as a suffix,
/// _total on counters.
/// </summary>
public sealed class PrometheusExporter : IDisposable
{
    /// <summary>The content type of the exposition.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static readonly double[] DefaultBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>
    /// Runtime instruments whose declared kind or name does not fit Prometheus: the runtime declares thread count and
    /// queue length as counters though they go down, and "_count" names read as histogram parts to promtool.
    /// </summary>
    private static readonly Dictionary<string, (string Name, bool Gauge)> Overrides = new(StringComparer.Ordinal)
    {
        ["dotnet.thread_pool.thread.count"] = ("dotnet_thread_pool_threads", true),
        ["dotnet.thread_pool.queue.length"] = ("dotnet_thread_pool_queue_length", true),
        ["dotnet.timer.count"] = ("dotnet_timers", true),
        ["dotnet.assembly.count"] = ("dotnet_assemblies", true),
        ["dotnet.process.cpu.count"] = ("dotnet_process_cpus", true),
    };
    private readonly MeterListener _listener = new();
    private readonly Lock _gate = new();
    private readonly List<Family> _families = [];
    private readonly Func<Meter, bool> _include;

    /// <summary>Listens to every meter <paramref name="include"/> accepts.</summary>
    public PrometheusExporter(Func<Meter, bool> include)
    {
        _include = include;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (_include(instrument.Meter))
            {
                var family = new Family(instrument);
                lock (_gate)
                {
                    _families.Add(family);
                }

                listener.EnableMeasurementEvents(instrument, family);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, value, tags, state) => ((Family)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>((i, value, tags, state) => ((Family)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>((i, value, tags, state) => ((Family)state!).Record(value, tags));
        _listener.MeasurementsCompleted = (instrument, state) =>
        {
            lock (_gate)
            {
                _families.Remove((Family)state!);
            }
        };
        _listener.Start();
    }

    /// <summary>Writes every metric: observable instruments are read now.</summary>
    public void Write(StringBuilder output)
    {
        ArgumentNullException.ThrowIfNull(output);
        Family[] families;
        lock (_gate)
        {
            foreach (var f in _families)
            {
                f.ResetObservations();
            }

            families = [.. _families];
        }

        _listener.RecordObservableInstruments();
        foreach (var family in families.OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            family.Write(output);
        }
    }

    /// <summary>The exposition as a string.</summary>
    public string Scrape()
    {
        var output = new StringBuilder(16 * 1024);
        Write(output);
        return output.ToString();
    }

    /// <inheritdoc/>
    public void Dispose() => _listener.Dispose();

    /// <summary>A Prometheus metric name for an instrument name, unit and kind.</summary>
    public static string MetricName(string instrument, string? unit, bool counter)
    {
        ArgumentNullException.ThrowIfNull(instrument);
        if (instrument.StartsWith("acd_", StringComparison.Ordinal) || instrument.StartsWith("process_", StringComparison.Ordinal))
        {
            return instrument;
        }

        var name = new StringBuilder(instrument.Length + 16);
        foreach (var c in instrument)
        {
            name.Append(char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '_');
        }

        var suffix = unit switch
        {
            "s" => "_seconds",
            "By" => "_bytes",
            _ => string.Empty,
        };
        if (suffix.Length > 0 && !name.ToString().EndsWith(suffix, StringComparison.Ordinal))
        {
            name.Append(suffix);
        }

        if (counter)
        {
            name.Append("_total");
        }

        return name.ToString();
    }

    /// <summary>Escapes a label value: backslash, double quote, newline.</summary>
    public static string EscapeLabel(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.AsSpan().IndexOfAny('\\', '"', '\n') < 0)
        {
            return value;
        }

        return value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
    }

    private static string EscapeHelp(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static string Number(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    private enum Kind
    {
        Counter,
        Gauge,
        Histogram,
    }

    /// <summary>One instrument: its series (one per label set) and how they aggregate.</summary>
    private sealed class Family
    {
        private readonly Instrument _instrument;
        private readonly Kind _kind;
        private readonly bool _observable;
        private readonly double[] _buckets;
        private readonly Lock _gate = new();
        private readonly List<Series> _series = [];

        public Family(Instrument instrument)
        {
            _instrument = instrument;
            var type = instrument.GetType();
            var generic = type.IsGenericType ? type.GetGenericTypeDefinition() : type;
            _observable = instrument.IsObservable;
            _kind = generic == typeof(Counter<>) || generic == typeof(ObservableCounter<>) ? Kind.Counter
                : generic == typeof(Histogram<>) ? Kind.Histogram
                : Kind.Gauge;
            if (Overrides.TryGetValue(instrument.Name, out var over))
            {
                _kind = over.Gauge ? Kind.Gauge : _kind;
                Name = over.Name;
            }
            else
            {
                Name = MetricName(instrument.Name, instrument.Unit, _kind == Kind.Counter);
                if (_kind == Kind.Gauge && Name.EndsWith("_count", StringComparison.Ordinal))
                {
                    Name += "_number";
                }
            }
            _buckets = _kind == Kind.Histogram ? BucketsOf(instrument) : [];
        }

        public string Name { get; }

        public void ResetObservations()
        {
            if (_observable)
            {
                lock (_gate)
                {
                    _series.Clear();
                }
            }
        }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            lock (_gate)
            {
                var series = Find(tags);
                switch (_kind)
                {
                    case Kind.Counter when _observable:
                    case Kind.Gauge when _observable || _instrument is Gauge<double> or Gauge<long> or Gauge<int>:
                        series.Value = value;
                        break;
                    case Kind.Counter:
                    case Kind.Gauge:
                        series.Value += value;
                        break;
                    case Kind.Histogram:
                        series.Count++;
                        series.Value += value;
                        var i = Array.BinarySearch(_buckets, value);
                        series.Buckets![i >= 0 ? i : ~i]++;
                        break;
                }
            }
        }

        public void Write(StringBuilder o)
        {
            lock (_gate)
            {
                o.Append("# HELP ").Append(Name).Append(' ').Append(EscapeHelp(_instrument.Description ?? Name)).Append('\n');
                o.Append("# TYPE ").Append(Name).Append(' ').Append(_kind switch { Kind.Counter => "counter", Kind.Histogram => "histogram", _ => "gauge" }).Append('\n');
                foreach (var s in _series)
                {
                    if (_kind != Kind.Histogram)
                    {
                        o.Append(Name);
                        Labels(o, s.Labels, null);
                        o.Append(' ').Append(Number(s.Value)).Append('\n');
                        continue;
                    }

                    long cumulative = 0;
                    for (var b = 0; b < _buckets.Length; b++)
                    {
                        cumulative += s.Buckets![b];
                        o.Append(Name).Append("_bucket");
                        Labels(o, s.Labels, Number(_buckets[b]));
                        o.Append(' ').Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
                    }

                    cumulative += s.Buckets![_buckets.Length];
                    o.Append(Name).Append("_bucket");
                    Labels(o, s.Labels, "+Inf");
                    o.Append(' ').Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
                    o.Append(Name).Append("_sum");
                    Labels(o, s.Labels, null);
                    o.Append(' ').Append(Number(s.Value)).Append('\n');
                    o.Append(Name).Append("_count");
                    Labels(o, s.Labels, null);
                    o.Append(' ').Append(s.Count.ToString(CultureInfo.InvariantCulture)).Append('\n');
                }
            }
        }

        private static void Labels(StringBuilder o, KeyValuePair<string, string>[] labels, string? le)
        {
            if (labels.Length == 0 && le is null)
            {
                return;
            }

            o.Append('{');
            var first = true;
            foreach (var (key, value) in labels)
            {
                if (!first)
                {
                    o.Append(',');
                }

                first = false;
                o.Append(key).Append("=\"").Append(EscapeLabel(value)).Append('"');
            }

            if (le is not null)
            {
                o.Append(first ? string.Empty : ",").Append("le=\"").Append(le).Append('"');
            }

            o.Append('}');
        }

        private static double[] BucketsOf(Instrument instrument) => instrument switch
        {
            Histogram<double> d when d.Advice?.HistogramBucketBoundaries is { } b => [.. b],
            Histogram<long> l when l.Advice?.HistogramBucketBoundaries is { } b => [.. b.Select(x => (double)x)],
            _ => DefaultBuckets,
        };

        /// <summary>The series of a label set (linear: label sets per instrument are few).</summary>
        private Series Find(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (var s in _series)
            {
                if (s.Matches(tags))
                {
                    return s;
                }
            }

            var labels = new KeyValuePair<string, string>[tags.Length];
            for (var i = 0; i < tags.Length; i++)
            {
                labels[i] = new(LabelName(tags[i].Key), Convert.ToString(tags[i].Value, CultureInfo.InvariantCulture) ?? string.Empty);
            }

            Array.Sort(labels, (a, b) => string.CompareOrdinal(a.Key, b.Key));
            var created = new Series(tags.ToArray(), labels, _kind == Kind.Histogram ? new long[_buckets.Length + 1] : null);
            _series.Add(created);
            return created;
        }

        private static string LabelName(string key)
        {
            var name = new StringBuilder(key.Length);
            foreach (var c in key)
            {
                name.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
            }

            return name.ToString();
        }
    }

    private sealed class Series(KeyValuePair<string, object?>[] tags, KeyValuePair<string, string>[] labels, long[]? buckets)
    {
        public KeyValuePair<string, string>[] Labels { get; } = labels;

        public long[]? Buckets { get; } = buckets;

        public double Value { get; set; }

        public long Count { get; set; }

        public bool Matches(ReadOnlySpan<KeyValuePair<string, object?>> other)
        {
            if (other.Length != tags.Length)
            {
                return false;
            }

            for (var i = 0; i < other.Length; i++)
            {
                if (!string.Equals(other[i].Key, tags[i].Key, StringComparison.Ordinal) || !Equals(other[i].Value, tags[i].Value))
                {
                    return false;
                }
            }

            return true;
        }
    }
}
