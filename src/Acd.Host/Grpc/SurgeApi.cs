using Acd.Api.V1;
using Acd.Core.Routing;
using Acd.Host.Routing;
using Grpc.Core;
using static Acd.Host.Grpc.EngineCalls;

namespace Acd.Host.Grpc;

/// <summary>acd.v1.SurgeService: duty managers read, force and clear surge tiers (SPEC 4.1).</summary>
public sealed class SurgeApi(DomainDirectory domains) : SurgeService.SurgeServiceBase
{
    public override Task<SurgeStatus> GetSurge(SurgeRequest request, ServerCallContext context) =>
        SurgeAsync(request.Domain, request.Skill, null, context);

    public override Task<SurgeStatus> ForceTier(ForceTierRequest request, ServerCallContext context)
    {
        var command = new ForceSurgeTier { Skill = Given(request.Skill), Tier = request.Tier, DurationSeconds = request.DurationSeconds, Reason = Given(request.Reason) };
        return SurgeAsync(request.Domain, request.Skill, command, context);
    }

    public override Task<SurgeStatus> ClearOverride(SurgeRequest request, ServerCallContext context) =>
        SurgeAsync(request.Domain, request.Skill, new ClearSurgeOverride { Skill = Given(request.Skill) }, context);

    /// <summary>Runs a surge command (if any), then reads the status it left.</summary>
    private async Task<SurgeStatus> SurgeAsync(string domainName, string skill, Command? command, ServerCallContext context)
    {
        var domain = Domain(domains, domainName);
        var query = new SurgeQuery(Given(skill));
        var status = command is null
            ? await AskAsync(domain, query, context.CancellationToken).ConfigureAwait(false)
            : await RunThenQueryAsync(domain, command, query, context.CancellationToken).ConfigureAwait(false);
        return ApiMapping.ToApi(status, domain.Name);
    }
}
