using Acd.Core.Domain;
using Acd.Core.Engine;
using Acd.Core.Routing;
using Acd.Host.Routing;

namespace Acd.Host.Metrics;

/// <summary>What a call counter counts.</summary>
internal enum CallCount
{
    Offered,
    Routed,
    Answered,
    AbandonedCaller,
    AbandonedDisconnected,
    TimedOut,
    RejectedNoAgents,
    RejectedQueueFull,
    RejectedCapacity,
    Ended,
    RingNoAnswer,
    TransferredIn,
    Deflected,
    CallbackAbandoned,
    CallbackTimedOut,
    CallbackRejected,
    CallbackDeflected,
    CallbackDisconnected,
    CallbackReached,
    CallbackExhausted,
    CallbackCancelled,
    CallbackAttempts,
    TalkLimit,
    Count,
}

/// <summary>
/// Monotonic call counters of one domain, by skill, kept by its engine thread from the events it emits (an array
/// increment per event: no lock, no allocation) and read by the metrics scrape.
/// </summary>
internal sealed class DomainCallCounters
{
    private readonly Dictionary<string, int> _skillIndex;
    private readonly long[] _counts;
    private readonly Prometheus.Histogram.Child[] _waits;

    /// <summary>Counters for a domain; <paramref name="wait"/> gives each skill's wait histogram (observed as calls are routed).</summary>
    public DomainCallCounters(DomainRuntime domain, Func<string, Prometheus.Histogram.Child> wait)
    {
        Domain = domain.Name;
        Skills = [.. domain.Config.Skills.Select(s => s.Name)];
        _skillIndex = Skills.Select((s, i) => (s, i)).ToDictionary(p => p.s, p => p.i, StringComparer.Ordinal);
        _counts = new long[Skills.Length * (int)CallCount.Count];
        _waits = [.. Skills.Select(wait)];
    }

    public string Domain { get; }

    public string[] Skills { get; }

    public long Read(int skill, CallCount what) => Volatile.Read(ref _counts[(skill * (int)CallCount.Count) + (int)what]);

    /// <summary>Counts the events of a batch (delivery thread) and observes each routed call's wait.</summary>
    public void Count(EngineBatch batch)
    {
        foreach (ref readonly var e in batch.Events.Span)
        {
            if (e.Skill is null || !_skillIndex.TryGetValue(e.Skill, out var skill))
            {
                continue;
            }

            CallCount? what = e.Kind switch
            {
                EventKind.CallOffered => CallCount.Offered,
                EventKind.CallRouted => CallCount.Routed,
                EventKind.CallAnswered => CallCount.Answered,
                EventKind.CallAbandoned => string.Equals(e.Reason, "disconnected", StringComparison.Ordinal) ? CallCount.AbandonedDisconnected : CallCount.AbandonedCaller,
                EventKind.CallTimedOut => CallCount.TimedOut,
                EventKind.CallRejected => e.RejectReason switch
                {
                    RejectReason.NoAgents => CallCount.RejectedNoAgents,
                    RejectReason.QueueFull => CallCount.RejectedQueueFull,
                    _ => CallCount.RejectedCapacity,
                },
                EventKind.CallEnded => CallCount.Ended,
                EventKind.CallRingNoAnswer => CallCount.RingNoAnswer,
                EventKind.CallTransferred => CallCount.TransferredIn,
                EventKind.CallDeflected => CallCount.Deflected,
                EventKind.CallbackCreated => e.Reason switch
                {
                    "timed-out" => CallCount.CallbackTimedOut,
                    "rejected" => CallCount.CallbackRejected,
                    "deflected" => CallCount.CallbackDeflected,
                    "disconnected" => CallCount.CallbackDisconnected,
                    _ => CallCount.CallbackAbandoned,
                },
                EventKind.CallbackAssigned => CallCount.CallbackAttempts,
                EventKind.CallbackCompleted => string.Equals(e.Reason, "cancelled", StringComparison.Ordinal) ? CallCount.CallbackCancelled : CallCount.CallbackReached,
                EventKind.CallbackExhausted => CallCount.CallbackExhausted,
                _ => null,
            };
            if (e.Kind == EventKind.CallEnded && string.Equals(e.Reason, Acd.Host.Routing.TalkWatchdog.Reason, StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _counts[(skill * (int)CallCount.Count) + (int)CallCount.TalkLimit]);
            }

            if (what is { } w)
            {
                Interlocked.Increment(ref _counts[(skill * (int)CallCount.Count) + (int)w]);
                if (w == CallCount.Routed)
                {
                    _waits[skill].Observe(e.WaitMs / 1000.0);
                }
            }
        }
    }
}
