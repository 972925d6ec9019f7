using Acd.Core.Configuration;
using Acd.Core.Domain;
using Acd.Core.Tests.Support;

namespace Acd.Core.Tests.Configuration;

public sealed class DomainCompilerTests
{
    private static IReadOnlyList<ConfigError> Errors(Action<CentreBuilder> configure)
    {
        var b = new CentreBuilder().Skill("general").Skill("complaint").Agent("a1", "general:5");
        configure(b);
        var errors = new List<ConfigError>();
        DomainCompiler.TryCompile(b.Options, "Acd", errors);
        return errors;
    }

    [Theory]
    [InlineData("Acd:Skills:1:Strategy", "fastest")]
    [InlineData("Acd:Skills:1:ServiceLevelTarget", "1.5")]
    [InlineData("Acd:Skills:1:MaxQueueLength", "0")]
    [InlineData("Acd:Skills:1:DefaultPriority", "10")]
    public void A_bad_skill_setting_is_reported_at_its_key(string key, string value)
    {
        var errors = Errors(b => b.With(o =>
        {
            var s = o.Skills[1];
            switch (key.Split(':')[^1])
            {
                case "Strategy": s.Strategy = value; break;
                case "ServiceLevelTarget": s.ServiceLevelTarget = double.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                case "MaxQueueLength": s.MaxQueueLength = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                case "DefaultPriority": s.DefaultPriority = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            }
        }));
        var error = Assert.Single(errors);
        Assert.Equal(key, error.Key);
        Assert.Contains(value, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Overflow_steps_must_name_a_known_other_skill_in_increasing_time_with_valid_levels()
    {
        var errors = Errors(b => b
            .Overflow("complaint", 60, "nope")
            .Overflow("complaint", 30, "complaint", minLevel: 11, priority: 12));
        Assert.Contains(errors, e => e.Key == "Acd:Skills:1:Overflow:0:Skill" && e.Message.Contains("nope", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Key == "Acd:Skills:1:Overflow:1:AfterSeconds");
        Assert.Contains(errors, e => e.Key == "Acd:Skills:1:Overflow:1:Skill" && e.Message.Contains("itself", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Key == "Acd:Skills:1:Overflow:1:MinLevel");
        Assert.Contains(errors, e => e.Key == "Acd:Skills:1:Overflow:1:Priority");
    }

    [Fact]
    public void Surge_tiers_need_an_enter_threshold_and_exit_thresholds_on_the_safe_side_of_it()
    {
        var errors = Errors(b => b.With(o =>
        {
            o.Surge.Tiers =
            [
                new TierOptions { Tier = 1, EnterQueueLength = 10, ExitQueueLength = 10 },
                new TierOptions { Tier = 2 },
                new TierOptions { Tier = 2, EnterServiceLevelBelow = 0.7, ExitServiceLevelAbove = 0.6 },
                new TierOptions { Tier = 4, EnterArrivalRatio = 2, ExitArrivalRatio = 2.5 },
            ];
            o.Surge.SupportSkills = ["nope"];
            o.Surge.IvrUri = "http://ivr";
        }));
        Assert.Contains(errors, e => e.Key == "Acd:Surge:Tiers:0:ExitQueueLength" && e.Message.Contains("flap", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Key == "Acd:Surge:Tiers:1" && e.Message.Contains("enter threshold", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Key == "Acd:Surge:Tiers:2:Tier" && e.Message.Contains("twice", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Key == "Acd:Surge:Tiers:2:ExitServiceLevelAbove");
        Assert.Contains(errors, e => e.Key == "Acd:Surge:Tiers:3:Tier");
        Assert.Contains(errors, e => e.Key == "Acd:Surge:Tiers:3:ExitArrivalRatio");
        Assert.Contains(errors, e => e.Key == "Acd:Surge:SupportSkills:0" && e.Message.Contains("nope", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Key == "Acd:Surge:IvrUri");
    }

    [Fact]
    public void Hotline_tables_name_known_skills_and_limits_are_checked()
    {
        var errors = Errors(b => b.With(o =>
        {
            o.Languages = new Dictionary<string, string>(StringComparer.Ordinal) { ["en"] = "english" };
            o.Routes = [new RouteOptions { ServiceNumber = "10086", Ivr = "3", Skill = "data", Priority = 11 }];
            o.Repeat.Calls = 1;
            o.Callbacks.MaxAttempts = 0;
            o.Callbacks.RetryBackoffSeconds = [0];
            o.CallerHistoryCapacity = -1;
        }));
        Assert.Contains(errors, e => e.Key == "Acd:Languages:en" && e.Message.Contains("english", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Key == "Acd:Routes:0:Skill");
        Assert.Contains(errors, e => e.Key == "Acd:Routes:0:Priority");
        Assert.Contains(errors, e => e.Key == "Acd:Repeat:Calls");
        Assert.Contains(errors, e => e.Key == "Acd:Callbacks:MaxAttempts");
        Assert.Contains(errors, e => e.Key == "Acd:Callbacks:RetryBackoffSeconds:0");
        Assert.Contains(errors, e => e.Key == "Acd:CallerHistoryCapacity");
    }

    [Fact]
    public void Callback_retries_default_to_five_fifteen_and_sixty_minutes()
    {
        var config = new CentreBuilder().Skill("general").Build();
        Assert.Equal([300_000L, 900_000L, 3_600_000L], config.Hotline.CallbackBackoffMs);
    }

    [Fact]
    public void Agents_are_checked_one_by_one()
    {
        var errors = Errors(b => b
            .Agent("a1", "general:5")
            .Agent("a2", "nope:5")
            .Agent("a3", "general:11")
            .AgentAs("a4", "boss", "sleeping", "general:1")
            .Agent("bad id", "general:1")
            .With(o => o.Agents.Add(new AgentOptions { Id = "a5" })));
        Assert.Contains(errors, e => e.Key == "Acd:Agents:1:Id" && e.Message.Contains("twice", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Key == "Acd:Agents:2:Skills:nope");
        Assert.Contains(errors, e => e.Key == "Acd:Agents:3:Skills:general" && e.Message.Contains("11", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Key == "Acd:Agents:4:Role");
        Assert.Contains(errors, e => e.Key == "Acd:Agents:4:InitialState");
        Assert.Contains(errors, e => e.Key == "Acd:Agents:5:Id");
        Assert.Contains(errors, e => e.Key == "Acd:Agents:6:Skills" && e.Message.Contains("at least one", StringComparison.Ordinal));
    }

    [Fact]
    public void Agent_groups_expand_to_numbered_agents_with_their_contacts()
    {
        var b = new CentreBuilder().Skill("general").With(o => o.AgentGroups.Add(new AgentGroupOptions
        {
            IdPrefix = "G",
            First = 7,
            Count = 3,
            Digits = 3,
            Role = "team-lead",
            InitialState = "standby",
            ContactTemplate = "sip:{id}@pbx.example",
            Skills = new Dictionary<string, int> { ["general"] = 6 },
        }));
        var config = b.Build();
        Assert.Equal(["G007", "G008", "G009"], config.Roster.Select(a => a.Id));
        Assert.Equal("sip:G008@pbx.example", config.Roster[1].Contact);
        Assert.All(config.Roster, a => Assert.Equal((AgentRole.TeamLead, AgentState.Standby), (a.Role, a.InitialState)));
    }

    [Fact]
    public void The_default_skill_must_exist_and_limits_must_be_sane()
    {
        var errors = Errors(b => b.With(o =>
        {
            o.DefaultSkill = "gen";
            o.RingTimeoutSeconds = 0;
            o.UtcOffsetMinutes = 900;
        }));
        Assert.Equal(["Acd:DefaultSkill", "Acd:RingTimeoutSeconds", "Acd:UtcOffsetMinutes"], errors.Select(e => e.Key).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Compile_throws_with_every_error_in_the_message()
    {
        var b = new CentreBuilder().Skill("general", s => s.Strategy = "x").With(o => o.DefaultSkill = "y");
        var e = Assert.Throws<ConfigException>(b.Build);
        Assert.Equal(2, e.Errors.Count);
        Assert.Contains("Acd:Skills:0:Strategy", e.Message, StringComparison.Ordinal);
        Assert.Contains("Acd:DefaultSkill", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("longest-idle", SelectionStrategy.LongestIdle)]
    [InlineData("MostSkilled", SelectionStrategy.MostSkilled)]
    [InlineData("least_skilled", SelectionStrategy.LeastSkilled)]
    [InlineData("Fewest-Calls", SelectionStrategy.FewestCalls)]
    public void Strategy_names_are_read_in_any_case_and_separator(string text, SelectionStrategy expected)
    {
        Assert.True(Names.TryParseStrategy(text, out var s));
        Assert.Equal(expected, s);
        Assert.True(Names.TryParseStrategy(Names.Of(expected), out _));
    }
}
