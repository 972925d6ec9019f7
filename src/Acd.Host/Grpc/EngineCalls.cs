using Acd.Core.Engine;
using Acd.Core.Routing;
using Acd.Host.Routing;

namespace Acd.Host.Grpc;

/// <summary>How the gRPC services talk to the engines: a command, a result, a refusal as a gRPC status.</summary>
internal static class EngineCalls
{
    /// <summary>Runs a command; a refusal becomes a <see cref="GrpcException"/> with the router's message.</summary>
    public static async Task<CommandResult> RunAsync(DomainRuntime domain, Command command, CancellationToken cancelled)
    {
        var result = await RunUncheckedAsync(domain, command, cancelled).ConfigureAwait(false);
        return result.IsOk ? result : throw new GrpcException(ApiMapping.ToStatus(result.Code), result.Message ?? result.Code.ToString());
    }

    /// <summary>Runs a command and returns its result as it is.</summary>
    public static async Task<CommandResult> RunUncheckedAsync(DomainRuntime domain, Command command, CancellationToken cancelled)
    {
        try
        {
            return await domain.Engine.ExecuteAsync(command, cancelled).ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            throw new GrpcException(GrpcStatus.Unavailable, e.Message);
        }
    }

    /// <summary>
    /// Runs a command and, right behind it in the same engine, a query: the query sees the state the command left.
    /// </summary>
    public static async Task<T> RunThenQueryAsync<T>(DomainRuntime domain, Command command, QueryCommand query, CancellationToken cancelled)
    {
        var first = new TaskReply();
        var second = new TaskReply();
        try
        {
            await domain.Engine.PostAsync(command, first, cancelled).ConfigureAwait(false);
            await domain.Engine.PostAsync(query, second, cancelled).ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            throw new GrpcException(GrpcStatus.Unavailable, e.Message);
        }

        CommandResult result;
        try
        {
            result = await first.Task.WaitAsync(cancelled).ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            throw new GrpcException(GrpcStatus.Unavailable, e.Message);
        }

        if (!result.IsOk)
        {
            throw new GrpcException(ApiMapping.ToStatus(result.Code), result.Message ?? result.Code.ToString());
        }

        var answer = await second.Task.WaitAsync(cancelled).ConfigureAwait(false);
        return answer.Data is T data ? data : throw new GrpcException(ApiMapping.ToStatus(answer.Code), answer.Message ?? "not found");
    }

    /// <summary>A domain by the name a request gives (empty: the fallback).</summary>
    public static DomainRuntime Domain(DomainDirectory domains, string? name, DomainRuntime? fallback = null)
    {
        if (string.IsNullOrEmpty(name))
        {
            return fallback ?? domains.Default;
        }

        return domains.Find(name) ?? throw new GrpcException(GrpcStatus.NotFound, $"unknown routing domain '{name}'");
    }
}
