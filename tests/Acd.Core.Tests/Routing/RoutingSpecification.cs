using Acd.Core.Configuration;
using Acd.Core.Tests.Reference;
using Acd.Core.Tests.Support;

namespace Acd.Core.Tests.Routing;

/// <summary>
/// The routing specification (SPEC sections 2 and 3), written once and run against every implementation:
/// the real router and the reference router must both satisfy it.
/// </summary>
public abstract partial class RoutingSpecification
{
    protected abstract IRoutingModel Create(DomainConfig config);

    protected Harness Centre(CentreBuilder builder) => new(Create(builder.Build()));

    /// <summary>One skill "general" with the given agents ("id" → "general:level").</summary>
    protected Harness General(params string[] agents)
    {
        var b = new CentreBuilder().Skill("general");
        foreach (var a in agents)
        {
            b.Agent(a, "general:5");
        }

        return Centre(b);
    }
}

public sealed class RealRouterSpecification : RoutingSpecification
{
    protected override IRoutingModel Create(DomainConfig config) => new RealRouterModel(config);
}

public sealed class ReferenceRouterSpecification : RoutingSpecification
{
    protected override IRoutingModel Create(DomainConfig config) => new ReferenceRouter(config);
}
