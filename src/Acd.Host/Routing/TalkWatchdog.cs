using Acd.Core.Routing;

namespace Acd.Host.Routing;

/// <summary>
/// Ends calls connected longer than the domain's <c>MaxTalkSeconds</c>: a routed call whose BYE never comes (lost, or a
/// peer that never sends one) would hold its agent Talking for ever. The watchdog looks every few seconds (a tenth of the
/// limit, between 1 s and a minute) at the calls connected before the limit and ends each with an ordinary End command
/// (reason max-talk-time, journaled like a BYE), so the agent goes to wrap-up; each is a warning in the log and counted
/// (acd_calls_talk_limit_total).
/// </summary>
public sealed partial class TalkWatchdog(DomainDirectory domains, TimeProvider time, ILogger<TalkWatchdog> logger) : BackgroundService
{
    /// <summary>The reason of an End the watchdog sends.</summary>
    public const string Reason = "max-talk-time";

    /// <inheritdoc/>
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(domains.All.Where(d => d.Config.MaxTalkMs > 0).Select(d => WatchAsync(d, stoppingToken)));

    private async Task WatchAsync(DomainRuntime domain, CancellationToken stopping)
    {
        var limit = domain.Config.MaxTalkMs;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Clamp(limit / 10, 1_000, 60_000)), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                if (!domain.Active)
                {
                    continue; // a standby's engine is not running: the owner watches
                }

                var since = time.GetUtcNow().ToUnixTimeMilliseconds() - limit;
                var overlong = await domain.Engine.AskAsync(new TalkingSinceQuery(since), stopping).ConfigureAwait(false) ?? [];
                foreach (var call in overlong)
                {
                    var result = await domain.Engine.ExecuteAsync(new CallCommand(CommandKind.End, call) { Reason = Reason }, stopping).ConfigureAwait(false);
                    if (result.IsOk)
                    {
                        LogEnded(logger, call, domain.Name, limit / 1000);
                    }
                }
            }
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException && stopping.IsCancellationRequested)
        {
            // Stopping (the engine may have stopped first; or the start failed and the host is disposed without a stop).
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Call {Call} of domain {Domain} ended after {Seconds} s connected with no BYE (MaxTalkSeconds): its agent goes to wrap-up")]
    private static partial void LogEnded(ILogger logger, string call, string domain, long seconds);
}
