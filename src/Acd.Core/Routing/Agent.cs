using Acd.Core.Configuration;
using Acd.Core.Domain;

namespace Acd.Core.Routing;

/// <summary>A skill an agent holds, with where the agent sits in that skill's pool of available agents.</summary>
internal struct Membership
{
    public int Skill;
    public int Level;
}

/// <summary>
/// A queue an agent may take calls from: its own skill (delay 0), or another skill whose overflow step
/// reaches this agent after <see cref="DelayMs"/> (competing there with <see cref="Priority"/> unless -1).
/// </summary>
internal readonly record struct Source(int Skill, long DelayMs, int Priority)
{
    public bool IsHome => DelayMs == 0 && Priority < 0;
}

/// <summary>One agent's live state; owned by the router's single writer.</summary>
internal sealed class Agent
{
    public const int MaxSkills = 32;

    /// <summary>
    /// The size of an agent's fields in memory, for the router's cache hints (<c>Router.LookAhead</c>): an agent spans
    /// three cache lines, and ending a call reads all of them. Checked against the runtime's own figure by a test.
    /// </summary>
    public const int FieldBytes = 160;

    public Agent(int index, AgentDefinition definition)
    {
        Index = index;
        Id = definition.Id;
        Name = definition.Name;
        Team = definition.Team;
        Role = definition.Role;
        Outbound = definition.Outbound;
        Contact = definition.Contact;
        Definition = definition;
        Skills = ToMemberships(definition.Skills);
    }

    public int Index { get; }

    public string Id { get; }

    public string Name { get; }

    public string? Team { get; }

    public AgentDefinition Definition { get; }

    public AgentRole Role { get; set; }

    public bool Outbound { get; set; }

    public string Contact { get; set; }

    public Membership[] Skills { get; set; }

    public Source[] Sources { get; set; } = [];

    public AgentState State { get; set; }

    public string? Reason { get; set; }

    public long StateSinceMs { get; set; }

    /// <summary>Order in which agents became available: the longest idle has the smallest.</summary>
    public long ReadySeq { get; set; }

    /// <summary>Calls taken since login (fewest-calls).</summary>
    public int CallsHandled { get; set; }

    public bool InPool { get; set; }

    public int Call { get; set; } = -1;

    /// <summary>The callback (handle) the agent is dialing, or -1.</summary>
    public int Callback { get; set; } = -1;

    /// <summary>Whether the agent holds a call or a callback (it is Reserved or Talking).</summary>
    public bool Busy => Call >= 0 || Callback >= 0;

    /// <summary>Taken from Standby by a surge tier: after the call it goes back to Standby, not Ready.</summary>
    public bool ReturnToStandby { get; set; }

    /// <summary>Holds a tier-1 support seat and not the skill it supports.</summary>
    public bool Supporter { get; set; }

    /// <summary>Place in the pool of available outbound agents, or -1.</summary>
    public int OutboundPos { get; set; } = -1;

    public long WrapDueMs { get; set; }

    public long WrapStartMs { get; set; }

    public long WrapExtendedMs { get; set; }

    public int WrapSkill { get; set; } = -1;

    /// <summary>Where the agent's timer is (see <see cref="RouterTimers"/>).</summary>
    public int TimerPos { get; set; } = -1;

    /// <summary>Neighbours in the timer's lane (see <see cref="RouterTimers"/>).</summary>
    public int TimerPrev { get; set; }

    public int TimerNext { get; set; }

    /// <summary>Calls waiting for this agent in particular (transfers, first-contact ownership); created on first use.</summary>
    public IndexedHeap<CallQueueIndex>? Personal { get; set; }

    public int LevelIn(int skill)
    {
        foreach (var m in Skills)
        {
            if (m.Skill == skill)
            {
                return m.Level;
            }
        }

        return 0;
    }

    public static Membership[] ToMemberships(IReadOnlyList<SkillLevel> skills)
    {
        var result = new Membership[skills.Count];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = new Membership { Skill = skills[i].Skill, Level = skills[i].Level };
        }

        return result;
    }
}

