using Acd.Core.Configuration;
using Acd.Core.Domain;
using Acd.Core.Routing;
using Acd.Core.Statistics;
using Acd.Core.Tests.Support;

namespace Acd.Core.Tests.Reference;

/// <summary>
/// A deliberately simple router: lists and linear scans, no heaps, no pools, no timer queue — every question is
/// answered by looking at every agent and every call. It follows the routing rules as written in the SPEC and in the
/// remarks of <see cref="Router"/>, and exists only to be compared with the real one.
/// </summary>
public sealed class ReferenceRouter : IRoutingModel
{
    private readonly List<RAgent> _agents = [];
    private readonly List<RCall> _calls = [];
    private readonly SkillStatistics[] _stats;
    private EventBuffer _events = new(4);
    private long _eventSeq;
    private long _callSeq;
    private long _readySeq;
    private long _nextDayMs;
    private long _offered, _rejected, _abandoned, _timedOut, _ended;

    public ReferenceRouter(DomainConfig config)
    {
        Config = config;
        _stats = config.Skills.Select(s => new SkillStatistics(s.ServiceLevelMs)).ToArray();
        foreach (var d in config.Roster)
        {
            _agents.Add(new RAgent(_agents.Count, d));
        }
    }

    public DomainConfig Config { get; }

    public long Now { get; private set; }

    public RouterTotals Totals => new(
        _offered, _rejected, 0, _abandoned, _timedOut, _ended,
        _calls.Count(c => c.State == CallState.Queued),
        _calls.Count(c => c.State == CallState.Offered),
        _calls.Count(c => c.State == CallState.Talking));

    public IReadOnlyList<RAgent> Agents => _agents;

    public IReadOnlyList<RCall> Calls => _calls;

    public CommandResult Execute(Command command, long nowMs, EventBuffer events)
    {
        _events = events;
        Advance(nowMs);
        return command switch
        {
            Tick => CommandResult.Ok,
            Acd.Core.Routing.LoginRoster => LoginRosterAgents(),
            OfferCall o => Offer(o),
            CallCommand { Kind: CommandKind.Answered } c => Answered(c.CallId),
            CallCommand { Kind: CommandKind.NoAnswer } c => NoAnswer(c.CallId),
            CallCommand { Kind: CommandKind.End } c => End(c),
            CallCommand { Kind: CommandKind.Abandon } c => Abandon(c.CallId),
            DetachConnection d => DetachConnection(d.Connection, d.KeepAnswerable),
            TransferCall t => Transfer(t),
            LoginAgent l => Login(l),
            AgentCommand { Kind: CommandKind.Logout } a => Logout(a.AgentId),
            AgentCommand { Kind: CommandKind.SetState } a => SetState(a),
            AgentCommand { Kind: CommandKind.EndWrapUp } a => EndWrapUp(a.AgentId),
            AgentCommand { Kind: CommandKind.ExtendWrapUp } a => ExtendWrapUp(a),
            _ => throw new NotSupportedException(command.GetType().Name),
        };
    }

    public void AdvanceTo(long nowMs, EventBuffer events)
    {
        _events = events;
        Advance(nowMs);
    }

    public AgentView? GetAgent(string agentId)
    {
        var a = FindAgent(agentId);
        return a is null ? null : new AgentView(
            a.Id, a.Definition.Name, a.Definition.Team, a.Role, a.Outbound, a.State, a.Reason, a.StateSince,
            a.Skills.ToDictionary(s => Config.Skills[s.Skill].Name, s => s.Level), a.Contact, a.Call?.Id, a.CallsHandled);
    }

    public CallView? GetCall(string callId)
    {
        var c = FindCall(callId);
        return c is null ? null : new CallView(
            c.Id, c.Caller, c.ServiceNumber, Config.Skills[c.Skill].Name, c.Priority, c.Vip, c.Language, c.State, c.FirstEnqueue,
            Now - c.FirstEnqueue, c.Agent?.Id, c.State == CallState.Queued && !c.Detached ? Position(c) : 0, c.Detached, c.Target?.Id);
    }

