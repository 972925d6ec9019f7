using Acd.Core.Configuration;
using Acd.Core.Domain;

namespace Acd.Core.Routing;

/// <summary>Call counts of a domain; they conserve: Offered = Rejected + Deflected + Abandoned + TimedOut + Ended + Waiting + Ringing + Talking.</summary>
/// <param name="Offered">Calls that arrived.</param>
/// <param name="Rejected">Refused at arrival.</param>
/// <param name="Deflected">Sent to self-service at arrival (surge tier 3).</param>
/// <param name="Abandoned">Caller hung up before an agent.</param>
/// <param name="TimedOut">Ended by the maximum wait.</param>
/// <param name="Ended">Ended after talking.</param>
/// <param name="Waiting">Waiting now.</param>
/// <param name="Ringing">Offered to an agent now (Reserved).</param>
/// <param name="Talking">Connected now.</param>
public readonly record struct RouterTotals(long Offered, long Rejected, long Deflected, long Abandoned, long TimedOut, long Ended, long Waiting, long Ringing, long Talking)
{
    /// <summary>Whether the counts conserve.</summary>
    public bool Conserved => Offered == Rejected + Deflected + Abandoned + TimedOut + Ended + Waiting + Ringing + Talking;
}

/// <summary>
/// The routing state machine of one domain (SPEC section 3). Single-threaded by design: one writer (the
/// RoutingEngine) owns it. Deterministic: the same configuration and the same sequence of
/// (time, command) give the same events and the same state, which is what journal replay relies on.
/// Time only comes in through <see cref="Execute"/> and <see cref="AdvanceTo"/>; it never goes backwards.
/// </summary>
public sealed partial class Router
{
    private const long CallTimerBase = 1L << 40;
    private const long DayMs = 86_400_000;

    private readonly DomainConfig _config;
    private readonly SkillRuntime[] _skills;
    private readonly string[] _skillNames;
    private readonly AgentTable _agents;
    private readonly CallTable _calls;
    private readonly CallIndex _callIndex;

    /// <summary>Call and agent timers (ring, wrap-up, overflow, maximum wait, grace); callbacks and the surge evaluation keep their own.</summary>
    private readonly RouterTimers _timers;
    private EventBuffer _events = new(4);
    private long _now;
    private long _eventSeq;
    private long _callSeq;
    private long _readySeq;
    private long _nextDayMs;

    private long _offered;
    private long _rejected;
    private long _deflected;
    private long _abandoned;
    private long _timedOut;
    private long _ended;
    private long _waiting;
    private long _ringing;
    private long _talking;

    /// <summary>Creates a domain with its roster, every agent logged out.</summary>
    public Router(DomainConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        _config = config;
        _calls = new CallTable(1024);
        _agents = new AgentTable(config.Roster.Count);
        _skills = new SkillRuntime[config.Skills.Count];
        for (var i = 0; i < _skills.Length; i++)
        {
            _skills[i] = new SkillRuntime(config.Skills[i], _calls, _agents);
        }

        _skillNames = [.. config.Skills.Select(s => s.Name)];
        _callIndex = new CallIndex(_calls, 1024);
        _timers = new RouterTimers(_calls, _agents, CallTimerBase);
        var hotline = config.Hotline;
        _history = new CallerHistory(hotline.RepeatEnabled || hotline.OwnershipEnabled ? hotline.CallerHistoryCapacity : 0, hotline.RepeatCalls - 1);
        foreach (var caller in hotline.VipCallers.Take(hotline.MaxVipCallers))
        {
            _vipClass[caller] = 1;
        }

        _callbacks = new CallbackBook(config.Name, hotline, _skillNames, i => _agents.Items[i].Id);
        _outboundPool = new IndexedHeap<OutboundPoolIndex>(new OutboundPoolIndex(_agents), 16);
        _surge = new SurgeMonitor(hotline, _skills.Length);
        foreach (var definition in config.Roster)
        {
            AddAgent(definition);
        }

        foreach (var value in hotline.Routes.Select(r => r.ServiceNumber).Concat(hotline.Languages.Select(l => l.Prefix)))
        {
            SharedCode(value);
        }
    }

    /// <summary>The domain's configuration.</summary>
    public DomainConfig Config => _config;

    /// <summary>
    /// One instance of a service number or language tag for every call that carries it: a million calls to 10086 hold
    /// one string, not a million (they arrive, and come back from the journal, as strings of their own), and each call
    /// holds a two-byte code of it instead of a reference. At most <see cref="MaxSharedValues"/> values get a code — the
    /// configured ones and the first others seen — so a peer that sends a new value with every call costs only its own
    /// strings, kept beside the call (<see cref="UnsharedCode"/>) until it ends.
    /// </summary>
    private ushort SharedCode(string? value)
    {
        if (value is null)
        {
            return 0;
        }

        if (ReferenceEquals(value, _lastShared))
        {
            return _lastSharedCode; // the SIP port hands over one string per connection for its usual number: no hashing then
        }

        if (!_sharedCodes.TryGetValue(value, out var code))
        {
            if (_sharedValues.Count >= MaxSharedValues)
            {
                return UnsharedCode;
            }

            _sharedValues.Add(value);
            code = (ushort)_sharedValues.Count;
            _sharedCodes.Add(value, code);
        }

        _lastShared = value;
        _lastSharedCode = code;
        return code;
    }

