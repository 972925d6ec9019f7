using System.Text.Json;
using Acd.Host.Tests.Support;

namespace Acd.Host.Tests.Operations;

/// <summary>The daemon as operators run it: a process that logs one start-up line, refuses a bad configuration, stops on SIGTERM.</summary>
public sealed class ProcessTests
{
    [Theory]
    [InlineData("""{ "Acd": { "Skills": [ { "Name": "general", "Strategy": "fastest" } ] } }""", "Acd:Skills:0:Strategy", "fastest")]
    [InlineData("""{ "Acd": { "Skills": [ { "Name": "general", "Overflow": [ { "AfterSeconds": 5, "Skill": "genral" } ] } ] } }""", "Acd:Skills:0:Overflow:0:Skill", "genral")]
    [InlineData("""{ "Acd": { "Skills": [ { "Name": "general" } ], "Listen": { "Sip": "not-an-address" } } }""", "Acd:Listen:Sip", "not-an-address")]
    [InlineData("""{ "Acd": { "Skills": [ { "Name": "general" } ], "Sip": { "MaxHeaders": 2 } } }""", "Acd:Sip:MaxHeaders", "2")]
    [InlineData("""{ "Acd": { "Skills": [ { "Name": "general" } ], "RingTimeoutSeconds": "soon" } }""", "Acd:RingTimeoutSeconds", "soon")]
    public async Task A_bad_configuration_stops_the_start_with_a_non_zero_exit_naming_the_key(string json, string key, string detail)
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("acd-bad-").FullName, "bad.json");
        await File.WriteAllTextAsync(file, json);
        // No listen switches: they would override the file (a bad configuration stops before anything is bound).
        await using var daemon = DaemonProcess.Start("--config", file);
        var exit = await daemon.WaitForExitAsync();
        Assert.Equal(2, exit);
        Assert.Contains(key, daemon.Output, StringComparison.Ordinal);
        Assert.Contains(detail, daemon.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_configuration_file_is_an_error_too()
    {
        await using var daemon = DaemonProcess.Start("--config", "/nonexistent/centre.json");
        Assert.Equal(2, await daemon.WaitForExitAsync());
        Assert.Contains("/nonexistent/centre.json", daemon.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task One_line_at_start_names_every_listening_address_and_the_roster_and_sigterm_stops_cleanly()
    {
        await using var daemon = DaemonProcess.Start("--sip", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--data", Directory.CreateTempSubdirectory("acd-data-").FullName);
        var line = await daemon.WaitListeningAsync();
        Assert.NotNull(daemon.Sip);
        Assert.NotNull(daemon.Grpc);
        Assert.NotNull(daemon.Http);
        Assert.NotEqual(0, daemon.Sip!.Port);
        Assert.Contains("domains 10086 (6 skills: general/complaint/data/english/vip/repeat; 225 agents: 218 ready, 7 standby, 0 logged out)", line, StringComparison.Ordinal);
        Assert.Contains(daemon.Lines, l => l.Contains("warn", StringComparison.Ordinal) && l.Contains("embedded demo centre", StringComparison.Ordinal));

        daemon.Terminate();
        Assert.Equal(0, await daemon.WaitForExitAsync(30));
    }

    [Fact]
    public async Task A_surge_tier_change_is_a_warning_line_in_the_log()
    {
        await using var daemon = DaemonProcess.Start("--sip", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--data", Directory.CreateTempSubdirectory("acd-data-").FullName);
        await daemon.WaitListeningAsync();
        using var grpc = new GrpcTestClient(daemon.Grpc!);
        var status = await GrpcTestClient.Try(grpc.Surge.ForceTierAsync(new Acd.Api.V1.ForceTierRequest { Tier = 2, DurationSeconds = 60, Reason = "typhoon drill" }));
        Assert.Equal(2, status.Ok.Tier);
        await Eventually.TrueAsync(() => daemon.Lines.Any(l => l.Contains("Surge tier of 10086/(domain): 0 -> 2 (forced: True; forced: typhoon drill)", StringComparison.Ordinal)), "the surge warning line");

        var lines = daemon.Lines.ToList();
        var at = lines.FindIndex(l => l.Contains("Surge tier of 10086/(domain): 0 -> 2", StringComparison.Ordinal));
        Assert.True(at > 0, daemon.Output);
        Assert.Contains("warn", lines[at - 1] + lines[at], StringComparison.Ordinal);
        daemon.Terminate();
        Assert.Equal(0, await daemon.WaitForExitAsync(30));
    }

    [Fact]
    public async Task The_json_console_log_is_one_json_object_per_line()
    {
        await using var daemon = DaemonProcess.Start("--sip", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--log-format", "json", "--data", Directory.CreateTempSubdirectory("acd-data-").FullName);
        var line = await daemon.WaitListeningAsync();
        using var json = JsonDocument.Parse(line);
        Assert.Equal("Information", json.RootElement.GetProperty("LogLevel").GetString());
        Assert.StartsWith("ACD listening on sip 127.0.0.1:", json.RootElement.GetProperty("Message").GetString(), StringComparison.Ordinal);
        daemon.Terminate();
        await daemon.WaitForExitAsync(30);
    }
}
