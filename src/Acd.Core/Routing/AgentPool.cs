namespace Acd.Core.Routing;

/// <summary>
/// The available agents of one skill at one level, least key first (<see cref="SkillRuntime.PoolKey"/>). Under every
/// strategy but fewest-calls an agent's key is the order it became available in (<see cref="Agent.ReadySeq"/>, rising),
/// so agents join at the tail of the ring and the longest idle leaves from its head in O(1); fewest-calls keys (with a
/// second key), and a pool rebuilt from a snapshot in the agents' order, go into the heap beside it
/// (<see cref="KeyedRing{TPositions}"/>). Positions in <see cref="AgentTable.PoolPos"/>, by <see cref="PoolEntry"/>.
/// </summary>
internal sealed class AgentPool(AgentTable agents) : KeyedRing<AgentPoolPositions>(new AgentPoolPositions(agents));

/// <summary>Pool positions in <see cref="AgentTable.PoolPos"/>, by <see cref="PoolEntry"/>.</summary>
internal readonly struct AgentPoolPositions(AgentTable agents) : IRingPositions
{
    public int Get(int id) => agents.PoolPos[agents.PoolSlot(id)];

    public void Set(int id, int position) => agents.PoolPos[agents.PoolSlot(id)] = position;
}
