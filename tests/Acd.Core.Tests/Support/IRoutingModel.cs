using Acd.Core.Configuration;
using Acd.Core.Routing;

namespace Acd.Core.Tests.Support;

/// <summary>
/// The contract both the real router and the reference router fulfil, so that the same specification tests
/// run against each and the differential test can feed both the same commands.
/// </summary>
public interface IRoutingModel
{
    DomainConfig Config { get; }

    long Now { get; }

    RouterTotals Totals { get; }

    CommandResult Execute(Command command, long nowMs, EventBuffer events);

    void AdvanceTo(long nowMs, EventBuffer events);

    AgentView? GetAgent(string agentId);

    CallView? GetCall(string callId);

    QueueView? GetQueue(string skill);
}

/// <summary>The real router behind the contract.</summary>
public sealed class RealRouterModel(DomainConfig config) : IRoutingModel
{
    public Router Router { get; } = new(config);

    public DomainConfig Config => Router.Config;

    public long Now => Router.Now;

    public RouterTotals Totals => Router.Totals;

    public CommandResult Execute(Command command, long nowMs, EventBuffer events) => Router.Execute(command, nowMs, events);

    public void AdvanceTo(long nowMs, EventBuffer events) => Router.AdvanceTo(nowMs, events);

    public AgentView? GetAgent(string agentId) => Router.GetAgent(agentId);

    public CallView? GetCall(string callId) => Router.GetCall(callId);

    public QueueView? GetQueue(string skill) => Router.GetQueue(skill);
}
