namespace Acd.Core.Configuration;

/// <summary>
/// The configuration of one routing domain (a province, a tenant): its skills, its roster and its timing.
/// Bound from the <c>Acd</c> section (or an entry of <c>Acd:Domains</c>); checked by <see cref="DomainCompiler"/>.
/// </summary>
public class DomainOptions
{
    /// <summary>Name of the domain; unique among domains.</summary>
    public string Name { get; set; } = "default";

    /// <summary>The skill a call goes to when nothing else chooses one.</summary>
    public string DefaultSkill { get; set; } = "general";

    /// <summary>Seconds an offered call may ring before ring-no-answer (Reserved agents; SIP answer confirmation).</summary>
    public int RingTimeoutSeconds { get; set; } = 20;

    /// <summary>Seconds a call waits for a specific agent it was transferred to before routing to its skill.</summary>
    public int TransferWaitSeconds { get; set; } = 30;

    /// <summary>Seconds a waiting call whose SIP connection dropped keeps its place before it counts as abandoned.</summary>
    public int DetachGraceSeconds { get; set; } = 30;

    /// <summary>
    /// The longest a call may stay connected, in seconds (0: no limit). A routed call whose end is never reported (a
    /// BYE lost, a peer that never sends one) would keep its agent Talking for ever; past this the daemon ends it
    /// itself, as if the BYE had come. Default 4 hours.
    /// </summary>
    public int MaxTalkSeconds { get; set; } = 14_400;

    /// <summary>The longest an agent may extend wrap-up in total, in seconds.</summary>
    public int MaxWrapUpExtensionSeconds { get; set; } = 600;

    /// <summary>Handle time assumed for estimated waits until the skill has measured its own, in seconds.</summary>
    public int DefaultHandleTimeSeconds { get; set; } = 180;

    /// <summary>Offset from UTC, in minutes, of the day boundary used by "since midnight" statistics (480 = Beijing).</summary>
    public int UtcOffsetMinutes { get; set; } = 480;

    /// <summary>The most live calls (waiting, ringing, talking) the domain holds; beyond it arrivals are rejected.</summary>
    public int MaxLiveCalls { get; set; } = 2_000_000;

    /// <summary>The most agents the domain holds (roster plus agents that log in with their own skills).</summary>
    public int MaxAgents { get; set; } = 200_000;

    /// <summary>The skills (queues) of the domain.</summary>
    public IList<SkillOptions> Skills { get; set; } = new List<SkillOptions>();

    /// <summary>The VIP seat: VIP calls go there with <see cref="VipPriority"/>.</summary>
    public string VipSkill { get; set; } = "vip";

    /// <summary>Priority of VIP calls.</summary>
    public int VipPriority { get; set; } = 9;

    /// <summary>Caller numbers that are VIP (class 1); more come and go through the API.</summary>
    public IList<string> VipCallers { get; set; } = new List<string>();

    /// <summary>Most VIP callers held.</summary>
    public int MaxVipCallers { get; set; } = 1_000_000;

    /// <summary>Language tag (prefix, case-insensitive) → skill: <c>{ "en": "english" }</c>.</summary>
    public IDictionary<string, string> Languages { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Dialed number and IVR digits → skill.</summary>
    public IList<RouteOptions> Routes { get; set; } = new List<RouteOptions>();

    /// <summary>Repeat callers.</summary>
    public RepeatOptions Repeat { get; set; } = new();

    /// <summary>First-contact ownership.</summary>
    public OwnershipOptions Ownership { get; set; } = new();

    /// <summary>Callers remembered for repeat and ownership (least recently calling forgotten first).</summary>
    public int CallerHistoryCapacity { get; set; } = 200_000;

    /// <summary>Callbacks.</summary>
    public CallbackOptions Callbacks { get; set; } = new();

    /// <summary>Surge tiers of the whole domain.</summary>
    public SurgeOptions Surge { get; set; } = new();

    /// <summary>Agents listed one by one.</summary>
    public IList<AgentOptions> Agents { get; set; } = new List<AgentOptions>();

    /// <summary>Agents listed as numbered groups (a team of 50 seats with the same skills).</summary>
    public IList<AgentGroupOptions> AgentGroups { get; set; } = new List<AgentGroupOptions>();
}

/// <summary>One skill: a named queue with its own service level target.</summary>
public class SkillOptions
{
    /// <summary>Name (general, complaint, data, english, vip, ...).</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>Service level threshold T in seconds: a call answered within T counts for the service level.</summary>
    public int ServiceLevelSeconds { get; set; } = 20;

