using Acd.Core.Routing;
using Acd.Host.Routing;

namespace Acd.Host;

/// <summary>
/// GET /state: per domain the live state digest (SHA-256 of the canonical state), the last durable journal record and
/// what recovery found. The digest is computed on the routing thread — a pass over the whole state — so answers are
/// kept for <c>Acd:Http:StateCacheSeconds</c> and only one computation runs at a time: however many clients ask, routing
/// pays for at most one digest a period.
/// </summary>
public sealed class StateEndpoint(DomainDirectory domains, EngineHost engines, TimeSpan cacheFor)
{
    private readonly SemaphoreSlim _one = new(1, 1);
    private (DateTime At, Dictionary<string, object?> Body)? _cached;
    private int _computations;

    /// <summary>How many times the state was computed (not answered from the cache).</summary>
    public int Computations => Volatile.Read(ref _computations);

    /// <summary>Answers a request (from the cache when it is fresh).</summary>
    public async Task<IResult> GetAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (Fresh() is { } body)
        {
            return Results.Json(body);
        }

        await _one.WaitAsync(context.RequestAborted).ConfigureAwait(false);
        try
        {
            if (Fresh() is { } again)
            {
                return Results.Json(again);
            }

            var computed = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var d in domains.All)
            {
                if (!d.Active)
                {
                    computed[d.Name] = new Dictionary<string, object?>(StringComparer.Ordinal) { ["role"] = "standby", ["owner"] = d.Owner };
                    continue;
                }

                var digest = await d.Engine.AskAsync(DigestQuery.Instance, context.RequestAborted).ConfigureAwait(false);
                engines.Recovered.TryGetValue(d.Name, out var recovered);
                engines.RecoveredDigests.TryGetValue(d.Name, out var recoveredDigest);
                computed[d.Name] = new Dictionary<string, object?>(StringComparer.Ordinal)
                {
                    ["digest"] = digest,
                    ["journalIndex"] = d.Journal?.DurableIndex,
                    ["recoveredIndex"] = recovered?.LastIndex,
                    ["recoveredFromSnapshot"] = recovered?.SnapshotIndex,
                    ["recoveredDigest"] = recoveredDigest,
                };
            }

            _cached = (DateTime.UtcNow, computed);
            Interlocked.Increment(ref _computations);
            return Results.Json(computed);
        }
        finally
        {
            _one.Release();
        }
    }

    private Dictionary<string, object?>? Fresh() => _cached is { } c && DateTime.UtcNow - c.At < cacheFor ? c.Body : null;
}
