using Acd.Api.V1;
using Acd.Host.Routing;
using CoreEventKind = Acd.Core.Routing.EventKind;
using HealthCheckRequest = global::Grpc.Health.V1.HealthCheckRequest;
using HealthCheckResponse = global::Grpc.Health.V1.HealthCheckResponse;

namespace Acd.Host.Grpc;

/// <summary>acd.v1.EventService.Watch and grpc.health.v1.Health.</summary>
public sealed partial class EventApi(EventHub hub, DomainDirectory domains, GrpcSettings settings, EngineHost engines, IHostApplicationLifetime lifetime, ILogger<EventApi> logger)
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "A Watch stream from {Remote} fell {Buffer} events behind and was dropped")]
    private static partial void LogDropped(ILogger logger, string? remote, int buffer);

    public void Register(GrpcEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        endpoint.ServerStreaming<WatchRequest, Event>("acd.v1.EventService", "Watch", WatchRequest.Parser, WatchAsync);
        endpoint.Unary<HealthCheckRequest, HealthCheckResponse>("grpc.health.v1.Health", "Check", HealthCheckRequest.Parser, (r, _) => Task.FromResult(Health(r.Service)), isPublic: true);
        endpoint.ServerStreaming<HealthCheckRequest, HealthCheckResponse>("grpc.health.v1.Health", "Watch", HealthCheckRequest.Parser, HealthWatchAsync, isPublic: true);
    }

    private static readonly HashSet<string> Services = new(StringComparer.Ordinal)
    {
        string.Empty, "acd.v1.AgentService", "acd.v1.CallService", "acd.v1.QueueService", "acd.v1.EventService", "acd.v1.SurgeService", "acd.v1.CallbackService",
    };

    private HealthCheckResponse Health(string service)
    {
        if (!Services.Contains(service))
        {
            throw new GrpcException(GrpcStatus.NotFound, $"unknown service '{service}'");
        }

        var serving = engines.Ready && !lifetime.ApplicationStopping.IsCancellationRequested;
        return new HealthCheckResponse { Status = serving ? HealthCheckResponse.Types.ServingStatus.Serving : HealthCheckResponse.Types.ServingStatus.NotServing };
    }

    private async Task HealthWatchAsync(HealthCheckRequest r, Func<HealthCheckResponse, bool, Task> write, GrpcContext context)
    {
        if (!Services.Contains(r.Service))
        {
            await write(new HealthCheckResponse { Status = HealthCheckResponse.Types.ServingStatus.ServiceUnknown }, true).ConfigureAwait(false);
            return;
        }

        var last = Health(r.Service).Status;
        await write(new HealthCheckResponse { Status = last }, true).ConfigureAwait(false);
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(context.Cancelled, lifetime.ApplicationStopping);
        try
        {
            await Task.Delay(Timeout.Infinite, stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!context.Cancelled.IsCancellationRequested)
        {
            await write(new HealthCheckResponse { Status = HealthCheckResponse.Types.ServingStatus.NotServing }, true).ConfigureAwait(false);
        }
    }

    private async Task WatchAsync(WatchRequest r, Func<Event, bool, Task> write, GrpcContext context)
    {
        if (!string.IsNullOrEmpty(r.Domain) && domains.Find(r.Domain) is null)
        {
            throw new GrpcException(GrpcStatus.NotFound, $"unknown routing domain '{r.Domain}'");
        }

        var kinds = new HashSet<CoreEventKind>();
        foreach (var k in r.Kinds)
        {
            if (ToCore(k) is { } kind)
            {
                kinds.Add(kind);
            }
            else if (k != EventKind.Unspecified)
            {
                // A kind this daemon does not know (a newer client): nothing of it will come.
                kinds.Add((CoreEventKind)255);
            }
        }

        var filter = new EventFilter(kinds, r.Skills.ToHashSet(StringComparer.Ordinal), string.IsNullOrEmpty(r.Domain) ? null : r.Domain);
        var subscription = hub.Subscribe(filter, settings.WatchBuffer);
        using var stopping = lifetime.ApplicationStopping.Register(() => hub.Unsubscribe(subscription));
        try
        {
            // Headers go out at once, so a watcher knows it is subscribed before the first event.
            await context.Http.Response.BodyWriter.FlushAsync(context.Cancelled).ConfigureAwait(false);
            var reader = subscription.Reader;
            while (await reader.WaitToReadAsync(context.Cancelled).ConfigureAwait(false))
            {
                while (reader.TryRead(out var item))
                {
                    await write(ApiMapping.ToApi(in item.Event, item.Domain), reader.Count == 0).ConfigureAwait(false);
                }
            }

            if (subscription.Overflowed)
            {
                LogDropped(logger, context.Http.Connection.RemoteIpAddress?.ToString(), settings.WatchBuffer);
                throw new GrpcException(GrpcStatus.ResourceExhausted, $"the watcher fell more than {settings.WatchBuffer} events behind and was dropped");
            }

            if (lifetime.ApplicationStopping.IsCancellationRequested)
            {
                throw new GrpcException(GrpcStatus.Unavailable, "the server is shutting down");
            }
        }
        finally
        {
            hub.Unsubscribe(subscription);
        }
    }

    private static CoreEventKind? ToCore(EventKind kind) => kind switch
    {
        EventKind.CallOffered => CoreEventKind.CallOffered,
        EventKind.CallQueued => CoreEventKind.CallQueued,
        EventKind.CallRouted => CoreEventKind.CallRouted,
        EventKind.CallAnswered => CoreEventKind.CallAnswered,
        EventKind.CallRingNoAnswer => CoreEventKind.CallRingNoAnswer,
        EventKind.CallAbandoned => CoreEventKind.CallAbandoned,
        EventKind.CallTimedOut => CoreEventKind.CallTimedOut,
        EventKind.CallRejected => CoreEventKind.CallRejected,
        EventKind.CallEnded => CoreEventKind.CallEnded,
        EventKind.CallTransferred => CoreEventKind.CallTransferred,
        EventKind.CallDetached => CoreEventKind.CallDetached,
        EventKind.CallResumed => CoreEventKind.CallResumed,
        EventKind.AgentStateChanged => CoreEventKind.AgentStateChanged,
        EventKind.SurgeTierChanged => CoreEventKind.SurgeTierChanged,
        EventKind.CallDeflected => CoreEventKind.CallDeflected,
        EventKind.CallbackCreated => CoreEventKind.CallbackCreated,
        EventKind.CallbackAssigned => CoreEventKind.CallbackAssigned,
        EventKind.CallbackCompleted => CoreEventKind.CallbackCompleted,
        EventKind.CallbackRescheduled => CoreEventKind.CallbackRescheduled,
        EventKind.CallbackExhausted => CoreEventKind.CallbackExhausted,
        _ => null,
    };
}
