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
/// number, so a caller calls again each time its id comes round (about every 110,000 calls). Offers name their skill
/// by the configuration's one string per skill, as the SIP port's do.
/// <para>
/// As the engine does, the workload gives the router each command's look-ahead (<see cref="Router.LookAhead"/>): the
/// stream of commands is End, Offer, End, Offer…, so the command <see cref="Router.LookAheadDistance"/> places behind
/// an End is the End <see cref="Router.LookAheadDistance"/> / 2 steps later (the calls talking end in the order they
/// were routed); an Offer's skill is only known once the End before it has run, so Offers are never seen ahead.
/// </para>
/// </summary>
public sealed class RoutingWorkload
{
    private readonly EventBuffer _events = new(64);
    private readonly TalkingCalls _talking;
    private readonly Stack<int>[] _free;
    private readonly MadeCall[] _made;

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
        _made = new MadeCall[total];
        _free = new Stack<int>[skills];
        for (var s = 0; s < skills; s++)
        {
            var skillName = options.Skills[s].Name;
            _free[s] = new Stack<int>(perSkill);
            for (var i = perSkill - 1; i >= 0; i--)
            {
                var index = (s * perSkill) + i;
                var id = $"call-{index:D8}@bench";
                var offer = new OfferCall { CallId = id, Caller = $"138{index:D8}", Skill = skillName, Mode = OfferMode.Sip };
                _made[index] = new MadeCall(offer, new CallCommand(CommandKind.End, id), s);
                _free[s].Push(index);
            }
        }

        // Fill: round-robin over skills until every agent talks and `waiting` calls wait.
        _talking = new TalkingCalls(agents + 16);
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
        var ahead = _talking.Count > Router.LookAheadDistance / 2 ? _made[_talking.Peek(Router.LookAheadDistance / 2)].End : null;
        var ended = _talking.Dequeue();
        _events.Clear();
        Router.LookAhead(ahead);
        Router.Execute(_made[ended].End, Now, _events);
        _free[_made[ended].Skill].Push(ended);
        var served = TrackRouted();
        Offer(served >= 0 ? _made[served].Skill : _made[ended].Skill);
        Decisions += 2;
    }

    private void Offer(int skill)
    {
        var index = _free[skill].Pop();
        _events.Clear();
        Router.LookAhead(null);
        Router.Execute(_made[index].Offer, Now, _events);
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

    /// <summary>One call's commands and skill, side by side (one cache line, not three arrays' worth).</summary>
    private readonly record struct MadeCall(OfferCall Offer, CallCommand End, int Skill);

    /// <summary>The calls talking, in the order they were routed (and so will end); a ring the look-ahead can peek into.</summary>
    private sealed class TalkingCalls(int capacity)
    {
        private readonly int[] _ring = new int[System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity)];
        private int _head;

        public int Count { get; private set; }

        public void Enqueue(int index) => _ring[(_head + Count++) & (_ring.Length - 1)] = index;

        public int Dequeue()
        {
            var index = _ring[_head];
            _head = (_head + 1) & (_ring.Length - 1);
            Count--;
            return index;
        }

        public int Peek(int offset) => _ring[(_head + offset) & (_ring.Length - 1)];
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
