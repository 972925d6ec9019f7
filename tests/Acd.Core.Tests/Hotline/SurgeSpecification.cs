using Acd.Core.Configuration;
using Acd.Core.Domain;
using Acd.Core.Routing;
using Acd.Core.Tests.Support;

namespace Acd.Core.Tests.Hotline;

/// <summary>Surge warning tiers (SPEC 4.1), driven by the router's own clock.</summary>
public sealed class SurgeSpecification
{
    private const int Cooldown = 120;

    /// <summary>
    /// Six general seats, two complaint seats that support general in tier 1, a team lead and a supervisor in Standby.
    /// Tier 1: arrivals 1.5× the baseline or 5 waiting; tier 2: 10 waiting; tier 3: 20 waiting; deflection over 60 s.
    /// </summary>
    private static CentreBuilder SurgeCentre() => new CentreBuilder()
        .Skill("general", s => s.WrapUpSeconds = 5)
        .Skill("complaint", s => s.WrapUpSeconds = 5)
        .AgentAs("g1", "agent", "ready", "general:5").AgentAs("g2", "agent", "ready", "general:5").AgentAs("g3", "agent", "ready", "general:5")
        .AgentAs("g4", "agent", "ready", "general:5").AgentAs("g5", "agent", "ready", "general:5").AgentAs("g6", "agent", "ready", "general:5")
        .AgentAs("c1", "agent", "ready", "complaint:8").AgentAs("c2", "agent", "ready", "complaint:8")
        .AgentAs("tl", "team-lead", "standby", "general:9")
        .AgentAs("sv", "supervisor", "standby", "general:9", "complaint:9")
        .With(o =>
        {
            o.DefaultHandleTimeSeconds = 35;
            o.Surge = new SurgeOptions
            {
                EvaluationSeconds = 5,
                CooldownSeconds = Cooldown,
                ArrivalWindowSeconds = 60,
                BaselineHalfLifeMinutes = 1,
                MinimumBaselinePerSecond = 0.02,
                Tier1OverflowFactor = 0.5,
                SupportSkills = ["complaint"],
                SupportTarget = "general",
                IvrUri = "sip:1008611@ivr.test",
                DeflectWaitSeconds = 60,
                Tiers =
                [
                    new TierOptions { Tier = 1, EnterArrivalRatio = 1.5, ExitArrivalRatio = 1.2, EnterQueueLength = 5, ExitQueueLength = 2 },
                    new TierOptions { Tier = 2, EnterQueueLength = 10, ExitQueueLength = 4 },
                    new TierOptions { Tier = 3, EnterQueueLength = 20, ExitQueueLength = 8 },
                ],
            };
        });

    private static (Harness H, Router R) Start(CentreBuilder centre)
    {
        var model = new RealRouterModel(centre.Build());
        var h = new Harness(model);
        Assert.True(h.Run(LoginRoster.Instance).IsOk);
        return (h, model.Router);
    }

    private static List<RoutingEvent> Changes(Harness h, string? skill = null)
        => [.. h.Events.Where(e => e.Kind == EventKind.SurgeTierChanged && e.Skill == skill)];

