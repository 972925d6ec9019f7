using Acd.Api.V1;
using Acd.Core.Routing;
using Acd.Host.Routing;
using CoreAgentState = Acd.Core.Domain.AgentState;

namespace Acd.Host.Grpc;

/// <summary>acd.v1.AgentService: agent desktops.</summary>
public sealed class AgentApi(DomainDirectory domains)
{
    public void Register(GrpcEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        const string Service = "acd.v1.AgentService";
        endpoint.Unary<LoginRequest, Agent>(Service, "Login", LoginRequest.Parser, LoginAsync);
        endpoint.Unary<AgentRequest, Agent>(Service, "Logout", AgentRequest.Parser, (r, c) => ChangeAsync(r.AgentId, new AgentCommand(CommandKind.Logout, r.AgentId), c));
        endpoint.Unary<SetStateRequest, Agent>(Service, "SetState", SetStateRequest.Parser, SetStateAsync);
        endpoint.Unary<AgentRequest, Agent>(Service, "EndWrapUp", AgentRequest.Parser, (r, c) => ChangeAsync(r.AgentId, new AgentCommand(CommandKind.EndWrapUp, r.AgentId), c));
        endpoint.Unary<ExtendWrapUpRequest, Agent>(Service, "ExtendWrapUp", ExtendWrapUpRequest.Parser, (r, c) => ChangeAsync(r.AgentId, new AgentCommand(CommandKind.ExtendWrapUp, r.AgentId) { Seconds = r.Seconds }, c));
        endpoint.Unary<AgentRequest, Agent>(Service, "GetAgent", AgentRequest.Parser, GetAsync);
        endpoint.Unary<ListAgentsRequest, ListAgentsResponse>(Service, "ListAgents", ListAgentsRequest.Parser, ListAsync);
    }

    private async Task<Agent> LoginAsync(LoginRequest r, GrpcContext context)
    {
        RequireId(r.AgentId);
        var domain = string.IsNullOrEmpty(r.Domain) ? domains.ForAgent(r.AgentId) : EngineCalls.Domain(domains, r.Domain);
        var state = r.InitialState == AgentState.Unspecified ? CoreAgentState.Ready : ApiMapping.ToCore(r.InitialState)!.Value;
        var command = new LoginAgent
        {
            AgentId = r.AgentId,
            Skills = r.Skills.Count == 0 ? null : new Dictionary<string, int>(r.Skills, StringComparer.Ordinal),
            Contact = string.IsNullOrEmpty(r.Contact) ? null : r.Contact,
            Role = ApiMapping.RoleName(r.Role),
            Outbound = r.HasOutbound ? r.Outbound : null,
            InitialState = state,
            Reason = string.IsNullOrEmpty(r.Reason) ? null : r.Reason,
        };
        var agent = await EngineCalls.RunThenQueryAsync<AgentSnapshot>(domain, command, new QueryCommand(QueryKind.Agent, r.AgentId), context.Cancelled).ConfigureAwait(false);
        domains.RememberAgent(r.AgentId, domain);
        return ApiMapping.ToApi(agent, domain.Name);
    }

    private Task<Agent> SetStateAsync(SetStateRequest r, GrpcContext context)
    {
        if (ApiMapping.ToCore(r.State) is not { } state)
        {
            throw new GrpcException(GrpcStatus.InvalidArgument, "state is required: READY, NOT_READY or STANDBY");
        }

        return ChangeAsync(r.AgentId, new AgentCommand(CommandKind.SetState, r.AgentId) { State = state, Reason = string.IsNullOrEmpty(r.Reason) ? null : r.Reason }, context);
    }

    private async Task<Agent> ChangeAsync(string agentId, Command command, GrpcContext context)
    {
        RequireId(agentId);
        var domain = domains.ForAgent(agentId);
        var agent = await EngineCalls.RunThenQueryAsync<AgentSnapshot>(domain, command, new QueryCommand(QueryKind.Agent, agentId), context.Cancelled).ConfigureAwait(false);
        return ApiMapping.ToApi(agent, domain.Name);
    }

    private async Task<Agent> GetAsync(AgentRequest r, GrpcContext context)
    {
        RequireId(r.AgentId);
        var domain = domains.ForAgent(r.AgentId);
        var result = await EngineCalls.RunAsync(domain, new QueryCommand(QueryKind.Agent, r.AgentId), context.Cancelled).ConfigureAwait(false);
        return ApiMapping.ToApi((AgentSnapshot)result.Data!, domain.Name);
    }

    private async Task<ListAgentsResponse> ListAsync(ListAgentsRequest r, GrpcContext context)
    {
        var response = new ListAgentsResponse();
        var wanted = ApiMapping.ToCore(r.State);
        foreach (var domain in string.IsNullOrEmpty(r.Domain) ? domains.All : [EngineCalls.Domain(domains, r.Domain)])
        {
            var result = await EngineCalls.RunAsync(domain, new QueryCommand(QueryKind.Agents), context.Cancelled).ConfigureAwait(false);
            foreach (var a in (IReadOnlyList<AgentSnapshot>)result.Data!)
            {
                if ((wanted is null || a.State == wanted) && (string.IsNullOrEmpty(r.Skill) || a.Skills.ContainsKey(r.Skill)))
                {
                    response.Agents.Add(ApiMapping.ToApi(a, domain.Name));
                }
            }
        }

        return response;
    }

    private static void RequireId(string agentId)
    {
        if (string.IsNullOrEmpty(agentId))
        {
            throw new GrpcException(GrpcStatus.InvalidArgument, "agent_id is required");
        }
    }
}