    public QueueView? GetQueue(string skill)
    {
        var index = Config.FindSkill(skill);
        if (index < 0)
        {
            return null;
        }

        var st = _stats[index];
        var byState = new int[7];
        foreach (var a in _agents.Where(a => a.Level(index) > 0))
        {
            byState[(int)a.State]++;
        }

        var queued = _calls.Where(c => InSkillQueue(c, index)).ToList();
        var ready = byState[(int)AgentState.Ready];
        var busy = byState[(int)AgentState.Reserved] + byState[(int)AgentState.Talking] + byState[(int)AgentState.WrapUp];
        return new QueueView
        {
            Skill = skill,
            Waiting = _calls.Count(c => c.State == CallState.Queued && c.Skill == index),
            LongestWaitMs = queued.Count == 0 ? 0 : Now - queued.Min(c => c.FirstEnqueue),
            Offered = st.Offered,
            Answered = st.Answered,
            Abandoned = st.Abandoned,
            AnsweredWithinThreshold = st.AnsweredWithinThreshold,
            TimedOut = st.TimedOut,
            Rejected = st.Rejected,
            ServiceLevelRolling = st.ServiceLevelRolling(Now),
            ServiceLevelToday = st.ServiceLevelToday,
            ServiceLevelTarget = Config.Skills[index].ServiceLevelTarget,
            ThresholdMs = Config.Skills[index].ServiceLevelMs,
            AsaMs = st.AverageSpeedOfAnswerMs,
            AhtMs = st.AverageHandleTimeMs,
            AgentsByState = byState,
            AgentsReady = ready,
            AgentsBusy = busy,
            Occupancy = busy + ready == 0 ? 0 : (double)busy / (busy + ready),
            ArrivalRatePerSecond = st.ArrivalRate(Now),
            Deflected = st.Deflected,
        };
    }

    /// <summary>Violations of the routing invariants, by brute force (empty when all hold).</summary>
    public IEnumerable<string> InvariantViolations()
    {
        foreach (var a in _agents)
        {
            if (a.Call is { } c && c.Agent != a)
            {
                yield return $"agent {a.Id} holds call {c.Id} which points at {c.Agent?.Id}";
            }

            if ((a.State is AgentState.Reserved or AgentState.Talking) != (a.Call is not null))
            {
                yield return $"agent {a.Id} is {a.State} with call {a.Call?.Id}";
            }
        }

        foreach (var c in _calls)
        {
            if (c.Agent is { } a && a.Call != c)
            {
                yield return $"call {c.Id} points at agent {a.Id} who holds {a.Call?.Id}";
            }

            if (_agents.Count(x => x.Call == c) > 1)
            {
                yield return $"call {c.Id} is with several agents";
            }
        }

        foreach (var a in _agents.Where(a => a.State == AgentState.Ready))
        {
            foreach (var c in _calls.Where(c => c.State == CallState.Queued && !c.Detached))
            {
                if (Eligible(a, c, out _))
                {
                    yield return $"agent {a.Id} is ready while call {c.Id} it may take waits";
                }
            }
        }

        if (!Totals.Conserved)
        {
            yield return $"counts do not conserve: {Totals}";
        }
    }

    // ---- time -------------------------------------------------------------------------------------------------

    private void Advance(long nowMs)
    {
        nowMs = Math.Max(nowMs, Now);
        while (true)
        {
            // The earliest due timer: agents before calls at the same time, agents by order, calls by place in line.
            RAgent? agent = null;
            RCall? call = null;
            var due = long.MaxValue;
            foreach (var a in _agents)
            {
                if (a.State == AgentState.WrapUp && a.WrapDue < due)
                {
                    due = a.WrapDue;
                    agent = a;
                }
            }

            foreach (var c in _calls.OrderBy(c => c.Seq))
            {
                var d = CallDue(c);
                if (d < due)
                {
                    due = d;
                    agent = null;
                    call = c;
                }
            }

            if (due > nowMs)
            {
                break;
            }

            SetClock(due);
            if (agent is not null)
            {
                FinishWrap(agent);
                ChangeState(agent, AgentState.Ready, null);
                BecomeAvailable(agent);
            }
            else
            {
                FireCall(call!);
            }
        }

        SetClock(nowMs);
    }

    private void SetClock(long t)
    {
        Now = Math.Max(Now, t);
        if (Now >= _nextDayMs)
        {
            if (_nextDayMs != 0)
            {
                foreach (var s in _stats)
                {
                    s.ResetDay();
                }
            }

            const long day = 86_400_000;
            var local = Now + Config.UtcOffsetMs;
            var dayStart = local - (((local % day) + day) % day);
            _nextDayMs = dayStart + day - Config.UtcOffsetMs;
        }
    }

    private long CallDue(RCall c)
    {
        if (c.State == CallState.Queued)
        {
            if (c.Detached)
            {
                return c.AuxDue;
            }

            if (c.Target is not null)
            {
                return Math.Min(c.MaxWaitDue, c.AuxDue);
            }

            var steps = Config.Skills[c.Skill].Overflow;
            return c.StepsFired < steps.Count ? Math.Min(c.MaxWaitDue, c.FirstEnqueue + steps[c.StepsFired].AfterMs) : c.MaxWaitDue;
        }

        if (c.State == CallState.Offered || (c.State == CallState.Talking && c.AnswerPending))
        {
            return c.AuxDue;
        }

        return long.MaxValue;
    }

    private void FireCall(RCall c)
    {
        if (c.State == CallState.Queued)
        {
            if (c.Detached)
            {
                AbandonCall(c, "disconnected");
            }
            else if (Now >= c.MaxWaitDue)
            {
                TimeOut(c);
            }
            else
            {
                c.Target = null;
                CatchUpSteps(c);
                RouteOrHold(c);
            }
        }
        else if (c.State == CallState.Offered)
        {
            RingNoAnswer(c);
        }
        else if (c.State == CallState.Talking && c.AnswerPending)
        {
            ConfirmAnswer(c);
        }
    }

