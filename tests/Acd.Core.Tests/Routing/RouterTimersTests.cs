using Acd.Core.Configuration;
using Acd.Core.Domain;
using Acd.Core.Routing;

namespace Acd.Core.Tests.Routing;

public sealed class RouterTimersTests
{
    private const long KeyBase = 1L << 40;

    /// <summary>
    /// Calls and agents set timers a few constant durations ahead (the lanes; more durations than lanes, so some go to the
    /// heap), some at odd times and some out of their lane's order (a call requeued with an old place in line); timers
    /// are cancelled and fire. Whatever went where, the timers fire in the order of one sorted set by (due, key).
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Timers_fire_in_due_then_key_order_as_one_sorted_set_would(int seed)
    {
        var rng = new Random(seed);
        var calls = new CallTable(16);
        var agents = new AgentTable(16);
        for (var i = 0; i < 200; i++)
        {
            agents.Add(new AgentDefinition($"a{i}", null, null, AgentRole.Agent, false, [], $"sip:a{i}@x", AgentState.Ready));
        }

        var slots = new List<int>();
        for (var i = 0; i < 3000; i++)
        {
            slots.Add(calls.Allocate());
        }

        var timers = new RouterTimers(calls, agents, KeyBase);
        var model = new SortedSet<(long Due, long Key, int Id)>();
        long[] durations = [30_000, 15_000, 60_000, 5_000, 120_000, 45_000, 20_000, 10_000, 90_000, 7_000];
        long now = 1_000_000, seq = 0;
        var problems = new List<string>();
        for (var step = 0; step < 60_000; step++)
        {
            now += rng.Next(3) == 0 ? rng.Next(50) : 0;
            var id = rng.Next(4) == 0 ? ~rng.Next(200) : slots[rng.Next(slots.Count)];
            var position = id >= 0 ? calls.Links[id].TimerPos : agents.Items[~id].TimerPos;
            var roll = rng.Next(10);
            if (roll < 5 && !RouterTimers.IsSet(position))
            {
                var due = rng.Next(8) == 0 ? now + rng.Next(100_000) : now + durations[rng.Next(durations.Length)];
                long key;
                if (id >= 0)
                {
                    ref var c = ref calls.Records[id];
                    c.Seq = rng.Next(10) == 0 && seq > 100 ? seq - rng.Next(100) : ++seq; // now and then an older place in line
                    c.TimerDueMs = due;
                    key = KeyBase + c.Seq;
                }
                else
                {
                    agents.Items[~id].WrapDueMs = due;
                    key = ~id;
                }

                if (model.Any(m => m.Key == key))
                {
                    continue; // keys are unique among set timers (a place in line is one call's)
                }

                timers.Push(due, key, id, now);
                model.Add((due, key, id));
            }
            else if (roll < 8 && RouterTimers.IsSet(position))
            {
                var keys = id >= 0 ? (calls.Records[id].TimerDueMs, KeyBase + calls.Records[id].Seq) : (agents.Items[~id].WrapDueMs, (long)~id);
                timers.Remove(id, position);
                Assert.True(model.Remove((keys.Item1, keys.Item2, id)));
            }
            else if (timers.Count > 0)
            {
                var min = model.Min;
                Assert.Equal((min.Due, min.Key), timers.Next());
                Assert.Equal(min.Due, timers.NextDueMs);
                var fired = timers.Pop();
                Assert.Equal(min, (fired.K1, fired.K2, fired.Id));
                model.Remove(min);
                now = Math.Max(now, fired.K1);
            }

            Assert.Equal(model.Count, timers.Count);
            if (step % 500 == 0)
            {
                timers.Check(problems);
                Assert.Empty(problems);
            }
        }

        while (timers.Count > 0)
        {
            var min = model.Min;
            var fired = timers.Pop();
            Assert.Equal(min, (fired.K1, fired.K2, fired.Id));
            model.Remove(min);
        }

        Assert.Empty(model);
        Assert.Equal((long.MaxValue, long.MaxValue), timers.Next());
        Assert.All(slots, s => Assert.False(RouterTimers.IsSet(calls.Links[s].TimerPos)));
    }
}
