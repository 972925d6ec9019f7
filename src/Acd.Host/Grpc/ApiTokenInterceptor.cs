using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Acd.Host.Grpc;

/// <summary>
/// With an API token configured, every gRPC method but the standard health service needs
/// <c>authorization: Bearer &lt;token&gt;</c>: none is UNAUTHENTICATED, a wrong one PERMISSION_DENIED. The comparison
/// takes the same time whatever the token presented.
/// </summary>
public sealed class ApiTokenInterceptor(BearerToken token) : Interceptor
{
    private const string HealthPrefix = "/grpc.health.v1.Health/";

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
        if (context.Method.StartsWith(HealthPrefix, StringComparison.Ordinal))
        {
            return;
        }

        switch (token.Check(context.RequestHeaders.GetValue("authorization")))
        {
            case TokenProblem.Missing:
                throw EngineCalls.Fail(StatusCode.Unauthenticated, "an API token is required: authorization: Bearer <token>");
            case TokenProblem.Wrong:
                throw EngineCalls.Fail(StatusCode.PermissionDenied, "the API token is not valid");
        }
    }
}