    private void CatchUpSteps(RCall c)
    {
        var steps = Config.Skills[c.Skill].Overflow;
        while (c.StepsFired < steps.Count && Now - c.FirstEnqueue >= steps[c.StepsFired].AfterMs)
        {
            c.StepsFired++;
        }
    }

    private void Emit(RoutingEvent e)
    {
        ref var slot = ref _events.Add();
        slot = e with { Sequence = ++_eventSeq, TimeMs = Now };
    }

    // ---- eligibility and choice ---------------------------------------------------------------------------------

    /// <summary>May agent <paramref name="a"/> take waiting call <paramref name="c"/> now, and with which priority.</summary>
    private bool Eligible(RAgent a, RCall c, out int priority)
    {
        priority = c.Priority;
        if (c.Target is not null)
        {
            return c.Target == a;
        }

        if (a.Level(c.Skill) > 0)
        {
            return true;
        }

        foreach (var step in Config.Skills[c.Skill].Overflow)
        {
            if (a.Level(step.Skill) >= step.MinLevel)
            {
                if (step.Priority >= 0)
                {
                    priority = step.Priority;
                }

                return Now - c.FirstEnqueue >= step.AfterMs;
            }
        }

        return false;
    }

    private RCall? BestCallFor(RAgent a)
    {
        RCall? best = null;
        var bestPriority = -1;
        foreach (var c in _calls)
        {
            if (c.State != CallState.Queued || c.Detached || !Eligible(a, c, out var p))
            {
                continue;
            }

            if (best is null || p > bestPriority || (p == bestPriority && c.Seq < best.Seq))
            {
                best = c;
                bestPriority = p;
            }
        }

        return best;
    }

    private RAgent? Pick(IEnumerable<RAgent> candidates, int skill)
    {
        var list = candidates.ToList();
        if (list.Count == 0)
        {
            return null;
        }

        return Config.Skills[skill].Strategy switch
        {
            SelectionStrategy.MostSkilled => list.OrderByDescending(a => a.Level(skill)).ThenBy(a => a.ReadySeq).First(),
            SelectionStrategy.LeastSkilled => list.OrderBy(a => a.Level(skill)).ThenBy(a => a.ReadySeq).First(),
            SelectionStrategy.FewestCalls => list.OrderBy(a => a.CallsHandled).ThenBy(a => a.ReadySeq).First(),
            _ => list.OrderBy(a => a.ReadySeq).First(),
        };
    }

    private RAgent? FindAgentFor(int skill, long firstEnqueue, RAgent? target)
    {
        if (target is not null)
        {
            return target.State == AgentState.Ready ? target : null;
        }

        var ready = _agents.Where(a => a.State == AgentState.Ready).ToList();
        var found = Pick(ready.Where(a => a.Level(skill) > 0), skill);
        if (found is not null)
        {
            return found;
        }

        foreach (var step in Config.Skills[skill].Overflow)
        {
            if (Now - firstEnqueue < step.AfterMs)
            {
                break;
            }

            found = Pick(ready.Where(a => a.Level(step.Skill) >= step.MinLevel), step.Skill);
            if (found is not null)
            {
                return found;
            }
        }

        return null;
    }

    private void BecomeAvailable(RAgent a)
    {
        a.ReadySeq = ++_readySeq;
        var c = BestCallFor(a);
        if (c is not null)
        {
            Assign(a, c);
        }
    }

    private void Assign(RAgent a, RCall c)
    {
        c.Target = null;
        a.Call = c;
        c.Agent = a;
        var route = c.AnswerRoute;
        c.AnswerRoute = null; // the 302 answers the INVITE: later events carry no route
        c.RoutedMs = Now;
        c.AuxDue = Now + Config.RingTimeoutMs;
        if (c.Handoff)
        {
            c.State = CallState.Talking;
            c.AnswerPending = true;
            c.AnsweredMs = Now;
        }
        else
        {
            c.State = CallState.Offered;
        }

        Emit(new RoutingEvent
        {
            Kind = EventKind.CallRouted,
            CallId = c.Id,
            Caller = c.Caller,
            AgentId = a.Id,
            Contact = a.Contact,
            Skill = SkillName(c.Skill),
            Priority = c.Priority,
            WaitMs = Now - c.FirstEnqueue,
            Handoff = c.Handoff,
            Owner = c.Owner,
            AnswerRoute = route,
        });
        ChangeState(a, c.Handoff ? AgentState.Talking : AgentState.Reserved, null);
    }

    private bool RouteOrHold(RCall c)
    {
        var a = FindAgentFor(c.Skill, c.FirstEnqueue, c.Target);
        if (a is null)
        {
            return false;
        }

        Assign(a, c);
        return true;
    }

