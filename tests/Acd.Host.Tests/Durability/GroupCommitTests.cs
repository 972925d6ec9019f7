using System.Collections.Concurrent;
using Acd.Core.Durability;
using Acd.Core.Engine;
using Acd.Core.Routing;
using Acd.Host.Configuration;
using Acd.Host.Durability;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Acd.Host.Tests.Durability;

/// <summary>
/// The group commit made by the posters themselves (issue 18, eleventh step): a poster that executed its batch while the
/// engine slept also writes and flushes it when no commit is under way; otherwise the committer of the moment takes it.
/// On a real journal in a temporary directory.
/// </summary>
public sealed class GroupCommitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("acd-commit-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Forwards the engine's batches to the journal, as the daemon's domain does (its SIP scopes aside).</summary>
    private sealed class JournalSink(Func<DurableSink> journal, Action beforeWrite, Func<bool>? mayWait = null) : IEngineSink
    {
        public void OnBatch(EngineBatch batch) => journal().OnBatch(batch);

        public void AfterInline() => journal().CommitInline(mayWait, beforeWrite);
    }

    [Fact]
    public async Task Posters_commit_their_own_batches_one_committer_at_a_time_each_durable_before_its_answers_and_in_order()
    {
        const int producers = 4;
        var settings = ConfigLoader.Load(new ConfigurationBuilder().AddJsonStream(ConfigLoader.OpenDemoCentre()).AddCommandLine(["--sip", "", "--grpc", "", "--http", ""]).Build());
        var config = settings.Domains[0];
        var journalSettings = new JournalSettings { SnapshotProcess = false };
        var store = new DomainStore(_dir, config, journalSettings, NullLogger.Instance);
        var recovered = store.Recover();

        // What each delivery saw: its batch, its thread, the journal's durable end against the records delivered so far.
        var delivered = new ConcurrentQueue<(long Batch, int Thread, long Durable, long Journaled)>();
        var journaledSoFar = recovered.LastIndex;
        var inside = 0;
        var overlaps = 0;
        var twice = 0;
        var failed = false;
        var acknowledged = new ConcurrentDictionary<string, bool>();
        var beforeWrites = new ConcurrentQueue<long>();
        DurableSink? journal = null;
        var sink = new JournalSink(() => journal!, () => beforeWrites.Enqueue(store.LastIndex));
        var engine = new RoutingEngine(recovered.Router, TimeProvider.System, sink, new EngineOptions { MaxBatch = 8, IdleWaitMs = 60_000 });
        journal = new DurableSink(store, recovered.LastIndex, batch =>
        {
            if (Interlocked.Increment(ref inside) > 1)
            {
                Interlocked.Increment(ref overlaps);
            }

            foreach (ref readonly var entry in batch.Entries)
            {
                if (CommandCodec.IsJournaled(entry.Command))
                {
                    journaledSoFar++;
                }

                if (entry.Command is OfferCall offer && entry.Result.IsOk && !acknowledged.TryAdd(offer.CallId, true))
                {
                    Interlocked.Increment(ref twice);
                }

                (entry.Reply as ICommandReply)?.Complete(entry.Result);
            }

            delivered.Enqueue((batch.Number, Environment.CurrentManagedThreadId, store.LastIndex, journaledSoFar));
            Interlocked.Decrement(ref inside);
            batch.Release();
        }, journalSettings, TimeProvider.System, NullLogger.Instance, () => failed = true, command => engine.ExecuteAsync(command));
        engine.Start();
        Assert.True((await engine.ExecuteAsync(LoginRoster.Instance)).IsOk); // the roster in, as a first start does

        // Posters post one or two offers quietly, have them run, and mostly pause a few milliseconds, so that the engine
        // (which sleeps up to a minute) and the journal (a poster commits only while it is busy less than half the time)
        // go idle between them; a client waits for the loop's answers meanwhile
        // (the journal's thread commits those). The engine and the journal stop while the posters may still post.
        using var start = new Barrier(producers + 1);
        using var stop = new CancellationTokenSource();
        var posterThreads = new ConcurrentDictionary<int, bool>();
        var accepted = 0;
        var tasks = Enumerable.Range(0, producers).Select(p => Task.Factory.StartNew(() =>
        {
            posterThreads[Environment.CurrentManagedThreadId] = true;
            var random = new Random(p);
            var next = 0;
            start.SignalAndWait(TimeSpan.FromSeconds(10));
            while (next < 4000 && !stop.IsCancellationRequested)
            {
                for (var k = random.Next(1, 3); k > 0; k--)
                {
                    if (!engine.TryPostQuietly(new OfferCall { CallId = $"p{p}-{next}" }))
                    {
                        return;
                    }

                    next++;
                    Interlocked.Increment(ref accepted);
                }

                engine.RunPosted();
                if (random.Next(4) != 0)
                {
                    Thread.Sleep(random.Next(1, 8));
                }
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        start.SignalAndWait(TimeSpan.FromSeconds(10));
        var byClient = 0;
        for (var i = 0; i < 200; i++)
        {
            Assert.True((await engine.ExecuteAsync(new OfferCall { CallId = $"c-{i}" }).WaitAsync(TimeSpan.FromSeconds(30))).IsOk);
            byClient++;
            await Task.Delay(2);
        }

        await Eventually.TrueAsync(() => journal.InlineCommits >= 10 || tasks.All(t => t.IsCompleted), "ten commits made by the posters", 30);
        Assert.True(journal.InlineCommits >= 10, $"posters' own commits {journal.InlineCommits}, inline batches {engine.InlineBatches}, accepted {accepted}, batches {engine.Batches}");
        await engine.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await journal.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await stop.CancelAsync();
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(30));
        var durable = store.LastIndex;
        var liveCalls = engine.Router.LiveCalls; // the engine has stopped: its router may be read
        store.Dispose();
        journal.Dispose();

        // Every batch answered once, in order, by one committer at a time, each after its records were on the disk.
        var deliveries = delivered.ToArray();
        Assert.False(failed);
        Assert.Equal(0, overlaps);
        Assert.Equal(0, twice);
        Assert.Equal(Enumerable.Range(1, deliveries.Length).Select(n => (long)n), deliveries.Select(d => d.Batch));
        Assert.All(deliveries, d => Assert.True(d.Durable >= d.Journaled, $"batch {d.Batch} answered with {d.Journaled} records journaled and {d.Durable} durable"));
        Assert.Equal(accepted + byClient, acknowledged.Count);
        Assert.Equal(journaledSoFar, durable);

        // Both ways of committing ran: the posters' own, each after its beforeWrite, and the journal thread's.
        var byPosters = deliveries.Count(d => posterThreads.ContainsKey(d.Thread));
        Assert.True(byPosters > 0 && byPosters < deliveries.Length, $"{byPosters} of {deliveries.Length} batches committed by posters");
        Assert.Equal(journal.InlineCommits, beforeWrites.Count);
        Assert.True(beforeWrites.Zip(beforeWrites.Skip(1)).All(p => p.First < p.Second), "a beforeWrite after its commit's write");

        // And the journal holds every acknowledged offer: a restart recovers the calls as they were (waiting, or sent to
        // a callback once the surge tiers rose, as the demo centre does).
        using var again = new DomainStore(_dir, config, journalSettings, NullLogger.Instance);
        var state = again.Recover();
        Assert.Equal(durable, state.LastIndex);
        Assert.True(liveCalls > 0);
        Assert.Equal(liveCalls, state.Router.LiveCalls);
    }

    [Fact]
    public async Task A_poster_that_may_not_wait_for_the_disk_leaves_its_commit_to_the_journals_thread()
    {
        var settings = ConfigLoader.Load(new ConfigurationBuilder().AddJsonStream(ConfigLoader.OpenDemoCentre()).AddCommandLine(["--sip", "", "--grpc", "", "--http", ""]).Build());
        var journalSettings = new JournalSettings { SnapshotProcess = false };
        using var store = new DomainStore(_dir, settings.Domains[0], journalSettings, NullLogger.Instance);
        var recovered = store.Recover();
        var threads = new ConcurrentQueue<string?>();
        var asked = 0;
        var wrote = 0;
        DurableSink? journal = null;
        var sink = new JournalSink(() => journal!, () => Interlocked.Increment(ref wrote), () =>
        {
            Interlocked.Increment(ref asked);
            return false; // as a SIP read loop whose socket holds more requests
        });
        await using var engine = new RoutingEngine(recovered.Router, TimeProvider.System, sink, new EngineOptions { IdleWaitMs = 60_000 });
        journal = new DurableSink(store, recovered.LastIndex, batch =>
        {
            threads.Enqueue(Thread.CurrentThread.Name);
            foreach (ref readonly var entry in batch.Entries)
            {
                (entry.Reply as ICommandReply)?.Complete(entry.Result);
            }

            batch.Release();
        }, journalSettings, TimeProvider.System, NullLogger.Instance, () => { }, command => engine.ExecuteAsync(command));
        engine.Start();
        try
        {
            Assert.True((await engine.ExecuteAsync(LoginRoster.Instance)).IsOk);

            // Offers run on this thread while the engine sleeps; their commits are asked for and refused.
            for (var i = 0; i < 2000 && asked < 20; i++)
            {
                Thread.Sleep(2);
                Assert.True(engine.TryPostQuietly(new OfferCall { CallId = $"c{i}" }));
                engine.RunPosted();
            }

            Assert.True(asked >= 20, $"asked {asked} times ({engine.InlineBatches} batches ran on the poster's thread)");
            await Eventually.TrueAsync(() => store.LastIndex >= recovered.LastIndex + engine.InlineBatches, "the offers durable", 10);
            Assert.Equal(0, journal.InlineCommits);
            Assert.Equal(0, wrote);
            Assert.All(threads, name => Assert.StartsWith("acd-journal-", name, StringComparison.Ordinal));
        }
        finally
        {
            await engine.StopAsync();
            await journal.StopAsync();
            journal.Dispose();
        }
    }
}
