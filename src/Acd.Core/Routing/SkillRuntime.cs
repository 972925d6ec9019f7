using System.Numerics;
using Acd.Core.Configuration;
using Acd.Core.Domain;
using Acd.Core.Statistics;

namespace Acd.Core.Routing;

/// <summary>
/// The live side of one skill: its waiting calls (one heap per priority, ordered by first-enqueue time then place),
/// its pool of available agents (one heap per level, ordered by the skill's strategy), counts and statistics.
/// </summary>
internal sealed class SkillRuntime
{
    public const int Priorities = 10;
    public const int Levels = 11; // index 1..10

    public SkillRuntime(SkillDefinition definition, CallTable calls, AgentTable agents)
    {
        Definition = definition;
        Index = definition.Index;
        Strategy = definition.Strategy;
        Steps = [.. definition.Overflow];
        Queue = new CallQueue[Priorities];
        for (var p = 0; p < Priorities; p++)
        {
            Queue[p] = new CallQueue(calls);
        }

        Pool = new AgentPool[Levels];
        for (var l = 1; l < Levels; l++)
        {
            Pool[l] = new AgentPool(agents);
        }

        Stats = new SkillStatistics(definition.ServiceLevelMs);
    }

    public SkillDefinition Definition { get; }

    public int Index { get; }

    public SelectionStrategy Strategy { get; }

    public OverflowStep[] Steps { get; }

    /// <summary>Waiting calls in the queue proper, by priority (0..9), each in order of place.</summary>
    public CallQueue[] Queue { get; }

    /// <summary>Bit p set when priority p has waiting calls.</summary>
    public int QueueMask { get; set; }

    /// <summary>Available agents by level (1..10).</summary>
    public AgentPool[] Pool { get; }

    /// <summary>Bit l set when level l has available agents.</summary>
    public int PoolMask { get; set; }

    /// <summary>Calls waiting whose skill this is (in queue, held after a disconnect, or waiting for one agent).</summary>
    public int Waiting { get; set; }

    /// <summary>Agents holding this skill, by state.</summary>
    public int[] AgentsByState { get; } = new int[7];

    /// <summary>Logged-in agents holding this skill, by level.</summary>
    public int[] StaffedByLevel { get; } = new int[Levels];

    public SkillStatistics Stats { get; }

    public int StaffedAtLeast(int minLevel)
    {
        var n = 0;
        for (var l = minLevel; l < Levels; l++)
        {
            n += StaffedByLevel[l];
        }

        return n;
    }

    /// <summary>The pool key of an agent under this skill's strategy.</summary>
    public void PoolKey(Agent agent, out long k1, out long k2)
    {
        if (Strategy == SelectionStrategy.FewestCalls)
        {
            k1 = agent.CallsHandled;
            k2 = agent.ReadySeq;
        }
        else
        {
            k1 = agent.ReadySeq;
            k2 = 0;
        }
    }

    /// <summary>
    /// The available agent this skill's strategy picks among levels ≥ <paramref name="minLevel"/>; -1 if none.
    /// Longest-idle and fewest-calls take the smallest key over the level heads; most-skilled the highest level,
    /// least-skilled the lowest, each then the longest idle.
    /// </summary>
    public int PickAgent(int minLevel)
    {
        var mask = PoolMask & ~((1 << minLevel) - 1);
        if (mask == 0)
        {
            return -1;
        }

        switch (Strategy)
        {
            case SelectionStrategy.MostSkilled:
                return PoolEntry.AgentOf(Pool[31 - BitOperations.LeadingZeroCount((uint)mask)].Top.Id);
            case SelectionStrategy.LeastSkilled:
                return PoolEntry.AgentOf(Pool[BitOperations.TrailingZeroCount(mask)].Top.Id);
            default:
                var bestLevel = BitOperations.TrailingZeroCount(mask);
                mask &= mask - 1;
                while (mask != 0)
                {
                    var l = BitOperations.TrailingZeroCount(mask);
                    mask &= mask - 1;
                    if (Pool[l].Top.Before(Pool[bestLevel].Top))
                    {
                        bestLevel = l;
                    }
                }

                return PoolEntry.AgentOf(Pool[bestLevel].Top.Id);
        }
    }
}
