using Acd.Api.V1;
using Acd.Core.Routing;
using CallbackState = Acd.Api.V1.CallbackState;
using EventKind = Acd.Api.V1.EventKind;
using Google.Protobuf.Collections;
using Grpc.Core;
using CoreAgentState = Acd.Core.Domain.AgentState;
using CoreCallState = Acd.Core.Domain.CallState;
using CoreResultCode = Acd.Core.Domain.ResultCode;
using CoreRole = Acd.Core.Domain.AgentRole;

namespace Acd.Host.Grpc;

/// <summary>Conversions between the routing core and the acd.v1 messages, in one place.</summary>
public static class ApiMapping
{
    public static AgentState ToApi(CoreAgentState state) => state switch
    {
        CoreAgentState.LoggedOut => AgentState.LoggedOut,
        CoreAgentState.NotReady => AgentState.NotReady,
        CoreAgentState.Ready => AgentState.Ready,
        CoreAgentState.Reserved => AgentState.Reserved,
        CoreAgentState.Talking => AgentState.Talking,
        CoreAgentState.WrapUp => AgentState.WrapUp,
        CoreAgentState.Standby => AgentState.Standby,
        _ => AgentState.Unspecified,
    };

    /// <summary>The core state of an API state; null for unspecified.</summary>
    public static CoreAgentState? ToCore(AgentState state) => state switch
    {
        AgentState.LoggedOut => CoreAgentState.LoggedOut,
        AgentState.NotReady => CoreAgentState.NotReady,
        AgentState.Ready => CoreAgentState.Ready,
        AgentState.Reserved => CoreAgentState.Reserved,
        AgentState.Talking => CoreAgentState.Talking,
        AgentState.WrapUp => CoreAgentState.WrapUp,
        AgentState.Standby => CoreAgentState.Standby,
        _ => null,
    };

    public static AgentRole ToApi(CoreRole role) => role switch
    {
        CoreRole.TeamLead => AgentRole.TeamLead,
        CoreRole.Supervisor => AgentRole.Supervisor,
        _ => AgentRole.Agent,
    };

    /// <summary>The role name the core parses; null for unspecified.</summary>
    public static string? RoleName(AgentRole role) => role switch
    {
        AgentRole.Agent => "agent",
        AgentRole.TeamLead => "team-lead",
        AgentRole.Supervisor => "supervisor",
        _ => null,
    };

    public static CallState ToApi(CoreCallState state) => state switch
    {
        CoreCallState.Queued => CallState.Queued,
        CoreCallState.Offered => CallState.Offered,
        CoreCallState.Talking => CallState.Talking,
        CoreCallState.Ended => CallState.Ended,
        CoreCallState.Abandoned => CallState.Abandoned,
        CoreCallState.TimedOut => CallState.TimedOut,
        CoreCallState.Rejected => CallState.Rejected,
        _ => CallState.Unspecified,
    };

    public static StatusCode ToStatus(CoreResultCode code) => code switch
    {
        CoreResultCode.Ok => StatusCode.OK,
        CoreResultCode.NotFound => StatusCode.NotFound,
        CoreResultCode.InvalidArgument => StatusCode.InvalidArgument,
        CoreResultCode.FailedPrecondition => StatusCode.FailedPrecondition,
        CoreResultCode.ResourceExhausted => StatusCode.ResourceExhausted,
        CoreResultCode.AlreadyExists => StatusCode.AlreadyExists,
        CoreResultCode.PermissionDenied => StatusCode.PermissionDenied,
        _ => StatusCode.Unknown,
    };

    public static Agent ToApi(AgentView a, string domain)
    {
        ArgumentNullException.ThrowIfNull(a);
        var agent = new Agent
        {
            AgentId = a.AgentId,
            State = ToApi(a.State),
            Reason = a.Reason ?? string.Empty,
            Role = ToApi(a.Role),
            CurrentCallId = a.CurrentCallId ?? string.Empty,
            CallsHandled = a.CallsHandled,
            Name = a.Name,
            Team = a.Team ?? string.Empty,
            Outbound = a.Outbound,
            Contact = a.Contact,
            StateSinceUnixMs = a.StateSinceMs,
            Domain = domain,
        };
        Fill(agent.Skills, a.Skills);
        return agent;
    }

