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
        Assert.Contains("SUCCESS: 14 rules found", output, StringComparison.Ordinal);
        // The scrape configuration reads the API token from a file, which promtool wants to exist: a copy pointing at one.
        var directory = Directory.CreateTempSubdirectory("acd-promconfig-").FullName;
        var token = Path.Combine(directory, "acd-api-token");
        await File.WriteAllTextAsync(token, "0123456789abcdef0123");
        File.Copy(Deploy("prometheus/acd-alerts.yml"), Path.Combine(directory, "acd-alerts.yml"));
        var config = (await File.ReadAllTextAsync(Deploy("prometheus/prometheus.yml"))).Replace("/etc/prometheus/acd-api-token", token, StringComparison.Ordinal);
        Assert.Contains(token, config, StringComparison.Ordinal);
        await File.WriteAllTextAsync(Path.Combine(directory, "prometheus.yml"), config);
        var (configExit, configOutput) = await MetricsTests.RunWithInputAsync("promtool", string.Empty, "check", "config", Path.Combine(directory, "prometheus.yml"));
        Assert.True(configExit == 0, configOutput);
        Directory.Delete(directory, recursive: true);
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

    [Fact]
    public async Task The_systemd_unit_is_closed_by_default_and_takes_the_token_from_a_credential()
    {
        var unit = await File.ReadAllTextAsync(Deploy("systemd/acd.service"));
        var exec = unit.Split('\n').Single(l => l.StartsWith("ExecStart=", StringComparison.Ordinal));
        Assert.DoesNotContain("0.0.0.0", exec, StringComparison.Ordinal);
        Assert.DoesNotContain("--sip", exec, StringComparison.Ordinal); // addresses come from the operator's environment file
        Assert.DoesNotContain("--api-token ", exec, StringComparison.Ordinal);
        Assert.Contains("--api-token-file ${CREDENTIALS_DIRECTORY}/api-token", exec, StringComparison.Ordinal);
        Assert.Contains("LoadCredential=api-token:/etc/acd/api-token", unit, StringComparison.Ordinal);
        Assert.Contains("EnvironmentFile=-/etc/acd/acd.env", unit, StringComparison.Ordinal);

        // Every setting the environment file shows is one the daemon knows.
        var env = await File.ReadAllLinesAsync(Deploy("systemd/acd.env"));
        var keys = env.Where(l => l.StartsWith("#Acd__", StringComparison.Ordinal)).Select(l => l[1..l.IndexOf('=', StringComparison.Ordinal)].Replace("__", ":", StringComparison.Ordinal)).ToList();
        Assert.Contains("Acd:Sip:TrustedPeers:0", keys);
        var args = new List<string> { "--sip", "", "--grpc", "", "--http", "" };
        var pfx = Path.Combine(Directory.CreateTempSubdirectory("acd-env-").FullName, "tls.pfx");
        await TestCertificates.WritePfxAsync(pfx, null);
        foreach (var key in keys.Where(k => !k.StartsWith("Acd:Listen", StringComparison.Ordinal)))
        {
            args.Add($"--{key}={(key.EndsWith("CertificatePath", StringComparison.Ordinal) ? pfx : key.Contains("Peers", StringComparison.Ordinal) ? "10.0.0.10/32" : string.Empty)}");
        }

        var settings = Acd.Host.Configuration.ConfigLoader.Load(Microsoft.Extensions.Configuration.CommandLineConfigurationExtensions.AddCommandLine(Microsoft.Extensions.Configuration.JsonConfigurationExtensions.AddJsonStream(new Microsoft.Extensions.Configuration.ConfigurationBuilder(), Acd.Host.Configuration.ConfigLoader.OpenDemoCentre()), [.. args]).Build());
        Assert.NotNull(settings);
    }

    [GeneratedRegex(@"expr:\s*(.+)")]
    private static partial Regex RuleExpression();

    [GeneratedRegex(@"\b(?:acd|process|dotnet)_[a-z0-9_]+\b|\bup\b")]
    private static partial Regex MetricName();
}