    private CommandResult EnterWaiting(RCall c)
    {
        c.State = CallState.Queued;
        if (Now >= c.MaxWaitDue)
        {
            TimeOut(c);
            return CommandResult.Ok;
        }

        CatchUpSteps(c);
        if (RouteOrHold(c))
        {
            return new CommandResult { Outcome = OfferOutcome.Routed, AgentId = c.Agent!.Id, Contact = c.Agent.Contact, Skill = SkillName(c.Skill) };
        }

        return TellQueued(c);
    }

    private CommandResult TellQueued(RCall c)
    {
        var position = Position(c);
        var estimate = Estimate(c.Skill, position);
        Emit(new RoutingEvent
        {
            Kind = EventKind.CallQueued,
            CallId = c.Id,
            Caller = c.Caller,
            Skill = SkillName(c.Skill),
            Priority = c.Priority,
            Position = position,
            EstimatedWaitMs = estimate,
            WaitMs = Now - c.FirstEnqueue,
            AgentId = c.Target?.Id,
            Owner = c.Owner,
            AnswerRoute = c.AnswerRoute,
        });
        return new CommandResult { Outcome = OfferOutcome.Queued, Skill = SkillName(c.Skill), Position = position, EstimatedWaitMs = estimate };
    }

    private static bool Ahead(RCall x, RCall c) => x.Priority > c.Priority || (x.Priority == c.Priority && x.Seq < c.Seq);

    private bool InSkillQueue(RCall c, int skill) => c.State == CallState.Queued && !c.Detached && c.Target is null && c.Skill == skill;

    private int Position(RCall c)
    {
        if (c.Target is not null)
        {
            return 1 + _calls.Count(x => x != c && x.State == CallState.Queued && x.Target == c.Target && Ahead(x, c));
        }

        return 1 + _calls.Count(x => x != c && InSkillQueue(x, c.Skill) && Ahead(x, c));
    }

    private long Estimate(int skill, int position)
    {
        var st = _stats[skill];
        var aht = st.Handled > 0 ? st.AverageHandleTimeMs : Config.DefaultHandleTimeMs;
        var working = _agents.Count(a => a.Level(skill) > 0 && a.State is AgentState.Ready or AgentState.Reserved or AgentState.Talking or AgentState.WrapUp);
        return position * aht / Math.Max(1, working);
    }

    private bool HasStaff(int skill)
    {
        var loggedIn = _agents.Where(a => a.State != AgentState.LoggedOut).ToList();
        return loggedIn.Any(a => a.Level(skill) > 0)
            || Config.Skills[skill].Overflow.Any(step => loggedIn.Any(a => a.Level(step.Skill) >= step.MinLevel));
    }

    private string SkillName(int skill) => Config.Skills[skill].Name;

    // ---- calls ------------------------------------------------------------------------------------------------

    private RCall? FindCall(string id) => _calls.Find(c => c.Id == id);

    private RAgent? FindAgent(string? id) => _agents.Find(a => a.Id == id);

    private static CommandResult Fail(ResultCode code) => new(code, "reference");

