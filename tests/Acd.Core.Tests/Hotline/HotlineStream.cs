using Acd.Core.Configuration;
using Acd.Core.Domain;
using Acd.Core.Routing;
using Acd.Core.Tests.Reference;

namespace Acd.Core.Tests.Hotline;

/// <summary>
/// A random command stream for a centre with every hotline feature on, aimed at what exists: calls given to agents
/// are answered, ended or transferred, callbacks assigned are reported, detached calls resumed; tiers are forced and
/// cleared, VIP classes set. It reads the events of each command to know what exists.
/// </summary>
internal sealed class HotlineStream(DomainConfig config, int seed)
{
    private readonly CommandGenerator _generator = new(seed, config);
    private readonly Random _rng = new(seed);
    private readonly List<string> _assigned = [];
    private readonly List<string> _open = [];
    private readonly List<string> _routed = [];
    private readonly List<string> _detached = [];
    private int _count;

    /// <summary>The time of the last command given.</summary>
    public long Now => _generator.Now;

    /// <summary>The next command; <paramref name="router"/> is asked about the calls it aims at.</summary>
    public Command Next(Router router)
    {
        var i = _count++;
        var command = _generator.Next();
        var roll = _rng.Next(100);
        if (roll >= 42)
        {
            return command;
        }

        var rng = _rng;
        var call = _routed.Count > 0 ? _routed[rng.Next(_routed.Count)] : "none";
        var state = router.GetCall(call)?.State;
        return roll switch
        {
            < 12 when state == CallState.Offered => new CallCommand(CommandKind.Answered, call),
            < 20 when state == CallState.Talking => new CallCommand(CommandKind.End, call),
            < 22 when state == CallState.Talking => new TransferCall { CallId = call, ToSkill = config.Skills[rng.Next(config.Skills.Count)].Name },
            < 30 when _assigned.Count > 0 => new ReportCallbackOutcome(_assigned[rng.Next(_assigned.Count)], rng.Next(3) > 0),
            < 31 when _open.Count > 0 => new CancelCallback(_open[rng.Next(_open.Count)]),
            < 33 => new ForceSurgeTier { Tier = rng.Next(4), DurationSeconds = 1 + rng.Next(120), Skill = rng.Next(3) == 0 ? "complaint" : null },
            < 35 => new ClearSurgeOverride { Skill = rng.Next(3) == 0 ? "complaint" : null },
            < 37 => new SetCallerVip("139" + rng.Next(1000).ToString("D4", System.Globalization.CultureInfo.InvariantCulture), rng.Next(3)),
            < 39 => new OfferCall { CallId = $"lang{i}", Caller = "1390003", Language = "en-US" },
            < 42 when _detached.Count > 0 => new OfferCall { CallId = _detached[^1], Caller = "x", Mode = OfferMode.Sip, Connection = 1 + rng.Next(4) },
            _ => command,
        };
    }

    /// <summary>Reads what the last command did.</summary>
    public void Observe(EventBuffer events)
    {
        foreach (var e in events)
        {
            switch (e.Kind)
            {
                case EventKind.CallRouted:
                    _routed.Add(e.CallId!);
                    if (_routed.Count > 200)
                    {
                        _routed.RemoveRange(0, 100);
                    }

                    break;
                case EventKind.CallDetached:
                    _detached.Add(e.CallId!);
                    break;
                case EventKind.CallResumed or EventKind.CallAbandoned:
                    _detached.Remove(e.CallId!);
                    break;
                case EventKind.CallbackCreated:
                    _open.Add(e.CallbackId!);
                    break;
                case EventKind.CallbackAssigned:
                    _assigned.Add(e.CallbackId!);
                    break;
                case EventKind.CallbackCompleted or EventKind.CallbackExhausted:
                    _assigned.Remove(e.CallbackId!);
                    _open.Remove(e.CallbackId!);
                    break;
            }
        }
    }
}
