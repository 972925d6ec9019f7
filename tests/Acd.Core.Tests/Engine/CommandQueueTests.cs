using Acd.Core.Engine;
using Acd.Core.Routing;

namespace Acd.Core.Tests.Engine;

public sealed class CommandQueueTests
{
    private static OfferCall Call(int i) => new() { CallId = "c" + i };

    [Fact]
    public void Commands_come_out_in_the_order_they_went_in_across_many_wraps()
    {
        var q = new CommandQueue(8);
        var next = 0;
        var expected = 0;
        for (var round = 0; round < 1000; round++)
        {
            var burst = round % 9;
            for (var i = 0; i < burst; i++)
            {
                if (q.TryEnqueue(Call(next), next))
                {
                    next++;
                }
            }

            while (q.TryDequeue(out var command, out var reply))
            {
                Assert.Equal("c" + expected, ((OfferCall)command).CallId);
                Assert.Equal(expected, (int)reply!);
                expected++;
            }
        }

        Assert.Equal(next, expected);
        Assert.True(next > 3000);
    }

    [Fact]
    public void Peek_shows_the_published_commands_behind_the_next_without_taking_them()
    {
        var q = new CommandQueue(8);
        var next = 0;
        var expected = 0;
        for (var round = 0; round < 200; round++)
        {
            for (var i = 0; i < round % 7; i++)
            {
                Assert.True(q.TryEnqueue(Call(next), null));
                next++;
            }

            var queued = next - expected;
            for (var offset = 0; offset < q.Capacity; offset++)
            {
                var seen = q.Peek(offset);
                if (offset < queued)
                {
                    Assert.Equal("c" + (expected + offset), ((OfferCall)seen!).CallId);
                }
                else
                {
                    Assert.Null(seen);
                }
            }

            Assert.Null(q.Peek(-1));
            Assert.Null(q.Peek(q.Capacity));
            Assert.Null(q.Peek(int.MaxValue));
            while (q.TryDequeue(out var command, out _))
            {
                Assert.Equal("c" + expected, ((OfferCall)command).CallId);
                expected++;
            }
        }

        Assert.Equal(next, expected);
    }

    [Fact]
    public void A_full_ring_refuses_and_accepts_again_once_drained()
    {
        var q = new CommandQueue(4);
        Assert.Equal(4, q.Capacity);
        for (var i = 0; i < 4; i++)
        {
            Assert.True(q.TryEnqueue(Call(i), null));
        }

        Assert.False(q.TryEnqueue(Call(4), null));
        Assert.Equal(4, q.Count);
        Assert.True(q.TryDequeue(out _, out _));
        Assert.True(q.TryEnqueue(Call(4), null));
        Assert.False(q.TryDequeue(out _, out _) && q.Count != 3);
    }

    [Fact]
    public void Capacity_is_rounded_up_to_a_power_of_two_and_bounded()
    {
        Assert.Equal(1024, new CommandQueue(1000).Capacity);
        Assert.Throws<ArgumentOutOfRangeException>(() => new CommandQueue(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CommandQueue(1 << 25));
    }
}
