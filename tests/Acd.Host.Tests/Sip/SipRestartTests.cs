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
}
