using Acd.Api.V1;
using Acd.Host.Routing;
using Grpc.Core;
using static Acd.Host.Grpc.EngineCalls;
using CoreEventKind = Acd.Core.Routing.EventKind;

namespace Acd.Host.Grpc;

/// <summary>acd.v1.EventService.Watch: the event stream, a bounded buffer per watcher that never makes routing wait.</summary>
public sealed partial class EventApi(EventHub hub, DomainDirectory domains, GrpcSettings settings, IHostApplicationLifetime lifetime, ILogger<EventApi> logger)
    : EventService.EventServiceBase
{
    private static readonly WriteOptions Buffered = new(WriteFlags.BufferHint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A Watch stream from {Remote} fell {Buffer} events behind and was dropped")]
    private static partial void LogDropped(ILogger logger, string? remote, int buffer);

    public override async Task Watch(WatchRequest request, IServerStreamWriter<Event> responseStream, ServerCallContext context)
    {
        if (!string.IsNullOrEmpty(request.Domain) && domains.Find(request.Domain) is null)
        {
            throw Fail(StatusCode.NotFound, $"unknown routing domain '{request.Domain}'");
        }

        var kinds = new HashSet<CoreEventKind>();
        foreach (var k in request.Kinds)
        {
            if (ApiMapping.ToCore(k) is { } kind)
            {
                kinds.Add(kind);
            }
            else if (k != EventKind.Unspecified)
            {
                // A kind this daemon does not know (a newer client): nothing of it will come.
                kinds.Add((CoreEventKind)255);
            }
        }

        var filter = new EventFilter(kinds, request.Skills.ToHashSet(StringComparer.Ordinal), Given(request.Domain));
        var connection = context.GetHttpContext().Connection.Id;
        var subscription = hub.Subscribe(filter, settings.WatchBuffer, connection, settings.MaxWatchers, settings.MaxWatchersPerConnection)
            ?? throw Fail(StatusCode.ResourceExhausted, $"too many Watch streams (at most {settings.MaxWatchers} in all, {settings.MaxWatchersPerConnection} a connection)");
        using var stopping = lifetime.ApplicationStopping.Register(() => hub.Unsubscribe(subscription));

        // A write that does not complete within the limit (a watcher that stopped reading while HTTP/2 flow control holds
        // the stream) resets the stream: nothing is held for it.
        using var writeDeadline = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        var writeLimit = TimeSpan.FromSeconds(settings.WatchWriteTimeoutSeconds);
        try
        {
            // Headers go out at once, so a watcher knows it is subscribed before the first event.
            await context.WriteResponseHeadersAsync([]).ConfigureAwait(false);
            var reader = subscription.Reader;
            while (await reader.WaitToReadAsync(context.CancellationToken).ConfigureAwait(false))
            {
                while (!subscription.Overflowed && reader.TryRead(out var item))
                {
                    // Several events waiting go out in one flush; the last one flushes.
                    context.WriteOptions = reader.Count == 0 ? null : Buffered;
                    writeDeadline.CancelAfter(writeLimit);
                    await responseStream.WriteAsync(ApiMapping.ToApi(in item.Event, item.Domain), writeDeadline.Token).ConfigureAwait(false);
                    writeDeadline.CancelAfter(Timeout.InfiniteTimeSpan);
                }

                if (subscription.Overflowed)
                {
                    break;
                }
            }

            if (subscription.Overflowed)
            {
                LogDropped(logger, context.Peer, settings.WatchBuffer);
                throw Fail(StatusCode.ResourceExhausted, $"the watcher fell more than {settings.WatchBuffer} events behind and was dropped");
            }

            if (lifetime.ApplicationStopping.IsCancellationRequested)
            {
                throw Fail(StatusCode.Unavailable, "the server is shutting down");
            }
        }
        finally
        {
            hub.Unsubscribe(subscription);
        }
    }
}
