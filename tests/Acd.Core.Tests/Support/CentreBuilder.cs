using System.Globalization;
using Acd.Core.Configuration;

namespace Acd.Core.Tests.Support;

/// <summary>Builds small test centres: <c>.Skill("general").Agent("a1", "general:5")</c>.</summary>
public sealed class CentreBuilder
{
    private readonly DomainOptions _options = new()
    {
        Name = "test",
        RingTimeoutSeconds = 20,
        TransferWaitSeconds = 30,
        DetachGraceSeconds = 30,
        DefaultHandleTimeSeconds = 100,

        // The hotline features stay out of the way of the routing specifications; their tests turn them on.
        Repeat = new RepeatOptions { Enabled = false },
        Ownership = new OwnershipOptions { Enabled = false },
        Callbacks = new CallbackOptions { Enabled = false },
    };

    public CentreBuilder Skill(string name, Action<SkillOptions>? configure = null)
    {
        var skill = new SkillOptions { Name = name, WrapUpSeconds = 10, MaxWaitSeconds = 600, MaxQueueLength = 1000 };
        configure?.Invoke(skill);
        _options.Skills.Add(skill);
        return this;
    }

    public CentreBuilder Overflow(string skill, int afterSeconds, string toSkill, int minLevel = 1, int? priority = null)
    {
        _options.Skills.Single(s => s.Name == skill).Overflow.Add(new OverflowStepOptions { AfterSeconds = afterSeconds, Skill = toSkill, MinLevel = minLevel, Priority = priority });
        return this;
    }

    /// <summary>An agent with skills written "skill:level".</summary>
    public CentreBuilder Agent(string id, params string[] skills) => AgentAs(id, "agent", "logged-out", skills);

    public CentreBuilder AgentAs(string id, string role, string initialState, params string[] skills)
    {
        var agent = new AgentOptions { Id = id, Role = role, InitialState = initialState, Contact = $"sip:{id}@test" };
        foreach (var s in skills)
        {
            var parts = s.Split(':');
            agent.Skills[parts[0]] = int.Parse(parts[1], CultureInfo.InvariantCulture);
        }

        _options.Agents.Add(agent);
        return this;
    }

    public CentreBuilder With(Action<DomainOptions> configure)
    {
        configure(_options);
        return this;
    }

    public DomainOptions Options => _options;

    public DomainConfig Build() => DomainCompiler.Compile(_options);
}
