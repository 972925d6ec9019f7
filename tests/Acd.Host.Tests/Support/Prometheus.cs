using System.Globalization;
using System.Text.RegularExpressions;

namespace Acd.Host.Tests.Support;

/// <summary>A parsed Prometheus text exposition.</summary>
public sealed partial class Exposition
{
    public Exposition(string text)
    {
        Text = text;
        foreach (var line in text.Split('\n'))
        {
            var type = TypeLine().Match(line);
            if (type.Success)
            {
                Types[type.Groups[1].Value] = type.Groups[2].Value;
                continue;
            }

            var sample = SampleLine().Match(line);
            if (sample.Success)
            {
                Samples.Add((sample.Groups["name"].Value, sample.Groups["labels"].Value, double.Parse(sample.Groups["value"].Value.Replace("+Inf", "Infinity", StringComparison.Ordinal), CultureInfo.InvariantCulture)));
            }
        }
    }

    public string Text { get; }

    /// <summary>Scrapes a daemon's /metrics (no token).</summary>
    public static async Task<Exposition> ScrapeAsync(System.Net.IPEndPoint http)
    {
        using var client = new HttpClient();
        return new Exposition(await client.GetStringAsync(new Uri($"http://{http}/metrics")));
    }

    public Dictionary<string, string> Types { get; } = new(StringComparer.Ordinal);

    public List<(string Name, string Labels, double Value)> Samples { get; } = [];

    /// <summary>The value of the sample with this name whose labels include all of <paramref name="labels"/>; summed when several match.</summary>
    public double Value(string name, params string[] labels) =>
        Samples.Where(s => s.Name == name && labels.All(l => s.Labels.Contains(l, StringComparison.Ordinal))).Sum(s => s.Value);

    /// <summary>Every name a query could use: families, and the _bucket/_sum/_count series of histograms.</summary>
    public ISet<string> Names()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, type) in Types)
        {
            names.Add(name);
            if (type == "histogram")
            {
                names.Add(name + "_bucket");
                names.Add(name + "_sum");
                names.Add(name + "_count");
            }
        }

        return names;
    }

    [GeneratedRegex(@"^# TYPE (\S+) (\S+)$")]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?<labels>[^}]*)\})? (?<value>\S+)$")]
    private static partial Regex SampleLine();
}