    private CommandResult Offer(OfferCall o)
    {
        if (string.IsNullOrEmpty(o.CallId) || o.CallId.Length > 256 || o.Priority is < -1 or > 9 || o.Vip is < 0 or > 9
            || o.Caller?.Length > 128 || o.ServiceNumber?.Length > 128 || o.Language?.Length > 128 || o.IvrDigits?.Length > 128)
        {
            return Fail(ResultCode.InvalidArgument);
        }

        var existing = FindCall(o.CallId);
        if (existing is not null)
        {
            if (o.Mode != OfferMode.Sip)
            {
                return Fail(ResultCode.AlreadyExists);
            }

            existing.Owner = o.Owner;
            existing.Connection = o.Connection;
            existing.AnswerRoute = o.AnswerRoute ?? existing.AnswerRoute;
            if (existing.State == CallState.Queued && existing.Detached)
            {
                existing.Detached = false;
                Emit(new RoutingEvent { Kind = EventKind.CallResumed, CallId = existing.Id, Caller = existing.Caller, Skill = SkillName(existing.Skill), Owner = existing.Owner, AnswerRoute = existing.AnswerRoute });
                return EnterWaiting(existing);
            }

            if (existing.State == CallState.Queued)
            {
                return TellQueued(existing);
            }

            if (existing.State == CallState.Offered || (existing.State == CallState.Talking && existing.Handoff))
            {
                return RingNoAnswer(existing);
            }

            return Fail(ResultCode.FailedPrecondition);
        }

        // Classification (SPEC 4.4) as far as this centre uses it: an explicit skill, else VIP to the VIP seat.
        var skill = Config.DefaultSkill;
        var priority = -1;
        var hotline = Config.Hotline;
        if (o.Skill is not null)
        {
            skill = Config.FindSkill(o.Skill);
            if (skill < 0)
            {
                return Fail(ResultCode.NotFound);
            }
        }
        else if (o.Vip > 0 && hotline.VipSkill >= 0)
        {
            skill = hotline.VipSkill;
            priority = hotline.VipPriority;
        }

        var definition = Config.Skills[skill];
        priority = o.Priority >= 0 ? Math.Max(o.Priority, priority) : priority >= 0 ? priority : definition.DefaultPriority;
        if (o.Vip > 0)
        {
            priority = Math.Max(priority, hotline.VipPriority);
        }

        _offered++;
        _stats[skill].OnOffered(Now, false);
        Emit(new RoutingEvent { Kind = EventKind.CallOffered, CallId = o.CallId, Caller = o.Caller, Skill = definition.Name, Priority = priority, Owner = o.Owner, AnswerRoute = o.AnswerRoute });

        RejectReason reason;
        if (_calls.Count >= Config.MaxLiveCalls)
        {
            reason = RejectReason.Capacity;
        }
        else if (!HasStaff(skill))
        {
            reason = RejectReason.NoAgents;
        }
        else if (FindAgentFor(skill, Now, null) is null && _calls.Count(c => c.State == CallState.Queued && c.Skill == skill) >= definition.MaxQueueLength)
        {
            reason = RejectReason.QueueFull;
        }
        else
        {
            var call = new RCall
            {
                Id = o.CallId,
                Caller = o.Caller,
                ServiceNumber = o.ServiceNumber,
                Language = o.Language,
                Owner = o.Owner,
                AnswerRoute = o.AnswerRoute,
                Seq = ++_callSeq,
                FirstEnqueue = Now,
                MaxWaitDue = Now + definition.MaxWaitMs,
                Skill = skill,
                Priority = priority,
                Vip = o.Vip,
                Handoff = o.Mode == OfferMode.Sip,
                Connection = o.Connection,
            };
            _calls.Add(call);
            return EnterWaiting(call);
        }

        _rejected++;
        _stats[skill].OnRejected();
        Emit(new RoutingEvent { Kind = EventKind.CallRejected, CallId = o.CallId, Caller = o.Caller, Skill = definition.Name, Priority = priority, RejectReason = reason, Owner = o.Owner, AnswerRoute = o.AnswerRoute });
        return new CommandResult
        {
            Code = reason is RejectReason.QueueFull or RejectReason.Capacity ? ResultCode.ResourceExhausted : ResultCode.Ok,
            Message = "reference",
            Outcome = OfferOutcome.Rejected,
            Skill = definition.Name,
            RejectReason = reason,
        };
    }

    private CommandResult Answered(string id)
    {
        var c = FindCall(id);
        if (c is null)
        {
            return Fail(ResultCode.NotFound);
        }

        if (c.State == CallState.Talking && c.AnswerPending)
        {
            ConfirmAnswer(c);
            return CommandResult.Ok;
        }

        if (c.State != CallState.Offered)
        {
            return Fail(ResultCode.FailedPrecondition);
        }

        c.State = CallState.Talking;
        c.AnsweredMs = Now;
        c.Agent!.CallsHandled++;
        _stats[c.Skill].OnAnswered(Now, Now - c.FirstEnqueue);
        Emit(new RoutingEvent { Kind = EventKind.CallAnswered, CallId = c.Id, Caller = c.Caller, AgentId = c.Agent!.Id, Skill = SkillName(c.Skill), WaitMs = Now - c.FirstEnqueue, Owner = c.Owner, AnswerRoute = c.AnswerRoute });
        ChangeState(c.Agent, AgentState.Talking, null);
        return CommandResult.Ok;
    }

    private void ConfirmAnswer(RCall c)
    {
        c.AnswerPending = false;
        c.Agent!.CallsHandled++;
        var wait = c.RoutedMs - c.FirstEnqueue;
        _stats[c.Skill].OnAnswered(Now, wait);
        Emit(new RoutingEvent { Kind = EventKind.CallAnswered, CallId = c.Id, Caller = c.Caller, AgentId = c.Agent!.Id, Skill = SkillName(c.Skill), WaitMs = wait, Owner = c.Owner, AnswerRoute = c.AnswerRoute });
    }

    private CommandResult NoAnswer(string id)
    {
        var c = FindCall(id);
        if (c is null)
        {
            return Fail(ResultCode.NotFound);
        }

        if (c.State == CallState.Offered || (c.State == CallState.Talking && c.Handoff))
        {
            RingNoAnswer(c);
            return CommandResult.Ok;
        }

        return Fail(ResultCode.FailedPrecondition);
    }

    private CommandResult RingNoAnswer(RCall c)
    {
        var a = c.Agent!;
        c.AnswerPending = false;
        c.Agent = null;
        a.Call = null;
        _stats[c.Skill].OnRingNoAnswer();
        Emit(new RoutingEvent { Kind = EventKind.CallRingNoAnswer, CallId = c.Id, Caller = c.Caller, AgentId = a.Id, Skill = SkillName(c.Skill), Owner = c.Owner, AnswerRoute = c.AnswerRoute });
        ChangeState(a, AgentState.NotReady, "rona");
        return EnterWaiting(c);
    }

