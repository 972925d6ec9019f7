using Acd.Core.Engine;
using Acd.Core.Routing;

namespace Acd.Host.Routing;

/// <summary>Writes a warning log line for every surge tier change (SPEC 4.1).</summary>
public sealed partial class SurgeWarnings(ILogger<SurgeWarnings> logger) : IBatchListener
{
    /// <inheritdoc/>
    public void OnBatch(DomainRuntime domain, EngineBatch batch)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(batch);
        foreach (ref readonly var e in batch.Events.Span)
        {
            if (e.Kind == EventKind.SurgeTierChanged)
            {
                TierChanged(logger, domain.Name, e.Skill ?? "(domain)", e.FromTier, e.Tier, e.Forced, e.Reason ?? string.Empty);
            }
        }
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "Surge tier of {Domain}/{Scope}: {From} -> {To} (forced: {Forced}; {Reason})")]
    private static partial void TierChanged(ILogger logger, string domain, string scope, int from, int to, bool forced, string reason);
}
