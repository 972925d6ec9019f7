using Acd.Core.Configuration;
using Acd.Core.Domain;
using Acd.Core.Routing;

namespace Acd.Benchmarks.Workloads;

/// <summary>
/// A large centre in steady state: <c>agents</c> agents over <c>skills</c> skills, every agent talking and
/// <c>waiting</c> calls queued. One <see cref="Step"/> is one routing decision each way: a talking call ends, its
/// agent becomes ready and is matched to the best waiting call of its skills (and overflow sources), then a new call
/// of the skill just served arrives and is enqueued (its match attempt finds nobody free). Every command object and
/// call id is made up front, so a step allocates nothing unless the router does. Every call id has its own caller
/// number, so a caller calls again each time its id comes round (about every 110,000 calls).
/// </summary>
public sealed class RoutingWorkload
{
    private readonly EventBuffer _events = new(64);
    private readonly Queue<int> _talking;
    private readonly Stack<int>[] _free;
    private readonly OfferCall[] _offers;
    private readonly CallCommand[] _ends;
    private readonly int[] _skillOf;

    public RoutingWorkload(int agents = 10_000, int skills = 20, int waiting = 100_000, int seed = 42, bool callerFeatures = true)
    {
        var rng = new Random(seed);
        var options = new DomainOptions { Name = "bench", MaxLiveCalls = waiting + agents + 1000, MaxAgents = agents + 10 };
        options.Repeat.Enabled = callerFeatures;
        options.Ownership.Enabled = callerFeatures;
        for (var s = 0; s < skills; s++)
        {
            var skill = new SkillOptions { Name = $"s{s:D2}", WrapUpSeconds = 0, MaxQueueLength = waiting + agents, MaxWaitSeconds = 86_400 };
            skill.Overflow.Add(new OverflowStepOptions { AfterSeconds = 30, Skill = $"s{(s + 1) % skills:D2}", MinLevel = 5 });
            options.Skills.Add(skill);
        }

        options.DefaultSkill = "s00";
        for (var a = 0; a < agents; a++)
        {
            var agent = new AgentOptions { Id = $"a{a:D6}", InitialState = "ready" };
            var count = 1 + rng.Next(3);
            for (var k = 0; k < count; k++)
            {
                agent.Skills[$"s{rng.Next(skills):D2}"] = 1 + rng.Next(10);
            }

            options.Agents.Add(agent);
        }

        Router = new Router(DomainCompiler.Compile(options));
        Now = 1_793_581_200_000;
        Router.Execute(LoginRoster.Instance, Now, _events);
        _events.Clear();

        // Ids: per skill, enough for all its waiting calls plus every agent talking one of them.
        var perSkill = (waiting / skills) + agents + 16;
        var total = perSkill * skills;
        _offers = new OfferCall[total];
        _ends = new CallCommand[total];
        _skillOf = new int[total];
        _free = new Stack<int>[skills];
        for (var s = 0; s < skills; s++)
        {
            _free[s] = new Stack<int>(perSkill);
            for (var i = perSkill - 1; i >= 0; i--)
            {
                var index = (s * perSkill) + i;
                var id = $"call-{index:D8}@bench";
                _offers[index] = new OfferCall { CallId = id, Caller = $"138{index:D8}", Skill = $"s{s:D2}", Mode = OfferMode.Sip };
                _ends[index] = new CallCommand(CommandKind.End, id);
                _skillOf[index] = s;
                _free[s].Push(index);
            }
        }

        // Fill: round-robin over skills until every agent talks and `waiting` calls wait.
        _talking = new Queue<int>(agents + 16);
        for (var s = 0; Router.Totals.Waiting < waiting; s = (s + 1) % skills)
        {
            Offer(s);
        }
    }

    public Router Router { get; }

    public long Now { get; }

    public int Decisions { get; private set; }

    /// <summary>One call ends and its agent takes the best waiting call; one call of that skill arrives and waits.</summary>
    public void Step()
    {
        var ended = _talking.Dequeue();
        _events.Clear();
        Router.Execute(_ends[ended], Now, _events);
        _free[_skillOf[ended]].Push(ended);
        var served = TrackRouted();
        Offer(served >= 0 ? _skillOf[served] : _skillOf[ended]);
        Decisions += 2;
    }

    private void Offer(int skill)
    {
        var index = _free[skill].Pop();
        _events.Clear();
        Router.Execute(_offers[index], Now, _events);
        TrackRouted();
    }

    /// <summary>The index written into an id "call-NNNNNNNN@bench" (cheaper than a lookup, so the workload measures the router).</summary>
    private static int IndexOf(string id)
    {
        var n = 0;
        for (var i = 5; i < 13; i++)
        {
            n = (n * 10) + (id[i] - '0');
        }

        return n;
    }

    private int TrackRouted()
    {
        var served = -1;
        foreach (var e in _events)
        {
            if (e.Kind == EventKind.CallRouted)
            {
                served = IndexOf(e.CallId!);
                _talking.Enqueue(served);
            }
        }

        return served;
    }
}