    /// <summary>Service level target as a fraction (0.8 = 80 % within T).</summary>
    public double ServiceLevelTarget { get; set; } = 0.8;

    /// <summary>The most calls that may wait; the next one is rejected (SIP 503).</summary>
    public int MaxQueueLength { get; set; } = 10_000;

    /// <summary>The longest a call waits before it ends as timed out (and owes a callback).</summary>
    public int MaxWaitSeconds { get; set; } = 600;

    /// <summary>After-call work in seconds; 0 returns the agent to Ready at once.</summary>
    public int WrapUpSeconds { get; set; } = 15;

    /// <summary>Agent selection: longest-idle, most-skilled, least-skilled or fewest-calls.</summary>
    public string Strategy { get; set; } = "longest-idle";

    /// <summary>Priority (0-9) of a call that does not bring its own.</summary>
    public int DefaultPriority { get; set; }

    /// <summary>Overflow steps in increasing time: each widens the agents that may take a waiting call.</summary>
    public IList<OverflowStepOptions> Overflow { get; set; } = new List<OverflowStepOptions>();

    /// <summary>Surge tiers of this skill alone (its own load); empty: the skill follows the domain's tier only.</summary>
    public IList<TierOptions> SurgeTiers { get; set; } = new List<TierOptions>();
}

/// <summary>After <see cref="AfterSeconds"/> of waiting, agents holding <see cref="Skill"/> at <see cref="MinLevel"/> or more may take the call.</summary>
public class OverflowStepOptions
{
    /// <summary>Seconds since the call first entered the queue.</summary>
    public int AfterSeconds { get; set; }

    /// <summary>The skill whose agents become eligible.</summary>
    public string Skill { get; set; } = string.Empty;

    /// <summary>The lowest level in that skill an agent needs (1-10).</summary>
    public int MinLevel { get; set; } = 1;

    /// <summary>The priority (0-9) the call competes with among those agents; empty keeps its own.</summary>
    public int? Priority { get; set; }
}

/// <summary>One agent of the roster.</summary>
public class AgentOptions
{
    /// <summary>Work number (工号); unique.</summary>
    public string Id { get; set; } = string.Empty;

    /// <summary>Display name.</summary>
    public string? Name { get; set; }

    /// <summary>Team (班组).</summary>
    public string? Team { get; set; }

    /// <summary>agent, team-lead or supervisor.</summary>
    public string Role { get; set; } = "agent";

    /// <summary>Whether the agent serves callbacks (外呼).</summary>
    public bool Outbound { get; set; }

    /// <summary>Skills with levels 1-10.</summary>
    public IDictionary<string, int> Skills { get; set; } = new Dictionary<string, int>(StringComparer.Ordinal);

    /// <summary>SIP contact URI calls are redirected to; defaults to sip:ID@agents.invalid.</summary>
    public string? Contact { get; set; }

    /// <summary>State at start: logged-out (agents log in themselves), ready, not-ready or standby.</summary>
    public string InitialState { get; set; } = "logged-out";
}

/// <summary>A numbered group of agents with the same skills: IDs are Prefix + number, zero-padded to Digits.</summary>
public class AgentGroupOptions
{
    /// <summary>Prefix of the generated work numbers.</summary>
    public string IdPrefix { get; set; } = string.Empty;

    /// <summary>First number of the group.</summary>
    public int First { get; set; } = 1;

    /// <summary>How many agents.</summary>
    public int Count { get; set; }

    /// <summary>Zero-padding width of the number.</summary>
    public int Digits { get; set; } = 4;

    /// <summary>Team of every agent in the group.</summary>
    public string? Team { get; set; }

    /// <summary>agent, team-lead or supervisor.</summary>
    public string Role { get; set; } = "agent";

    /// <summary>Whether the agents serve callbacks.</summary>
    public bool Outbound { get; set; }

    /// <summary>Skills with levels 1-10.</summary>
    public IDictionary<string, int> Skills { get; set; } = new Dictionary<string, int>(StringComparer.Ordinal);

    /// <summary>Contact template; <c>{id}</c> is replaced by the work number.</summary>
    public string ContactTemplate { get; set; } = "sip:{id}@agents.invalid";

    /// <summary>State at start: logged-out, ready, not-ready or standby.</summary>
    public string InitialState { get; set; } = "logged-out";
}
