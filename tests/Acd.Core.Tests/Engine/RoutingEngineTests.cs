using System.Collections.Concurrent;
using Acd.Core.Domain;
using Acd.Core.Engine;
using Acd.Core.Routing;
using Acd.Core.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Acd.Core.Tests.Engine;

/// <summary>Several producer threads feed one engine: every command is executed exactly once, in per-producer order.</summary>
public sealed class RoutingEngineTests
{
    private sealed class RecordingSink : IEngineSink
    {
        private readonly List<string> _executed = [];
        private readonly List<RoutingEvent> _events = [];
        private readonly Lock _gate = new();
        private long _lastBatch;
        private long _lastEventSequence;

        public int OutOfOrderBatches { get; private set; }

        public int OutOfOrderEvents { get; private set; }

        public void OnBatch(EngineBatch batch)
        {
            if (batch.Number != _lastBatch + 1)
            {
                OutOfOrderBatches++;
            }

            _lastBatch = batch.Number;
            lock (_gate)
            {
                foreach (ref readonly var entry in batch.Entries)
                {
                    if (entry.Command is OfferCall offer)
                    {
                        _executed.Add(offer.CallId);
                    }

                    (entry.Reply as ICommandReply)?.Complete(entry.Result);
                }

                foreach (var e in batch.Events.Span)
                {
                    if (e.Sequence != _lastEventSequence + 1)
                    {
                        OutOfOrderEvents++;
                    }

                    _lastEventSequence = e.Sequence;
                    _events.Add(e);
                }
            }

            batch.Release();
        }

        public (List<string> Executed, List<RoutingEvent> Events) Snapshot()
        {
            lock (_gate)
            {
                return ([.. _executed], [.. _events]);
            }
        }
    }

    [Fact]
    public async Task Every_command_from_every_producer_is_executed_once_in_that_producers_order()
    {
        const int producers = 4;
        const int perProducer = 25_000;
        var config = new CentreBuilder().Skill("general", s => s.MaxQueueLength = 1_000_000).Agent("a1", "general:5").With(o => o.MaxLiveCalls = 1_000_000).Build();
        var sink = new RecordingSink();
        var engine = new RoutingEngine(new Router(config), TimeProvider.System, sink, new EngineOptions { QueueCapacity = 256, MaxBatch = 64 });
        engine.Start();
        Assert.True((await engine.ExecuteAsync(new LoginAgent { AgentId = "a1", InitialState = AgentState.NotReady })).IsOk);

        using var start = new Barrier(producers);
        var failures = new ConcurrentQueue<string>();
        var tasks = Enumerable.Range(0, producers).Select(p => Task.Run(async () =>
        {
            start.SignalAndWait(TimeSpan.FromSeconds(10));
            for (var i = 0; i < perProducer; i++)
            {
                try
                {
                    await engine.PostAsync(new OfferCall { CallId = $"p{p}-{i}" }, null);
                }
                catch (Exception e)
                {
                    failures.Enqueue(e.Message);
                }
            }
        })).ToArray();

        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(60));
        var last = await engine.AskAsync(new QueueQuery("general")).WaitAsync(TimeSpan.FromSeconds(30));
        await engine.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Empty(failures);
        var (executed, events) = sink.Snapshot();
        Assert.Equal(producers * perProducer, executed.Count);
        Assert.Equal(producers * perProducer, executed.Distinct().Count());
        for (var p = 0; p < producers; p++)
        {
            var mine = executed.Where(id => id.StartsWith($"p{p}-", StringComparison.Ordinal)).Select(id => int.Parse(id.AsSpan(id.IndexOf('-') + 1), System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(Enumerable.Range(0, perProducer), mine);
        }

        // Each offer produced exactly one CallOffered and one CallQueued event, in sequence.
        Assert.Equal(producers * perProducer, events.Count(e => e.Kind == EventKind.CallOffered));
        Assert.Equal(producers * perProducer, events.Where(e => e.Kind == EventKind.CallQueued).Select(e => e.CallId).Distinct().Count());
        Assert.Equal(0, sink.OutOfOrderBatches);
        Assert.Equal(0, sink.OutOfOrderEvents);
        Assert.Equal(producers * perProducer, last!.Waiting);
        // The offers, the login, the query, and the journaled tick that started the router's clock.
        Assert.Equal(producers * perProducer + 3, engine.CommandsExecuted);
    }

    [Fact]
    public async Task Timers_fire_without_commands_through_a_journaled_tick()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(Harness.Start));
        var config = new CentreBuilder().Skill("general", s => s.MaxWaitSeconds = 5).Agent("a1", "general:5").Build();
        var sink = new RecordingSink();
        await using var engine = new RoutingEngine(new Router(config), time, sink, new EngineOptions { IdleWaitMs = 5 });
        engine.Start();
        await engine.ExecuteAsync(new LoginAgent { AgentId = "a1", InitialState = AgentState.NotReady });
        await engine.ExecuteAsync(new OfferCall { CallId = "c1" });
        time.Advance(TimeSpan.FromSeconds(5));

        await Eventually.TrueAsync(() => sink.Snapshot().Events.Any(e => e.Kind == EventKind.CallTimedOut), "the time-out fired by a tick");

        var timedOut = sink.Snapshot().Events.Single(e => e.Kind == EventKind.CallTimedOut);
        Assert.Equal(Harness.Start + 5000, timedOut.TimeMs);
    }

    [Fact]
    public async Task A_stopped_engine_refuses_new_commands()
    {
        var config = new CentreBuilder().Skill("general").Agent("a1", "general:5").Build();
        var engine = new RoutingEngine(new Router(config), TimeProvider.System, new RecordingSink());
        engine.Start();
        await engine.StopAsync();
        Assert.False(engine.TryPost(Tick.Instance));
    }
}
