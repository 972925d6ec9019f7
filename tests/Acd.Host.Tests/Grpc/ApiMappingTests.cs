using Acd.Host.Grpc;
using CoreEventKind = Acd.Core.Routing.EventKind;
using EventKind = Acd.Api.V1.EventKind;

namespace Acd.Host.Tests.Grpc;

/// <summary>The conversions between the routing core and acd.v1 leave nothing out.</summary>
public sealed class ApiMappingTests
{
    [Fact]
    public void Every_event_kind_of_the_core_is_published_as_its_own_api_kind_and_read_back()
    {
        foreach (var core in Enum.GetValues<CoreEventKind>())
        {
            var api = ApiMapping.ToApi(core);
            Assert.NotEqual(EventKind.Unspecified, api);
            Assert.Equal(core, ApiMapping.ToCore(api));
        }

        Assert.Equal(Enum.GetValues<CoreEventKind>().Length, ApiMapping.EventKinds.Select(k => k.Api).Distinct().Count());
        Assert.Equal(Enum.GetValues<EventKind>().Where(k => k != EventKind.Unspecified).Order(), ApiMapping.EventKinds.Select(k => k.Api).Order());
        Assert.Null(ApiMapping.ToCore(EventKind.Unspecified));
    }

    [Fact]
    public void Every_agent_state_and_call_state_maps_both_ways()
    {
        foreach (var state in Enum.GetValues<Acd.Core.Domain.AgentState>())
        {
            Assert.Equal(state, ApiMapping.ToCore(ApiMapping.ToApi(state)));
        }

        foreach (var state in Enum.GetValues<Acd.Core.Domain.CallState>())
        {
            Assert.NotEqual(Acd.Api.V1.CallState.Unspecified, ApiMapping.ToApi(state));
        }
    }
}
