using Acd.Core.Domain;
using Acd.Core.Configuration;
using Acd.Core.Routing;
using Acd.Core.Tests.Reference;

namespace Acd.Core.Tests.Hotline;

/// <summary>
/// Random command streams with every hotline feature switched on and set to trip often (tiers at a few waiting calls,
/// callbacks with short timeouts, a small pool of callers): after every command the router's structures must be
/// consistent, calls and callbacks must be conserved, and every kind of hotline event must have happened.
/// </summary>
public sealed class HotlineFuzzTests
{
    public static DomainConfig Centre()
    {
        var o = CommandGenerator.CentreOptions();
        o.Repeat = new RepeatOptions { Enabled = true, Calls = 3, WindowMinutes = 30, Skill = "complaint" };
        o.Ownership = new OwnershipOptions { Enabled = true, WindowMinutes = 30, WaitSeconds = 5 };
        o.CallerHistoryCapacity = 300;
        o.VipCallers = ["1390001", "1390002"];
        o.Languages = new Dictionary<string, string>(StringComparer.Ordinal) { ["en"] = "english" };
        o.Callbacks = new CallbackOptions
        {
            MinAbandonWaitSeconds = 5, EscalationMinutes = 2, MaxAttempts = 2, RetryBackoffSeconds = [30], OutcomeTimeoutSeconds = 60, MaxOpen = 60,
        };
        o.Surge = new SurgeOptions
        {
            EvaluationSeconds = 5,
            CooldownSeconds = 20,
            ArrivalWindowSeconds = 30,
            BaselineHalfLifeMinutes = 1,
            SupportSkills = ["complaint", "data"],
            SupportTarget = "general",
            DeflectWaitSeconds = 30,
            Tiers =
            [
                new TierOptions { Tier = 1, EnterQueueLength = 3, ExitQueueLength = 1, EnterArrivalRatio = 2.5, ExitArrivalRatio = 1.5 },
                new TierOptions { Tier = 2, EnterQueueLength = 6, ExitQueueLength = 2, EnterLongestWaitSeconds = 90, ExitLongestWaitSeconds = 30 },
                new TierOptions { Tier = 3, EnterQueueLength = 10, ExitQueueLength = 4 },
            ],
        };
        o.Skills.Single(s => s.Name == "complaint").SurgeTiers = [new TierOptions { Tier = 2, EnterQueueLength = 3, ExitQueueLength = 0 }];
        return DomainCompiler.Compile(o);
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    public void Random_streams_keep_every_structure_consistent(int seed)
    {
        var config = Centre();
        var router = new Router(config);
        var generator = new CommandGenerator(seed, config);
        var rng = new Random(seed);
        var events = new EventBuffer();
        var assigned = new List<string>();
        var open = new List<string>();
        var kinds = new Dictionary<EventKind, int>();
        var routed = new List<string>();
        var detached = new List<string>();
        for (var i = 0; i < 40_000; i++)
        {
            var command = generator.Next();
            var roll = rng.Next(100);
            if (roll < 42)
            {
                // Aimed at what exists now: calls given to agents are answered, ended or transferred, callbacks reported.
                var call = routed.Count > 0 ? routed[rng.Next(routed.Count)] : "none";
                var state = router.GetCall(call)?.State;
                command = roll switch
                {
                    < 12 when state == CallState.Offered => new CallCommand(CommandKind.Answered, call),
                    < 20 when state == CallState.Talking => new CallCommand(CommandKind.End, call),
                    < 22 when state == CallState.Talking => new TransferCall { CallId = call, ToSkill = config.Skills[rng.Next(config.Skills.Count)].Name },
                    < 30 when assigned.Count > 0 => new CompleteCallbackCommand(assigned[rng.Next(assigned.Count)], rng.Next(3) > 0),
                    < 31 when open.Count > 0 => new CancelCallbackCommand(open[rng.Next(open.Count)]),
                    < 33 => new ForceTierCommand { Tier = rng.Next(4), DurationSeconds = 1 + rng.Next(120), Skill = rng.Next(3) == 0 ? "complaint" : null },
                    < 35 => new ClearSurgeCommand { Skill = rng.Next(3) == 0 ? "complaint" : null },
                    < 37 => new SetVipCommand("139" + rng.Next(1000).ToString("D4", System.Globalization.CultureInfo.InvariantCulture), rng.Next(3)),
                    < 39 => new OfferCall { CallId = $"lang{i}", Caller = "1390003", Language = "en-US" },
                    < 42 when detached.Count > 0 => new OfferCall { CallId = detached[^1], Caller = "x", Mode = OfferMode.Sip, Connection = 1 + rng.Next(4) },
                    _ => command,
                };
            }

            events.Clear();
            router.Execute(command, generator.Now, events);
            foreach (var e in events)
            {
                kinds[e.Kind] = kinds.GetValueOrDefault(e.Kind) + 1;
                switch (e.Kind)
                {
                    case EventKind.CallRouted:
                        routed.Add(e.CallId!);
                        if (routed.Count > 200)
                        {
                            routed.RemoveRange(0, 100);
                        }

                        break;
                    case EventKind.CallDetached:
                        detached.Add(e.CallId!);
                        break;
                    case EventKind.CallResumed or EventKind.CallAbandoned:
                        detached.Remove(e.CallId!);
                        break;
                    case EventKind.CallbackCreated:
                        open.Add(e.CallbackId!);
                        break;
                    case EventKind.CallbackAssigned:
                        assigned.Add(e.CallbackId!);
                        break;
                    case EventKind.CallbackCompleted or EventKind.CallbackExhausted:
                        assigned.Remove(e.CallbackId!);
                        open.Remove(e.CallbackId!);
                        break;
                }
            }

            var problems = router.CheckInvariants();
            Assert.True(problems.Count == 0, $"seed {seed}, command {i} ({command.Kind}): {string.Join("; ", problems)}");
        }

        Console.WriteLine($"hotline seed {seed}: {string.Join(", ", kinds.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value}"))}");
        foreach (var kind in Enum.GetValues<EventKind>())
        {
            Assert.True(kinds.GetValueOrDefault(kind) > 5, $"seed {seed}: only {kinds.GetValueOrDefault(kind)} {kind} events");
        }

        Assert.True(router.Totals.Conserved);
        Assert.True(router.RememberedCallers <= 300);
    }
}
