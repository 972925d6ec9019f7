using Acd.Core.Domain;
using Acd.Core.Durability;
using Acd.Core.Routing;
using Acd.Core.Tests.Support;

namespace Acd.Core.Tests.Routing;

/// <summary>Where ready agents wait: their skills' pools, whose positions sit in a dense table beside the agents.</summary>
public sealed class AgentPoolTests
{
    [Fact]
    public void Agents_who_get_more_skills_than_any_before_widen_the_positions_without_losing_anyones_place()
    {
        var router = new Router(new CentreBuilder().Skill("general").Skill("complaint").Skill("data").Skill("english")
            .Agent("a1", "general:5").Agent("a2", "general:5").Agent("a3", "complaint:5").Build());
        var events = new EventBuffer();
        var t = 1_000L;
        foreach (var id in new[] { "a1", "a2", "a3" })
        {
            Assert.True(router.Execute(new LoginAgent { AgentId = id, InitialState = AgentState.Ready }, t += 1_000, events).IsOk);
        }

        Assert.Empty(router.CheckInvariants());

        // One skill each so far; an agent the configuration does not know logs in with two, then a1 comes back with
        // four: the table widens twice while the others wait in their pools.
        Assert.True(router.Execute(new LoginAgent { AgentId = "w", InitialState = AgentState.Ready, Skills = new Dictionary<string, int> { ["general"] = 5, ["data"] = 5 } }, t += 1_000, events).IsOk);
        Assert.Empty(router.CheckInvariants());
        Assert.True(router.Execute(new AgentCommand(CommandKind.Logout, "a1"), t += 1_000, events).IsOk);
        Assert.True(router.Execute(new LoginAgent { AgentId = "a1", InitialState = AgentState.Ready, Skills = new Dictionary<string, int> { ["general"] = 5, ["complaint"] = 5, ["data"] = 5, ["english"] = 5 } }, t += 1_000, events).IsOk);
        Assert.Empty(router.CheckInvariants());

        // Longest idle first, in each skill: general a2, w, a1; complaint a3, a1; data w, a1.
        string Route(string skill, string id)
        {
            events.Clear();
            Assert.True(router.Execute(new OfferCall { CallId = id, Skill = skill, Mode = OfferMode.Api }, t += 1_000, events).IsOk);
            Assert.Empty(router.CheckInvariants());
            return events.Span.ToArray().Single(e => e.Kind == EventKind.CallRouted).AgentId!;
        }

        Assert.Equal("a2", Route("general", "c1"));
        Assert.Equal("a3", Route("complaint", "c2"));
        Assert.Equal("w", Route("data", "c3"));
        Assert.Equal("a1", Route("general", "c4"));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void A_pool_gives_the_least_key_first_through_joins_in_and_out_of_order_and_leavings_from_anywhere(int seed)
    {
        var rng = new Random(seed);
        const int Agents = 2_000;
        var agents = new AgentTable(Agents);
        var pool = new AgentPool(agents);
        var model = new SortedSet<(long K1, long K2, int Id)>();
        var keyOf = new Dictionary<int, (long K1, long K2)>();
        long next = 0;
        for (var step = 0; step < 100_000; step++)
        {
            var roll = rng.Next(100);
            var id = PoolEntry.Of(rng.Next(Agents), 0);
            if (roll < 45 && !keyOf.ContainsKey(id))
            {
                // Keys as the router makes them, never two alike: mostly in order (an agent just ready, its ReadySeq);
                // now and then behind the tail (a pool rebuilt from a snapshot), or fewest-calls' (calls handled, ReadySeq).
                next += 1000;
                var (k1, k2) = rng.Next(30) == 0 ? (rng.Next(5), next) : (rng.Next(20) == 0 ? next - 1000 - rng.Next(1, 999_000) : next, 0L);
                if (model.Any(e => e.K1 == k1 && e.K2 == k2))
                {
                    continue;
                }

                pool.Push(k1, k2, id);
                model.Add((k1, k2, id));
                keyOf[id] = (k1, k2);
            }
            else if (roll < 75 && model.Count > 0)
            {
                var top = pool.Top;
                Assert.Equal(model.Min, (top.K1, top.K2, top.Id));
                pool.Remove(top.Id);
                model.Remove(model.Min);
                keyOf.Remove(top.Id);
            }
            else if (model.Count > 0)
            {
                var victim = model.ElementAt(rng.Next(model.Count));
                Assert.True(pool.Holds(victim.Id));
                pool.Remove(victim.Id);
                Assert.False(pool.Holds(victim.Id));
                model.Remove(victim);
                keyOf.Remove(victim.Id);
            }

            Assert.Equal(model.Count, pool.Count);
            if (step % 1000 == 0)
            {
                Assert.All(model, e => Assert.True(pool.Holds(e.Id)));
            }
        }
    }

    [Fact]
    public void Pools_rebuilt_from_a_snapshot_keep_the_longest_idle_first()
    {
        var router = new Router(new CentreBuilder().Skill("general").Agent("a1", "general:5").Agent("a2", "general:5").Agent("a3", "general:5").Build());
        var events = new EventBuffer();
        var t = 1_000L;
        foreach (var id in new[] { "a3", "a1", "a2" })
        {
            Assert.True(router.Execute(new LoginAgent { AgentId = id, InitialState = AgentState.Ready }, t += 1_000, events).IsOk);
        }

        // Restored, the pool is rebuilt in the agents' order (a1, a2, a3), not the order they became ready in.
        var w = new StateWriter();
        router.WriteState(w);
        var copy = Router.ReadState(router.Config, new StateReader(w.WrittenMemory.ToArray()));
        Assert.Empty(copy.CheckInvariants());
        foreach (var (call, expected) in new[] { ("c1", "a3"), ("c2", "a1"), ("c3", "a2") })
        {
            events.Clear();
            Assert.True(copy.Execute(new OfferCall { CallId = call, Mode = OfferMode.Api }, t += 1_000, events).IsOk);
            Assert.Equal(expected, events.Span.ToArray().Single(e => e.Kind == EventKind.CallRouted).AgentId);
            Assert.Empty(copy.CheckInvariants());
        }
    }
}
