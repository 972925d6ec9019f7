using Acd.Host.Tests.Support;

namespace Acd.Host.Tests.Sip;

/// <summary>Debian's sipp, a real SIP load generator, through the scenarios in sipp/.</summary>
public sealed class SippTests
{
    [Fact]
    public async Task A_thousand_callers_at_over_200_calls_a_second_all_succeed()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 500));
        var result = await Sipp.RunAsync("caller.xml", d.Sip!, "10086", rate: 300, calls: 1000, pauseMs: 200);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(1000, result.Successful);
        Assert.Equal(0, result.Failed);
        Assert.True(result.CallRate >= 200, $"call rate {result.CallRate} cps");

        var queue = await d.QueueAsync();
        Assert.Equal((1000L, 1000L, 0), (queue.Offered, queue.Answered, queue.Waiting));
    }

    [Fact]
    public async Task Abandoning_callers_get_their_487s()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 1, state: "not-ready"));
        var result = await Sipp.RunAsync("abandon.xml", d.Sip!, "10086", rate: 50, calls: 100, pauseMs: 200);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(100, result.Successful);
        Assert.Contains("487", result.Output, StringComparison.Ordinal);
        Assert.Equal(100, (await d.QueueAsync()).Abandoned);
    }

    [Fact]
    public async Task An_agent_phone_registers_through_sipp()
    {
        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 2, state: "logged-out"));
        var result = await Sipp.RunAsync("register.xml", d.Sip!, "A0002", rate: 1, calls: 1, pauseMs: 0);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(Acd.Core.Domain.AgentState.Ready, (await d.AgentAsync("A0002")).State);
    }
}
