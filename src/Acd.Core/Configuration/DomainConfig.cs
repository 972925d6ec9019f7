using Acd.Core.Domain;

namespace Acd.Core.Configuration;

/// <summary>A validated, immutable routing domain: what the router runs on. Built by <see cref="DomainCompiler"/>.</summary>
public sealed class DomainConfig
{
    internal DomainConfig(
        string name,
        SkillDefinition[] skills,
        int defaultSkill,
        AgentDefinition[] roster,
        DomainOptions options,
        HotlineConfig hotline)
    {
        Hotline = hotline;
        Name = name;
        Skills = skills;
        DefaultSkill = defaultSkill;
        Roster = roster;
        RingTimeoutMs = options.RingTimeoutSeconds * 1000L;
        TransferWaitMs = options.TransferWaitSeconds * 1000L;
        DetachGraceMs = options.DetachGraceSeconds * 1000L;
        MaxTalkMs = options.MaxTalkSeconds * 1000L;
        MaxWrapUpExtensionMs = options.MaxWrapUpExtensionSeconds * 1000L;
        DefaultHandleTimeMs = options.DefaultHandleTimeSeconds * 1000L;
        UtcOffsetMs = options.UtcOffsetMinutes * 60_000L;
        MaxLiveCalls = options.MaxLiveCalls;
        MaxAgents = options.MaxAgents;
        var index = new Dictionary<string, int>(skills.Length, StringComparer.Ordinal);
        foreach (var s in skills)
        {
            index.Add(s.Name, s.Index);
        }

        SkillIndex = index;
        _fingerprint = new Lazy<string>(() => ConfigFingerprint.Compute(this));
    }

    private readonly Lazy<string> _fingerprint;

    /// <summary>A hash of everything the router's behaviour depends on (journals and snapshots are tied to it).</summary>
    public string Fingerprint => _fingerprint.Value;

    /// <summary>Domain name.</summary>
    public string Name { get; }

    /// <summary>Classification, repeat callers, ownership, callbacks and surge tiers.</summary>
    public HotlineConfig Hotline { get; }

    /// <summary>Skills by index.</summary>
    public IReadOnlyList<SkillDefinition> Skills { get; }

    /// <summary>Skill index by name.</summary>
    public IReadOnlyDictionary<string, int> SkillIndex { get; }

    /// <summary>Index of the skill a call takes when nothing chooses one.</summary>
    public int DefaultSkill { get; }

    /// <summary>The roster in configuration order (agent groups expanded).</summary>
    public IReadOnlyList<AgentDefinition> Roster { get; }

    /// <summary>Ring timeout in milliseconds.</summary>
    public long RingTimeoutMs { get; }

    /// <summary>How long a call transferred to a busy agent waits for that agent, in milliseconds.</summary>
    public long TransferWaitMs { get; }

    /// <summary>Grace for calls whose SIP connection dropped, in milliseconds.</summary>
    public long DetachGraceMs { get; }

    /// <summary>
    /// The longest a call may stay connected (0: no limit). Not a routing timer: the daemon ends overlong calls with
    /// ordinary journaled End commands, so it is not part of the configuration's fingerprint.
    /// </summary>
    public long MaxTalkMs { get; }

    /// <summary>Longest total wrap-up extension, in milliseconds.</summary>
    public long MaxWrapUpExtensionMs { get; }

    /// <summary>Handle time assumed before one is measured, in milliseconds.</summary>
    public long DefaultHandleTimeMs { get; }

    /// <summary>UTC offset of the statistics day boundary, in milliseconds.</summary>
    public long UtcOffsetMs { get; }

    /// <summary>Most live calls.</summary>
    public int MaxLiveCalls { get; }

    /// <summary>Most agents.</summary>
    public int MaxAgents { get; }

    /// <summary>Looks up a skill index by name; -1 when absent.</summary>
    public int FindSkill(string? name) => name is not null && SkillIndex.TryGetValue(name, out var i) ? i : -1;
}

/// <summary>One skill, compiled.</summary>
public sealed class SkillDefinition
{
    internal SkillDefinition(int index, SkillOptions o, SelectionStrategy strategy, OverflowStep[] overflow)
    {
        Index = index;
        Name = o.Name;
        ServiceLevelMs = o.ServiceLevelSeconds * 1000L;
        ServiceLevelTarget = o.ServiceLevelTarget;
        MaxQueueLength = o.MaxQueueLength;
        MaxWaitMs = o.MaxWaitSeconds * 1000L;
        WrapUpMs = o.WrapUpSeconds * 1000L;
        Strategy = strategy;
        DefaultPriority = o.DefaultPriority;
        Overflow = overflow;
    }

    /// <summary>Index in the domain.</summary>
    public int Index { get; }

    /// <summary>Name.</summary>
    public string Name { get; }

    /// <summary>Service level threshold T in milliseconds.</summary>
    public long ServiceLevelMs { get; }

    /// <summary>Service level target fraction.</summary>
    public double ServiceLevelTarget { get; }

    /// <summary>Most waiting calls.</summary>
    public int MaxQueueLength { get; }

    /// <summary>Longest wait in milliseconds.</summary>
    public long MaxWaitMs { get; }

    /// <summary>Wrap-up in milliseconds.</summary>
    public long WrapUpMs { get; }

    /// <summary>How agents are chosen.</summary>
    public SelectionStrategy Strategy { get; }

    /// <summary>Priority of calls that bring none.</summary>
    public int DefaultPriority { get; }

    /// <summary>Overflow steps in increasing time.</summary>
    public IReadOnlyList<OverflowStep> Overflow { get; }
}

/// <summary>An overflow step, compiled: after <see cref="AfterMs"/> agents holding <see cref="Skill"/> at <see cref="MinLevel"/>+ may take the call.</summary>
/// <param name="AfterMs">Milliseconds since first enqueue.</param>
/// <param name="Skill">Index of the skill whose agents become eligible.</param>
/// <param name="MinLevel">Lowest level needed.</param>
/// <param name="Priority">Priority the call competes with there, or -1 to keep its own.</param>
public readonly record struct OverflowStep(long AfterMs, int Skill, int MinLevel, int Priority);

/// <summary>A skill held by an agent.</summary>
/// <param name="Skill">Skill index.</param>
/// <param name="Level">Level 1-10.</param>
public readonly record struct SkillLevel(int Skill, int Level);

/// <summary>One agent of the roster, compiled.</summary>
public sealed class AgentDefinition
{
    /// <summary>Creates a definition.</summary>
    public AgentDefinition(string id, string? name, string? team, AgentRole role, bool outbound, SkillLevel[] skills, string contact, AgentState initialState)
    {
        Id = id;
        Name = name ?? id;
        Team = team;
        Role = role;
        Outbound = outbound;
        Skills = skills;
        Contact = contact;
        InitialState = initialState;
    }

    /// <summary>Work number.</summary>
    public string Id { get; }

    /// <summary>Display name.</summary>
    public string Name { get; }

    /// <summary>Team.</summary>
    public string? Team { get; }

    /// <summary>Role.</summary>
    public AgentRole Role { get; }

    /// <summary>Serves callbacks.</summary>
    public bool Outbound { get; }

    /// <summary>Skills with levels.</summary>
    public IReadOnlyList<SkillLevel> Skills { get; }

    /// <summary>SIP contact.</summary>
    public string Contact { get; }

    /// <summary>State at start (LoggedOut, Ready, NotReady or Standby).</summary>
    public AgentState InitialState { get; }
}
