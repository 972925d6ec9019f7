using Acd.Core.Routing;

namespace Acd.Core.Tests.Routing;

/// <summary>The router fills events in place: every slot it is given must be empty, whatever the buffer held before.</summary>
public sealed class EventBufferTests
{
    [Theory]
    [InlineData(3)] // within the first size
    [InlineData(40)] // grown past it
    [InlineData(20_000)] // grown past the shrink bound, then shrunk by a small batch
    public void A_slot_added_after_a_clear_is_empty(int filled)
    {
        var buffer = new EventBuffer(16);
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < filled; i++)
            {
                ref var e = ref buffer.Add();
                Assert.Equal(default, e);
                e.Sequence = i + 1;
                e.Kind = EventKind.CallRouted;
                e.CallId = $"c{i}";
                e.AnswerRoute = [1, 2, 3];
                e.Owner = buffer;
                e.Attempts = 7;
            }

            Assert.Equal(filled, buffer.Count);
            buffer.Clear();
            Assert.Equal(0, buffer.Count);
            filled = round == 0 ? Math.Min(filled, 5) : filled; // then a small batch after a large one
        }
    }
}
