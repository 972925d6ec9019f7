using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Acd.Host.Grpc;

/// <summary>
/// With an API token configured, every gRPC method but the standard health service needs
/// <c>authorization: Bearer &lt;token&gt;</c>: none is UNAUTHENTICATED, a wrong one PERMISSION_DENIED. The comparison
/// takes the same time whatever the token presented.
/// </summary>
public sealed class ApiTokenInterceptor : Interceptor
{
    private const string Bearer = "Bearer ";
    private const string HealthPrefix = "/grpc.health.v1.Health/";
    private readonly byte[]? _token;

    /// <summary>Reads the token from the settings (none: every call passes).</summary>
    public ApiTokenInterceptor(Acd.Host.Configuration.AcdSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _token = string.IsNullOrEmpty(settings.Options.Api.Token) ? null : Encoding.UTF8.GetBytes(settings.Options.Api.Token);
    }

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        Check(context);
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        Check(context);
        return continuation(request, responseStream, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        Check(context);
        return continuation(requestStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        Check(context);
        return continuation(requestStream, responseStream, context);
    }

    private void Check(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_token is null || context.Method.StartsWith(HealthPrefix, StringComparison.Ordinal))
        {
            return;
        }

        var authorization = context.RequestHeaders.GetValue("authorization");
        if (authorization is null || !authorization.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase) || authorization.Length == Bearer.Length)
        {
            throw EngineCalls.Fail(StatusCode.Unauthenticated, "an API token is required: authorization: Bearer <token>");
        }

        var presented = Encoding.UTF8.GetBytes(authorization[Bearer.Length..].Trim());
        if (!CryptographicOperations.FixedTimeEquals(presented, _token))
        {
            throw EngineCalls.Fail(StatusCode.PermissionDenied, "the API token is not valid");
        }
    }
}