    public static Call ToApi(CallView c)
    {
        ArgumentNullException.ThrowIfNull(c);
        return new Call
        {
            CallId = c.CallId,
            Caller = c.Caller ?? string.Empty,
            ServiceNumber = c.ServiceNumber ?? string.Empty,
            Skill = c.Skill,
            Priority = c.Priority,
            Vip = c.Vip,
            Language = c.Language ?? string.Empty,
            State = ToApi(c.State),
            FirstEnqueueUnixMs = c.FirstEnqueueMs,
            WaitMs = c.WaitMs,
            AgentId = c.AgentId ?? string.Empty,
            Position = c.Position,
            Held = c.Detached,
            TargetAgentId = c.TargetAgentId ?? string.Empty,
        };
    }

    public static QueueStats ToApi(QueueView q, string domain)
    {
        ArgumentNullException.ThrowIfNull(q);
        var stats = new QueueStats
        {
            Skill = q.Skill,
            Waiting = q.Waiting,
            LongestWaitMs = q.LongestWaitMs,
            Offered = q.Offered,
            Answered = q.Answered,
            Abandoned = q.Abandoned,
            AnsweredWithinThreshold = q.AnsweredWithinThreshold,
            ServiceLevel = q.ServiceLevelRolling,
            AsaMs = q.AsaMs,
            AhtMs = q.AhtMs,
            AgentsReady = q.AgentsReady,
            AgentsBusy = q.AgentsBusy,
            ServiceLevelToday = q.ServiceLevelToday,
            ServiceLevelTarget = q.ServiceLevelTarget,
            ThresholdMs = q.ThresholdMs,
            TimedOut = q.TimedOut,
            Rejected = q.Rejected,
            Occupancy = q.Occupancy,
            Domain = domain,
            ArrivalRatePerS = q.ArrivalRatePerSecond,
            Deflected = q.Deflected,
            SurgeTier = q.SurgeTier,
        };
        for (var s = 0; s < q.AgentsByState.Count; s++)
        {
            stats.AgentsByState[Acd.Core.Domain.Names.Of((CoreAgentState)s)] = q.AgentsByState[s];
        }

        return stats;
    }

    /// <summary>
    /// Every routing event kind and the acd.v1 kind it is published as: the one table both directions are read from
    /// (a test checks that every core kind is in it).
    /// </summary>
    internal static readonly IReadOnlyList<(Acd.Core.Routing.EventKind Core, EventKind Api)> EventKinds =
    [
        (Acd.Core.Routing.EventKind.CallOffered, EventKind.CallOffered),
        (Acd.Core.Routing.EventKind.CallQueued, EventKind.CallQueued),
        (Acd.Core.Routing.EventKind.CallRouted, EventKind.CallRouted),
        (Acd.Core.Routing.EventKind.CallAnswered, EventKind.CallAnswered),
        (Acd.Core.Routing.EventKind.CallRingNoAnswer, EventKind.CallRingNoAnswer),
        (Acd.Core.Routing.EventKind.CallAbandoned, EventKind.CallAbandoned),
        (Acd.Core.Routing.EventKind.CallTimedOut, EventKind.CallTimedOut),
        (Acd.Core.Routing.EventKind.CallRejected, EventKind.CallRejected),
        (Acd.Core.Routing.EventKind.CallEnded, EventKind.CallEnded),
        (Acd.Core.Routing.EventKind.CallTransferred, EventKind.CallTransferred),
        (Acd.Core.Routing.EventKind.CallDetached, EventKind.CallDetached),
        (Acd.Core.Routing.EventKind.CallResumed, EventKind.CallResumed),
        (Acd.Core.Routing.EventKind.AgentStateChanged, EventKind.AgentStateChanged),
        (Acd.Core.Routing.EventKind.SurgeTierChanged, EventKind.SurgeTierChanged),
        (Acd.Core.Routing.EventKind.CallDeflected, EventKind.CallDeflected),
        (Acd.Core.Routing.EventKind.CallbackCreated, EventKind.CallbackCreated),
        (Acd.Core.Routing.EventKind.CallbackAssigned, EventKind.CallbackAssigned),
        (Acd.Core.Routing.EventKind.CallbackCompleted, EventKind.CallbackCompleted),
        (Acd.Core.Routing.EventKind.CallbackRescheduled, EventKind.CallbackRescheduled),
        (Acd.Core.Routing.EventKind.CallbackExhausted, EventKind.CallbackExhausted),
    ];

