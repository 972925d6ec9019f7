namespace Acd.Core.Domain;

/// <summary>The external (configuration, wire, label) names of the domain enums, parsed and formatted in one place.</summary>
public static class Names
{
    /// <summary>The wire name of a state: logged-out, not-ready, ready, reserved, talking, wrap-up, standby.</summary>
    public static string Of(AgentState state) => state switch
    {
        AgentState.LoggedOut => "logged-out",
        AgentState.NotReady => "not-ready",
        AgentState.Ready => "ready",
        AgentState.Reserved => "reserved",
        AgentState.Talking => "talking",
        AgentState.WrapUp => "wrap-up",
        AgentState.Standby => "standby",
        _ => "unknown",
    };

    /// <summary>The wire names of every agent state, indexed by its value (as in per-state counts).</summary>
    public static readonly IReadOnlyList<string> AgentStates = [.. Enum.GetValues<AgentState>().Select(Of)];

    /// <summary>The wire name of a role: agent, team-lead, supervisor.</summary>
    public static string Of(AgentRole role) => role switch
    {
        AgentRole.TeamLead => "team-lead",
        AgentRole.Supervisor => "supervisor",
        _ => "agent",
    };

    /// <summary>The wire name of a strategy.</summary>
    public static string Of(SelectionStrategy strategy) => strategy switch
    {
        SelectionStrategy.MostSkilled => "most-skilled",
        SelectionStrategy.LeastSkilled => "least-skilled",
        SelectionStrategy.FewestCalls => "fewest-calls",
        _ => "longest-idle",
    };

    /// <summary>The wire name of a call state.</summary>
    public static string Of(CallState state) => state switch
    {
        CallState.Queued => "queued",
        CallState.Offered => "offered",
        CallState.Talking => "talking",
        CallState.Ended => "ended",
        CallState.Abandoned => "abandoned",
        CallState.TimedOut => "timed-out",
        CallState.Rejected => "rejected",
        _ => "unknown",
    };

    /// <summary>The wire name of a reject reason.</summary>
    public static string Of(RejectReason reason) => reason switch
    {
        RejectReason.NoAgents => "no-agents",
        RejectReason.QueueFull => "queue-full",
        RejectReason.Capacity => "capacity",
        _ => "none",
    };

    /// <summary>Parses a strategy name (longest-idle, most-skilled, least-skilled, fewest-calls; case and separators ignored).</summary>
    public static bool TryParseStrategy(string? text, out SelectionStrategy strategy)
    {
        switch (Squash(text))
        {
            case "longestidle": strategy = SelectionStrategy.LongestIdle; return true;
            case "mostskilled": strategy = SelectionStrategy.MostSkilled; return true;
            case "leastskilled": strategy = SelectionStrategy.LeastSkilled; return true;
            case "fewestcalls": strategy = SelectionStrategy.FewestCalls; return true;
            default: strategy = default; return false;
        }
    }

    /// <summary>Parses a role name (agent, team-lead, supervisor).</summary>
    public static bool TryParseRole(string? text, out AgentRole role)
    {
        switch (Squash(text))
        {
            case "agent": role = AgentRole.Agent; return true;
            case "teamlead": role = AgentRole.TeamLead; return true;
            case "supervisor": role = AgentRole.Supervisor; return true;
            default: role = default; return false;
        }
    }

    /// <summary>Parses a state name; every state of <see cref="AgentState"/> is recognised.</summary>
    public static bool TryParseState(string? text, out AgentState state)
    {
        switch (Squash(text))
        {
            case "loggedout": state = AgentState.LoggedOut; return true;
            case "notready": state = AgentState.NotReady; return true;
            case "ready": state = AgentState.Ready; return true;
            case "reserved": state = AgentState.Reserved; return true;
            case "talking": state = AgentState.Talking; return true;
            case "wrapup": state = AgentState.WrapUp; return true;
            case "standby": state = AgentState.Standby; return true;
            default: state = default; return false;
        }
    }

    private static string Squash(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        Span<char> buffer = stackalloc char[Math.Min(text.Length, 64)];
        var n = 0;
        foreach (var c in text)
        {
            if (c is '-' or '_' or ' ')
            {
                continue;
            }

            if (n == buffer.Length)
            {
                return string.Empty;
            }

            buffer[n++] = char.ToLowerInvariant(c);
        }

        return new string(buffer[..n]);
    }
}