    [Fact]
    public void Arrivals_tripling_raise_tiers_one_two_three_and_they_fall_back_one_by_one_after_the_cool_down()
    {
        var (h, router) = Start(SurgeCentre());
        var traffic = new Traffic(h, talkSeconds: 30);
        traffic.Run(600, 0.1);
        Assert.Empty(Changes(h));
        Assert.Equal(0, router.DomainTier);
        Assert.InRange(router.GetSurge(null)!.BaselinePerSecond, 0.09, 0.11);

        traffic.Run(1500, 0.3);
        traffic.Run(2400, 0.05);

        var changes = Changes(h);
        Assert.Equal([(0, 1), (1, 2), (2, 3), (3, 2), (2, 1), (1, 0)], changes.Select(e => (e.FromTier, e.Tier)));
        Assert.StartsWith("arrivals", changes[0].Reason, StringComparison.Ordinal);
        Assert.StartsWith("queue length 10", changes[1].Reason, StringComparison.Ordinal);
        Assert.StartsWith("queue length 20", changes[2].Reason, StringComparison.Ordinal);
        Assert.All(changes, e => Assert.False(e.Forced));

        // Rises come while the surge lasts; falls come after it, each at least a cool-down after the change before.
        var at = changes.Select(e => (e.TimeMs - Harness.Start) / 1000.0).ToArray();
        Assert.InRange(at[0], 600, 700);
        Assert.True(at[2] < 1500, $"tier 3 at {at[2]}");
        Assert.True(at[3] > 1500, $"tier 3 fell at {at[3]}");
        for (var i = 3; i < 6; i++)
        {
            Assert.True(at[i] - at[i - 1] >= Cooldown, $"change {i} came {at[i] - at[i - 1]} s after the one before");
        }

        // Each tier's agents take calls only while their tier is up.
        double TierSince(int tier) => at[tier - 1];
        double TierUntil(int tier) => at[6 - tier];
        var routed = h.Events.Where(e => e.Kind == EventKind.CallRouted).ToList();
        Assert.All(routed.Where(e => e.AgentId == "tl"), e => Assert.InRange((e.TimeMs - Harness.Start) / 1000.0, TierSince(2), TierUntil(2)));
        Assert.All(routed.Where(e => e.AgentId == "sv"), e => Assert.InRange((e.TimeMs - Harness.Start) / 1000.0, TierSince(3), TierUntil(3)));
        Assert.All(routed.Where(e => e.AgentId is "c1" or "c2"), e => Assert.InRange((e.TimeMs - Harness.Start) / 1000.0, TierSince(1), TierUntil(1)));
        Assert.Contains(routed, e => e.AgentId == "tl");
        Assert.Contains(routed, e => e.AgentId == "sv");
        Assert.Contains(routed, e => e.AgentId == "c1");

        // Deflection only in tier 3, to the IVR, each with a callback owed.
        var deflected = h.Events.Where(e => e.Kind == EventKind.CallDeflected).ToList();
        Assert.NotEmpty(deflected);
        Assert.All(deflected, e =>
        {
            Assert.InRange((e.TimeMs - Harness.Start) / 1000.0, TierSince(3), TierUntil(3));
            Assert.Equal("sip:1008611@ivr.test", e.Contact);
            Assert.True(e.EstimatedWaitMs > 60_000);
            Assert.Equal(3, e.Tier);
        });
        Assert.Equal(deflected.Count, router.Totals.Deflected);
        Assert.Equal(deflected.Count, router.GetQueue("general")!.Deflected);

        // Back to normal: the reserve is back in Standby, nobody waits.
        Assert.Equal(AgentState.Standby, h.StateOf("tl"));
        Assert.Equal(AgentState.Standby, h.StateOf("sv"));
        Assert.Equal(0, router.Totals.Waiting);
        Assert.True(router.Totals.Conserved);
        Assert.Empty(router.CheckInvariants());
    }

    [Fact]
    public void A_load_hovering_at_a_threshold_raises_the_tier_once_and_it_does_not_flap()
    {
        var (h, router) = Start(new CentreBuilder()
            .Skill("general", s => s.MaxWaitSeconds = 3600)
            .Agent("g1", "general:5")
            .With(o => o.Surge = new SurgeOptions
            {
                EvaluationSeconds = 5,
                CooldownSeconds = 60,
                Tiers = [new TierOptions { Tier = 1, EnterQueueLength = 10, ExitQueueLength = 5 }],
            }));
        h.Login("g1", AgentState.NotReady);

        // The queue hovers 9, 10, 11, 10, 9, 10 ... for ten minutes, changing between evaluations.
        var waiting = new Queue<string>();
        var n = 0;
        void SetQueue(int length)
        {
            while (waiting.Count < length)
            {
                var id = $"h{n++}";
                h.Offer(id);
                waiting.Enqueue(id);
            }

            while (waiting.Count > length)
            {
                h.Abandon(waiting.Dequeue());
            }
        }

        int[] pattern = [9, 10, 11, 10, 9, 10, 9, 11];
        for (var t = 0; t < 600; t += 3)
        {
            SetQueue(pattern[(t / 3) % pattern.Length]);
            h.Wait(3);
        }

        Assert.Equal([(0, 1)], Changes(h).Select(e => (e.FromTier, e.Tier)));

        // Below the exit threshold it falls at the next evaluation (the cool-down is long past), and only once.
        SetQueue(5);
        h.Wait(5);
        Assert.Equal([(0, 1), (1, 0)], Changes(h).Select(e => (e.FromTier, e.Tier)));
        h.Wait(60);
        Assert.Equal(2, Changes(h).Count);
        Assert.Equal(0, router.DomainTier);
    }

