using Acd.Core.Configuration;
using Acd.Core.Domain;
using Acd.Core.Routing;
using Acd.Core.Tests.Support;

namespace Acd.Core.Tests.Reference;

/// <summary>
/// Seeded random streams of (time, command) over a small but complete centre: arrivals of every kind, answers,
/// ends, abandons, transfers, dropped connections and resumes, agent logins and state changes, and clock advances
/// from nothing to minutes (so ring timeouts, wrap-ups, overflow steps, max waits and graces all fire).
/// </summary>
public sealed class CommandGenerator
{
    private static readonly string[] Reasons = ["break", "lunch", "training", "meeting"];
    private readonly Random _rng;
    private readonly List<string> _calls = [];
    private readonly string[] _agents;
    private readonly string[] _skills;
    private readonly ReferenceRouter? _model;
    private int _nextCall;

    /// <summary>
    /// With a <paramref name="model"/>, commands are aimed at calls and agents in the states where they matter
    /// (answers at ringing calls, ends at talking ones, ready at not-ready agents...) most of the time; the rest of
    /// the time they are aimed at random, so that refusals are exercised too.
    /// </summary>
    public CommandGenerator(int seed, DomainConfig config, ReferenceRouter? model = null)
    {
        _model = model;
        _rng = new Random(seed);
        _skills = config.Skills.Select(s => s.Name).ToArray();
        _agents = [.. config.Roster.Select(a => a.Id), "extra1", "extra2", "extra3"];
    }

    public long Now { get; private set; } = 1_793_581_200_000;

    public static DomainConfig Centre() => DomainCompiler.Compile(CentreOptions());

    /// <summary>The differential centre's options (hotline features off), to be compiled or varied.</summary>
    public static DomainOptions CentreOptions()
    {
        var rng = new Random(20261122);
        var o = new DomainOptions
        {
            Name = "diff",
            RingTimeoutSeconds = 8,
            TransferWaitSeconds = 6,
            DetachGraceSeconds = 4,
            MaxWrapUpExtensionSeconds = 20,
            DefaultHandleTimeSeconds = 60,
            MaxLiveCalls = 150,

            // The reference router does not model these hotline features; their own tests cover them.
            Repeat = new RepeatOptions { Enabled = false },
            Ownership = new OwnershipOptions { Enabled = false },
            Callbacks = new CallbackOptions { Enabled = false },
        };
        o.Skills.Add(new SkillOptions { Name = "general", WrapUpSeconds = 3, MaxWaitSeconds = 240, MaxQueueLength = 40 });
        o.Skills.Add(new SkillOptions
        {
            Name = "complaint", Strategy = "most-skilled", WrapUpSeconds = 5, MaxWaitSeconds = 300, MaxQueueLength = 6,
            Overflow = [new OverflowStepOptions { AfterSeconds = 30, Skill = "general", MinLevel = 6 }],
        });
        o.Skills.Add(new SkillOptions
        {
            Name = "data", Strategy = "least-skilled", WrapUpSeconds = 0, MaxWaitSeconds = 200,
            Overflow =
            [
                new OverflowStepOptions { AfterSeconds = 10, Skill = "general", MinLevel = 4 },
                new OverflowStepOptions { AfterSeconds = 45, Skill = "complaint", MinLevel = 1, Priority = 8 },
            ],
        });
        o.Skills.Add(new SkillOptions { Name = "english", Strategy = "fewest-calls", WrapUpSeconds = 2, MaxWaitSeconds = 120, MaxQueueLength = 3 });
        o.Skills.Add(new SkillOptions
        {
            Name = "vip", DefaultPriority = 7, WrapUpSeconds = 1, MaxWaitSeconds = 180,
            Overflow = [new OverflowStepOptions { AfterSeconds = 5, Skill = "general", MinLevel = 1, Priority = 9 }],
        });
        string[] names = ["general", "complaint", "data", "english", "vip"];
        for (var i = 0; i < 24; i++)
        {
            var agent = new AgentOptions
            {
                Id = $"a{i:D2}",
                Role = i % 11 == 0 ? "team-lead" : i % 13 == 0 ? "supervisor" : "agent",
                Outbound = i % 5 == 0,
            };
            var count = 1 + rng.Next(3);
            for (var k = 0; k < count; k++)
            {
                agent.Skills[names[rng.Next(i < 8 ? 1 : names.Length)]] = 1 + rng.Next(10);
            }

            o.Agents.Add(agent);
        }

        return o;
    }