    private CommandResult End(CallCommand cmd)
    {
        var c = FindCall(cmd.CallId);
        if (c is null)
        {
            return Fail(ResultCode.NotFound);
        }

        if (c.State != CallState.Talking)
        {
            return cmd.AbandonIfWaiting ? Abandon(cmd.CallId) : Fail(ResultCode.FailedPrecondition);
        }

        if (c.AnswerPending)
        {
            if (cmd.Unanswered)
            {
                return Abandon(cmd.CallId);
            }

            ConfirmAnswer(c);
        }

        var a = c.Agent!;
        _stats[c.Skill].OnTalkEnded(Now - c.AnsweredMs);
        _ended++;
        Emit(new RoutingEvent { Kind = EventKind.CallEnded, CallId = c.Id, Caller = c.Caller, AgentId = a.Id, Skill = SkillName(c.Skill), WaitMs = Now - c.AnsweredMs, Owner = c.Owner, AnswerRoute = c.AnswerRoute });
        a.Call = null;
        _calls.Remove(c);
        StartWrap(a, c.Skill);
        return CommandResult.Ok;
    }

    private CommandResult Abandon(string id)
    {
        var c = FindCall(id);
        if (c is null)
        {
            return Fail(ResultCode.NotFound);
        }

        if (c.State == CallState.Queued)
        {
            AbandonCall(c, "caller");
            return CommandResult.Ok;
        }

        if (c.State == CallState.Offered || (c.State == CallState.Talking && c.AnswerPending))
        {
            var a = c.Agent!;
            a.Call = null;
            c.AnswerPending = false;
            AbandonCall(c, "caller");
            ChangeState(a, AgentState.Ready, null);
            BecomeAvailable(a);
            return CommandResult.Ok;
        }

        return Fail(ResultCode.FailedPrecondition);
    }

    private void AbandonCall(RCall c, string reason)
    {
        var wait = Now - c.FirstEnqueue;
        _stats[c.Skill].OnAbandoned(Now, wait);
        _abandoned++;
        Emit(new RoutingEvent { Kind = EventKind.CallAbandoned, CallId = c.Id, Caller = c.Caller, Skill = SkillName(c.Skill), WaitMs = wait, Reason = reason, Owner = c.Owner, AnswerRoute = c.AnswerRoute });
        _calls.Remove(c);
    }

    private void TimeOut(RCall c)
    {
        _stats[c.Skill].OnTimedOut(Now);
        _timedOut++;
        Emit(new RoutingEvent { Kind = EventKind.CallTimedOut, CallId = c.Id, Caller = c.Caller, Skill = SkillName(c.Skill), WaitMs = Now - c.FirstEnqueue, Owner = c.Owner, AnswerRoute = c.AnswerRoute });
        _calls.Remove(c);
    }

    private CommandResult Transfer(TransferCall t)
    {
        var c = FindCall(t.CallId);
        if (c is null)
        {
            return Fail(ResultCode.NotFound);
        }

        if (t.ToSkill is null && t.ToAgent is null)
        {
            return Fail(ResultCode.InvalidArgument);
        }

        if (c.State != CallState.Talking)
        {
            return Fail(ResultCode.FailedPrecondition);
        }

        var skill = c.Skill;
        if (t.ToSkill is not null)
        {
            skill = Config.FindSkill(t.ToSkill);
            if (skill < 0)
            {
                return Fail(ResultCode.NotFound);
            }
        }

        var from = c.Agent!;
        RAgent? target = null;
        if (t.ToAgent is not null)
        {
            target = FindAgent(t.ToAgent);
            if (target is null)
            {
                return Fail(ResultCode.NotFound);
            }

            if (target == from || target.State == AgentState.LoggedOut)
            {
                return Fail(ResultCode.FailedPrecondition);
            }
        }

        if (c.AnswerPending)
        {
            ConfirmAnswer(c);
        }

        var previous = c.Skill;
        _stats[previous].OnTalkEnded(Now - c.AnsweredMs);
        Emit(new RoutingEvent { Kind = EventKind.CallTransferred, CallId = c.Id, Caller = c.Caller, AgentId = from.Id, Skill = SkillName(skill), Reason = target?.Id, Owner = c.Owner, AnswerRoute = c.AnswerRoute });
        from.Call = null;
        c.Agent = null;
        c.Skill = skill;
        c.StepsFired = 0;
        c.MaxWaitDue = Now + Config.Skills[skill].MaxWaitMs;
        _stats[skill].OnOffered(Now, true);
        if (target is not null)
        {
            c.Target = target;
            c.AuxDue = Now + Config.TransferWaitMs;
        }

        EnterWaiting(c);
        StartWrap(from, previous);
        return CommandResult.Ok;
    }

