using Acd.Core.Routing;
using Acd.Host.Grpc;

namespace Acd.Host.Tests.Grpc;

/// <summary>What a watcher's buffer holds of an event.</summary>
public sealed class EventSubscriptionTests
{
    [Fact]
    public void A_buffered_event_keeps_neither_the_calls_connection_nor_its_answer_route()
    {
        var subscription = new EventSubscription(new EventFilter(new HashSet<EventKind>(), new HashSet<string>(), null), 4, "c1");
        var e = new RoutingEvent { Kind = EventKind.CallQueued, CallId = "q1", Owner = new object(), AnswerRoute = new byte[300] };
        subscription.Offer("d", in e);

        Assert.True(subscription.Reader.TryRead(out var buffered));
        Assert.Equal(("d", EventKind.CallQueued, "q1"), (buffered.Domain, buffered.Event.Kind, buffered.Event.CallId));
        Assert.Null(buffered.Event.Owner);
        Assert.Null(buffered.Event.AnswerRoute);
    }

    [Theory]
    [InlineData(3000, false)]
    [InlineData(5000, true)]
    public void What_a_dropped_watcher_reports_released_is_about_what_its_buffer_took(int events, bool overflows)
    {
        // The memory reliever asks for a full collection once enough is reported released: an estimate far under the
        // truth leaves a flood's buffers resident (128 dropped watchers once reported 16 MiB of 24).
        var subscription = new EventSubscription(new EventFilter(new HashSet<EventKind>(), new HashSet<string>(), null), 4096, "c1");
        var e = new RoutingEvent { Kind = EventKind.CallQueued, CallId = "q1", Caller = "13800000000" };
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < events; i++)
        {
            subscription.Offer("d", in e);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(overflows, subscription.Overflowed);

        // The buffer's array doubled on its way up: the last one is about half of all that was allocated.
        var reported = subscription.BufferBytes;
        Assert.InRange(reported, allocated * 0.4, allocated * 0.6);
    }
}