    public Command Next()
    {
        AdvanceClock();
        var roll = _rng.Next(1000);
        return roll switch
        {
            < 240 => NewOffer(),
            < 280 => Reoffer(PickCall(c => c.Handoff || c.Detached)),
            < 400 => new CallCommand(CommandKind.Answered, PickCall(c => c.State == CallState.Offered || c.AnswerPending)),
            < 430 => new CallCommand(CommandKind.NoAnswer, PickCall(c => c.State is CallState.Offered or CallState.Talking)),
            < 550 => new CallCommand(CommandKind.End, PickCall(c => c.State == CallState.Talking)) { AbandonIfWaiting = _rng.Next(3) == 0, Unanswered = _rng.Next(4) == 0 },
            < 610 => new CallCommand(CommandKind.Abandon, PickCall(c => c.State is CallState.Queued or CallState.Offered)),
            < 650 => Transfer(),
            < 680 => new DetachConnection(_rng.Next(40) == 0 ? 0 : 1 + _rng.Next(4)) { KeepAnswerable = _rng.Next(2) == 0 },
            < 760 => Login(),
            < 790 => new AgentCommand(CommandKind.Logout, PickAgent(a => a.State != AgentState.LoggedOut)),
            < 920 => SetState(),
            < 960 => new AgentCommand(CommandKind.EndWrapUp, PickAgent(a => a.State == AgentState.WrapUp)),
            < 980 => new AgentCommand(CommandKind.ExtendWrapUp, PickAgent(a => a.State == AgentState.WrapUp)) { Seconds = _rng.Next(-1, 15) },
            < 981 => LoginRoster.Instance,
            _ => Tick.Instance,
        };
    }

    private void AdvanceClock()
    {
        var roll = _rng.Next(100);
        Now += roll switch
        {
            < 40 => 0,
            < 80 => _rng.Next(2000),
            < 95 => _rng.Next(20_000),
            _ => _rng.Next(120_000),
        };
    }

    private Command NewOffer()
    {
        var id = $"call-{_nextCall++}";
        _calls.Add(id);
        if (_calls.Count > 400)
        {
            _calls.RemoveRange(0, 200);
        }

        var skillRoll = _rng.Next(100);
        var sip = _rng.Next(10) < 4;
        var caller = $"139{_rng.Next(1000):D4}";
        return new OfferCall
        {
            CallId = id,
            Caller = caller,
            Skill = skillRoll < 10 ? null : skillRoll < 11 ? "nope" : _skills[_rng.Next(_skills.Length)],
            Priority = _rng.Next(3) == 0 ? _rng.Next(-1, 10) : -1,
            Mode = sip ? OfferMode.Sip : OfferMode.Api,
            Connection = sip ? 1 + _rng.Next(4) : 0,
            Vip = _rng.Next(20) == 0 ? 1 : 0,
            AnswerRoute = sip ? Route(id, caller) : null,
        };
    }

    /// <summary>A SIP INVITE for a known call (a ring-no-answer, a resume, a retransmission), from a caller that may not be the call's.</summary>
    private OfferCall Reoffer(string id)
    {
        var caller = _rng.Next(2) == 0 ? "x" : $"139{_rng.Next(1000):D4}";
        return new OfferCall { CallId = id, Mode = OfferMode.Sip, Caller = caller, Connection = 1 + _rng.Next(4), AnswerRoute = Route(id, caller) };
    }

