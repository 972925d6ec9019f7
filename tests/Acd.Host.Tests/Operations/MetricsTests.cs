using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Acd.Api.V1;
using Acd.Host.Tests.Support;
using SipText = Acd.Host.Tests.Support.Sip;

namespace Acd.Host.Tests.Operations;

/// <summary>/metrics: exact counters after known traffic, valid for promtool, histograms well formed, read by a real Prometheus.</summary>
public sealed partial class MetricsTests
{
    private const string CentreWithEnglish = """
        { "Acd": { "Name": "ops",
          "Repeat": { "Enabled": false }, "Ownership": { "Enabled": false },
          "Skills": [ { "Name": "general", "WrapUpSeconds": 0 }, { "Name": "english" } ],
          "Agents": [
            { "Id": "A1", "Skills": { "general": 5 }, "InitialState": "ready" },
            { "Id": "A2", "Skills": { "general": 5 }, "InitialState": "ready" },
            { "Id": "A3", "Skills": { "general": 5 }, "InitialState": "ready" },
            { "Id": "E1", "Skills": { "english": 9 } } ] } }
        """;

    /// <summary>
    /// Known traffic over SIP and gRPC: 8 general offers (7 routed, 1 abandoned at once), 2 english rejections (the SIP one
    /// owes its caller a callback; the gRPC one has no caller number).
    /// </summary>
    private static async Task<SipTestClient> DriveAsync(TestDaemon d)
    {
        var sip = await SipTestClient.ConnectAsync(d.Sip!);
        using var grpc = new GrpcTestClient(d.Grpc!);
        foreach (var id in new[] { "s1", "s2", "s3" })
        {
            await sip.SendAsync(SipText.Invite(id));
            await sip.ReadUntilAsync(302);
            await sip.SendAsync(SipText.Request("BYE", id, cseq: 2));
            Assert.Equal(200, (await sip.ReadAsync()).Status);
        }

        Assert.Equal(OfferResponse.Types.Outcome.Routed, (await GrpcTestClient.Try(grpc.Calls.OfferAsync(new OfferRequest { CallId = "g1" }))).Ok.Outcome);
        (await GrpcTestClient.Try(grpc.Calls.AnsweredAsync(new CallRequest { CallId = "g1" }))).Ok.ToString();
        (await GrpcTestClient.Try(grpc.Calls.EndAsync(new CallRequest { CallId = "g1" }))).Ok.ToString();
        Assert.Equal(OfferResponse.Types.Outcome.Routed, (await GrpcTestClient.Try(grpc.Calls.OfferAsync(new OfferRequest { CallId = "g2" }))).Ok.Outcome);

        await sip.SendAsync(SipText.Invite("s4") + SipText.Invite("s5"));
        await sip.ReadUntilAsync(302);
        await sip.ReadUntilAsync(302);
        await sip.SendAsync(SipText.Invite("s6"));
        await sip.ReadUntilAsync(182);
        await sip.SendAsync(SipText.Request("CANCEL", "s6"));
        await sip.ReadUntilAsync(487);
        await sip.SendAsync(SipText.Invite("s7", "X-Acd-Skill: english\r\n"));
        await sip.ReadUntilAsync(480);
        Assert.Equal(OfferResponse.Types.Outcome.Rejected, (await GrpcTestClient.Try(grpc.Calls.OfferAsync(new OfferRequest { CallId = "g3", Skill = "english" }))).Ok.Outcome);
        return sip;
    }

