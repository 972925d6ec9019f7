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

        private int _inside;
        private readonly ConcurrentDictionary<int, int> _threads = new();

        /// <summary>Times a batch came while another was still being handed over (two threads executing at once).</summary>
        public int Overlaps;

        /// <summary>Batches handed over, by the managed id of the thread that executed them.</summary>
        public IReadOnlyDictionary<int, int> Threads => _threads;

        public void OnBatch(EngineBatch batch)
        {
            if (Interlocked.Increment(ref _inside) > 1)
            {
                Interlocked.Increment(ref Overlaps);
            }

            _threads.AddOrUpdate(Environment.CurrentManagedThreadId, 1, (_, n) => n + 1);
            try
            {
                Record(batch);
            }
            finally
            {
                Interlocked.Decrement(ref _inside);
            }
        }

        private void Record(EngineBatch batch)
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
    public async Task Posters_run_their_batches_themselves_while_the_loop_sleeps_one_thread_at_a_time_in_order()
    {
        const int producers = 4;
        const int rounds = 400;
        var config = new CentreBuilder().Skill("general", s => s.MaxQueueLength = 100_000).Agent("a1", "general:5").With(o => o.MaxLiveCalls = 100_000).Build();
        var sink = new RecordingSink();
        var engine = new RoutingEngine(new Router(config), TimeProvider.System, sink, new EngineOptions { MaxBatch = 8, IdleWaitMs = 1 });
        engine.Start();
        Assert.True((await engine.ExecuteAsync(new LoginAgent { AgentId = "a1", InitialState = AgentState.NotReady })).IsOk);
        var batchesBefore = engine.Batches;

        // Each producer posts one to three offers quietly, has them run, and now and then pauses long enough for the
        // loop to go to sleep: some batches run on the producers' threads, some on the loop's, never two at once.
        using var start = new Barrier(producers);
        var posterThreads = new ConcurrentDictionary<int, bool>();
        var tasks = Enumerable.Range(0, producers).Select(p => Task.Factory.StartNew(() =>
        {
            posterThreads[Environment.CurrentManagedThreadId] = true;
            var random = new Random(p);
            var next = 0;
            start.SignalAndWait(TimeSpan.FromSeconds(10));
            for (var r = 0; r < rounds; r++)
            {
                for (var k = random.Next(1, 4); k > 0; k--)
                {
                    while (!engine.TryPostQuietly(new OfferCall { CallId = $"p{p}-{next}" }))
                    {
                        Thread.Yield();
                    }

                    next++;
                }

                engine.RunPosted();
                if (random.Next(4) == 0)
                {
                    Thread.Sleep(1);
                }
            }

            return next;
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();

        var posted = await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(60));
        var inlineByPosters = engine.InlineBatches;
        var byLoop = engine.Batches - batchesBefore - inlineByPosters;
        var last = await engine.AskAsync(new QueueQuery("general")).WaitAsync(TimeSpan.FromSeconds(30));
        await engine.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));

        var (executed, _) = sink.Snapshot();
        Assert.Equal(posted.Sum(), executed.Count);
        Assert.Equal(executed.Count, executed.Distinct().Count());
        for (var p = 0; p < producers; p++)
        {
            var mine = executed.Where(id => id.StartsWith($"p{p}-", StringComparison.Ordinal)).Select(id => int.Parse(id.AsSpan(id.IndexOf('-') + 1), System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(Enumerable.Range(0, posted[p]), mine);
        }

        Assert.Equal(posted.Sum(), last!.Waiting);
        Assert.Equal(0, sink.Overlaps);
        Assert.Equal(0, sink.OutOfOrderBatches);
        Assert.Equal(0, sink.OutOfOrderEvents);
        Assert.True(inlineByPosters > 0, "no poster ran a batch itself");
        var byPosters = sink.Threads.Where(t => posterThreads.ContainsKey(t.Key)).Sum(t => t.Value);
        Assert.Equal(inlineByPosters, byPosters);
        Assert.True(byLoop > 0, "the loop ran none of the producers' batches");
    }

    [Fact]
    public async Task A_timer_a_poster_sets_while_the_loop_sleeps_fires_on_time_not_at_the_loops_next_wake()
    {
        var config = new CentreBuilder().Skill("general", s => s.MaxWaitSeconds = 1).Agent("a1", "general:5").Build();
        var sink = new RecordingSink();
        // Nothing due: the loop sleeps a minute at a time.
        await using var engine = new RoutingEngine(new Router(config), TimeProvider.System, sink, new EngineOptions { IdleWaitMs = 60_000 });
        engine.Start();
        await engine.ExecuteAsync(new LoginAgent { AgentId = "a1", InitialState = AgentState.NotReady });

        // Questions posted quietly until one runs on this thread: the loop is asleep.
        for (var i = 0; i < 200 && engine.InlineBatches == 0; i++)
        {
            Thread.Sleep(10);
            Assert.True(engine.TryPostQuietly(new QueueQuery("general")));
            engine.RunPosted();
        }

        var inline = engine.InlineBatches;
        Assert.True(inline > 0, "the loop never slept");
        Assert.True(engine.TryPostQuietly(new OfferCall { CallId = "c1" }));
        engine.RunPosted();
        Assert.Equal(inline + 1, engine.InlineBatches);

        // The offer waits (no agent ready) with a time-out 1 s away: the loop must be woken for it.
        await Eventually.TrueAsync(() => sink.Snapshot().Events.Any(e => e.Kind == EventKind.CallTimedOut), "the time-out fired by the woken loop", 10);
    }

    [Fact]
    public async Task A_stopped_engine_refuses_new_commands()
    {
        var config = new CentreBuilder().Skill("general").Agent("a1", "general:5").Build();
        var engine = new RoutingEngine(new Router(config), TimeProvider.System, new RecordingSink());
        engine.Start();
        await engine.StopAsync();
        Assert.False(engine.TryPost(Tick.Instance));
        Assert.False(engine.TryPostQuietly(Tick.Instance));
        engine.RunPosted(); // nothing posted, the loop ended: nothing runs, nothing throws
    }
}
