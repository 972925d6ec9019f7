using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Acd.Core.Durability;
using Acd.Core.Routing;
using Acd.Core.Tests.Hotline;

namespace Acd.Core.Tests.Durability;

/// <summary>
/// A command stream recorded in the journal format of the first release (before the router's callbacks and surge
/// tiers became components of their own) replays to the very events and state recorded with it then: the journal is
/// read, every command executed, a snapshot written and read back every 4,000 commands, and the events (a SHA-256 over
/// their fields) and the state (as the queries show it) compared with what was recorded. The state is compared as
/// the queries render it, not as snapshot bytes, so the snapshot format may change without changing the test.
/// Record afresh (only when the routing rules change on purpose): <c>ACD_RECORD_STREAM=1 dotnet test --filter RecordedStream</c>;
/// keep the journal and write only what it now replays to: <c>ACD_RECORD_STREAM=expected</c>.
/// </summary>
public sealed class RecordedStreamTests
{
    private const int Commands = 12_000;
    private const int SnapshotEvery = 4_000;
    private static readonly string Journal = Path.Combine(AppContext.BaseDirectory, "Data", "hotline-stream.journal.gz");
    private static readonly string Expected = Path.Combine(AppContext.BaseDirectory, "Data", "hotline-stream.expected.txt");

    [Fact]
    public void A_stream_recorded_by_the_first_release_replays_to_the_same_events_and_state()
    {
        if (Environment.GetEnvironmentVariable("ACD_RECORD_STREAM") == "1")
        {
            Record();
        }
        else if (Environment.GetEnvironmentVariable("ACD_RECORD_STREAM") == "expected")
        {
            // A deliberate change of what the same commands lead to: the journal stays, what it replays to is written anew.
            File.WriteAllText(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "Data", Path.GetFileName(Expected)), Replay());
            return;
        }

        Assert.Equal(File.ReadAllText(Expected).ReplaceLineEndings("\n"), Replay());
    }

    /// <summary>Replays the recorded journal; returns the events' count and hash and the state at the end.</summary>
    private static string Replay()
    {
        var router = new Router(HotlineFuzzTests.Centre());
        var events = new EventBuffer();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var eventCount = 0L;
        var scanner = new JournalScanner(ReadJournal(), format: 1); // recorded before records had their end byte
        var index = 0L;
        while (scanner.TryNext(out var payload))
        {
            var (i, time, command) = JournalFormat.Decode(payload);
            Assert.Equal(++index, i);
            events.Clear();
            router.Execute(command, time, events);
            foreach (var e in events)
            {
                hash.AppendData(Encoding.UTF8.GetBytes(Render(e)));
                eventCount++;
            }

            if (index % SnapshotEvery == 0)
            {
                var w = new StateWriter(1 << 16);
                router.WriteState(w);
                router = Router.ReadState(router.Config, new StateReader(w.WrittenMemory));
            }
        }

        Assert.Equal(JournalScanEnd.Clean, scanner.End);
        Assert.Equal(Commands, index);
        Assert.Empty(router.CheckInvariants());
        return $"events {eventCount} {Convert.ToHexString(hash.GetHashAndReset())}\n{RenderState(router)}";
    }

    private static ReadOnlyMemory<byte> ReadJournal()
    {
        using var file = File.OpenRead(Journal);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var bytes = new MemoryStream();
        gzip.CopyTo(bytes);
        return bytes.ToArray();
    }

    /// <summary>Runs the hotline stream once; writes its journal and what its replay gives, here and into the source tree.</summary>
    private static void Record()
    {
        var config = HotlineFuzzTests.Centre();
        var router = new Router(config);
        var stream = new HotlineStream(config, 1113);
        var events = new EventBuffer();
        var journal = new StateWriter(1 << 20);
        for (var i = 1; i <= Commands; i++)
        {
            var command = stream.Next(router);
            events.Clear();
            router.Execute(command, stream.Now, events);
            stream.Observe(events);
            JournalFormat.Append(journal, i, stream.Now, command, format: 1);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Journal)!);
        using (var file = File.Create(Journal))
        using (var gzip = new GZipStream(file, CompressionLevel.SmallestSize))
        {
            gzip.Write(journal.Written);
        }

        File.WriteAllText(Expected, Replay());
        var source = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "Data"));
        File.Copy(Journal, Path.Combine(source, Path.GetFileName(Journal)), overwrite: true);
        File.Copy(Expected, Path.Combine(source, Path.GetFileName(Expected)), overwrite: true);
    }

    private static string Render(in RoutingEvent e) => string.Create(
        CultureInfo.InvariantCulture,
        $"{e.Sequence}|{e.TimeMs}|{e.Kind}|{e.CallId}|{e.Caller}|{e.AgentId}|{e.Skill}|{e.FromState}|{e.ToState}|{e.Reason}|{e.Position}|{e.WaitMs}|{e.EstimatedWaitMs}|{e.Contact}|{e.Priority}|{e.RejectReason}|{e.Handoff}|{e.Tier}|{e.FromTier}|{e.Forced}|{e.CallbackId}|{e.Attempts}\n");

    /// <summary>The state as the router's queries show it, one fact a line.</summary>
    private static string RenderState(Router router)
    {
        var b = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        b.Append(ci, $"now {router.Now} totals {router.Totals} callbacks {router.CallbackFigures}\n");
        foreach (var a in router.ListAgents())
        {
            b.Append(ci, $"agent {a.AgentId} {a.State} {a.Reason} {a.StateSinceMs} {a.Role} {a.Outbound} {a.Contact} {a.CurrentCallId} {a.CallsHandled} {string.Join(',', a.Skills.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}:{s.Value}"))}\n");
        }

        foreach (var id in router.LiveCallIds())
        {
            var c = router.GetCall(id)!;
            b.Append(ci, $"call {c.CallId} {c.Caller} {c.ServiceNumber} {c.Skill} {c.Priority} {c.Vip} {c.Language} {c.State} {c.FirstEnqueueMs} {c.AgentId} {c.Position} {c.Detached} {c.TargetAgentId}\n");
        }

        foreach (var c in router.ListCallbacks(closedToo: true))
        {
            b.Append(ci, $"callback {c.ToString()[c.GetType().Name.Length..]}\n");
        }

        foreach (var skill in new string?[] { null }.Concat(router.Config.Skills.Select(s => s.Name)))
        {
            var s = router.GetSurge(skill)!;
            b.Append(ci, $"surge {skill ?? "(domain)"} {s.Tier} {s.Forced} {s.Reason} {s.SinceMs} {s.ForcedUntilMs} {s.ArrivalRatePerSecond:R} {s.BaselinePerSecond:R} {string.Join(',', s.EffectiveTiers.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}:{t.Value}"))}\n");
        }

        foreach (var q in router.ListQueues())
        {
            b.Append(ci, $"queue {q.Skill} {q.Waiting} {q.LongestWaitMs} {q.Offered} {q.Answered} {q.Abandoned} {q.AnsweredWithinThreshold} {q.TimedOut} {q.Rejected} {q.ServiceLevelRolling:R} {q.ServiceLevelToday:R} {q.AsaMs} {q.AhtMs} {string.Join(',', q.AgentsByState)} {q.ArrivalRatePerSecond:R} {q.Deflected} {q.SurgeTier}\n");
        }

        return b.ToString();
    }
}
