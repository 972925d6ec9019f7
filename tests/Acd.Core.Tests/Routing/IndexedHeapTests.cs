using Acd.Core.Routing;

namespace Acd.Core.Tests.Routing;

public sealed class IndexedHeapTests
{
    private struct Positions(int[] map) : IHeapIndex
    {
        public readonly void Set(int id, int position) => map[id] = position;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Random_pushes_pops_and_removals_match_a_sorted_set(int seed)
    {
        var rng = new Random(seed);
        var positions = new int[5000];
        Array.Fill(positions, -1);
        var heap = new IndexedHeap<Positions>(new Positions(positions), 2);
        var model = new SortedSet<(long, long, int)>();
        for (var step = 0; step < 50_000; step++)
        {
            var id = rng.Next(positions.Length);
            var roll = rng.Next(10);
            if (roll < 5 && positions[id] < 0)
            {
                long k1 = rng.Next(100), k2 = rng.Next(100);
                heap.Push(k1, k2, id);
                model.Add((k1, k2, id));
            }
            else if (roll < 8 && positions[id] >= 0)
            {
                var e = heap[positions[id]];
                Assert.Equal(id, e.Id);
                heap.RemoveAt(positions[id]);
                Assert.True(model.Remove((e.K1, e.K2, id)));
                Assert.Equal(-1, positions[id]);
            }
            else if (heap.Count > 0)
            {
                var top = heap.Pop();
                var min = model.Min;
                Assert.Equal((min.Item1, min.Item2), (top.K1, top.K2));
                model.Remove((top.K1, top.K2, top.Id));
            }

            Assert.Equal(model.Count, heap.Count);
        }

        for (var i = 0; i < heap.Count; i++)
        {
            Assert.Equal(i, positions[heap[i].Id]);
        }
    }
}
