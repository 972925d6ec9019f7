using Acd.Api.V1;
using Acd.Core.Routing;
using Acd.Host.Routing;
using Grpc.Core;
using static Acd.Host.Grpc.EngineCalls;
using CoreAgentState = Acd.Core.Domain.AgentState;

namespace Acd.Host.Grpc;

/// <summary>acd.v1.AgentService: agent desktops.</summary>
public sealed class AgentApi(DomainDirectory domains) : AgentService.AgentServiceBase
{
    public override async Task<Agent> Login(LoginRequest request, ServerCallContext context)
    {
        Require(request.AgentId, "agent_id");
        var domain = string.IsNullOrEmpty(request.Domain) ? domains.ForAgent(request.AgentId) : Domain(domains, request.Domain);
        var state = request.InitialState == AgentState.Unspecified ? CoreAgentState.Ready : ApiMapping.ToCore(request.InitialState)!.Value;
        var command = new LoginAgent
        {
            AgentId = request.AgentId,
            Skills = request.Skills.Count == 0 ? null : new Dictionary<string, int>(request.Skills, StringComparer.Ordinal),
            Contact = Given(request.Contact),
            Role = ApiMapping.RoleName(request.Role),
            Outbound = request.HasOutbound ? request.Outbound : null,
            InitialState = state,
            Reason = Given(request.Reason),
        };
        var agent = await RunThenQueryAsync(domain, command, new AgentQuery(request.AgentId), context.CancellationToken).ConfigureAwait(false);
        domains.RememberAgent(request.AgentId, domain);
        return ApiMapping.ToApi(agent, domain.Name);
    }

    public override Task<Agent> Logout(AgentRequest request, ServerCallContext context) =>
        ChangeAsync(request.AgentId, id => new AgentCommand(CommandKind.Logout, id), context);

    public override Task<Agent> SetState(SetStateRequest request, ServerCallContext context)
    {
        if (ApiMapping.ToCore(request.State) is not { } state)
        {
            throw Fail(StatusCode.InvalidArgument, "state is required: READY, NOT_READY or STANDBY");
        }

        return ChangeAsync(request.AgentId, id => new AgentCommand(CommandKind.SetState, id) { State = state, Reason = Given(request.Reason) }, context);
    }

    public override Task<Agent> EndWrapUp(AgentRequest request, ServerCallContext context) =>
        ChangeAsync(request.AgentId, id => new AgentCommand(CommandKind.EndWrapUp, id), context);

    public override Task<Agent> ExtendWrapUp(ExtendWrapUpRequest request, ServerCallContext context) =>
        ChangeAsync(request.AgentId, id => new AgentCommand(CommandKind.ExtendWrapUp, id) { Seconds = request.Seconds }, context);

    public override async Task<Agent> GetAgent(AgentRequest request, ServerCallContext context)
    {
        Require(request.AgentId, "agent_id");
        var domain = domains.ForAgent(request.AgentId);
        return ApiMapping.ToApi(await AskAsync(domain, new AgentQuery(request.AgentId), context.CancellationToken).ConfigureAwait(false), domain.Name);
    }

    public override async Task<ListAgentsResponse> ListAgents(ListAgentsRequest request, ServerCallContext context)
    {
        var response = new ListAgentsResponse();
        var wanted = ApiMapping.ToCore(request.State);
        foreach (var domain in string.IsNullOrEmpty(request.Domain) ? domains.All : [Domain(domains, request.Domain)])
        {
            foreach (var a in await AskAsync(domain, AgentsQuery.Instance, context.CancellationToken).ConfigureAwait(false))
            {
                if ((wanted is null || a.State == wanted) && (string.IsNullOrEmpty(request.Skill) || a.Skills.ContainsKey(request.Skill)))
                {
                    response.Agents.Add(ApiMapping.ToApi(a, domain.Name));
                }
            }
        }

        return response;
    }

    private async Task<Agent> ChangeAsync(string agentId, Func<string, Command> command, ServerCallContext context)
    {
        Require(agentId, "agent_id");
        var domain = domains.ForAgent(agentId);
        var agent = await RunThenQueryAsync(domain, command(agentId), new AgentQuery(agentId), context.CancellationToken).ConfigureAwait(false);
        return ApiMapping.ToApi(agent, domain.Name);
    }
}