    /// <summary>Sets a call's service number and language tag (see <see cref="SharedCode"/>).</summary>
    private void SetServiceAndLanguage(int slot, string? serviceNumber, string? language)
    {
        ref var c = ref _calls.Records[slot];
        c.ServiceCode = SharedCode(serviceNumber);
        c.LanguageCode = SharedCode(language);
        if (c.ServiceCode == UnsharedCode || c.LanguageCode == UnsharedCode)
        {
            _unshared[slot] = (serviceNumber, language);
        }
    }

    private string? ServiceNumberOf(int slot) => SharedValue(_calls.Records[slot].ServiceCode, slot, language: false);

    private string? LanguageOf(int slot) => SharedValue(_calls.Records[slot].LanguageCode, slot, language: true);

    private string? SharedValue(ushort code, int slot, bool language) => code switch
    {
        0 => null,
        UnsharedCode => language ? _unshared[slot].Language : _unshared[slot].ServiceNumber,
        _ => _sharedValues[code - 1],
    };

    /// <summary>The router's clock (Unix milliseconds): the latest time it was given.</summary>
    public long Now => _now;

    /// <summary>Due time of the earliest pending timer, or <see cref="long.MaxValue"/>.</summary>
    public long NextTimerDueMs => Math.Min(_timers.NextDueMs, Math.Min(_callbacks.NextTimer.DueMs, _surge.NextEvaluationMs));

    /// <summary>
    /// When the router next has something to do on its own: its earliest timer, or the day boundary of the statistics
    /// (0 before its clock was first set).
    /// </summary>
    public long NextDueMs => Math.Min(NextTimerDueMs, _nextDayMs);

    /// <summary>Live calls (waiting, ringing, talking).</summary>
    public int LiveCalls => _calls.Live;

    /// <summary>Call counts.</summary>
    public RouterTotals Totals => new(_offered, _rejected, _deflected, _abandoned, _timedOut, _ended, _waiting, _ringing, _talking);

