using System.Diagnostics;
using System.Net;
using Acd.Api.V1;
using Acd.Host.Tests.Support;
using Microsoft.Playwright;
using Xunit.Abstractions;
using SipText = Acd.Host.Tests.Support.Sip;

namespace Acd.Host.Tests.Wallboard;

/// <summary>
/// The wallboard in a real browser: Microsoft.Playwright driving Debian's Chromium against the daemon as a process;
/// calls offered over SIP, agents and surge tiers changed over gRPC. Screenshots go to the test output directory
/// (wallboard-*.png).
/// </summary>
public sealed class WallboardTests(ITestOutputHelper output)
{
    private static async Task<(IPlaywright Playwright, IBrowser Browser)> BrowserAsync()
    {
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = "/usr/bin/chromium", Headless = true, Args = ["--no-sandbox"] });
        return (playwright, browser);
    }

    private static async Task<(DaemonProcess Daemon, string Directory)> StartAsync(string? directory = null, params string[] extra) =>
        await StartWithSeatsAsync(directory, ", { \"Name\": \"vip\" }", extra);

    private static async Task<(DaemonProcess Daemon, string Directory)> StartWithSeatsAsync(string? directory, string extraSkills, params string[] extra)
    {
        directory ??= System.IO.Directory.CreateTempSubdirectory("acd-wallboard-").FullName;
        var config = Path.Combine(directory, "centre.json");
        if (!File.Exists(config))
        {
            await File.WriteAllTextAsync(config, TestDaemon.Centre(agents: 4, state: "not-ready", extraSkills: extraSkills));
        }

        var daemon = DaemonProcess.Start([
            "--config", config, "--data", Path.Combine(directory, "data"), "--sip", "127.0.0.1:0", "--grpc", "127.0.0.1:0",
            "--http", extra.Length > 0 && extra[0].StartsWith("127.", StringComparison.Ordinal) ? extra[0] : "127.0.0.1:0", .. extra.Skip(extra.Length > 0 && extra[0].StartsWith("127.", StringComparison.Ordinal) ? 1 : 0)]);
        await daemon.WaitListeningAsync();
        return (daemon, directory);
    }

    private static string Shot(string name) => Path.Combine(AppContext.BaseDirectory, $"wallboard-{name}.png");

    [Fact]
    public async Task The_wallboard_shows_waiting_calls_agents_and_surge_tiers_live_in_chinese_and_english()
    {
        var (daemon, directory) = await StartAsync();
        await using var daemonLease = daemon;
        var (playwright, browser) = await BrowserAsync();
        using var __ = playwright;
        await using var ___ = browser;
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1920, Height = 1080 } });
        var errors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") errors.Add(m.Text); };
        page.PageError += (_, e) => errors.Add(e);

        // "/" leads to the page; Chinese by default; live.
        await page.GotoAsync($"http://{daemon.Http}/");
        Assert.EndsWith("/wallboard", page.Url, StringComparison.Ordinal);
        await Assertions.Expect(page.Locator("#status")).ToHaveAttributeAsync("data-state", "live");
        var waiting = page.Locator("tr[data-skill=general] .waiting");
        await Assertions.Expect(waiting).ToHaveTextAsync("0");
        await Assertions.Expect(page.Locator("tr[data-skill=general] .seat")).ToHaveTextAsync("普席");
        await Assertions.Expect(page.Locator("section[data-domain=test] .domain-agents [data-agents=not-ready]")).ToHaveTextAsync("4");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("calm") });

        // Callers queue over SIP (nobody is ready): the page shows each within a second of its 182.
        await using var sip = await SipTestClient.ConnectAsync(daemon.Sip!);
        for (var i = 1; i <= 3; i++)
        {
            await sip.SendAsync(SipText.Invite($"wb-{i}"));
            _ = await sip.ReadUntilAsync(182);
            var clock = Stopwatch.StartNew();
            await Assertions.Expect(waiting).ToHaveTextAsync(i.ToString(System.Globalization.CultureInfo.InvariantCulture), new LocatorAssertionsToHaveTextOptions { Timeout = 1000 });
            output.WriteLine($"waiting {i} on the page {clock.ElapsedMilliseconds} ms after the 182");
        }

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("queue") });

        // Agents logged out and in over gRPC: the agents by state follow.
        using var grpc = new GrpcTestClient(daemon.Grpc!);
        _ = (await GrpcTestClient.Try(grpc.Agents.LogoutAsync(new AgentRequest { AgentId = "A0004" }))).Ok;
        await Assertions.Expect(page.Locator("section[data-domain=test] .domain-agents [data-agents=logged-out]")).ToHaveTextAsync("1", new LocatorAssertionsToHaveTextOptions { Timeout = 1000 });
        await Assertions.Expect(page.Locator("section[data-domain=test] .domain-agents [data-agents=not-ready]")).ToHaveTextAsync("3");
        _ = (await GrpcTestClient.Try(grpc.Agents.LoginAsync(new LoginRequest { AgentId = "A0004", InitialState = Acd.Api.V1.AgentState.NotReady }))).Ok;
        await Assertions.Expect(page.Locator("section[data-domain=test] .domain-agents [data-agents=logged-out]")).ToHaveTextAsync("0", new LocatorAssertionsToHaveTextOptions { Timeout = 1000 });
        await Assertions.Expect(page.Locator("section[data-domain=test] .domain-agents [data-agents=not-ready]")).ToHaveTextAsync("4");

        // A surge tier forced: large, red, with its reason.
        _ = (await GrpcTestClient.Try(grpc.Surge.ForceTierAsync(new ForceTierRequest { Tier = 3, DurationSeconds = 600, Reason = "typhoon drill" }))).Ok;
        var tier = page.Locator("section[data-domain=test] .domain-tier");
        await Assertions.Expect(tier).ToHaveAttributeAsync("data-tier", "3", new LocatorAssertionsToHaveAttributeOptions { Timeout = 1000 });
        await Assertions.Expect(tier).ToContainTextAsync("3级预警");
        await Assertions.Expect(page.Locator("section[data-domain=test] .tier-why")).ToContainTextAsync("typhoon drill");
        await Assertions.Expect(page.Locator("tr[data-skill=vip] .seat-tier .tier")).ToHaveAttributeAsync("data-tier", "3");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("tier3") });

        // English at a click, and the CJK glyphs were drawn with a CJK font (not boxes): the seat names measure wider than Latin.
        await page.ClickAsync("#lang");
        await Assertions.Expect(page.Locator("#title")).ToHaveTextAsync("ACD wallboard");
        await Assertions.Expect(page.Locator("tr[data-skill=general] .seat")).ToHaveTextAsync("General");
        await Assertions.Expect(tier).ToContainTextAsync("tier 3");
        await page.ClickAsync("#lang");
        await Assertions.Expect(page.Locator("#title")).ToHaveTextAsync("ACD 大屏");
        var fonts = await page.EvaluateAsync<bool>("() => document.fonts.check('16px \"Noto Sans CJK SC\"', '普席')");
        Assert.True(fonts, "the page's CJK font is not available");

        Assert.Empty(errors);
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task The_page_shows_a_lost_connection_and_recovers_by_itself_when_the_daemon_restarts_under_it()
    {
        var http = $"127.0.0.1:{FreePorts.UdpAndTcp()}";
        var (daemon, directory) = await StartAsync(null, http);
        var (playwright, browser) = await BrowserAsync();
        using var __ = playwright;
        await using var ___ = browser;
        var page = await browser.NewPageAsync();
        await page.GotoAsync($"http://{http}/wallboard");
        var status = page.Locator("#status");
        await Assertions.Expect(status).ToHaveAttributeAsync("data-state", "live");

        // A graceful stop is not held up by the open wallboard stream.
        var stopping = Stopwatch.StartNew();
        daemon.Terminate();
        Assert.Equal(0, await daemon.WaitForExitAsync());
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(8), $"the stop took {stopping.Elapsed} with a wallboard open");
        await daemon.DisposeAsync();
        await Assertions.Expect(status).ToHaveAttributeAsync("data-state", "lost", new LocatorAssertionsToHaveAttributeOptions { Timeout = 10_000 });
        await Assertions.Expect(status).ToContainTextAsync("连接中断");

        // The same daemon again (its journal kept): the page reconnects without a reload and shows the floor.
        var (again, _) = await StartAsync(directory, http);
        await using var ____ = again;
        await Assertions.Expect(status).ToHaveAttributeAsync("data-state", "live", new LocatorAssertionsToHaveAttributeOptions { Timeout = 15_000 });
        await using var sip = await SipTestClient.ConnectAsync(again.Sip!);
        await sip.SendAsync(SipText.Invite("after-restart"));
        _ = await sip.ReadUntilAsync(182);
        await Assertions.Expect(page.Locator("tr[data-skill=general] .waiting")).ToHaveTextAsync("1", new LocatorAssertionsToHaveTextOptions { Timeout = 1000 });
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task With_an_api_token_the_stream_is_refused_without_it_and_the_page_asks_for_it()
    {
        const string token = "wallboard-test-token-0123456789abcdef";
        var (daemon, directory) = await StartAsync(null, "--api-token", token);
        await using var daemonLease = daemon;
        using (var client = new HttpClient())
        {
            using var refused = await client.GetAsync(new Uri($"http://{daemon.Http}/wallboard/stream"), HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            using var wrong = new HttpRequestMessage(HttpMethod.Get, new Uri($"http://{daemon.Http}/wallboard/stream"));
            wrong.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "not-the-token");
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(wrong, HttpCompletionOption.ResponseHeadersRead)).StatusCode);
        }

        var (playwright, browser) = await BrowserAsync();
        using var __ = playwright;
        await using var ___ = browser;

        // Without the token: the page (which holds no data) loads, shows no figure and asks for the token.
        var page = await browser.NewPageAsync();
        await page.GotoAsync($"http://{daemon.Http}/wallboard");
        await Assertions.Expect(page.Locator("#login")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("tr[data-skill=general]")).ToHaveCountAsync(0);
        await page.FillAsync("#token", token);
        await page.ClickAsync("#login-ok");
        await Assertions.Expect(page.Locator("#status")).ToHaveAttributeAsync("data-state", "live");
        await Assertions.Expect(page.Locator("tr[data-skill=general] .waiting")).ToHaveTextAsync("0");

        // With the token in the URL fragment (never sent to the daemon): live at once, and the fragment is removed from the address bar.
        var second = await browser.NewPageAsync();
        await second.GotoAsync($"http://{daemon.Http}/wallboard#token={token}");
        await Assertions.Expect(second.Locator("#status")).ToHaveAttributeAsync("data-state", "live");
        Assert.DoesNotContain(token, second.Url, StringComparison.Ordinal);
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task Viewers_beyond_the_limit_are_refused_and_a_viewer_that_does_not_read_is_dropped_while_routing_goes_on()
    {
        // Forty seats: each update is some 25 KB, so a viewer that reads nothing fills its buffers within seconds.
        var seats = string.Concat(Enumerable.Range(1, 39).Select(i => $", {{ \"Name\": \"seat{i}\" }}"));
        var (daemon, directory) = await StartWithSeatsAsync(null, seats, "--Acd:Http:Wallboard:MaxViewers=2", "--Acd:Http:Wallboard:WriteTimeoutSeconds=1", "--Acd:Http:Wallboard:RefreshMilliseconds=50");
        await using var daemonLease = daemon;
        using var client = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        using var first = await client.GetAsync(new Uri($"http://{daemon.Http}/wallboard/stream"), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", first.Content.Headers.ContentType?.MediaType);
        using var firstBody = await first.Content.ReadAsStreamAsync();
        using var reader = new StreamReader(firstBody);
        var line = await reader.ReadLineAsync();
        Assert.StartsWith("data: {\"at\":", line, StringComparison.Ordinal);

        // It goes on reading everything, in the background.
        var received = 0;
        using var stopReading = new CancellationTokenSource();
        var reading = Task.Run(async () =>
        {
            while (await reader.ReadLineAsync(stopReading.Token) is { } l)
            {
                if (l.StartsWith("data:", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref received);
                }
            }
        });

        // A second viewer that never reads, over a raw socket with a tiny receive buffer.
        using var stalled = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { ReceiveBufferSize = 1024 };
        await stalled.ConnectAsync(daemon.Http!);
        await stalled.SendAsync(System.Text.Encoding.ASCII.GetBytes($"GET /wallboard/stream HTTP/1.1\r\nHost: {daemon.Http}\r\n\r\n"));

        // The third is over the limit.
        await Eventually.TrueAsync(async () =>
        {
            using var third = await client.GetAsync(new Uri($"http://{daemon.Http}/wallboard/stream"), HttpCompletionOption.ResponseHeadersRead);
            return third.StatusCode == HttpStatusCode.ServiceUnavailable;
        }, "a third viewer refused");

        // Calls keep changing the floor (each a large update) while the stalled viewer reads nothing: it is dropped —
        // by the wallboard's write deadline, or by Kestrel's minimum response data rate, whichever comes first — and
        // routing does not wait for it. The open streams fall back to the one reader.
        Assert.Equal(2, await daemon.MetricAsync("acd_wallboard_viewers"));
        await using var sip = await SipTestClient.ConnectAsync(daemon.Sip!);
        var clock = Stopwatch.StartNew();
        var viewers = 2.0;
        for (var i = 0; i < 2000 && clock.Elapsed < TimeSpan.FromSeconds(60) && viewers > 1; i++)
        {
            await sip.SendAsync(SipText.Invite($"flood-{i}"));
            _ = await sip.ReadUntilAsync(182);
            await Task.Delay(20);
            if (i % 10 == 9)
            {
                viewers = await daemon.MetricAsync("acd_wallboard_viewers");
            }
        }

        Assert.True(viewers == 1, $"the stalled viewer still open after {clock.Elapsed}\n{daemon.Output}");
        output.WriteLine($"the stalled viewer dropped after {clock.Elapsed.TotalSeconds:0.0} s ({(daemon.Output.Contains("was dropped", StringComparison.Ordinal) ? "write deadline" : "Kestrel's minimum data rate")})");

        // The reading viewer was not dropped and still gets updates.
        var seen = Volatile.Read(ref received);
        await sip.SendAsync(SipText.Invite("after-the-drop"));
        _ = await sip.ReadUntilAsync(182);
        await Eventually.TrueAsync(() => Task.FromResult(Volatile.Read(ref received) > seen), "the reading viewer updated after the drop");
        Assert.Equal(1, await daemon.MetricAsync("acd_wallboard_viewers"));
        await stopReading.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading);
        Directory.Delete(directory, recursive: true);
    }
}
