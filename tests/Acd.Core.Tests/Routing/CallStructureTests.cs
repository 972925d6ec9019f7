using System.Reflection;
using System.Runtime.CompilerServices;
using Acd.Core.Configuration;
using Acd.Core.Domain;
using Acd.Core.Routing;

namespace Acd.Core.Tests.Routing;

/// <summary>The call index and the call queue against obviously correct models, under random operations.</summary>
public sealed class CallStructureTests
{
    /// <summary>
    /// The look-ahead asks for an agent's fields by <see cref="Agent.FieldBytes"/>: a field added to the agent must
    /// widen it (a hint too short leaves the last line to a miss). The runtime's own size of an object's fields is
    /// internal to it, so it is read by reflection; should the runtime drop it, this fails rather than pass unchecked.
    /// </summary>
    [Fact]
    public void The_agents_field_size_for_cache_hints_is_the_runtimes()
    {
        var size = typeof(RuntimeHelpers).GetMethod("GetRawObjectDataSize", BindingFlags.NonPublic | BindingFlags.Static);
        Assert.NotNull(size);
        var agent = new Agent(0, new AgentDefinition("a1", null, null, AgentRole.Agent, false, [new SkillLevel(0, 5)], "a1", AgentState.Ready));
        Assert.Equal((nuint)Agent.FieldBytes, (nuint)size.Invoke(null, [agent])!);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void The_call_index_finds_exactly_what_a_dictionary_would(int seed)
    {
        var rng = new Random(seed);
        var table = new CallTable(16);
        var index = new CallIndex(table, 4);
        var model = new Dictionary<string, int>(StringComparer.Ordinal);
        var ids = Enumerable.Range(0, 3000).Select(i => $"id-{i}@{rng.Next(1000)}").Distinct().ToArray();
        for (var step = 0; step < 100_000; step++)
        {
            var id = new string(ids[rng.Next(ids.Length)]); // a different instance: compared by value
            var found = index.Find(id, out var hash);
            Assert.Equal(model.TryGetValue(id, out var expected) ? expected : -1, found);
            if (found < 0 && rng.Next(2) == 0)
            {
                var slot = table.Allocate();
                table.Records[slot].StoredId = id;
                index.Add(hash, slot);
                model.Add(id, slot);
            }
            else if (found >= 0 && rng.Next(2) == 0)
            {
                index.Remove(found);
                table.Release(found);
                model.Remove(id);
            }

            Assert.Equal(model.Count, index.Count);
        }

        foreach (var (id, slot) in model)
        {
            Assert.Equal(slot, index.Find(id));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void The_call_queue_keeps_place_order_through_arrivals_requeues_and_holes(int seed)
    {
        var rng = new Random(seed);
        var table = new CallTable(16);
        var queue = new CallQueue(table);
        var model = new SortedSet<(long Seq, int Slot)>();
        var seqOf = new Dictionary<int, long>();
        long nextSeq = 0;
        for (var step = 0; step < 100_000; step++)
        {
            var roll = rng.Next(100);
            if (roll < 40 || model.Count == 0)
            {
                // A new arrival (newest place), or now and then a call coming back to an old place.
                var slot = table.Allocate();
                var seq = roll < 5 && nextSeq > 10 ? nextSeq - rng.Next(1, 10) * 1000 - rng.Next(1000) : ++nextSeq * 1000;
                queue.Push(seq, slot);
                model.Add((seq, slot));
                seqOf[slot] = seq;
            }
            else if (roll < 70)
            {
                var head = queue.Head;
                Assert.Equal(model.Min, (head.Seq, head.Slot));
                queue.Remove(head.Slot);
                model.Remove(model.Min);
                table.Release(head.Slot);
            }
            else
            {
                var victim = model.ElementAt(rng.Next(model.Count));
                Assert.True(queue.Holds(victim.Slot));
                queue.Remove(victim.Slot);
                Assert.Equal(-1, table.Links[victim.Slot].QueuePos);
                model.Remove(victim);
                table.Release(victim.Slot);
            }

            Assert.Equal(model.Count, queue.Count);
            if (step % 500 == 0 && model.Count > 0)
            {
                var probe = model.ElementAt(rng.Next(model.Count));
                Assert.Equal(model.Count(e => e.Seq < probe.Seq), queue.CountBefore(probe.Seq));
                Assert.All(model, e => Assert.True(queue.Holds(e.Slot)));
            }
        }
    }
}