/// <summary>Agents by index and by work number.</summary>
internal sealed class AgentTable
{
    private readonly Dictionary<string, int> _byId;

    public AgentTable(int capacity)
    {
        Items = new Agent[Math.Max(capacity, 16)];
        PoolPos = new int[Items.Length];
        _byId = new Dictionary<string, int>(capacity, StringComparer.Ordinal);
    }

    public Agent[] Items { get; private set; }

    /// <summary>
    /// Where each membership of each agent sits in its skill's pool (a heap position), at
    /// <see cref="PoolSlot(int, int)"/>: a dense array beside the agents, so that a pool's sift writes one int a level
    /// instead of following an agent and its membership array (two cache misses a level in a pool of thousands).
    /// </summary>
    public int[] PoolPos { get; private set; }

    /// <summary>Memberships an agent may have in <see cref="PoolPos"/>: 2 to this power (widened when an agent gets more skills).</summary>
    public int PoolBits { get; private set; }

    /// <summary>The index in <see cref="PoolPos"/> of an agent's membership.</summary>
    public int PoolSlot(int agent, int membership) => (agent << PoolBits) | membership;

    /// <summary>The index in <see cref="PoolPos"/> of a <see cref="PoolEntry"/>.</summary>
    public int PoolSlot(int entry) => PoolSlot(PoolEntry.AgentOf(entry), PoolEntry.MembershipOf(entry));

    /// <summary>Makes room in <see cref="PoolPos"/> for agents of <paramref name="memberships"/> skills (positions kept).</summary>
    public void FitMemberships(int memberships)
    {
        var bits = PoolBits;
        while ((1 << bits) < memberships)
        {
            bits++;
        }

        if (bits == PoolBits)
        {
            return;
        }

        var old = PoolPos;
        var widened = new int[Items.Length << bits];
        for (var a = 0; a < Count; a++)
        {
            old.AsSpan(a << PoolBits, 1 << PoolBits).CopyTo(widened.AsSpan(a << bits));
        }

        PoolPos = widened;
        PoolBits = bits;
    }

    public int Count { get; private set; }

    public Agent Add(AgentDefinition definition)
    {
        if (Count == Items.Length)
        {
            var items = Items;
            Array.Resize(ref items, items.Length * 2);
            Items = items;
            var positions = PoolPos;
            Array.Resize(ref positions, items.Length << PoolBits);
            PoolPos = positions;
        }

        FitMemberships(definition.Skills.Count);
        var agent = new Agent(Count, definition);
        Items[Count++] = agent;
        _byId.Add(agent.Id, agent.Index);
        return agent;
    }

    public Agent? Find(string? id) => id is not null && _byId.TryGetValue(id, out var i) ? Items[i] : null;
}

/// <summary>
/// An entry of a skill's agent pool packs the agent's index and the index of the membership (skill and level) it is
/// in the pool for: agent × 32 + membership (an agent has at most <see cref="Agent.MaxSkills"/> = 32 skills).
/// </summary>
internal static class PoolEntry
{
    private const int MembershipBits = 5;

    static PoolEntry() => System.Diagnostics.Debug.Assert(Agent.MaxSkills == 1 << MembershipBits, "a pool entry holds 5 bits of membership");

    /// <summary>The entry of an agent's membership.</summary>
    public static int Of(int agent, int membership) => (agent << MembershipBits) | membership;

    /// <summary>The agent of an entry.</summary>
    public static int AgentOf(int entry) => entry >> MembershipBits;

    /// <summary>The membership of an entry.</summary>
    public static int MembershipOf(int entry) => entry & ((1 << MembershipBits) - 1);
}

/// <summary>Timer positions: a call slot (id ≥ 0) or an agent (id = ~index).</summary>
internal readonly struct TimerIndex(CallTable calls, AgentTable agents) : IHeapIndex
{
    public void Set(int id, int position)
    {
        if (id >= 0)
        {
            calls.Links[id].TimerPos = position;
        }
        else
        {
            agents.Items[~id].TimerPos = position;
        }
    }
}
