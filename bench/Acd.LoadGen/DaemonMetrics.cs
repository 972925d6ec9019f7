using System.Globalization;

namespace Acd.LoadGen;

/// <summary>Reads the daemon's own figures from its Prometheus endpoint: CPU seconds, resident memory, counters.</summary>
internal sealed class DaemonMetrics(string? endpoint) : IDisposable
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public bool Available => endpoint is not null;

    /// <summary>Every sample of the scrape, by its full series name (name and labels as written).</summary>
    public async Task<Dictionary<string, double>> ScrapeAsync(CancellationToken cancelled)
    {
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        if (endpoint is null)
        {
            return samples;
        }

        var text = await _http.GetStringAsync(new Uri($"http://{endpoint}/metrics"), cancelled).ConfigureAwait(false);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var space = line.LastIndexOf(' ');
            if (space > 0 && double.TryParse(line.AsSpan(space + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                samples[line[..space]] = value;
            }
        }

        return samples;
    }

    /// <summary>The sum of every series of a metric (all label sets).</summary>
    public static double Sum(Dictionary<string, double> samples, string name) =>
        samples.Where(s => string.Equals(s.Key, name, StringComparison.Ordinal) || s.Key.StartsWith(name + "{", StringComparison.Ordinal)).Sum(s => s.Value);

    public void Dispose() => _http.Dispose();
}
