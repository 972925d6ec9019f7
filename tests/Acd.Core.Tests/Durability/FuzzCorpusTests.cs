using Acd.Core.Configuration;
using Acd.Core.Domain;
using Acd.Core.Durability;
using Acd.Core.Routing;
using Acd.Fuzz;

namespace Acd.Core.Tests.Durability;

/// <summary>
/// The fuzz targets as ordinary tests: every seed of the corpus and every input fuzzing ever turned up
/// (fuzz/regressions) must pass its target's properties — so a finding, once fixed, stays fixed without afl-fuzz.
/// </summary>
public sealed class FuzzCorpusTests
{
    public static TheoryData<string, string> Inputs()
    {
        var data = new TheoryData<string, string>();
        var root = Path.Combine(AppContext.BaseDirectory, "fuzz");
        foreach (var target in FuzzTargets.All.Keys)
        {
            foreach (var folder in new[] { Path.Combine(root, "regressions", target), Path.Combine(root, "seeds", target) })
            {
                if (Directory.Exists(folder))
                {
                    foreach (var file in Directory.GetFiles(folder).Order(StringComparer.Ordinal))
                    {
                        data.Add(target, Path.GetRelativePath(root, file));
                    }
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Every_seed_and_every_past_finding_passes_its_target(string target, string file)
    {
        FuzzTargets.All[target](File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "fuzz", file)));
    }

    [Fact]
    public void The_corpus_has_seeds_for_every_target()
    {
        Assert.All(FuzzTargets.All.Keys, t => Assert.Contains(Inputs(), row => (string)row[0] == t));
    }

    [Fact]
    public void A_snapshot_call_with_a_priority_out_of_range_is_refused_as_damage_not_an_index_error()
    {
        // Found by the snapshot target: a queued call whose priority byte is over 9 indexed past the skill's queues
        // (IndexOutOfRangeException). The byte is the one that differs between two states that differ only in it.
        var options = System.Text.Json.JsonSerializer.Deserialize<DomainOptions>(FuzzTargets.SnapshotCentre, new System.Text.Json.JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;
        var config = DomainCompiler.TryCompile(options, "Acd", [])!;
        byte[] State(int priority)
        {
            // The one ready agent takes the first call; the second waits, with its priority.
            var router = new Router(config);
            var events = new EventBuffer(16);
            router.Execute(LoginRoster.Instance, 1000, events);
            router.Execute(new OfferCall { CallId = "first", Caller = "1" }, 1000, events);
            Assert.Equal(OfferOutcome.Queued, router.Execute(new OfferCall { CallId = "queued", Caller = "2", Priority = priority }, 1000, events).Outcome);
            var w = new StateWriter();
            router.WriteState(w);
            return w.Written.ToArray();
        }

        var three = State(3);
        var four = State(4);
        var at = Enumerable.Range(0, three.Length).Single(i => three[i] != four[i]);
        three[at] = 200;
        var error = Assert.Throws<InvalidDataException>(() => Router.ReadState(config, new StateReader(three)));
        Assert.Contains("priority 200", error.Message, StringComparison.Ordinal);
        FuzzTargets.Snapshot(three); // refused the documented way: no finding
    }
}
