using Acd.Benchmarks.Workloads;
using Acd.Core.Tests.Support;

namespace Acd.Core.Tests.Routing;

/// <summary>
/// The allocation budget of the routing path, enforced on every test run rather than hoped for: in steady state a
/// routing decision allocates nothing (the benchmark measures its speed; this checks its garbage).
/// </summary>
public sealed class AllocationBudgetTests
{
    [Fact]
    public void Routing_decisions_in_steady_state_allocate_nothing()
    {
        var workload = new RoutingWorkload(agents: 2_000, skills: 20, waiting: 20_000);
        for (var i = 0; i < 20_000; i++)
        {
            workload.Step();
        }

        AllocationBudget.AssertNone(
            () =>
            {
                for (var i = 0; i < 50_000; i++)
                {
                    workload.Step();
                }
            },
            "50,000 decisions");
        Assert.Equal(20_000, workload.Router.Totals.Waiting);
        Assert.True(workload.Router.Totals.Conserved);
    }
}