    [Fact]
    public void A_tier_lasts_the_cool_down_even_when_the_load_drops_at_once()
    {
        var (h, router) = Start(new CentreBuilder()
            .Skill("general")
            .Agent("g1", "general:5")
            .With(o => o.Surge = new SurgeOptions
            {
                EvaluationSeconds = 5,
                CooldownSeconds = 300,
                Tiers = [new TierOptions { Tier = 2, EnterQueueLength = 3, ExitQueueLength = 0 }],
            }));
        h.Login("g1", AgentState.NotReady);
        h.Offer("a");
        h.Offer("b");
        h.Offer("c");
        h.Wait(5);
        var raised = Changes(h).Single();
        Assert.Equal(2, raised.Tier);

        h.Abandon("a");
        h.Abandon("b");
        h.Abandon("c");
        h.AtSecond((raised.TimeMs - Harness.Start) / 1000.0 + 299);
        Assert.Equal(2, router.DomainTier);
        h.Wait(6);
        Assert.Equal(0, router.DomainTier);
        Assert.Equal((2, 0), (Changes(h)[1].FromTier, Changes(h)[1].Tier));
    }

    [Fact]
    public void Tier_one_brings_overflow_steps_forward_by_the_configured_factor()
    {
        var (h, _) = Start(new CentreBuilder()
            .Skill("general")
            .Skill("complaint")
            .Overflow("complaint", 60, "general", minLevel: 5)
            .Agent("c1", "complaint:8")
            .Agent("g1", "general:5")
            .With(o => o.Surge = new SurgeOptions { Tier1OverflowFactor = 0.5 }));
        h.Login("c1", AgentState.NotReady);
        h.Login("g1");
        h.Offer("k1", "complaint");
        h.AtSecond(20);
        Assert.Null(h.AgentOf("k1"));

        // Forcing tier 1 at 20 s: the 60 s step now fires at 30 s.
        Assert.True(h.Run(new ForceSurgeTier { Tier = 1, DurationSeconds = 600, Reason = "drill" }).IsOk);
        h.AtSecond(29.9);
        Assert.Null(h.AgentOf("k1"));
        h.AtSecond(30);
        Assert.Equal("g1", h.AgentOf("k1"));

        // Already past the shortened step when the tier rises: routed at once.
        h.Offer("k2", "complaint");
        h.Run(new ClearSurgeOverride());
        h.Answered("k1");
        h.End("k1");
        h.EndWrapUp("g1");
        h.AtSecond(70);
        Assert.Null(h.AgentOf("k2"));
        Assert.True(h.Run(new ForceSurgeTier { Tier = 1, DurationSeconds = 600 }).IsOk);
        Assert.Equal("g1", h.AgentOf("k2"));
    }

