using Acd.Core.Engine;
using Acd.Core.Routing;
using Acd.Host.Routing;
using Grpc.Core;

namespace Acd.Host.Grpc;

/// <summary>How the gRPC services talk to the engines: a command, a result, a refusal as a gRPC status.</summary>
internal static class EngineCalls
{
    /// <summary>Ends the call with a status other than OK.</summary>
    public static RpcException Fail(StatusCode code, string message) => new(new Status(code, message));

    /// <summary>Runs a command; a refusal becomes an <see cref="RpcException"/> with the router's message.</summary>
    public static async Task<CommandResult> RunAsync(DomainRuntime domain, Command command, CancellationToken cancelled)
    {
        var result = await RunUncheckedAsync(domain, command, cancelled).ConfigureAwait(false);
        return result.IsOk ? result : throw Refused(result);
    }

    /// <summary>Runs a command and returns its result as it is.</summary>
    public static async Task<CommandResult> RunUncheckedAsync(DomainRuntime domain, Command command, CancellationToken cancelled)
    {
        EnsureActive(domain);
        try
        {
            return await domain.Engine.ExecuteAsync(command, cancelled).ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            throw Fail(StatusCode.Unavailable, e.Message);
        }
    }

    /// <summary>Asks a question; a refusal (an unknown agent, call, skill) becomes an <see cref="RpcException"/> with the router's message.</summary>
    public static async Task<T> AskAsync<T>(DomainRuntime domain, Query<T> query, CancellationToken cancelled)
    {
        var result = await RunAsync(domain, query, cancelled).ConfigureAwait(false);
        return query.Answer(result)!;
    }

    /// <summary>
    /// Runs a command and, right behind it in the same engine, a query: the query sees the state the command left.
    /// </summary>
    public static async Task<T> RunThenQueryAsync<T>(DomainRuntime domain, Command command, Query<T> query, CancellationToken cancelled)
    {
        EnsureActive(domain);
        var first = new TaskReply();
        var second = new TaskReply();
        CommandResult result;
        try
        {
            await domain.Engine.PostAsync(command, first, cancelled).ConfigureAwait(false);
            await domain.Engine.PostAsync(query, second, cancelled).ConfigureAwait(false);
            result = await first.Task.WaitAsync(cancelled).ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            throw Fail(StatusCode.Unavailable, e.Message);
        }

        if (!result.IsOk)
        {
            throw Refused(result);
        }

        var answer = await second.Task.WaitAsync(cancelled).ConfigureAwait(false);
        return query.Answer(answer) is { } data ? data : throw Fail(ApiMapping.ToStatus(answer.Code), answer.Message ?? "not found");
    }

    /// <summary>Cluster mode: a standby domain answers UNAVAILABLE, naming the daemon that serves it.</summary>
    public static void EnsureActive(DomainRuntime domain)
    {
        if (!domain.Active)
        {
            throw Fail(StatusCode.Unavailable, domain.StandbyMessage);
        }
    }

    /// <summary>A domain by the name a request gives (empty: the fallback).</summary>
    public static DomainRuntime Domain(DomainDirectory domains, string? name, DomainRuntime? fallback = null)
    {
        if (string.IsNullOrEmpty(name))
        {
            return fallback ?? domains.Default;
        }

        return domains.Find(name) ?? throw Fail(StatusCode.NotFound, $"unknown routing domain '{name}'");
    }

    /// <summary>An empty proto3 string as null (not given).</summary>
    public static string? Given(string value) => string.IsNullOrEmpty(value) ? null : value;

    /// <summary>Refuses a request whose required field is empty.</summary>
    public static void Require(string value, string field)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw Fail(StatusCode.InvalidArgument, field + " is required");
        }
    }

    private static RpcException Refused(CommandResult result) => Fail(ApiMapping.ToStatus(result.Code), result.Message ?? result.Code.ToString());
}
