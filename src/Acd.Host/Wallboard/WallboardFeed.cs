using System.Text.Json;
using Acd.Core.Domain;
using Acd.Core.Engine;
using Acd.Core.Routing;
using Acd.Host.Configuration;
using Acd.Host.Routing;
using CoreAgentState = Acd.Core.Domain.AgentState;

namespace Acd.Host.Wallboard;

/// <summary>
/// The floor as the wallboard shows it, pushed to every open page. The engine's batches only mark the floor changed
/// (one volatile write: routing never waits for a viewer); a background loop reads the floor at most every
/// <see cref="WallboardSettings.RefreshMilliseconds"/> when it changed (and every 5 s regardless, for the clocks on the
/// page), serialises it once, and wakes the viewers. A viewer holds only a reference to the latest update, so a slow one
/// costs no memory; one that does not take an update within <see cref="WallboardSettings.WriteTimeoutSeconds"/> is
/// dropped and its page reconnects. The waiting counts are sampled every 10 s for the page's 30-minute trend.
/// </summary>
public sealed partial class WallboardFeed(DomainDirectory domains, AcdSettings settings, TimeProvider time, IHostApplicationLifetime lifetime, ILogger<WallboardFeed> logger) : BackgroundService, IBatchListener
{
    private const int TrendPoints = 180;
    private static readonly TimeSpan TrendEvery = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RefreshAnyway = TimeSpan.FromSeconds(5);
    private readonly WallboardSettings _options = settings.Options.Http.Wallboard;
    private readonly Dictionary<string, Queue<int>> _trend = new(StringComparer.Ordinal);
    private volatile int _dirty = 1;
    private int _viewers;
    private long _dropped;
    private Update _latest = new(0, []);
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>One serialised state of the floor.</summary>
    public sealed record Update(long Version, byte[] Json);

    /// <summary>Open streams now.</summary>
    public int Viewers => Volatile.Read(ref _viewers);

    /// <summary>Viewers dropped for not taking their updates.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>The latest update.</summary>
    public Update Latest => Volatile.Read(ref _latest);

    /// <inheritdoc/>
    public void OnBatch(DomainRuntime domain, EngineBatch batch) => _dirty = 1;

    /// <summary>GET /wallboard/stream: Server-Sent Events, one <c>data:</c> line of JSON per update, a comment every 15 s.</summary>
    public async Task StreamAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (Interlocked.Increment(ref _viewers) > _options.MaxViewers)
        {
            Interlocked.Decrement(ref _viewers);
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = "5";
            await context.Response.WriteAsync("too many wallboard viewers\n", context.RequestAborted).ConfigureAwait(false);
            return;
        }

        // A stream ends when its page goes or the daemon begins to stop (a graceful stop is never held up by a wall screen).
        using var ends = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        try
        {
            context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
            context.Response.ContentType = "text/event-stream; charset=utf-8";
            context.Response.Headers.CacheControl = "no-store";
            context.Response.Headers["X-Accel-Buffering"] = "no";
            var seen = -1L;
            while (!ends.IsCancellationRequested)
            {
                var next = Volatile.Read(ref _next).Task;
                var update = Latest;
                if (update.Version != seen && update.Json.Length > 0)
                {
                    seen = update.Version;
                    if (!await WriteAsync(context, ends.Token, "data: "u8.ToArray(), update.Json, "\n\n"u8.ToArray()).ConfigureAwait(false))
                    {
                        return;
                    }

                    continue;
                }

                try
                {
                    await next.WaitAsync(TimeSpan.FromSeconds(15), time, ends.Token).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    // Nothing new for 15 s: a comment keeps proxies and the page's watchdog from taking the stream for dead.
                    if (!await WriteAsync(context, ends.Token, ": keep-alive\n\n"u8.ToArray()).ConfigureAwait(false))
                    {
                        return;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (ends.IsCancellationRequested)
        {
            // The page went away, or the daemon is stopping (the page reconnects when it is back).
        }
        finally
        {
            Interlocked.Decrement(ref _viewers);
        }
    }

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var refresh = TimeSpan.FromMilliseconds(_options.RefreshMilliseconds);
        var lastPublished = DateTimeOffset.MinValue;
        var lastTrend = DateTimeOffset.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(refresh, time, stoppingToken).ConfigureAwait(false);
                var now = time.GetUtcNow();
                var sample = now - lastTrend >= TrendEvery;
                if (!sample && (Viewers == 0 || (_dirty == 0 && now - lastPublished < RefreshAnyway)))
                {
                    continue;
                }

                _dirty = 0;
                var json = await ReadFloorAsync(now, sample, stoppingToken).ConfigureAwait(false);
                if (sample)
                {
                    lastTrend = now;
                }

                Volatile.Write(ref _latest, new Update(Latest.Version + 1, json));
                lastPublished = now;
                Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // a failed read of the floor is logged and tried again; the wallboard must not stop the daemon
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogReadFailed(logger, e.Message);
            }
        }
    }

