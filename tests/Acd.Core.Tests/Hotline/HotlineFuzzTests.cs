using Acd.Core.Tests.Reference;
using Acd.Core.Configuration;
using Acd.Core.Routing;

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
        var stream = new HotlineStream(config, seed);
        var events = new EventBuffer();
        var kinds = new Dictionary<EventKind, int>();
        for (var i = 0; i < 40_000; i++)
        {
            var command = stream.Next(router);
            events.Clear();
            router.Execute(command, stream.Now, events);
            stream.Observe(events);
            foreach (var e in events)
            {
                kinds[e.Kind] = kinds.GetValueOrDefault(e.Kind) + 1;
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
