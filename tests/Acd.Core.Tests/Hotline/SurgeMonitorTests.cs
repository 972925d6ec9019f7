using Acd.Core.Configuration;
using Acd.Core.Durability;
using Acd.Core.Routing;
using Acd.Core.Tests.Support;

namespace Acd.Core.Tests.Hotline;

/// <summary>The surge monitor alone, without a router: its hysteresis, forced tiers, the effects of tiers, its snapshot and invariant.</summary>
public sealed class SurgeMonitorTests
{
    private const long T0 = 1_793_581_200_000;
    private const long Every = 5_000;

    private static SurgeMonitor Monitor(bool skillTiers = false)
    {
        var config = new CentreBuilder().Skill("general").Skill("complaint", s =>
            {
                if (skillTiers)
                {
                    s.SurgeTiers = [new TierOptions { Tier = 2, EnterQueueLength = 3, ExitQueueLength = 0 }];
                }
            })
            .With(o => o.Surge = new SurgeOptions
            {
                EvaluationSeconds = 5,
                CooldownSeconds = 20,
                Tier1OverflowFactor = 0.5,
                SupportSkills = ["complaint"],
                SupportTarget = "general",
                Tiers =
                [
                    new TierOptions { Tier = 1, EnterQueueLength = 10, ExitQueueLength = 5 },
                    new TierOptions { Tier = 2, EnterQueueLength = 20, ExitQueueLength = 10 },
                    new TierOptions { Tier = 3, EnterQueueLength = 40, ExitQueueLength = 20 },
                ],
            })
            .Build();
        var monitor = new SurgeMonitor(config.Hotline, config.Skills.Count);
        monitor.Start(T0);
        return monitor;
    }

    private static LoadReading Queue(int length) => new(length, 0, double.NaN, double.NaN);

    private static void AssertConsistent(SurgeMonitor monitor)
    {
        var problems = new List<string>();
        monitor.Check(problems);
        Assert.Empty(problems);
    }

    [Fact]
    public void Evaluations_come_every_interval_from_the_first_time_seen()
    {
        var monitor = Monitor();
        Assert.Equal(T0 + Every, monitor.NextEvaluationMs);
        Assert.Null(monitor.Evaluate(T0 + Every, _ => Queue(0)));
        Assert.Equal(T0 + (2 * Every), monitor.NextEvaluationMs);
    }

    [Fact]
    public void A_tier_rises_at_once_to_the_highest_crossed_and_falls_one_at_a_time_after_the_cool_down()
    {
        var monitor = Monitor();
        var up = Assert.Single(monitor.Evaluate(T0 + Every, s => Queue(s.Skill < 0 ? 25 : 0))!);
        Assert.Equal(new TierChange(-1, 0, 2, false, "queue length 25 >= 20"), up);
        monitor.Recompute();

        // Back under the exit threshold, but within the cool-down: no change.
        Assert.Null(monitor.Evaluate(T0 + (2 * Every), s => Queue(0)));
        Assert.Null(monitor.Evaluate(T0 + (4 * Every), s => Queue(0)));

        // After the cool-down (20 s since the rise): one tier down, then another after a further cool-down.
        var down = Assert.Single(monitor.Evaluate(T0 + (5 * Every), s => Queue(0))!);
        Assert.Equal((2, 1, "load back within tier 2 exit thresholds"), (down.From, down.To, down.Reason));
        Assert.Null(monitor.Evaluate(T0 + (6 * Every), s => Queue(0)));
        Assert.Equal(0, Assert.Single(monitor.Evaluate(T0 + (9 * Every), s => Queue(0))!).To);
        monitor.Recompute();
        AssertConsistent(monitor);
    }

    [Fact]
    public void A_load_between_the_exit_and_the_enter_threshold_holds_the_tier()
    {
        var monitor = Monitor();
        monitor.Evaluate(T0 + Every, s => Queue(s.Skill < 0 ? 12 : 0));
        Assert.Equal(1, monitor.Domain.Tier);
        for (var i = 2; i < 20; i++)
        {
            Assert.Null(monitor.Evaluate(T0 + (i * Every), s => Queue(s.Skill < 0 ? 7 : 0))); // 7: above the exit (5), below the enter (10)
        }
    }

