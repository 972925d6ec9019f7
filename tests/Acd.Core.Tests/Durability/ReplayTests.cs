using Acd.Core.Configuration;
using Acd.Core.Durability;
using Acd.Core.Routing;
using Acd.Core.Tests.Hotline;
using Acd.Core.Tests.Reference;

namespace Acd.Core.Tests.Durability;

/// <summary>
/// Exact recovery, shown on random streams with every hotline feature on: a journal replayed from the start, and a
/// snapshot taken anywhere then restored and fed what came after, both give the live router's state digest — and,
/// fed the same commands afterwards, the same results and events as the live router.
/// </summary>
public sealed class ReplayTests
{
    private static IEnumerable<(long Time, Command Command)> Stream(DomainConfig config, int seed, int count)
    {
        var generator = new CommandGenerator(seed, config);
        var rng = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            var command = generator.Next();
            if (rng.Next(10) == 0)
            {
                command = rng.Next(6) switch
                {
                    0 => new ForceSurgeTier { Tier = rng.Next(4), DurationSeconds = 1 + rng.Next(300), Skill = rng.Next(2) == 0 ? null : "complaint", Reason = "r" + i },
                    1 => new ClearSurgeOverride(),
                    2 => new SetCallerVip("139" + rng.Next(1000).ToString("D4", System.Globalization.CultureInfo.InvariantCulture), rng.Next(3)),
                    3 => new ReportCallbackOutcome($"cb-{rng.Next(1, 200)}@diff", rng.Next(2) == 0),
                    4 => new CancelCallback($"cb-{rng.Next(1, 200)}@diff"),
                    _ => new OfferCall { CallId = $"x{i}", Caller = "1390007", Language = "en", ServiceNumber = "10086", IvrDigits = "3", Vip = rng.Next(2) },
                };
            }

            yield return (generator.Now, command);
        }
    }

    /// <summary>Equal events; their answer routes (bytes that came back from the journal or a snapshot) equal by content.</summary>
    private static bool SameEvents(ReadOnlySpan<RoutingEvent> a, ReadOnlySpan<RoutingEvent> b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }

        for (var i = 0; i < a.Length; i++)
        {
            if (a[i] with { AnswerRoute = null } != b[i] with { AnswerRoute = null }
                || (a[i].AnswerRoute is null) != (b[i].AnswerRoute is null)
                || (a[i].AnswerRoute is { } route && !route.AsSpan().SequenceEqual(b[i].AnswerRoute)))
            {
                return false;
            }
        }

        return true;
    }

    private static void Run(Router router, (long Time, Command Command) step, EventBuffer events)
    {
        events.Clear();
        router.Execute(step.Command, step.Time, events);
    }

    [Theory]
    [InlineData(21)]
    [InlineData(22)]
    [InlineData(23)]
    public void A_replayed_journal_gives_the_live_digest_and_the_same_events(int seed)
    {
        var config = HotlineFuzzTests.Centre();
        var live = new Router(config);
        var journal = new StateWriter(1 << 20);
        var liveEvents = new EventBuffer();
        var liveEventsByRecord = new List<RoutingEvent[]>();
        var index = 0L;
        foreach (var step in Stream(config, seed, 30_000))
        {
            Run(live, step, liveEvents);
            liveEventsByRecord.Add(liveEvents.Span.ToArray());
            JournalFormat.Append(journal, ++index, step.Time, step.Command);
        }

        var replayed = new Router(config);
        var scanner = new JournalScanner(journal.WrittenMemory);
        var events = new EventBuffer();
        var expected = 1L;
        while (scanner.TryNext(out var payload))
        {
            var (i, time, command) = JournalFormat.Decode(payload);
            Assert.Equal(expected++, i);
            events.Clear();
            replayed.Execute(command, time, events);
            Assert.True(SameEvents(events.Span, liveEventsByRecord[(int)i - 1]), $"seed {seed}: record {i} ({command.Kind}) gave other events on replay");
        }

        Assert.Equal(JournalScanEnd.Clean, scanner.End);
        Assert.Equal(index + 1, expected);
        Assert.Equal(live.StateDigest(), replayed.StateDigest());
        Assert.Equal(live.Totals, replayed.Totals);
        Assert.Empty(replayed.CheckInvariants());
    }

    [Theory]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(33)]
    public void A_snapshot_taken_anywhere_restores_a_router_that_behaves_exactly_as_the_live_one(int seed)
    {
        var config = HotlineFuzzTests.Centre();
        var live = new Router(config);
        var steps = Stream(config, seed, 24_000).ToList();
        var liveEvents = new EventBuffer();
        var copyEvents = new EventBuffer();
        var checkpoints = 0;
        for (var i = 0; i < steps.Count; i++)
        {
            Run(live, steps[i], liveEvents);
            if (i % 4_000 != 3_999)
            {
                continue;
            }

            // Snapshot, restore, and hold the copy to the live router for the next 2,000 commands.
            var w = new StateWriter();
            live.WriteState(w);
            var copy = Router.ReadState(config, new StateReader(w.WrittenMemory.ToArray()));
            Assert.Equal(live.StateDigest(), copy.StateDigest());
            Assert.Empty(copy.CheckInvariants());
            var probe = Router.ReadState(config, new StateReader(w.WrittenMemory.ToArray()));
            for (var k = i + 1; k < Math.Min(steps.Count, i + 2_001); k++)
            {
                liveEvents.Clear();
                copyEvents.Clear();
                var a = live.Execute(steps[k].Command, steps[k].Time, liveEvents);
                var b = probe.Execute(steps[k].Command, steps[k].Time, copyEvents);
                Assert.True(a == b && SameEvents(liveEvents.Span, copyEvents.Span), $"seed {seed}: after a snapshot at {i}, command {k} ({steps[k].Command.Kind}) differs:\n{a}\n{b}");
            }

            // The live router went on; rewind it by restoring its own snapshot (the restored copy was never touched).
            live = copy;
            checkpoints++;
        }

        Assert.Equal(6, checkpoints);
    }

    [Fact]
    public void A_snapshot_refuses_another_configuration()
    {
        var config = HotlineFuzzTests.Centre();
        var router = new Router(config);
        router.Execute(LoginRoster.Instance, Support.Harness.Start, new EventBuffer());
        var w = new StateWriter();
        router.WriteState(w);
        var other = DomainCompiler.Compile(CommandGenerator.CentreOptions());
        var error = Assert.ThrowsAny<InvalidDataException>(() => Router.ReadState(other, new StateReader(w.WrittenMemory.ToArray())));
        Assert.Contains("another configuration", error.Message, StringComparison.Ordinal);
        var truncated = w.WrittenMemory[..(w.Length / 2)].ToArray();
        Assert.ThrowsAny<InvalidDataException>(() => Router.ReadState(config, new StateReader(truncated)));
    }

    [Fact]
    public void Every_command_kind_round_trips_through_the_codec()
    {
        var config = HotlineFuzzTests.Centre();
        var seen = new HashSet<CommandKind>();
        foreach (var (_, command) in Stream(config, 5, 20_000))
        {
            var w = new StateWriter();
            CommandCodec.Write(w, command);
            var decoded = CommandCodec.Read(new StateReader(w.WrittenMemory.ToArray()));
            var again = new StateWriter();
            CommandCodec.Write(again, decoded);
            Assert.True(w.Written.SequenceEqual(again.Written), $"{command.Kind} does not round-trip");
            Assert.Equal(command.Kind, decoded.Kind);
            seen.Add(command.Kind);
        }

        Assert.Equal(Enum.GetValues<CommandKind>().Where(k => k != CommandKind.Query).Order(), seen.Order());
    }

    [Fact]
    public void Malformed_records_are_refused_with_an_error_not_an_exception_of_another_kind()
    {
        var rng = new Random(3);
        var w = new StateWriter();
        JournalFormat.Append(w, 1, 1000, new OfferCall { CallId = "c1", Caller = "1", Skill = "general" });
        var good = w.Written.ToArray();
        var refused = 0;
        for (var i = 0; i < 2000; i++)
        {
            // A flipped bit anywhere in the payload: the record decodes to some command, or is refused as invalid data —
            // never another exception (the CRC, checked by the scanner, is what catches the rest).
            var bad = (byte[])good.Clone();
            bad[JournalFormat.HeaderBytes + rng.Next(bad.Length - JournalFormat.HeaderBytes)] ^= (byte)(1 << rng.Next(8));
            try
            {
                JournalFormat.Decode(bad.AsMemory(JournalFormat.HeaderBytes));
            }
            catch (InvalidDataException)
            {
                refused++;
            }
        }

        Assert.InRange(refused, 100, 2000);
    }
}