    private static readonly Dictionary<Acd.Core.Routing.EventKind, EventKind> ApiKinds = EventKinds.ToDictionary(k => k.Core, k => k.Api);
    private static readonly Dictionary<EventKind, Acd.Core.Routing.EventKind> CoreKinds = EventKinds.ToDictionary(k => k.Api, k => k.Core);

    public static EventKind ToApi(Acd.Core.Routing.EventKind kind) => ApiKinds.GetValueOrDefault(kind, EventKind.Unspecified);

    /// <summary>The core kind of an API kind; null for unspecified or a kind this daemon does not know.</summary>
    public static Acd.Core.Routing.EventKind? ToCore(EventKind kind) => CoreKinds.TryGetValue(kind, out var core) ? core : null;

    public static Event ToApi(in RoutingEvent e, string domain)
    {
        var result = new Event { Sequence = e.Sequence, TimeUnixMs = e.TimeMs, Kind = ToApi(e.Kind), Domain = domain };
        switch (e.Kind)
        {
            case Acd.Core.Routing.EventKind.AgentStateChanged:
                result.AgentStateChanged = new AgentStateChanged { AgentId = e.AgentId ?? string.Empty, From = ToApi(e.FromState), To = ToApi(e.ToState), Reason = e.Reason ?? string.Empty };
                return result;
            case Acd.Core.Routing.EventKind.SurgeTierChanged:
                result.SurgeTierChanged = new SurgeTierChanged { Skill = e.Skill ?? string.Empty, FromTier = e.FromTier, ToTier = e.Tier, Reason = e.Reason ?? string.Empty, Forced = e.Forced };
                return result;
            case >= Acd.Core.Routing.EventKind.CallbackCreated and <= Acd.Core.Routing.EventKind.CallbackExhausted:
                var callback = new CallbackEvent
                {
                    CallbackId = e.CallbackId ?? string.Empty,
                    Caller = e.Caller ?? string.Empty,
                    Skill = e.Skill ?? string.Empty,
                    AgentId = e.AgentId ?? string.Empty,
                    Attempts = e.Attempts,
                    Reason = e.Reason ?? string.Empty,
                    Contact = e.Contact ?? string.Empty,
                    RetryInMs = e.Kind == Acd.Core.Routing.EventKind.CallbackRescheduled ? e.WaitMs : 0,
                };
                switch (e.Kind)
                {
                    case Acd.Core.Routing.EventKind.CallbackCreated: result.CallbackCreated = callback; break;
                    case Acd.Core.Routing.EventKind.CallbackAssigned: result.CallbackAssigned = callback; break;
                    case Acd.Core.Routing.EventKind.CallbackCompleted: result.CallbackCompleted = callback; break;
                    case Acd.Core.Routing.EventKind.CallbackRescheduled: result.CallbackRescheduled = callback; break;
                    case Acd.Core.Routing.EventKind.CallbackExhausted: result.CallbackExhausted = callback; break;
                }

                return result;
        }

        var call = new CallEvent
        {
            CallId = e.CallId ?? string.Empty,
            Caller = e.Caller ?? string.Empty,
            Skill = e.Skill ?? string.Empty,
            AgentId = e.AgentId ?? string.Empty,
            Contact = e.Contact ?? string.Empty,
            Position = e.Position,
            WaitMs = e.WaitMs,
            EstimatedWaitMs = e.EstimatedWaitMs,
            Priority = e.Priority,
            Reason = e.Kind == Acd.Core.Routing.EventKind.CallRejected ? Acd.Core.Domain.Names.Of(e.RejectReason) : e.Reason ?? string.Empty,
            Handoff = e.Handoff,
            Tier = e.Tier,
        };
        switch (e.Kind)
        {
            case Acd.Core.Routing.EventKind.CallOffered: result.CallOffered = call; break;
            case Acd.Core.Routing.EventKind.CallQueued: result.CallQueued = call; break;
            case Acd.Core.Routing.EventKind.CallRouted: result.CallRouted = call; break;
            case Acd.Core.Routing.EventKind.CallAnswered: result.CallAnswered = call; break;
            case Acd.Core.Routing.EventKind.CallRingNoAnswer: result.CallRingNoAnswer = call; break;
            case Acd.Core.Routing.EventKind.CallAbandoned: result.CallAbandoned = call; break;
            case Acd.Core.Routing.EventKind.CallTimedOut: result.CallTimedOut = call; break;
            case Acd.Core.Routing.EventKind.CallRejected: result.CallRejected = call; break;
            case Acd.Core.Routing.EventKind.CallEnded: result.CallEnded = call; break;
            case Acd.Core.Routing.EventKind.CallTransferred: result.CallTransferred = call; break;
            case Acd.Core.Routing.EventKind.CallDetached: result.CallDetached = call; break;
            case Acd.Core.Routing.EventKind.CallResumed: result.CallResumed = call; break;
            case Acd.Core.Routing.EventKind.CallDeflected: result.CallDeflected = call; break;
        }

        return result;
    }