    [Fact]
    public void A_forced_tier_holds_whatever_the_load_and_ends_on_time()
    {
        var monitor = Monitor();
        var forced = monitor.Force(monitor.Skills[1], 3, T0 + 1000, T0 + 11_000, "typhoon")!.Value;
        Assert.Equal(new TierChange(1, 0, 3, true, "forced: typhoon"), forced);
        monitor.Recompute();
        Assert.Equal((3, 3, 0), (monitor.EffectiveTier(1), monitor.Skills[1].ForcedTier, monitor.EffectiveTier(0)));
        AssertConsistent(monitor);

        Assert.Null(monitor.Evaluate(T0 + Every, _ => Queue(0)));
        Assert.Null(monitor.Evaluate(T0 + (2 * Every), _ => Queue(0)));
        var ended = Assert.Single(monitor.Evaluate(T0 + (3 * Every), _ => Queue(0))!);
        Assert.Equal((1, 3, 0, "override expired; normal load"), (ended.Skill, ended.From, ended.To, ended.Reason));
        Assert.Equal(-1, monitor.Skills[1].ForcedTier);
    }

    [Fact]
    public void Clearing_a_forced_tier_hands_the_tier_back_to_the_load()
    {
        var monitor = Monitor();
        monitor.Force(monitor.Domain, 3, T0, T0 + 60_000, null);
        var cleared = monitor.Clear(monitor.Domain, T0 + 1000, Queue(15))!.Value;
        Assert.Equal((3, 1, false, "override cleared"), (cleared.From, cleared.To, cleared.Forced, cleared.Reason));
    }

    [Fact]
    public void Tiers_take_effect_on_the_skills_overflow_timing_and_the_support_seats()
    {
        var monitor = Monitor(skillTiers: true);
        Assert.Equal((60_000L, false), (monitor.StepDelay(0, 60_000), monitor.SupportActive));
        monitor.Evaluate(T0 + Every, s => Queue(s.Skill == 1 ? 3 : 0)); // complaint alone: its own tier 2
        var retimed = monitor.Recompute();
        Assert.Equal(new[] { false, true }, retimed);
        Assert.Equal((0, 2), (monitor.EffectiveTier(0), monitor.EffectiveTier(1)));
        Assert.Equal(30_000, monitor.StepDelay(1, 60_000));
        Assert.False(monitor.SupportActive); // general, the supported skill, is still at tier 0

        monitor.Evaluate(T0 + (2 * Every), s => Queue(s.Skill < 0 ? 10 : 3)); // the domain at tier 1: every skill at least 1
        monitor.Recompute();
        Assert.Equal((1, 2, true), (monitor.EffectiveTier(0), monitor.EffectiveTier(1), monitor.SupportActive));
        AssertConsistent(monitor);
    }

    [Fact]
    public void A_monitor_written_and_read_back_is_the_same_monitor()
    {
        var monitor = Monitor(skillTiers: true);
        for (var i = 1; i <= 7; i++)
        {
            for (var a = 0; a < i; a++)
            {
                monitor.CountArrival(a % 2);
            }

            monitor.Evaluate(T0 + (i * Every), s => Queue(i * (s.Skill + 2)));
        }

        monitor.Force(monitor.Skills[0], 2, T0 + (7 * Every), T0 + (30 * Every), "drill");
        monitor.Recompute();
        var w = new StateWriter();
        monitor.Write(w);
        var copy = Monitor(skillTiers: true);
        var r = new StateReader(w.WrittenMemory.ToArray());
        copy.Read(r);
        Assert.True(r.AtEnd);
        AssertConsistent(copy);
        string[] names = ["general", "complaint"];
        Assert.Equal(monitor.View(monitor.Domain, null, names), copy.View(copy.Domain, null, names), new ViewComparer());
        Assert.Equal(monitor.View(monitor.Skills[0], "general", names), copy.View(copy.Skills[0], "general", names), new ViewComparer());
        Assert.Equal(monitor.NextEvaluationMs, copy.NextEvaluationMs);

        // And they go on alike.
        Assert.Equal(monitor.Evaluate(T0 + (8 * Every), _ => Queue(50)), copy.Evaluate(T0 + (8 * Every), _ => Queue(50)));
    }

    private sealed class ViewComparer : IEqualityComparer<SurgeView>
    {
        public bool Equals(SurgeView? x, SurgeView? y) => x is not null && y is not null
            && (x.Skill, x.Tier, x.Forced, x.Reason, x.SinceMs, x.ForcedUntilMs, x.ArrivalRatePerSecond, x.BaselinePerSecond) == (y.Skill, y.Tier, y.Forced, y.Reason, y.SinceMs, y.ForcedUntilMs, y.ArrivalRatePerSecond, y.BaselinePerSecond)
            && x.EffectiveTiers.OrderBy(t => t.Key, StringComparer.Ordinal).SequenceEqual(y.EffectiveTiers.OrderBy(t => t.Key, StringComparer.Ordinal));

        public int GetHashCode(SurgeView obj) => obj.Tier;
    }
}
