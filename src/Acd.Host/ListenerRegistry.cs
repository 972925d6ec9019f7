using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Acd.Host;

/// <summary>The daemon's listeners by name (sip, grpc, http), with the addresses they actually bound (port 0 resolved).</summary>
public sealed class ListenerRegistry
{
    private readonly List<(string Name, ListenOptions Options)> _listeners = [];

    /// <summary>Records a listener as it is configured.</summary>
    public void Add(string name, ListenOptions options) => _listeners.Add((name, options));

    /// <summary>The bound address of a listener, or null (not configured, or not yet bound).</summary>
    public IPEndPoint? Address(string name) => _listeners.Find(l => string.Equals(l.Name, name, StringComparison.Ordinal)).Options?.IPEndPoint;

    /// <summary>Every listener and its bound address.</summary>
    public IEnumerable<(string Name, IPEndPoint? Address)> All => _listeners.Select(l => (l.Name, l.Options.IPEndPoint));
}

/// <summary>Logs one line once the daemon listens, naming every listening address.</summary>
public sealed partial class StartupReporter(ListenerRegistry listeners, Acd.Host.Routing.EngineHost engines, Acd.Host.Configuration.AcdSettings settings, IHostApplicationLifetime lifetime, ILogger<StartupReporter> logger) : IHostedService
{
    /// <inheritdoc/>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() =>
        {
            foreach (var warning in settings.Warnings)
            {
                LogWarning(logger, warning);
            }

            LogListening(logger, string.Join(", ", listeners.All.Select(l => $"{l.Name} {l.Address}")), string.Join("; ", engines.Summaries), settings.Source);
        });
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Security: {Warning}")]
    private static partial void LogWarning(ILogger logger, string warning);

    [LoggerMessage(Level = LogLevel.Information, Message = "ACD listening on {Listeners}; domains {Domains}; configuration from {Source}")]
    private static partial void LogListening(ILogger logger, string listeners, string domains, string source);
}
