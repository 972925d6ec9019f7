using Acd.Core.Routing;
using Acd.Core.Tests.Support;

namespace Acd.Core.Tests.Reference;

/// <summary>
/// The real router and the reference router, fed the same seeded random sequences of commands and clock readings,
/// must give the same results and emit identical event streams; both must keep their invariants after every command.
/// </summary>
public sealed class DifferentialTests
{
    public const int CommandsPerSeed = 100_000;

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(3, false)]
    [InlineData(4, false)]
    [InlineData(5, false)]
    [InlineData(6, true)]
    [InlineData(7, true)]
    public void Real_and_reference_routers_agree_on_every_event(int seed, bool trueLookAhead)
    {
        var config = CommandGenerator.Centre();
        var real = new RealRouterModel(config);
        var reference = new ReferenceRouter(config);
        var generator = new CommandGenerator(seed, config, reference);
        var realEvents = new EventBuffer();
        var referenceEvents = new EventBuffer();
        var kinds = new Dictionary<EventKind, int>();

        // The real router is also given look-ahead hints. Either as the engine gives them (trueLookAhead: the command
        // Router.LookAheadDistance places behind the one run; the generator then makes its commands that many places
        // before they run, from the state then), or naming commands already run (calls live, ended or never seen) or
        // none: a hint must change nothing the reference would not.
        var recent = new Command?[16];
        var hints = new Random(seed);
        var coming = new (Command Command, long Now)[Router.LookAheadDistance + 1];
        for (var k = 0; trueLookAhead && k < Router.LookAheadDistance; k++)
        {
            coming[k] = (generator.Next(), generator.Now);
        }

        for (var i = 0; i < CommandsPerSeed; i++)
        {
            var (command, now) = (generator.Next(), generator.Now);
            realEvents.Clear();
            referenceEvents.Clear();
            if (trueLookAhead)
            {
                coming[(i + Router.LookAheadDistance) % coming.Length] = (command, now);
                (command, now) = coming[i % coming.Length];
                real.Router.LookAhead(coming[(i + Router.LookAheadDistance) % coming.Length].Command);
            }
            else
            {
                real.Router.LookAhead(recent[hints.Next(recent.Length)]);
                recent[i % recent.Length] = command;
            }

            var r1 = real.Execute(command, now, realEvents);
            var r2 = reference.Execute(command, now, referenceEvents);

            if (r1 with { Message = null, Data = null } != r2 with { Message = null, Data = null } || !realEvents.Span.SequenceEqual(referenceEvents.Span))
            {
                Assert.Fail($"seed {seed}, command {i} ({Describe(command)}) at {now}:\n real {r1}\n  ref {r2}\n" +
                    $" real events:\n   {string.Join("\n   ", realEvents.ToArray())}\n ref events:\n   {string.Join("\n   ", referenceEvents.ToArray())}");
            }

            var problems = real.Router.CheckInvariants();
            Assert.True(problems.Count == 0, $"seed {seed}, command {i} ({Describe(command)}): {string.Join("; ", problems)}");
            Assert.Equal(reference.Totals, real.Totals);
            if (i % 16 == 0)
            {
                var violations = reference.InvariantViolations().ToList();
                Assert.True(violations.Count == 0, $"seed {seed}, command {i}: {string.Join("; ", violations)}");
            }

            if (i % 997 == 0)
            {
                CompareSnapshots(real, reference, config);
            }

            foreach (var e in realEvents)
            {
                kinds[e.Kind] = kinds.GetValueOrDefault(e.Kind) + 1;
            }
        }

        // The stream must have exercised every kind of event, or the comparison proves little.
        Console.WriteLine($"seed {seed}: {string.Join(", ", kinds.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value}"))}");
        foreach (var kind in Enum.GetValues<EventKind>().Where(k => k < EventKind.SurgeTierChanged))
        {
            Assert.True(kinds.GetValueOrDefault(kind) > 10, $"seed {seed}: only {kinds.GetValueOrDefault(kind)} {kind} events");
        }
    }

    private static void CompareSnapshots(RealRouterModel real, ReferenceRouter reference, Acd.Core.Configuration.DomainConfig config)
    {
        foreach (var a in reference.Agents)
        {
            var x = real.GetAgent(a.Id)!;
            var y = reference.GetAgent(a.Id)!;
            Assert.Equal(y with { Skills = x.Skills }, x);
            Assert.Equal(y.Skills.OrderBy(k => k.Key), x.Skills.OrderBy(k => k.Key));
        }

        foreach (var c in reference.Calls)
        {
            Assert.Equal(reference.GetCall(c.Id), real.GetCall(c.Id));
        }

        foreach (var s in config.Skills)
        {
            var x = real.GetQueue(s.Name)!;
            var y = reference.GetQueue(s.Name)!;
            Assert.Equal(y with { AgentsByState = x.AgentsByState }, x);
            Assert.Equal(y.AgentsByState, x.AgentsByState);
        }
    }

    private static string Describe(Command c) => c switch
    {
        OfferCall o => $"Offer {o.CallId} skill={o.Skill} prio={o.Priority} mode={o.Mode}",
        CallCommand cc => $"{cc.Kind} {cc.CallId}",
        DetachConnection d => $"DetachConnection {d.Connection}",
        TransferCall t => $"Transfer {t.CallId} skill={t.ToSkill} agent={t.ToAgent}",
        LoginAgent l => $"Login {l.AgentId} {l.InitialState} refresh={l.Refresh} skills={(l.Skills is null ? "-" : string.Join(",", l.Skills))}",
        AgentCommand ac => $"{ac.Kind} {ac.AgentId} {ac.State} {ac.Reason} {ac.Seconds}",
        _ => c.Kind.ToString(),
    };
}