    /// <summary>
    /// Half the SIP offers carry an answer route: opaque bytes to the router but for a route in format 4, whose call id
    /// and caller it keeps for a waiting call when they are the call's — as the SIP port writes them for the call, or for
    /// another call or caller (which the router must not take for this one's).
    /// </summary>
    private byte[]? Route(string callId, string caller)
    {
        switch (_rng.Next(8))
        {
            case < 4:
                return null;
            case < 6:
                return SipRoutes.Waiting(callId, caller);
            case 6:
                return _rng.Next(2) == 0 ? SipRoutes.Waiting(callId + "-other", caller) : SipRoutes.Waiting(callId, caller + "0");
            default:
                var route = new byte[1 + _rng.Next(40)];
                _rng.NextBytes(route);
                return route;
        }
    }

    private string PickCall(Func<ReferenceRouter.RCall, bool> aim)
    {
        if (_model is not null && _rng.Next(10) < 7)
        {
            var candidates = _model.Calls.Where(aim).ToList();
            if (candidates.Count > 0)
            {
                return candidates[_rng.Next(candidates.Count)].Id;
            }
        }

        return PickCall();
    }

    private string PickAgent(Func<ReferenceRouter.RAgent, bool> aim)
    {
        if (_model is not null && _rng.Next(10) < 7)
        {
            var candidates = _model.Agents.Where(aim).ToList();
            if (candidates.Count > 0)
            {
                return candidates[_rng.Next(candidates.Count)].Id;
            }
        }

        return PickAgent();
    }

    private string PickCall()
    {
        if (_calls.Count == 0 || _rng.Next(50) == 0)
        {
            return "no-such-call";
        }

        // Mostly recent calls, sometimes old (ended) ones.
        var window = Math.Min(_calls.Count, _rng.Next(4) == 0 ? _calls.Count : 40);
        return _calls[_calls.Count - 1 - _rng.Next(window)];
    }

    private string PickAgent() => _rng.Next(40) == 0 ? "nobody" : _agents[_rng.Next(_agents.Length)];

    private Command Transfer()
    {
        var roll = _rng.Next(10);
        return new TransferCall
        {
            CallId = PickCall(c => c.State == CallState.Talking),
            ToSkill = roll < 6 ? _skills[_rng.Next(_skills.Length)] : roll < 7 ? "nope" : roll < 8 ? null : _skills[_rng.Next(_skills.Length)],
            ToAgent = roll >= 7 ? PickAgent() : null,
        };
    }

    private Command Login()
    {
        var id = PickAgent(a => a.State == AgentState.LoggedOut);
        var stateRoll = _rng.Next(10);
        var state = stateRoll < 7 ? AgentState.Ready : stateRoll < 9 ? AgentState.NotReady : AgentState.Standby;
        Dictionary<string, int>? skills = null;
        if (id.StartsWith("extra", StringComparison.Ordinal) || _rng.Next(20) == 0)
        {
            skills = new Dictionary<string, int> { [_skills[_rng.Next(_skills.Length)]] = _rng.Next(0, 11) };
            if (_rng.Next(2) == 0)
            {
                skills[_skills[_rng.Next(_skills.Length)]] = 1 + _rng.Next(10);
            }
        }

        return new LoginAgent
        {
            AgentId = id,
            InitialState = state,
            Reason = state == AgentState.NotReady ? Reasons[_rng.Next(Reasons.Length)] : null,
            Skills = skills,
            Refresh = _rng.Next(10) == 0,
            Contact = _rng.Next(10) == 0 ? $"sip:{id}@10.1.1.{_rng.Next(255)}" : null,
            MayMoveContact = _rng.Next(3) != 0,
        };
    }

    private Command SetState()
    {
        var roll = _rng.Next(20);
        var state = roll < 12 ? AgentState.Ready : roll < 17 ? AgentState.NotReady : roll < 19 ? AgentState.Standby : AgentState.Talking;
        var id = state == AgentState.Ready
            ? PickAgent(a => a.State is AgentState.NotReady or AgentState.Standby or AgentState.WrapUp)
            : PickAgent(a => a.State != AgentState.LoggedOut);
        return new AgentCommand(CommandKind.SetState, id)
        {
            State = state,
            Reason = state == AgentState.NotReady ? Reasons[_rng.Next(Reasons.Length)] : null,
        };
    }
}