    private async Task<bool> WriteAsync(HttpContext context, CancellationToken ends, params byte[][] parts)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ends);
        deadline.CancelAfter(TimeSpan.FromSeconds(_options.WriteTimeoutSeconds));
        try
        {
            foreach (var part in parts)
            {
                await context.Response.Body.WriteAsync(part, deadline.Token).ConfigureAwait(false);
            }

            await context.Response.Body.FlushAsync(deadline.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!ends.IsCancellationRequested)
        {
            // A viewer that does not read: dropped; its page reconnects and gets the latest state at once.
            Interlocked.Increment(ref _dropped);
            LogViewerDropped(logger, context.Connection.RemoteIpAddress?.ToString() ?? "?", _options.WriteTimeoutSeconds);
            context.Abort();
            return false;
        }
    }

    private async Task<byte[]> ReadFloorAsync(DateTimeOffset now, bool sample, CancellationToken cancelled)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(16 * 1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("at", now.ToUnixTimeMilliseconds());
            w.WriteString("language", _options.Language);
            w.WriteStartArray("domains");
            foreach (var d in domains.All)
            {
                w.WriteStartObject();
                w.WriteString("name", d.Name);
                w.WriteBoolean("active", d.Active);
                w.WriteString("owner", d.Owner);
                if (d.Active)
                {
                    await WriteDomainAsync(w, d, sample, cancelled).ConfigureAwait(false);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private async Task WriteDomainAsync(Utf8JsonWriter w, DomainRuntime d, bool sample, CancellationToken cancelled)
    {
        var queues = (await d.Engine.AskAsync(QueuesQuery.Instance, cancelled).ConfigureAwait(false))!;
        var agents = (await d.Engine.AskAsync(AgentStatesQuery.Instance, cancelled).ConfigureAwait(false))!.ByState;
        var surge = (await d.Engine.AskAsync(new SurgeQuery(), cancelled).ConfigureAwait(false))!;
        var callbacks = await d.Engine.AskAsync(CallbackTotalsQuery.Instance, cancelled).ConfigureAwait(false);
        if (!_trend.TryGetValue(d.Name, out var trend))
        {
            _trend[d.Name] = trend = new Queue<int>(TrendPoints + 1);
        }

        if (sample)
        {
            trend.Enqueue(queues.Sum(q => q.Waiting));
            while (trend.Count > TrendPoints)
            {
                trend.Dequeue();
            }
        }

        WriteSurge(w, surge);
        w.WriteNumber("callbacksOwed", callbacks.Owed);
        w.WriteNumber("callbacksCompletion", callbacks.CompletionRatio);
        w.WriteNumber("trendEverySeconds", TrendEvery.TotalSeconds);
        w.WriteStartArray("trend");
        foreach (var t in trend)
        {
            w.WriteNumberValue(t);
        }

        w.WriteEndArray();
        WriteAgents(w, agents);
        w.WriteStartArray("seats");
        foreach (var q in queues)
        {
            var skillSurge = (await d.Engine.AskAsync(new SurgeQuery(q.Skill), cancelled).ConfigureAwait(false))!;
            w.WriteStartObject();
            w.WriteString("skill", q.Skill);
            w.WriteNumber("waiting", q.Waiting);
            w.WriteNumber("longestWaitMs", q.LongestWaitMs);
            w.WriteNumber("serviceLevel5m", q.ServiceLevelRolling);
            w.WriteNumber("serviceLevelToday", q.ServiceLevelToday);
            w.WriteNumber("serviceLevelTarget", q.ServiceLevelTarget);
            w.WriteNumber("thresholdMs", q.ThresholdMs);
            w.WriteNumber("asaMs", q.AsaMs);
            w.WriteNumber("offered", q.Offered);
            w.WriteNumber("answered", q.Answered);
            w.WriteNumber("abandoned", q.Abandoned);
            w.WriteNumber("occupancy", q.Occupancy);
            w.WriteNumber("required", q.RequiredAgents(d.Config.DefaultHandleTimeMs));
            w.WriteNumber("staffed", Working(q.AgentsByState));
            w.WriteNumber("tier", q.SurgeTier);
            w.WriteNumber("ownTier", skillSurge.Tier);
            w.WriteString("tierReason", skillSurge.Reason);
            w.WriteNumber("tierSince", skillSurge.SinceMs);
            WriteAgents(w, q.AgentsByState);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WriteSurge(Utf8JsonWriter w, SurgeView surge)
    {
        w.WriteNumber("tier", surge.Tier);
        w.WriteBoolean("tierForced", surge.Forced);
        w.WriteString("tierReason", surge.Reason);
        w.WriteNumber("tierSince", surge.SinceMs);
    }

    private static void WriteAgents(Utf8JsonWriter w, IReadOnlyList<int> byState)
    {
        w.WriteStartObject("agents");
        for (var s = 0; s < byState.Count && s < Names.AgentStates.Count; s++)
        {
            w.WriteNumber(Names.AgentStates[s], byState[s]);
        }

        w.WriteEndObject();
    }

    private static int Working(IReadOnlyList<int> byState) =>
        byState[(int)CoreAgentState.Ready] + byState[(int)CoreAgentState.Reserved] + byState[(int)CoreAgentState.Talking] + byState[(int)CoreAgentState.WrapUp];

    [LoggerMessage(EventId = 1901, Level = LogLevel.Warning, Message = "Wallboard: reading the floor failed ({Reason}); trying again")]
    private static partial void LogReadFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 1902, Level = LogLevel.Information, Message = "Wallboard: a viewer at {Address} took no update for {Seconds} s and was dropped (its page reconnects)")]
    private static partial void LogViewerDropped(ILogger logger, string address, int seconds);
}