    private CommandResult DetachConnection(long connection, bool keepAnswerable)
    {
        foreach (var c in _calls.Where(c => c.State == CallState.Queued && c.Handoff && !c.Detached && (connection == 0 || c.Connection == connection) && !(keepAnswerable && c.AnswerRoute is not null)).OrderBy(c => c.Seq).ToList())
        {
            c.Detached = true;
            c.Target = null;
            c.Owner = null;
            c.AuxDue = Now + Config.DetachGraceMs;
            Emit(new RoutingEvent { Kind = EventKind.CallDetached, CallId = c.Id, Caller = c.Caller, Skill = SkillName(c.Skill) });
            if (Config.DetachGraceMs == 0)
            {
                AbandonCall(c, "disconnected");
            }
        }

        return CommandResult.Ok;
    }

    // ---- agents -----------------------------------------------------------------------------------------------

    private void ChangeState(RAgent a, AgentState to, string? reason)
    {
        var from = a.State;
        a.State = to;
        a.Reason = to == AgentState.NotReady ? reason ?? "unspecified" : null;
        a.StateSince = Now;
        Emit(new RoutingEvent { Kind = EventKind.AgentStateChanged, AgentId = a.Id, FromState = from, ToState = to, Reason = a.Reason });
    }

    private CommandResult LoginRosterAgents()
    {
        foreach (var a in _agents.ToList())
        {
            if (a.State == AgentState.LoggedOut && a.Definition.InitialState != AgentState.LoggedOut)
            {
                DoLogin(a, a.Definition.InitialState, null);
            }
        }

        return CommandResult.Ok;
    }

    private void DoLogin(RAgent a, AgentState state, string? reason)
    {
        a.CallsHandled = 0;
        ChangeState(a, state, reason);
        if (state == AgentState.Ready)
        {
            BecomeAvailable(a);
        }
    }

    private CommandResult Login(LoginAgent l)
    {
        if (!DomainCompiler.IsToken(l.AgentId) || l.InitialState is not (AgentState.Ready or AgentState.NotReady or AgentState.Standby)
            || l.Reason?.Length > 64 || (l.Contact is not null && !DomainCompiler.IsContact(l.Contact)))
        {
            return Fail(ResultCode.InvalidArgument);
        }

        var role = AgentRole.Agent;
        if (l.Role is not null && !Names.TryParseRole(l.Role, out role))
        {
            return Fail(ResultCode.InvalidArgument);
        }

        SkillLevel[]? skills = null;
        if (l.Skills is not null)
        {
            skills = DomainCompiler.CompileSkills(new Dictionary<string, int>(l.Skills), "skills", Config.SkillIndex, (_, _) => { });
            if (skills is null)
            {
                return Fail(ResultCode.InvalidArgument);
            }
        }

        var a = FindAgent(l.AgentId);
        if (a is null)
        {
            if (skills is null)
            {
                return Fail(ResultCode.NotFound);
            }

            if (_agents.Count >= Config.MaxAgents)
            {
                return Fail(ResultCode.ResourceExhausted);
            }

            a = new RAgent(_agents.Count, new AgentDefinition(l.AgentId, null, null, role, l.Outbound ?? false, skills, l.Contact ?? $"sip:{l.AgentId}@agents.invalid", AgentState.LoggedOut));
            _agents.Add(a);
        }
        else
        {
            if (a.State != AgentState.LoggedOut)
            {
                if (l.Refresh)
                {
                    // A refresh answers with the contact the agent had; moving it needs leave.
                    var previous = a.Contact;
                    if (l.Contact is not null && l.Contact != previous && !l.MayMoveContact)
                    {
                        return Fail(ResultCode.PermissionDenied);
                    }

                    a.Contact = l.Contact ?? a.Contact;
                    return new CommandResult { Contact = previous };
                }

                return Fail(ResultCode.FailedPrecondition);
            }

            if (skills is not null)
            {
                a.Skills = [.. skills];
            }

            if (l.Role is not null)
            {
                a.Role = role;
            }

            a.Outbound = l.Outbound ?? a.Outbound;
            a.Contact = l.Contact ?? a.Contact;
        }

        DoLogin(a, l.InitialState, l.Reason);
        return CommandResult.Ok;
    }

    private CommandResult Logout(string id)
    {
        var a = FindAgent(id);
        if (a is null)
        {
            return Fail(ResultCode.NotFound);
        }

        if (a.State is AgentState.LoggedOut or AgentState.Reserved or AgentState.Talking)
        {
            return Fail(ResultCode.FailedPrecondition);
        }

        if (a.State == AgentState.WrapUp)
        {
            FinishWrap(a);
        }

        ChangeState(a, AgentState.LoggedOut, null);
        foreach (var c in _calls.Where(c => c.State == CallState.Queued && c.Target == a).OrderByDescending(c => c.Priority).ThenBy(c => c.Seq).ToList())
        {
            c.Target = null;
            CatchUpSteps(c);
            RouteOrHold(c);
        }

        return CommandResult.Ok;
    }

