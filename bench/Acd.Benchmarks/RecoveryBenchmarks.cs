using Acd.Core.Configuration;
using Acd.Core.Durability;
using Acd.Core.Routing;
using Acd.Host.Configuration;
using Acd.Host.Durability;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;

namespace Acd.Benchmarks;

/// <summary>
/// Recovery of a journal of 1,000,000 records (issue 7: at most 3 s): a centre of 500 agents over 5 skills working
/// calls — each call an offer, an answer and an end, agents changing state between — journaled as the daemon would,
/// then read back, checked and replayed through the router by <see cref="DomainStore.Recover"/>, from no snapshot.
/// </summary>
[MemoryDiagnoser]
[InvocationCount(1)]
[WarmupCount(1)]
[IterationCount(5)]
public class RecoveryBenchmarks
{
    public const int Records = 1_000_000;
    private string _directory = string.Empty;
    private DomainConfig _config = null!;
    private readonly JournalSettings _settings = new() { Fsync = false, SegmentMegabytes = 64 };

    public static DomainConfig Centre()
    {
        var o = new DomainOptions { Name = "recovery", MaxLiveCalls = 1_000_000 };
        string[] skills = ["general", "complaint", "data", "english", "vip"];
        foreach (var s in skills)
        {
            o.Skills.Add(new SkillOptions { Name = s, WrapUpSeconds = 0, MaxQueueLength = 1_000_000, MaxWaitSeconds = 86_400 });
        }

        for (var i = 0; i < 500; i++)
        {
            var agent = new AgentOptions { Id = $"A{i:D4}", InitialState = "ready" };
            agent.Skills[skills[i % skills.Length]] = 5;
            agent.Skills["general"] = 3 + (i % 7);
            o.Agents.Add(agent);
        }

        return DomainCompiler.Compile(o);
    }

    /// <summary>Writes <see cref="Records"/> journal records of a working centre into <paramref name="directory"/>.</summary>
    public static void WriteJournal(string directory, DomainConfig config, JournalSettings settings)
    {
        var router = new Router(config);
        using var store = new DomainStore(directory, config, settings, NullLogger.Instance);
        store.Recover();
        var events = new EventBuffer(64);
        var w = new StateWriter(1 << 22);
        var rng = new Random(7);
        var now = 1_793_581_200_000L;
        var index = 0L;
        var talking = new Queue<string>();
        var call = 0;

        void Run(Command command)
        {
            events.Clear();
            router.Execute(command, now, events);
            JournalFormat.Append(w, ++index, now, command);
            foreach (var e in events)
            {
                if (e.Kind == EventKind.CallRouted)
                {
                    talking.Enqueue(e.CallId!);
                }
            }

            if (w.Length > 1 << 21)
            {
                store.Append(w.Written, index);
                w.Clear();
            }
        }

        Run(LoginRoster.Instance);
        while (index < Records)
        {
            now += rng.Next(0, 20);
            var roll = rng.Next(10);
            if (roll < 4 || talking.Count == 0)
            {
                Run(new OfferCall { CallId = $"call-{call++}", Caller = $"138{rng.Next(10_000_000):D8}", Skill = rng.Next(3) == 0 ? "complaint" : null });
            }
            else if (roll < 9)
            {
                var id = talking.Dequeue();
                Run(new CallCommand(CommandKind.Answered, id));
                Run(new CallCommand(CommandKind.End, id));
            }
            else
            {
                var agent = $"A{rng.Next(500):D4}";
                Run(new AgentCommand(CommandKind.SetState, agent) { State = rng.Next(2) == 0 ? Acd.Core.Domain.AgentState.NotReady : Acd.Core.Domain.AgentState.Ready, Reason = "break" });
            }
        }

        store.Append(w.Written, index);
    }

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("acd-recovery-").FullName;
        _config = Centre();
        WriteJournal(_directory, _config, _settings);
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_directory, recursive: true);

    [Benchmark]
    public long RecoverMillionRecords()
    {
        using var store = new DomainStore(_directory, _config, _settings, NullLogger.Instance);
        var state = store.Recover();
        return state.Replayed < Records ? throw new InvalidOperationException($"replayed {state.Replayed}") : state.LastIndex;
    }
}