    public static SurgeStatus ToApi(SurgeView s, string domain)
    {
        ArgumentNullException.ThrowIfNull(s);
        var status = new SurgeStatus
        {
            Tier = s.Tier,
            Forced = s.Forced,
            Reason = s.Reason,
            SinceUnixMs = s.SinceMs,
            ForcedUntilUnixMs = s.ForcedUntilMs,
            Domain = domain,
            Skill = s.Skill ?? string.Empty,
            ArrivalRatePerS = s.ArrivalRatePerSecond,
            BaselinePerS = s.BaselinePerSecond,
        };
        if (s.Skill is null)
        {
            Fill(status.EffectiveTiers, s.EffectiveTiers);
        }

        return status;
    }

    public static CallbackState ToApi(Acd.Core.Routing.CallbackState state) => state switch
    {
        Acd.Core.Routing.CallbackState.Open => CallbackState.Open,
        Acd.Core.Routing.CallbackState.Assigned => CallbackState.Assigned,
        Acd.Core.Routing.CallbackState.Completed => CallbackState.Completed,
        Acd.Core.Routing.CallbackState.Exhausted => CallbackState.Exhausted,
        Acd.Core.Routing.CallbackState.Cancelled => CallbackState.Cancelled,
        _ => CallbackState.Unspecified,
    };

    public static Callback ToApi(CallbackView c, string domain)
    {
        ArgumentNullException.ThrowIfNull(c);
        return new Callback
        {
            CallbackId = c.CallbackId,
            Caller = c.Caller,
            Skill = c.Skill,
            CreatedAtUnixMs = c.CreatedMs,
            Attempts = c.Attempts,
            State = ToApi(c.State),
            AssignedAgentId = c.AgentId ?? string.Empty,
            Reason = c.Reason,
            NextAttemptUnixMs = c.NextAttemptMs,
            Domain = domain,
        };
    }

    public static Acd.Api.V1.CallbackTotals ToApi(Acd.Core.Routing.CallbackTotals t) => new()
    {
        Created = t.Created,
        Merged = t.Merged,
        Reached = t.Reached,
        Exhausted = t.Exhausted,
        Cancelled = t.Cancelled,
        Dropped = t.Dropped,
        Owed = t.Owed,
        CompletionRatio = t.CompletionRatio,
    };

    private static void Fill(MapField<string, int> target, IReadOnlyDictionary<string, int> source)
    {
        foreach (var (k, v) in source)
        {
            target[k] = v;
        }
    }
}