    /// <summary>
    /// Applies one command at <paramref name="nowMs"/>: first fires every timer due by then, in order of due time
    /// (agents before calls, then by agent order or place in line), then the command. Events go to <paramref name="events"/>.
    /// </summary>
    public CommandResult Execute(Command command, long nowMs, EventBuffer events)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(events);
        _events = events;
        Advance(nowMs);
        return command.Kind switch
        {
            CommandKind.Tick => CommandResult.Ok,
            CommandKind.LoginRoster => LoginRosterAgents(),
            CommandKind.Offer => Offer((OfferCall)command),
            CommandKind.Answered => Answered(((CallCommand)command).CallId),
            CommandKind.NoAnswer => NoAnswer(((CallCommand)command).CallId),
            CommandKind.End => End((CallCommand)command),
            CommandKind.Abandon => Abandon(((CallCommand)command).CallId),
            CommandKind.Transfer => Transfer((TransferCall)command),
            CommandKind.DetachConnection => DetachConnection(((DetachConnection)command).Connection, ((DetachConnection)command).KeepAnswerable),
            CommandKind.Login => Login((LoginAgent)command),
            CommandKind.Logout => Logout(((AgentCommand)command).AgentId),
            CommandKind.SetState => SetState((AgentCommand)command),
            CommandKind.EndWrapUp => EndWrapUp(((AgentCommand)command).AgentId),
            CommandKind.ExtendWrapUp => ExtendWrapUp((AgentCommand)command),
            CommandKind.SetVip => SetVip((SetCallerVip)command),
            CommandKind.ForceTier => ForceTier((ForceSurgeTier)command),
            CommandKind.ClearSurge => ClearSurge((ClearSurgeOverride)command),
            CommandKind.CompleteCallback => ReportOutcome((ReportCallbackOutcome)command),
            CommandKind.CancelCallback => CancelOwed((CancelCallback)command),
            CommandKind.Query => ((Query)command).Run(this),
            _ => new CommandResult(ResultCode.InvalidArgument, $"unknown command {command.Kind}"),
        };
    }

    /// <summary>Advances the clock to <paramref name="nowMs"/>, firing due timers.</summary>
    public void AdvanceTo(long nowMs, EventBuffer events)
    {
        ArgumentNullException.ThrowIfNull(events);
        _events = events;
        Advance(nowMs);
    }

    private static CommandResult Fail(ResultCode code, string message) => new(code, message);

    private void Advance(long nowMs)
    {
        if (nowMs < _now)
        {
            nowMs = _now;
        }

        if (!_surge.Started)
        {
            _surge.Start(nowMs);
        }

        // The earliest timer of the three kinds; at the same time agents, then calls, then callbacks, then the surge
        // evaluation (their keys sort so), as one heap would give them.
        while (true)
        {
            var (due, key) = _timers.Next();
            var (callbackDue, callbackKey) = _callbacks.NextTimer;
            if (due > nowMs && callbackDue > nowMs && _surge.NextEvaluationMs > nowMs)
            {
                break; // the usual case: nothing due
            }

            var source = 0;
            if (callbackDue < due || (callbackDue == due && callbackKey < key))
            {
                (due, key, source) = (callbackDue, callbackKey, 1);
            }

            if (_surge.NextEvaluationMs < due || (_surge.NextEvaluationMs == due && SurgeMonitor.TimerKey < key))
            {
                (due, source) = (_surge.NextEvaluationMs, 2);
            }

            SetClock(due);
            switch (source)
            {
                case 0:
                    var timer = _timers.Pop();
                    if (timer.Id >= 0)
                    {
                        FireCallTimer(timer.Id);
                    }
                    else
                    {
                        FireAgentTimer(_agents.Items[~timer.Id]);
                    }

                    break;
                case 1:
                    FireCallbackTimer();
                    break;
                default:
                    FireSurgeTimer();
                    break;
            }
        }

        SetClock(nowMs);
    }

    private void SetClock(long t)
    {
        if (t > _now)
        {
            _now = t;
        }

        if (_now >= _nextDayMs)
        {
            if (_nextDayMs != 0)
            {
                foreach (var s in _skills)
                {
                    s.Stats.ResetDay();
                }
            }

            var local = _now + _config.UtcOffsetMs;
            var day = local >= 0 ? local / DayMs : ((local + 1) / DayMs) - 1;
            _nextDayMs = ((day + 1) * DayMs) - _config.UtcOffsetMs;
        }
    }

    /// <summary>A new event, numbered and timed, to be filled in place.</summary>
    private ref RoutingEvent Emit(EventKind kind)
    {
        ref var e = ref _events.Add();
        e.Sequence = ++_eventSeq;
        e.TimeMs = _now;
        e.Kind = kind;
        return ref e;
    }

    // ---- timers -------------------------------------------------------------------------------------------

    private long CallDue(in CallRecord c)
    {
        switch (c.State)
        {
            case CallState.Queued:
                if (c.Has(CallFlags.Detached))
                {
                    return c.AuxDueMs;
                }

                if (c.Has(CallFlags.Targeted))
                {
                    return Math.Min(c.MaxWaitDueMs, c.AuxDueMs);
                }

                var steps = _skills[c.Skill].Steps;
                return c.StepsFired < steps.Length
                    ? Math.Min(c.MaxWaitDueMs, c.FirstEnqueueMs + StepDelay(c.Skill, steps[c.StepsFired].AfterMs))
                    : c.MaxWaitDueMs;
            case CallState.Offered:
                return c.AuxDueMs;
            case CallState.Talking:
                return c.Has(CallFlags.AnswerPending) ? c.AuxDueMs : long.MaxValue;
            default:
                return long.MaxValue;
        }
    }

    private void ScheduleCall(int slot)
    {
        ref var c = ref _calls.Records[slot];
        var due = CallDue(in c);
        var pos = _calls.Links[slot].TimerPos;
        if (RouterTimers.IsSet(pos))
        {
            if (c.TimerDueMs == due)
            {
                return;
            }

            _timers.Remove(slot, pos);
        }

        c.TimerDueMs = due;
        if (due != long.MaxValue)
        {
            _timers.Push(due, CallTimerBase + c.Seq, slot, _now);
        }
    }

    private void ScheduleAgent(Agent a)
    {
        if (RouterTimers.IsSet(a.TimerPos))
        {
            _timers.Remove(~a.Index, a.TimerPos);
        }

        if (a.State == AgentState.WrapUp)
        {
            _timers.Push(a.WrapDueMs, a.Index, ~a.Index, _now);
        }
    }

    private void FireCallTimer(int slot)
    {
        ref var c = ref _calls.Records[slot];
        switch (c.State)
        {
            case CallState.Queued when c.Has(CallFlags.Detached):
                AbandonCall(slot, "disconnected");
                break;
            case CallState.Queued when _now >= c.MaxWaitDueMs:
                TimeOutCall(slot);
                break;
            case CallState.Queued when c.Has(CallFlags.Targeted):
                Untarget(slot);
                RouteOrHold(slot);
                break;
            case CallState.Queued:
                CatchUpSteps(ref c);
                RouteOrHold(slot);
                break;
            case CallState.Offered:
                RingNoAnswer(slot);
                break;
            case CallState.Talking when c.Has(CallFlags.AnswerPending):
                ConfirmAnswer(slot);
                break;
        }
    }

    private void FireAgentTimer(Agent a)
    {
        if (a.State == AgentState.WrapUp && _now >= a.WrapDueMs)
        {
            FinishWrap(a);
            ReturnFromWork(a);
        }
    }

    private void CatchUpSteps(ref CallRecord c)
    {
        var steps = _skills[c.Skill].Steps;
        var waited = _now - c.FirstEnqueueMs;
        while (c.StepsFired < steps.Length && waited >= StepDelay(c.Skill, steps[c.StepsFired].AfterMs))
        {
            c.StepsFired++;
        }
    }
}
