using System.Numerics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Acd.Core.Configuration;
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
    private readonly int _capacity;
    private volatile bool _overflowed;

    internal EventSubscription(EventFilter filter, int capacity, string connection)
    {
        Filter = filter;
        Connection = connection;
        _capacity = capacity;
        _channel = Channel.CreateBounded<(string, RoutingEvent)>(new BoundedChannelOptions(capacity)
        {
            SingleReader = false, // the offering thread empties the buffer of a watcher it drops
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public EventFilter Filter { get; }

    /// <summary>The HTTP/2 connection the watcher came on.</summary>
    public string Connection { get; }

    /// <summary>Set when the watcher fell behind and was cut off.</summary>
    public bool Overflowed => _overflowed;

    public ChannelReader<(string Domain, RoutingEvent Event)> Reader => _channel.Reader;

    /// <summary>Offers an event without ever waiting; a full buffer ends the subscription and empties it at once (its memory is not held for a watcher that does not read).</summary>
    internal void Offer(string domain, in RoutingEvent e)
    {
        // Neither the call's connection nor its answer route is a watcher's: a buffered event must not keep them alive.
        if (!_channel.Writer.TryWrite((domain, e with { Owner = null, AnswerRoute = null })) && !_overflowed)
        {
            _overflowed = true;
            _channel.Writer.TryComplete();
            while (_channel.Reader.TryRead(out _))
            {
            }
        }
    }

    internal void Close() => _channel.Writer.TryComplete();

    /// <summary>
    /// About what the buffer grew to: the channel's array doubles as it fills and is not given back until the watcher goes,
    /// so the next power of two of what is buffered (all of it when the watcher overflowed), times an element's size.
    /// </summary>
    internal long BufferBytes => BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, _overflowed ? _capacity : _channel.Reader.Count)) * (long)Unsafe.SizeOf<(string, RoutingEvent)>();
}

/// <summary>
/// Fans every domain's events out to the Watch streams. Runs on the domains' delivery threads, so it never waits: each watcher
/// has a bounded buffer, and one that is full is dropped (its stream ends with RESOURCE_EXHAUSTED) while routing goes on.
/// </summary>
public sealed class EventHub : IBatchListener
{
    /// <summary>Per domain, its roster's agents by id (their definitions name their skills), for skill filters on agent events.</summary>
    private readonly Dictionary<string, (DomainConfig Config, Dictionary<string, AgentDefinition> Agents)> _rosters = new(StringComparer.Ordinal);
    private EventSubscription[] _subscriptions = [];

    private readonly MemoryReliever? _reliever;

    public EventHub(DomainDirectory domains, MemoryReliever? reliever = null)
    {
        ArgumentNullException.ThrowIfNull(domains);
        _reliever = reliever;
        foreach (var d in domains.All)
        {
            _rosters[d.Name] = (d.Config, d.Config.Roster.ToDictionary(a => a.Id, StringComparer.Ordinal));
        }
    }

    /// <summary>Watchers now.</summary>
    public int Count => Volatile.Read(ref _subscriptions).Length;

    /// <summary>
    /// A new watcher, or null when the limits refuse it: at most <paramref name="maxTotal"/> in all and
    /// <paramref name="maxPerConnection"/> on one HTTP/2 connection (every watcher costs each event a filter check on the
    /// delivery thread, and its buffer).
    /// </summary>
    public EventSubscription? Subscribe(EventFilter filter, int capacity, string connection, int maxTotal, int maxPerConnection)
    {
        var subscription = new EventSubscription(filter, capacity, connection);
        while (true)
        {
            var current = Volatile.Read(ref _subscriptions);
            if (current.Length >= maxTotal || current.Count(s => string.Equals(s.Connection, connection, StringComparison.Ordinal)) >= maxPerConnection)
            {
                return null;
            }

            if (Interlocked.CompareExchange(ref _subscriptions, [.. current, subscription], current) == current)
            {
                return subscription;
            }
        }
    }

    public void Unsubscribe(EventSubscription subscription)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        _reliever?.Released(subscription.BufferBytes);
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
            var (config, agents) = _rosters[domain];
            if (!agents.TryGetValue(e.AgentId!, out var agent))
            {
                return true;
            }

            foreach (var level in agent.Skills)
            {
                if (f.Skills.Contains(config.Skills[level.Skill].Name))
                {
                    return true;
                }
            }

            return false;
        }

        if (e.Kind == EventKind.SurgeTierChanged && e.Skill is null)
        {
            // The domain's tier concerns every skill.
            return true;
        }

        return e.Skill is not null && f.Skills.Contains(e.Skill);
    }
}