    private CommandResult SetState(AgentCommand cmd)
    {
        var a = FindAgent(cmd.AgentId);
        if (a is null)
        {
            return Fail(ResultCode.NotFound);
        }

        var to = cmd.State;
        if (to is not (AgentState.Ready or AgentState.NotReady or AgentState.Standby) || cmd.Reason?.Length > 64)
        {
            return Fail(ResultCode.InvalidArgument);
        }

        if (a.State is AgentState.LoggedOut or AgentState.Reserved or AgentState.Talking)
        {
            return Fail(ResultCode.FailedPrecondition);
        }

        if (a.State == to && (to != AgentState.NotReady || a.Reason == (cmd.Reason ?? "unspecified")))
        {
            return CommandResult.Ok;
        }

        if (a.State == AgentState.WrapUp)
        {
            FinishWrap(a);
        }

        ChangeState(a, to, cmd.Reason);
        if (to == AgentState.Ready)
        {
            BecomeAvailable(a);
        }

        return CommandResult.Ok;
    }

    private CommandResult EndWrapUp(string id)
    {
        var a = FindAgent(id);
        if (a is null)
        {
            return Fail(ResultCode.NotFound);
        }

        if (a.State != AgentState.WrapUp)
        {
            return Fail(ResultCode.FailedPrecondition);
        }

        FinishWrap(a);
        ChangeState(a, AgentState.Ready, null);
        BecomeAvailable(a);
        return CommandResult.Ok;
    }

    private CommandResult ExtendWrapUp(AgentCommand cmd)
    {
        var a = FindAgent(cmd.AgentId);
        if (a is null)
        {
            return Fail(ResultCode.NotFound);
        }

        if (cmd.Seconds is < 1 or > 3600)
        {
            return Fail(ResultCode.InvalidArgument);
        }

        if (a.State != AgentState.WrapUp || a.WrapExtended + (cmd.Seconds * 1000L) > Config.MaxWrapUpExtensionMs)
        {
            return Fail(ResultCode.FailedPrecondition);
        }

        a.WrapExtended += cmd.Seconds * 1000L;
        a.WrapDue += cmd.Seconds * 1000L;
        return CommandResult.Ok;
    }

    private void StartWrap(RAgent a, int skill)
    {
        var wrap = Config.Skills[skill].WrapUpMs;
        if (wrap == 0)
        {
            ChangeState(a, AgentState.Ready, null);
            BecomeAvailable(a);
            return;
        }

        a.WrapStart = Now;
        a.WrapDue = Now + wrap;
        a.WrapExtended = 0;
        a.WrapSkill = skill;
        ChangeState(a, AgentState.WrapUp, null);
    }

    private void FinishWrap(RAgent a)
    {
        if (a.WrapSkill >= 0)
        {
            _stats[a.WrapSkill].OnWrapEnded(Now - a.WrapStart);
        }

        a.WrapSkill = -1;
    }

    public sealed class RAgent(int index, AgentDefinition definition)
    {
        public int Index { get; } = index;

        public AgentDefinition Definition { get; } = definition;

        public string Id => Definition.Id;

        public AgentRole Role { get; set; } = definition.Role;

        public bool Outbound { get; set; } = definition.Outbound;

        public string Contact { get; set; } = definition.Contact;

        public List<SkillLevel> Skills { get; set; } = [.. definition.Skills];

        public AgentState State { get; set; }

        public string? Reason { get; set; }

        public long StateSince { get; set; }

        public long ReadySeq { get; set; }

        public int CallsHandled { get; set; }

        public RCall? Call { get; set; }

        public long WrapDue { get; set; }

        public long WrapStart { get; set; }

        public long WrapExtended { get; set; }

        public int WrapSkill { get; set; } = -1;

        public int Level(int skill) => Skills.Find(s => s.Skill == skill).Level;
    }

    public sealed class RCall
    {
        public required string Id { get; init; }

        public string? Caller { get; init; }

        public string? ServiceNumber { get; init; }

        public string? Language { get; init; }

        public object? Owner { get; set; }

        public long Connection { get; set; }

        public byte[]? AnswerRoute { get; set; }

        public long Seq { get; init; }

        public long FirstEnqueue { get; init; }

        public long MaxWaitDue { get; set; }

        public long AuxDue { get; set; }

        public long RoutedMs { get; set; }

        public long AnsweredMs { get; set; }

        public int Skill { get; set; }

        public int Priority { get; init; }

        public int Vip { get; init; }

        public bool Handoff { get; init; }

        public bool AnswerPending { get; set; }

        public bool Detached { get; set; }

        public int StepsFired { get; set; }

        public CallState State { get; set; }

        public RAgent? Agent { get; set; }

        public RAgent? Target { get; set; }
    }
}
