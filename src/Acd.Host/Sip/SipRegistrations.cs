using System.Collections.Concurrent;
using Acd.Core.Domain;
using Acd.Core.Routing;
using Acd.Host.Routing;

namespace Acd.Host.Sip;

/// <summary>
/// The bindings agents' phones made with REGISTER. A binding not refreshed before it expires logs its agent out,
/// as a registrar drops a binding: a phone that crashed does not leave its agent Ready. An agent still on a call is
/// logged out once the call is over (the sweep retries).
/// </summary>
public sealed partial class SipRegistrations(DomainDirectory domains, TimeProvider time, ILogger<SipRegistrations> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, long> _expiry = new(StringComparer.Ordinal);

    /// <summary>Bindings held now.</summary>
    public int Count => _expiry.Count;

    /// <summary>How often expired bindings are swept.</summary>
    public static TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A REGISTER succeeded: the binding lasts <paramref name="seconds"/>.</summary>
    public void Bound(string agentId, int seconds) => _expiry[agentId] = time.GetUtcNow().ToUnixTimeMilliseconds() + (seconds * 1000L);

    /// <summary>The binding was removed (Expires 0).</summary>
    public void Unbound(string agentId) => _expiry.TryRemove(agentId, out _);

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await SweepAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping; also when the start failed and the host is disposed without a stop, which the host would report as a fault.
        }
    }

    private async Task SweepAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(SweepInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (var (agent, expires) in _expiry)
            {
                if (expires > now)
                {
                    continue;
                }

                var domain = domains.ForAgent(agent);
                if (!domain.Active)
                {
                    continue; // cluster mode, standby: the owner's registrations count
                }

                var engine = domain.Engine;
                if (await engine.AskAsync(new AgentQuery(agent), stoppingToken).ConfigureAwait(false) is { State: AgentState.Reserved or AgentState.Talking })
                {
                    continue; // on a call: logged out at a later sweep, once the call is over
                }

                var result = await engine.ExecuteAsync(new AgentCommand(CommandKind.Logout, agent), stoppingToken).ConfigureAwait(false);
                _expiry.TryRemove(new KeyValuePair<string, long>(agent, expires));
                if (result.IsOk)
                {
                    LogExpired(logger, agent);
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Registration of agent {Agent} expired: logged out")]
    private static partial void LogExpired(ILogger logger, string agent);
}
