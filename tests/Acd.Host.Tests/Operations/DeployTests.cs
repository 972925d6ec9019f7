using System.Text.Json;
using System.Text.RegularExpressions;
using Acd.Host.Tests.Support;

namespace Acd.Host.Tests.Operations;

/// <summary>The deploy/ files: rules that promtool accepts, and no dashboard or rule querying a metric the daemon does not export.</summary>
public sealed partial class DeployTests
{
    private static string Deploy(string path) => Path.Combine(AppContext.BaseDirectory, "deploy", path);

    [Fact]
    public async Task Promtool_accepts_the_alert_rules_and_the_prometheus_configuration()
    {
        var (exit, output) = await MetricsTests.RunWithInputAsync("promtool", string.Empty, "check", "rules", Deploy("prometheus/acd-alerts.yml"));
        Assert.True(exit == 0, output);
        Assert.Contains("SUCCESS: 9 rules found", output, StringComparison.Ordinal);
        var (configExit, configOutput) = await MetricsTests.RunWithInputAsync("promtool", string.Empty, "check", "config", Deploy("prometheus/prometheus.yml"));
        Assert.True(configExit == 0, configOutput);
    }

    [Fact]
    public async Task Every_metric_the_dashboard_and_the_rules_use_is_exported()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre());
        using var http = new HttpClient();
        var exported = new Exposition(await http.GetStringAsync(new Uri($"http://{d.Http}/metrics"))).Names();
        exported.Add("up"); // Prometheus's own, per target

        var expressions = new List<string>();
        using (var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Deploy("grafana/acd-dashboard.json"))))
        {
            foreach (var panel in dashboard.RootElement.GetProperty("panels").EnumerateArray())
            {
                expressions.AddRange(panel.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("expr").GetString()!));
            }

            var variable = dashboard.RootElement.GetProperty("templating").GetProperty("list")[1].GetProperty("query").GetString()!;
            expressions.Add(variable);
        }

        expressions.AddRange(RuleExpression().Matches(await File.ReadAllTextAsync(Deploy("prometheus/acd-alerts.yml"))).Select(m => m.Groups[1].Value));
        Assert.True(expressions.Count >= 20, $"only {expressions.Count} expressions found");

        var used = expressions.SelectMany(e => MetricName().Matches(e).Select(m => m.Value)).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("acd_calls_waiting", used);
        Assert.Empty(used.Where(name => !exported.Contains(name)).Order(StringComparer.Ordinal));
    }

    [GeneratedRegex(@"expr:\s*(.+)")]
    private static partial Regex RuleExpression();

    [GeneratedRegex(@"\b(?:acd|process|dotnet)_[a-z0-9_]+\b|\bup\b")]
    private static partial Regex MetricName();
}
