using Grpc.Core;
using Grpc.Health.V1;
using Grpc.HealthCheck;

namespace Acd.Host.Grpc;

/// <summary>
/// The standard health service (Grpc.HealthCheck), kept in step with readiness: NOT_SERVING until every domain has
/// recovered its state and the listeners are up, SERVING then, NOT_SERVING again from the moment the daemon stops.
/// Reported for the server as a whole ("") and for each acd.v1 service. A health Watch stream ends shortly after
/// the daemon begins to stop (having sent NOT_SERVING), so open watchers never hold up a graceful shutdown.
/// </summary>
public sealed class HealthReporter : HealthServiceImpl, IHostedService, IDisposable
{
    /// <summary>The services health is reported for.</summary>
    public static readonly IReadOnlyList<string> Services =
    [
        string.Empty,
        Acd.Api.V1.AgentService.Descriptor.FullName,
        Acd.Api.V1.CallService.Descriptor.FullName,
        Acd.Api.V1.QueueService.Descriptor.FullName,
        Acd.Api.V1.EventService.Descriptor.FullName,
        Acd.Api.V1.SurgeService.Descriptor.FullName,
        Acd.Api.V1.CallbackService.Descriptor.FullName,
    ];

    private readonly Routing.EngineHost _engines;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly CancellationTokenSource _watchesEnd = new();

    public HealthReporter(Routing.EngineHost engines, IHostApplicationLifetime lifetime)
    {
        _engines = engines;
        _lifetime = lifetime;
        Set(HealthCheckResponse.Types.ServingStatus.NotServing);
    }

    /// <inheritdoc/>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _lifetime.ApplicationStarted.Register(() => Set(_engines.Ready ? HealthCheckResponse.Types.ServingStatus.Serving : HealthCheckResponse.Types.ServingStatus.NotServing));
        _lifetime.ApplicationStopping.Register(() =>
        {
            Set(HealthCheckResponse.Types.ServingStatus.NotServing);
            _watchesEnd.CancelAfter(TimeSpan.FromMilliseconds(200));
        });
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public override async Task Watch(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var ends = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, _watchesEnd.Token);
        try
        {
            await base.Watch(request, responseStream, new EndingCallContext(context, ends.Token)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_watchesEnd.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw EngineCalls.Fail(StatusCode.Unavailable, "the server is shutting down");
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _watchesEnd.Dispose();

    private void Set(HealthCheckResponse.Types.ServingStatus status)
    {
        foreach (var service in Services)
        {
            SetStatus(service, status);
        }
    }

    /// <summary>A call context whose cancellation also comes when the daemon stops.</summary>
    private sealed class EndingCallContext(ServerCallContext inner, CancellationToken ends) : ServerCallContext
    {
        protected override string MethodCore => inner.Method;

        protected override string HostCore => inner.Host;

        protected override string PeerCore => inner.Peer;

        protected override DateTime DeadlineCore => inner.Deadline;

        protected override Metadata RequestHeadersCore => inner.RequestHeaders;

        protected override CancellationToken CancellationTokenCore => ends;

        protected override Metadata ResponseTrailersCore => inner.ResponseTrailers;

        protected override Status StatusCore
        {
            get => inner.Status;
            set => inner.Status = value;
        }

        protected override WriteOptions? WriteOptionsCore
        {
            get => inner.WriteOptions;
            set => inner.WriteOptions = value;
        }

        protected override AuthContext AuthContextCore => inner.AuthContext;

        protected override IDictionary<object, object> UserStateCore => inner.UserState;

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => inner.CreatePropagationToken(options);

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => inner.WriteResponseHeadersAsync(responseHeaders);
    }
}
