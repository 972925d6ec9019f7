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
}
