using System.Net;
using System.Net.Sockets;
using Acd.Api.V1;
using Acd.Host.Tests.Support;
using SipText = Acd.Host.Tests.Support.Sip;

namespace Acd.Host.Tests.Sip;

/// <summary>A waiting caller whose INVITE the proxy still holds is answered by the daemon that comes back after a crash.</summary>
public sealed class SipRestartTests
{
    [Fact]
    public async Task After_a_kill_the_restarted_daemon_answers_the_invite_the_proxy_still_holds_over_a_new_connection()
    {
        var directory = Directory.CreateTempSubdirectory("acd-restart-").FullName;
        var config = Path.Combine(directory, "centre.json");
        await File.WriteAllTextAsync(config, TestDaemon.Centre(agents: 1, state: "not-ready"));
        string[] Args() => ["--config", config, "--data", Path.Combine(directory, "data"), "--sip", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"];

        // The "proxy" listens where its Via says; its connection to the daemon dies with the daemon.
        var proxy = new TcpListener(IPAddress.Loopback, 0);
        proxy.Start();
        var port = ((IPEndPoint)proxy.LocalEndpoint).Port;
        string queuedTo;
        await using (var first = DaemonProcess.Start(Args()))
        {
            await first.WaitListeningAsync();
            await using var c = await SipTestClient.ConnectAsync(first.Sip!);
            await c.SendAsync(SipText.Invite("held").Replace("10.0.0.1:5060", $"proxy.invalid:{port}", StringComparison.Ordinal));
            queuedTo = (await c.ReadUntilAsync(182))[^1]["To"]!;
            first.KillHard();
        }

        await using var second = DaemonProcess.Start(Args());
        await second.WaitListeningAsync();
        Assert.Contains(second.Lines, l => l.Contains("1 waiting SIP calls will be answered over a new connection", StringComparison.Ordinal));

        // The call kept its place (not held for a new INVITE): when an agent frees up, the 302 reaches the proxy.
        using var grpc = new GrpcTestClient(second.Grpc!);
        var call = (await GrpcTestClient.Try(grpc.Calls.GetCallAsync(new CallRequest { CallId = "held" }))).Ok;
        Assert.Equal((CallState.Queued, false), (call.State, call.Held));
        _ = (await GrpcTestClient.Try(grpc.Agents.SetStateAsync(new SetStateRequest { AgentId = "A0001", State = Acd.Api.V1.AgentState.Ready }))).Ok;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var accepted = await proxy.AcceptTcpClientAsync(timeout.Token);
        await using var back = SipTestClient.Over(accepted);
        var redirect = await back.ReadAsync();
        Assert.Equal((302, "held", "A0001"), (redirect.Status, redirect["Call-ID"], redirect["X-Acd-Agent"]));
        Assert.Equal(queuedTo, redirect["To"]); // the same transaction: the To tag of its 182
        proxy.Stop();
        Directory.Delete(directory, recursive: true);
    }

    /// <summary>
    /// A proxy may be allowed a large header block (<c>Acd:Sip:MaxHeaderBytes</c> up to 1 MiB): a waiting call's answer
    /// route is then larger than 64 KiB, and the journal must give it back after a kill all the same.
    /// </summary>
    [Fact]
    public async Task A_waiting_call_with_a_100_kb_via_block_is_recovered_from_the_journal_and_answered()
    {
        var directory = Directory.CreateTempSubdirectory("acd-restart-").FullName;
        var config = Path.Combine(directory, "centre.json");
        await File.WriteAllTextAsync(config, TestDaemon.Centre(agents: 1, state: "not-ready"));
        string[] Args() => ["--config", config, "--data", Path.Combine(directory, "data"), "--sip", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0",
            "--Acd:Sip:MaxHeaderBytes=262144", "--Acd:Sip:MaxHeaders=128"];
        var vias = string.Concat(Enumerable.Range(0, 40).Select(i => $"Via: SIP/2.0/TCP 10.0.9.{i}:5060;branch=z9hG4bK-pad-{i}-{new string('x', 2400)}\r\n"));

        var proxy = new TcpListener(IPAddress.Loopback, 0);
        proxy.Start();
        var port = ((IPEndPoint)proxy.LocalEndpoint).Port;
        await using (var first = DaemonProcess.Start(Args()))
        {
            await first.WaitListeningAsync();
            await using var c = await SipTestClient.ConnectAsync(first.Sip!);
            await c.SendAsync(SipText.Invite("big", extra: vias).Replace("10.0.0.1:5060", $"proxy.invalid:{port}", StringComparison.Ordinal));
            Assert.Equal(42, (await c.ReadUntilAsync(182))[^1].All("Via").Count());
            first.KillHard();
        }

        await using var second = DaemonProcess.Start(Args());
        await second.WaitListeningAsync();
        using var grpc = new GrpcTestClient(second.Grpc!);
        _ = (await GrpcTestClient.Try(grpc.Agents.SetStateAsync(new SetStateRequest { AgentId = "A0001", State = Acd.Api.V1.AgentState.Ready }))).Ok;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var accepted = await proxy.AcceptTcpClientAsync(timeout.Token);
        await using var back = SipTestClient.Over(accepted);
        var redirect = await back.ReadAsync();
        Assert.Equal((302, "big", 42), (redirect.Status, redirect["Call-ID"], redirect.All("Via").Count()));
        Assert.EndsWith(new string('x', 2400), redirect.All("Via").Last(), StringComparison.Ordinal);
        proxy.Stop();
        Directory.Delete(directory, recursive: true);
    }
}