    [Fact]
    public void Forcing_a_tier_brings_in_the_reserve_at_once_clearing_it_sends_them_back_and_it_ends_by_itself()
    {
        var (h, router) = Start(SurgeCentre().With(o => o.Surge.Enabled = false));
        foreach (var g in new[] { "g1", "g2", "g3", "g4", "g5", "g6" })
        {
            h.NotReady(g);
        }

        h.Offer("w1");
        h.Offer("w2");
        h.Offer("w3");
        Assert.Null(h.AgentOf("w1"));

        Assert.True(h.Run(new ForceSurgeTier { Tier = 2, DurationSeconds = 120, Reason = "flood in Xi'an" }).IsOk);
        var forced = Changes(h).Single();
        Assert.Equal((0, 2, true, "forced: flood in Xi'an"), (forced.FromTier, forced.Tier, forced.Forced, forced.Reason));

        // The team lead comes in, and tier 1 applies under tier 2: the complaint seats help with general.
        Assert.Equal(["c1", "c2", "tl"], new[] { h.AgentOf("w1"), h.AgentOf("w2"), h.AgentOf("w3") }.Order(StringComparer.Ordinal));
        Assert.Equal(AgentState.Standby, h.StateOf("sv")); // tier 3 not reached: the supervisor stays in reserve
        var teamLeadCall = h.Model.GetAgent("tl")!.CurrentCallId!;

        var status = router.GetSurge(null)!;
        Assert.Equal((2, true), (status.Tier, status.Forced));
        Assert.Equal(h.Now + 120_000, status.ForcedUntilMs);

        // The team lead goes back to Standby after its call, not to Ready.
        h.Answered(teamLeadCall);
        h.End(teamLeadCall);
        Assert.Equal(AgentState.WrapUp, h.StateOf("tl"));
        h.EndWrapUp("tl");
        Assert.Equal(AgentState.Standby, h.StateOf("tl"));

        Assert.True(h.Run(new ClearSurgeOverride()).IsOk);
        Assert.Equal((2, 0, false), (Changes(h)[1].FromTier, Changes(h)[1].Tier, Changes(h)[1].Forced));
        h.Offer("w4");
        Assert.Null(h.AgentOf("w4"));
        Assert.Equal(AgentState.Standby, h.StateOf("tl"));
        Assert.Equal(ResultCode.FailedPrecondition, h.Run(new ClearSurgeOverride()).Code);

        // A forced tier ends by itself when its time is up, even with tier evaluation off.
        h.Run(new ForceSurgeTier { Tier = 3, DurationSeconds = 30 });
        Assert.Equal("tl", h.AgentOf("w4"));
        h.Wait(29);
        Assert.Equal(3, router.DomainTier);
        h.Wait(10);
        Assert.Equal(0, router.DomainTier);
        Assert.StartsWith("override expired", Changes(h).Last().Reason, StringComparison.Ordinal);
        Assert.Empty(router.CheckInvariants());
    }

    [Fact]
    public void A_skill_has_its_own_tier_which_raises_its_effective_tier_alone()
    {
        var (h, router) = Start(new CentreBuilder()
            .Skill("general")
            .Skill("complaint", s => s.SurgeTiers = [new TierOptions { Tier = 2, EnterQueueLength = 2, ExitQueueLength = 0 }])
            .Agent("c1", "complaint:8")
            .AgentAs("tl", "team-lead", "standby", "complaint:9")
            .AgentAs("tg", "team-lead", "standby", "general:9")
            .With(o => o.Surge = new SurgeOptions { EvaluationSeconds = 5, CooldownSeconds = 30 }));
        h.Login("c1", AgentState.NotReady);
        h.Offer("k1", "complaint");
        h.Offer("k2", "complaint");
        h.Wait(5);
        var change = Changes(h, "complaint").Single();
        Assert.Equal(2, change.Tier);
        Assert.Empty(Changes(h));
        Assert.Equal(0, router.DomainTier);
        Assert.Equal(2, router.GetSurge(null)!.EffectiveTiers["complaint"]);
        Assert.Equal(0, router.GetSurge(null)!.EffectiveTiers["general"]);
        Assert.Equal("tl", h.AgentOf("k1"));

        // The general team lead is not called in by complaint's tier.
        h.Offer("g1", "general");
        Assert.Null(h.AgentOf("g1"));
        Assert.Equal(AgentState.Standby, h.StateOf("tg"));
        Assert.Equal(ResultCode.NotFound, h.Run(new ForceSurgeTier { Skill = "nope", Tier = 1, DurationSeconds = 10 }).Code);
        Assert.Equal(ResultCode.InvalidArgument, h.Run(new ForceSurgeTier { Tier = 4, DurationSeconds = 10 }).Code);
        Assert.Equal(ResultCode.InvalidArgument, h.Run(new ForceSurgeTier { Tier = 1, DurationSeconds = 0 }).Code);
    }

    [Fact]
    public void Vip_calls_are_not_deflected()
    {
        var (h, _) = Start(new CentreBuilder()
            .Skill("general")
            .Skill("vip")
            .Agent("g1", "general:5", "vip:5")
            .With(o => o.Surge = new SurgeOptions { DeflectWaitSeconds = 10 }));
        h.Login("g1", AgentState.NotReady);
        h.Run(new ForceSurgeTier { Tier = 3, DurationSeconds = 600 });
        var plain = h.Offer("p1");
        Assert.Equal(OfferOutcome.Deflected, plain.Outcome);
        Assert.Equal("sip:1008611@ivr.invalid", plain.Contact);
        var vip = h.Run(new OfferCall { CallId = "v1", Caller = "13900000001", Vip = 2 });
        Assert.Equal((OfferOutcome.Queued, "vip"), (vip.Outcome, vip.Skill));
    }
}