    private static async Task<string> ScrapeAsync(TestDaemon d)
    {
        using var http = new HttpClient();
        var response = await http.GetAsync(new Uri($"http://{d.Http}/metrics"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
        return await response.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task After_known_traffic_the_counters_are_exact_and_promtool_finds_nothing_wrong()
    {
        await using var d = await TestDaemon.StartAsync(CentreWithEnglish);
        await using var sip = await DriveAsync(d);
        var text = await ScrapeAsync(d);

        var (exit, output) = await RunWithInputAsync("promtool", text, "check", "metrics");
        Assert.True(exit == 0 && output.Trim().Length == 0, $"promtool: exit {exit}\n{output}");

        var m = new Exposition(text);
        const string G = "skill=\"general\"";
        const string E = "skill=\"english\"";
        Assert.Equal(8, m.Value("acd_calls_offered_total", G));
        Assert.Equal(2, m.Value("acd_calls_offered_total", E));
        Assert.Equal(7, m.Value("acd_calls_routed_total", G));
        Assert.Equal(4, m.Value("acd_calls_answered_total", G)); // three SIP calls confirmed by BYE, one gRPC Answered
        Assert.Equal(4, m.Value("acd_calls_ended_total", G));
        Assert.Equal(1, m.Value("acd_calls_abandoned_total", G, "reason=\"caller\""));
        Assert.Equal(0, m.Value("acd_calls_abandoned_total", G, "reason=\"disconnected\""));
        Assert.Equal(2, m.Value("acd_calls_rejected_total", E, "reason=\"no-agents\""));
        Assert.Equal(0, m.Value("acd_calls_waiting", G));
        Assert.Equal(1, m.Value("acd_agents", "state=\"reserved\""));
        Assert.Equal(2, m.Value("acd_agents", "state=\"talking\""));
        Assert.Equal(1, m.Value("acd_agents", "state=\"logged-out\""));
        Assert.Equal(7, m.Value("acd_sip_messages_total", "method=\"INVITE\""));
        Assert.Equal(3, m.Value("acd_sip_messages_total", "method=\"BYE\""));
        Assert.Equal(1, m.Value("acd_sip_messages_total", "method=\"CANCEL\""));
        Assert.Equal(7, m.Value("acd_sip_responses_total", "code=\"100\""));
        Assert.Equal(5, m.Value("acd_sip_responses_total", "code=\"302\""));
        Assert.Equal(4, m.Value("acd_sip_responses_total", "code=\"200\""));
        Assert.Equal(1, m.Value("acd_sip_responses_total", "code=\"182\""));
        Assert.Contains("acd_memory_compactions_total", m.Names());
        Assert.Equal(0, m.Value("acd_memory_compactions_total")); // off in test daemons (TestDaemon), which share one process's heap
        Assert.Equal(1, m.Value("acd_sip_responses_total", "code=\"487\""));
        Assert.Equal(1, m.Value("acd_sip_responses_total", "code=\"480\""));
        Assert.Equal(1, m.Value("acd_sip_connections"));
        Assert.Equal(3, m.Value("acd_grpc_requests_total", "method=\"/acd.v1.CallService/Offer\"", "code=\"OK\""));
        Assert.Equal(1, m.Value("acd_grpc_requests_total", "method=\"/acd.v1.CallService/End\"", "code=\"OK\""));
        Assert.Equal(7, m.Value("acd_call_wait_seconds_count", G));
        Assert.Equal(10, m.Value("acd_routing_decision_seconds_count"));
        Assert.Equal(1, m.Value("acd_callbacks_created_total", E, "reason=\"rejected\""));
        Assert.Equal(0, m.Value("acd_callbacks_created_total", G, "reason=\"abandoned\""));
        Assert.Equal(1, m.Value("acd_callbacks_owed"));
        Assert.Equal(0, m.Value("acd_callback_completion_ratio"));
        Assert.Equal(0, m.Value("acd_callbacks_completed_total", E, "outcome=\"reached\""));
        Assert.Equal(0, m.Value("acd_calls_deflected_total", G));
        Assert.Equal(0, m.Value("acd_surge_tier"));
        Assert.Equal(0, m.Value("acd_skill_surge_tier", G));

        // Erlang C at the measured load: english had 2 arrivals in five minutes and no handle time yet (the default 180 s).
        Assert.Equal(Acd.Core.Statistics.ErlangC.Required(2 / 300.0, 180, 20, 0.8).Agents, m.Value("acd_required_agents", E));
        Assert.True(m.Value("acd_required_agents", G) >= 1);
        Assert.True(m.Value("process_working_set_bytes") > 10_000_000);
        Assert.True(m.Value("process_cpu_seconds_total") > 0);
        Assert.True(m.Value("dotnet_collection_count_total", "generation=\"0\"") >= 0);
        Assert.True(m.Value("dotnet_thread_pool_threads") >= 1);
        Assert.Contains("system_runtime_dotnet_gc_heap_total_allocated", m.Types.Keys);
    }

    [Fact]
    public async Task Histogram_buckets_are_cumulative_end_in_inf_and_count_equals_the_inf_bucket()
    {
        await using var d = await TestDaemon.StartAsync(CentreWithEnglish);
        await using var sip = await DriveAsync(d);
        var m = new Exposition(await ScrapeAsync(d));
        var histograms = m.Types.Where(t => t.Value == "histogram").Select(t => t.Key).ToList();
        Assert.Contains("acd_call_wait_seconds", histograms);
        Assert.Contains("acd_routing_decision_seconds", histograms);
        var checkedSeries = 0;
        foreach (var name in histograms)
        {
            foreach (var series in m.Samples.Where(s => s.Name == name + "_bucket").GroupBy(s => LeLabel().Replace(s.Labels, string.Empty)))
            {
                var buckets = series.Select(s => (Le: LeValue(s.Labels), s.Value)).ToList();
                Assert.Equal(double.PositiveInfinity, buckets[^1].Le);
                for (var i = 1; i < buckets.Count; i++)
                {
                    Assert.True(buckets[i].Le > buckets[i - 1].Le, $"{name}: bucket bounds out of order");
                    Assert.True(buckets[i].Value >= buckets[i - 1].Value, $"{name}{{{series.Key}}}: buckets not cumulative");
                }

                var count = m.Samples.Single(s => s.Name == name + "_count" && s.Labels == series.Key.Trim(','));
                Assert.Equal(buckets[^1].Value, count.Value);
                checkedSeries++;
            }
        }

        Assert.True(checkedSeries >= 2);
    }

    [Fact]
    public async Task A_real_prometheus_server_scrapes_the_daemon_and_answers_queries_about_it()
    {
        await using var d = await TestDaemon.StartAsync(CentreWithEnglish);
        await using var sip = await DriveAsync(d);
        var directory = Directory.CreateTempSubdirectory("acd-prometheus-").FullName;
        var port = FreePort();
        await File.WriteAllTextAsync(Path.Combine(directory, "prometheus.yml"), $"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: acd
                static_configs:
                  - targets: ["{d.Http}"]
            """);
        var psi = new ProcessStartInfo("prometheus") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--config.file", Path.Combine(directory, "prometheus.yml"), "--storage.tsdb.path", Path.Combine(directory, "tsdb"), "--web.listen-address", $"127.0.0.1:{port}" })
        {
            psi.ArgumentList.Add(a);
        }

        using var prometheus = Process.Start(psi)!;
        prometheus.BeginOutputReadLine();
        prometheus.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient();
            double? value = null;
            await Eventually.TrueAsync(
                async () =>
                {
                    try
                    {
                        var json = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/api/v1/query?query=sum(acd_calls_offered_total)"));
                        using var doc = JsonDocument.Parse(json);
                        var result = doc.RootElement.GetProperty("data").GetProperty("result");
                        value = result.GetArrayLength() == 1 ? double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture) : null;
                        return value is not null;
                    }
                    catch (HttpRequestException)
                    {
                        return false; // Prometheus is still starting.
                    }
                },
                "Prometheus answering with the daemon's figures",
                seconds: 60);
            Assert.Equal(10, value);
        }
        finally
        {
            prometheus.Kill(entireProcessTree: true);
            await prometheus.WaitForExitAsync();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Health_and_readiness_endpoints_answer()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre());
        using var http = new HttpClient();
        var healthz = await http.GetAsync(new Uri($"http://{d.Http}/healthz"));
        Assert.Equal((HttpStatusCode.OK, "ok\n"), (healthz.StatusCode, await healthz.Content.ReadAsStringAsync()));
        var readyz = await http.GetAsync(new Uri($"http://{d.Http}/readyz"));
        Assert.Equal((HttpStatusCode.OK, "ready\n"), (readyz.StatusCode, await readyz.Content.ReadAsStringAsync()));
    }

    internal static async Task<(int Exit, string Output)> RunWithInputAsync(string file, string input, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.StandardInput.WriteAsync(input);
        p.StandardInput.Close();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(limit.Token);
        return (p.ExitCode, await stdout + await stderr);
    }

    private static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static double LeValue(string labels)
    {
        var le = Regex.Match(labels, "le=\"([^\"]+)\"").Groups[1].Value;
        return le == "+Inf" ? double.PositiveInfinity : double.Parse(le, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(",?le=\"[^\"]*\"")]
    private static partial Regex LeLabel();
}
