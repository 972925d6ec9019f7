using Acd.Host.Metrics;
using Grpc.AspNetCore.Server;
using StatusCode = Grpc.Core.StatusCode;

namespace Acd.Host;

/// <summary>
/// Keeps the two HTTP listeners apart: the gRPC port serves only gRPC methods (and answers UNIMPLEMENTED for unknown
/// ones, as the protocol asks), the HTTP port only the endpoints marked <see cref="HttpPort"/> (metrics, health,
/// state) — those marked <see cref="Protected"/> too (metrics, state) only with the API token when one is set, as
/// gRPC. Every call on the gRPC port is counted by method and final status; a path that is no served method counts
/// as <c>unknown</c>, so no request can add a series of its own.
/// </summary>
internal static class Endpoints
{
    /// <summary>Metadata of the endpoints served on the HTTP port.</summary>
    public static readonly object HttpPort = new HttpPortEndpoint();

    /// <summary>Metadata of the HTTP endpoints that need the API token when one is set.</summary>
    public static readonly object Protected = new ProtectedEndpoint();

    /// <summary>The middleware (after routing has chosen an endpoint, before it runs).</summary>
    public static Func<HttpContext, RequestDelegate, Task> SeparatePorts(ListenerRegistry listeners, AcdMetrics metrics, BearerToken token) => async (context, next) =>
    {
        var endpoint = context.GetEndpoint();
        var forHttpPort = endpoint?.Metadata.GetMetadata<HttpPortEndpoint>() is not null;
        var onGrpcPort = listeners.Address("grpc") is { } grpc && context.Connection.LocalPort == grpc.Port;
        if (forHttpPort == onGrpcPort)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        if (!onGrpcPort)
        {
            if (endpoint!.Metadata.GetMetadata<ProtectedEndpoint>() is not null && token.Check(context.Request.Headers.Authorization.ToString()) is { } problem)
            {
                // As a Prometheus server or a browser expects: 401 and how to authenticate.
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = problem == TokenProblem.Missing ? "Bearer realm=\"acd\"" : "Bearer realm=\"acd\", error=\"invalid_token\"";
                return;
            }

            await next(context).ConfigureAwait(false);
            return;
        }

        var method = context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method.FullName;
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            var call = context.Features.Get<IServerCallContextFeature>()?.ServerCallContext;
            metrics.GrpcCompleted(method ?? "unknown", call?.Status.StatusCode ?? (method is null ? StatusCode.Unimplemented : StatusCode.Unknown));
        }
    };

    private sealed class HttpPortEndpoint;

    private sealed class ProtectedEndpoint;
}
