using System.Threading.Channels;
using Acd.Core.Engine;
using Acd.Core.Routing;
using Acd.Host.Routing;

namespace Acd.Host.Grpc;

/// <summary>What a watcher wants: event kinds (none: all), skills (none: all), a domain (null: all).</summary>
public sealed record EventFilter(IReadOnlySet<EventKind> Kinds, IReadOnlySet<string> Skills, string? Domain);

/// <summary>One watcher: a bounded buffer of events, filled on the domains' delivery threads and drained by its stream.</summary>
public sealed class EventSubscription
{
    private readonly Channel<(string Domain, RoutingEvent Event)> _channel;

    internal EventSubscription(EventFilter filter, int capacity)
    {
        Filter = filter;
        _channel = Channel.CreateBounded<(string, RoutingEvent)>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public EventFilter Filter { get; }

    /// <summary>Set when the watcher fell behind and was cut off.</summary>
    public bool Overflowed { get; private set; }

    public ChannelReader<(string Domain, RoutingEvent Event)> Reader => _channel.Reader;

    /// <summary>Offers an event without ever waiting; a full buffer ends the subscription.</summary>
    internal void Offer(string domain, in RoutingEvent e)
    {
        if (!_channel.Writer.TryWrite((domain, e with { Owner = null })) && !Overflowed)
        {
            Overflowed = true;
            _channel.Writer.TryComplete();
        }
    }

    internal void Close() => _channel.Writer.TryComplete();
}

/// <summary>
/// Fans every domain's events out to the Watch streams. Runs on the domains' delivery threads, so it never waits: each watcher
/// has a bounded buffer, and one that is full is dropped (its stream ends with RESOURCE_EXHAUSTED) while routing goes on.
/// </summary>
public sealed class EventHub : IBatchListener
{
    private readonly Dictionary<string, Dictionary<string, HashSet<string>>> _agentSkills = new(StringComparer.Ordinal);
    private EventSubscription[] _subscriptions = [];

    public EventHub(DomainDirectory domains)
    {
        ArgumentNullException.ThrowIfNull(domains);
        foreach (var d in domains.All)
        {
            _agentSkills[d.Name] = d.Config.Roster.ToDictionary(a => a.Id, a => a.Skills.Select(s => d.Config.Skills[s.Skill].Name).ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);
        }
    }

    /// <summary>Watchers now.</summary>
    public int Count => Volatile.Read(ref _subscriptions).Length;

    public EventSubscription Subscribe(EventFilter filter, int capacity)
    {
        var subscription = new EventSubscription(filter, capacity);
        while (true)
        {
            var current = Volatile.Read(ref _subscriptions);
            if (Interlocked.CompareExchange(ref _subscriptions, [.. current, subscription], current) == current)
            {
                return subscription;
            }
        }
    }

    public void Unsubscribe(EventSubscription subscription)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        subscription.Close();
        while (true)
        {
            var current = Volatile.Read(ref _subscriptions);
            var next = current.Where(s => s != subscription).ToArray();
            if (Interlocked.CompareExchange(ref _subscriptions, next, current) == current)
            {
                return;
            }
        }
    }

    /// <inheritdoc/>
    public void OnBatch(DomainRuntime domain, EngineBatch batch)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(batch);
        var subscriptions = Volatile.Read(ref _subscriptions);
        if (subscriptions.Length == 0)
        {
            return;
        }

        foreach (ref readonly var e in batch.Events.Span)
        {
            foreach (var s in subscriptions)
            {
                if (Wants(s.Filter, domain.Name, in e))
                {
                    s.Offer(domain.Name, in e);
                }
            }
        }
    }

    private bool Wants(EventFilter f, string domain, in RoutingEvent e)
    {
        if ((f.Domain is not null && !string.Equals(f.Domain, domain, StringComparison.Ordinal)) || (f.Kinds.Count > 0 && !f.Kinds.Contains(e.Kind)))
        {
            return false;
        }

        if (f.Skills.Count == 0)
        {
            return true;
        }

        if (e.Kind == EventKind.AgentStateChanged)
        {
            // An agent event passes a skill filter when the agent's roster skills include one (agents outside the roster pass).
            return !_agentSkills[domain].TryGetValue(e.AgentId!, out var skills) || skills.Overlaps(f.Skills);
        }

        if (e.Kind == EventKind.SurgeTierChanged && e.Skill is null)
        {
            // The domain's tier concerns every skill.
            return true;
        }

        return e.Skill is not null && f.Skills.Contains(e.Skill);
    }
}
