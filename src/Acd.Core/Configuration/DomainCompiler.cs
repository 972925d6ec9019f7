using System.Globalization;
using Acd.Core.Domain;

namespace Acd.Core.Configuration;

/// <summary>A configuration problem: the key it is at (e.g. <c>Acd:Skills:2:Overflow:0:Skill</c>) and what is wrong.</summary>
/// <param name="Key">The configuration key.</param>
/// <param name="Message">What is wrong with it.</param>
public sealed record ConfigError(string Key, string Message)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Key}: {Message}";
}

/// <summary>Thrown when a configuration cannot be used; carries every problem found, each naming its key.</summary>
public sealed class ConfigException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ConfigException(IReadOnlyList<ConfigError> errors)
        : base("Invalid configuration:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => "  " + e)))
    {
        Errors = errors;
    }

    /// <summary>Every problem found.</summary>
    public IReadOnlyList<ConfigError> Errors { get; }
}

/// <summary>Checks <see cref="DomainOptions"/> and compiles them into a <see cref="DomainConfig"/>.</summary>
public static class DomainCompiler
{
    /// <summary>The most overflow steps a skill may have.</summary>
    public const int MaxOverflowSteps = 8;

    /// <summary>Compiles, or throws <see cref="ConfigException"/> naming every bad key.</summary>
    public static DomainConfig Compile(DomainOptions options, string keyPrefix = "Acd")
    {
        var errors = new List<ConfigError>();
        var config = TryCompile(options, keyPrefix, errors);
        if (config is null || errors.Count > 0)
        {
            throw new ConfigException(errors);
        }

        return config;
    }

    /// <summary>Compiles; adds every problem to <paramref name="errors"/> and returns null when there is one.</summary>
    public static DomainConfig? TryCompile(DomainOptions o, string keyPrefix, List<ConfigError> errors)
    {
        ArgumentNullException.ThrowIfNull(o);
        ArgumentNullException.ThrowIfNull(errors);
        var start = errors.Count;
        void Error(string key, string message) => errors.Add(new ConfigError($"{keyPrefix}:{key}", message));
        void Range(string key, long value, long min, long max)
        {
#if FUZZ_PLANTED_BUG
            // The planted fault of a fuzzing proof build (fuzz/README.md): a setting ending in the digits 37, a digit at a time.
            if (value % 10 == 7)
            {
                if (value / 10 % 10 == 3)
                {
                    throw new System.Diagnostics.UnreachableException("FUZZ_PLANTED_BUG config");
                }
            }
#endif
            if (value < min || value > max)
            {
                Error(key, $"must be between {min} and {max}, not {value}");
            }
        }

        if (!IsToken(o.Name))
        {
            Error("Name", $"must be a non-empty name of letters, digits, '-', '_' or '.', not '{o.Name}'");
        }

        Range("RingTimeoutSeconds", o.RingTimeoutSeconds, 1, 600);
        Range("TransferWaitSeconds", o.TransferWaitSeconds, 0, 3600);
        Range("DetachGraceSeconds", o.DetachGraceSeconds, 0, 3600);
        if (o.MaxTalkSeconds != 0)
        {
            Range("MaxTalkSeconds", o.MaxTalkSeconds, 60, 7 * 86_400);
        }
        Range("MaxWrapUpExtensionSeconds", o.MaxWrapUpExtensionSeconds, 0, 86_400);
        Range("DefaultHandleTimeSeconds", o.DefaultHandleTimeSeconds, 1, 86_400);
        Range("UtcOffsetMinutes", o.UtcOffsetMinutes, -720, 840);
        Range("MaxLiveCalls", o.MaxLiveCalls, 1, 100_000_000);
        Range("MaxAgents", o.MaxAgents, 1, 10_000_000);

        // Skills first: everything else refers to them by name.
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        var skillOptions = o.Skills ?? [];
        if (skillOptions.Count == 0)
        {
            Error("Skills", "at least one skill is required");
        }

        for (var i = 0; i < skillOptions.Count; i++)
        {
            var s = skillOptions[i];
            if (!IsToken(s.Name))
            {
                Error($"Skills:{i}:Name", $"must be a non-empty name of letters, digits, '-', '_' or '.', not '{s.Name}'");
            }
            else if (!names.TryAdd(s.Name, i))
            {
                Error($"Skills:{i}:Name", $"skill '{s.Name}' is defined twice");
            }
        }

        var skills = new SkillDefinition[skillOptions.Count];
        for (var i = 0; i < skillOptions.Count; i++)
        {
            var s = skillOptions[i];
            var key = $"Skills:{i}";
            Range($"{key}:ServiceLevelSeconds", s.ServiceLevelSeconds, 1, 3600);
            if (!(s.ServiceLevelTarget > 0 && s.ServiceLevelTarget <= 1))
            {
                Error($"{key}:ServiceLevelTarget", $"must be a fraction above 0 and at most 1, not {s.ServiceLevelTarget.ToString(CultureInfo.InvariantCulture)}");
            }

            Range($"{key}:MaxQueueLength", s.MaxQueueLength, 1, 10_000_000);
            Range($"{key}:MaxWaitSeconds", s.MaxWaitSeconds, 1, 86_400);
            Range($"{key}:WrapUpSeconds", s.WrapUpSeconds, 0, 3600);
            Range($"{key}:DefaultPriority", s.DefaultPriority, 0, 9);
            if (!Names.TryParseStrategy(s.Strategy, out var strategy))
            {
                Error($"{key}:Strategy", $"unknown strategy '{s.Strategy}' (longest-idle, most-skilled, least-skilled, fewest-calls)");
            }

            var overflowOptions = s.Overflow ?? [];
            if (overflowOptions.Count > MaxOverflowSteps)
            {
                Error($"{key}:Overflow", $"at most {MaxOverflowSteps} steps, not {overflowOptions.Count}");
            }

            var steps = new OverflowStep[Math.Min(overflowOptions.Count, MaxOverflowSteps)];
            var previous = -1L;
            for (var k = 0; k < steps.Length; k++)
            {
                var st = overflowOptions[k];
                var skey = $"{key}:Overflow:{k}";
                Range($"{skey}:AfterSeconds", st.AfterSeconds, 0, 86_400);
                if (st.AfterSeconds <= previous)
                {
                    Error($"{skey}:AfterSeconds", $"steps must come in increasing time: {st.AfterSeconds} is not after {previous}");
                }

                previous = st.AfterSeconds;
                Range($"{skey}:MinLevel", st.MinLevel, 1, 10);
                if (st.Priority is { } p && (p < 0 || p > 9))
                {
                    Error($"{skey}:Priority", $"must be between 0 and 9, not {p}");
                }

                var target = -1;
                if (st.Skill is null || !names.TryGetValue(st.Skill, out target))
                {
                    Error($"{skey}:Skill", $"unknown skill '{st.Skill}'");
                }
                else if (target == i)
                {
                    Error($"{skey}:Skill", "a skill cannot overflow to itself");
                }

                steps[k] = new OverflowStep(st.AfterSeconds * 1000L, target, st.MinLevel, st.Priority ?? -1);
            }

            skills[i] = new SkillDefinition(i, s, strategy, steps);
        }

        var defaultSkill = -1;
        if (o.DefaultSkill is null || !names.TryGetValue(o.DefaultSkill, out defaultSkill))
        {
            Error("DefaultSkill", $"unknown skill '{o.DefaultSkill}'");
        }

        var roster = new List<AgentDefinition>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var agentOptions = o.Agents ?? [];
        for (var i = 0; i < agentOptions.Count; i++)
        {
            var a = agentOptions[i];
            var key = $"Agents:{i}";
            if (!IsToken(a.Id))
            {
                Error($"{key}:Id", $"must be a non-empty work number of letters, digits, '-', '_' or '.', not '{a.Id}'");
                continue;
            }

            if (!ids.Add(a.Id))
            {
                Error($"{key}:Id", $"agent '{a.Id}' is listed twice");
            }

            var agent = CompileAgent(a.Id, a.Name, a.Team, a.Role, a.Outbound, a.Skills, a.Contact ?? $"sip:{a.Id}@agents.invalid", a.InitialState, key, names, Error);
            if (agent is not null)
            {
                roster.Add(agent);
            }
        }

        var groups = o.AgentGroups ?? [];
        for (var g = 0; g < groups.Count; g++)
        {
            var gr = groups[g];
            var key = $"AgentGroups:{g}";
            Range($"{key}:Count", gr.Count, 1, 1_000_000);
            Range($"{key}:First", gr.First, 0, int.MaxValue - 1_000_000);
            Range($"{key}:Digits", gr.Digits, 1, 12);
            if (!IsToken(gr.IdPrefix + "0"))
            {
                Error($"{key}:IdPrefix", $"must be letters, digits, '-', '_' or '.', not '{gr.IdPrefix}'");
            }

            if (gr.ContactTemplate is null || !gr.ContactTemplate.Contains("{id}", StringComparison.Ordinal))
            {
                Error($"{key}:ContactTemplate", $"must contain {{id}}, not '{gr.ContactTemplate}'");
            }

            if (errors.Count > start)
            {
                continue;
            }

            var format = "D" + gr.Digits.ToString(CultureInfo.InvariantCulture);
            for (var n = 0; n < gr.Count; n++)
            {
                var id = gr.IdPrefix + (gr.First + n).ToString(format, CultureInfo.InvariantCulture);
                if (!ids.Add(id))
                {
                    Error($"{key}", $"agent '{id}' is listed twice");
                    break;
                }

                var agent = CompileAgent(id, null, gr.Team, gr.Role, gr.Outbound, gr.Skills, gr.ContactTemplate!.Replace("{id}", id, StringComparison.Ordinal), gr.InitialState, key, names, Error);
                if (agent is null)
                {
                    break;
                }

                roster.Add(agent);
            }
        }

        if (roster.Count > o.MaxAgents)
        {
            Error("MaxAgents", $"the roster lists {roster.Count} agents, more than MaxAgents {o.MaxAgents}");
        }

        var hotline = CompileHotline(o, names, Error, Range);
        if (errors.Count > start)
        {
            return null;
        }

        return new DomainConfig(o.Name, skills, defaultSkill, roster.ToArray(), o, hotline);
    }

    private static HotlineConfig CompileHotline(DomainOptions o, Dictionary<string, int> names, Action<string, string> error, Action<string, long, long, long> range)
    {
        int Skill(string key, string? name, bool required)
        {
            if (name is not null && names.TryGetValue(name, out var index))
            {
                return index;
            }

            if (required)
            {
                error(key, $"unknown skill '{name}'");
            }

            return -1;
        }

        range("VipPriority", o.VipPriority, 0, 9);
        range("MaxVipCallers", o.MaxVipCallers, 0, 100_000_000);
        var languages = new List<(string, int)>();
        foreach (var (prefix, skill) in o.Languages ?? new Dictionary<string, string>(StringComparer.Ordinal))
        {
            if (string.IsNullOrWhiteSpace(prefix))
            {
                error("Languages", "a language tag prefix must not be empty");
            }

            languages.Add((prefix.ToLowerInvariant(), Skill($"Languages:{prefix}", skill, required: true)));
        }

        var routes = new List<RouteRule>();
        var routeOptions = o.Routes ?? [];
        for (var i = 0; i < routeOptions.Count; i++)
        {
            var r = routeOptions[i];
            if (r.Priority is { } p && (p < 0 || p > 9))
            {
                error($"Routes:{i}:Priority", $"must be between 0 and 9, not {p}");
            }

            routes.Add(new RouteRule(string.IsNullOrEmpty(r.ServiceNumber) ? null : r.ServiceNumber, string.IsNullOrEmpty(r.Ivr) ? null : r.Ivr, Skill($"Routes:{i}:Skill", r.Skill, required: true), r.Priority ?? -1));
        }

        var repeat = o.Repeat ?? new RepeatOptions();
        range("Repeat:Calls", repeat.Calls, 2, 100);
        range("Repeat:WindowMinutes", repeat.WindowMinutes, 1, 43_200);
        range("Repeat:PriorityBoost", repeat.PriorityBoost, 0, 9);
        var ownership = o.Ownership ?? new OwnershipOptions();
        range("Ownership:WindowMinutes", ownership.WindowMinutes, 1, 43_200);
        range("Ownership:WaitSeconds", ownership.WaitSeconds, 0, 600);
        range("CallerHistoryCapacity", o.CallerHistoryCapacity, 0, 10_000_000);

        var callbacks = o.Callbacks ?? new CallbackOptions();
        range("Callbacks:MinAbandonWaitSeconds", callbacks.MinAbandonWaitSeconds, 0, 3600);
        range("Callbacks:EscalationMinutes", callbacks.EscalationMinutes, 1, 10_080);
        range("Callbacks:MaxAttempts", callbacks.MaxAttempts, 1, 20);
        range("Callbacks:OutcomeTimeoutSeconds", callbacks.OutcomeTimeoutSeconds, 10, 86_400);
        range("Callbacks:MaxOpen", callbacks.MaxOpen, 0, 10_000_000);
        var backoff = callbacks.RetryBackoffSeconds is { Count: > 0 } configured ? configured : [300, 900, 3600];

        for (var i = 0; i < backoff.Count; i++)
        {
            range($"Callbacks:RetryBackoffSeconds:{i}", backoff[i], 1, 86_400);
        }

        var surge = o.Surge ?? new SurgeOptions();
        range("Surge:EvaluationSeconds", surge.EvaluationSeconds, 1, 3600);
        range("Surge:CooldownSeconds", surge.CooldownSeconds, 0, 86_400);
        range("Surge:ArrivalWindowSeconds", surge.ArrivalWindowSeconds, 10, 3600);
        range("Surge:BaselineHalfLifeMinutes", surge.BaselineHalfLifeMinutes, 1, 1440);
        range("Surge:DeflectWaitSeconds", surge.DeflectWaitSeconds, 0, 86_400);
        if (!(surge.MinimumBaselinePerSecond > 0))
        {
            error("Surge:MinimumBaselinePerSecond", "must be above 0");
        }

        if (!(surge.Tier1OverflowFactor > 0 && surge.Tier1OverflowFactor <= 1))
        {
            error("Surge:Tier1OverflowFactor", "must be above 0 and at most 1");
        }

        if (!IsContact(surge.IvrUri))
        {
            error("Surge:IvrUri", $"must be a sip:, sips: or tel: URI, not '{surge.IvrUri}'");
        }

        var support = (surge.SupportSkills ?? []).Select((s, i) => Skill($"Surge:SupportSkills:{i}", s, required: true)).ToArray();
        var supportTarget = support.Length == 0 ? -1 : Skill("Surge:SupportTarget", surge.SupportTarget, required: true);
        var skillTiers = new List<IReadOnlyList<SurgeTier>>();
        var skillOptions = o.Skills ?? [];
        for (var i = 0; i < skillOptions.Count; i++)
        {
            skillTiers.Add(CompileTiers(skillOptions[i].SurgeTiers ?? [], $"Skills:{i}:SurgeTiers", error, range));
        }

        return new HotlineConfig
        {
            VipSkill = Skill("VipSkill", o.VipSkill, required: false),
            VipPriority = o.VipPriority,
            VipCallers = [.. (o.VipCallers ?? []).Where(v => !string.IsNullOrWhiteSpace(v))],
            MaxVipCallers = o.MaxVipCallers,
            Languages = languages,
            Routes = routes,
            RepeatEnabled = repeat.Enabled,
            RepeatCalls = repeat.Calls,
            RepeatWindowMs = repeat.WindowMinutes * 60_000L,
            RepeatSkill = Skill("Repeat:Skill", repeat.Skill, required: false),
            RepeatBoost = repeat.PriorityBoost,
            OwnershipEnabled = ownership.Enabled,
            OwnershipWindowMs = ownership.WindowMinutes * 60_000L,
            OwnershipWaitMs = ownership.WaitSeconds * 1000L,
            CallerHistoryCapacity = o.CallerHistoryCapacity,
            CallbacksEnabled = callbacks.Enabled,
            CallbackSkillAgentsDial = callbacks.SkillAgentsDial,
            CallbackMinAbandonWaitMs = callbacks.MinAbandonWaitSeconds * 1000L,
            CallbackEscalationMs = callbacks.EscalationMinutes * 60_000L,
            CallbackMaxAttempts = callbacks.MaxAttempts,
            CallbackBackoffMs = [.. backoff.Select(b => b * 1000L)],
            CallbackOutcomeTimeoutMs = callbacks.OutcomeTimeoutSeconds * 1000L,
            CallbackMaxOpen = callbacks.MaxOpen,
            SurgeEnabled = surge.Enabled,
            SurgeEvaluationMs = surge.EvaluationSeconds * 1000L,
            SurgeCooldownMs = surge.CooldownSeconds * 1000L,
            ArrivalWindowMs = surge.ArrivalWindowSeconds * 1000L,
            BaselineHalfLifeMs = surge.BaselineHalfLifeMinutes * 60_000L,
            MinimumBaselinePerSecond = surge.MinimumBaselinePerSecond,
            Tier1OverflowFactor = surge.Tier1OverflowFactor,
            SupportSkills = support,
            SupportTarget = supportTarget,
            IvrUri = surge.IvrUri,
            DeflectWaitMs = surge.DeflectWaitSeconds * 1000L,
            Tiers = CompileTiers(surge.Tiers ?? [], "Surge:Tiers", error, range),
            SkillTiers = skillTiers,
        };
    }

    private static IReadOnlyList<SurgeTier> CompileTiers(IList<TierOptions> tiers, string key, Action<string, string> error, Action<string, long, long, long> range)
    {
        var result = new List<SurgeTier>();
        for (var i = 0; i < tiers.Count; i++)
        {
            var t = tiers[i];
            var k = $"{key}:{i}";
            range($"{k}:Tier", t.Tier, 1, Acd.Core.Routing.SurgeMonitor.MaxTier);
            if (tiers.Take(i).Any(x => x.Tier == t.Tier))
            {
                error($"{k}:Tier", $"tier {t.Tier} is defined twice");
            }

            if (t.EnterQueueLength is null && t.EnterLongestWaitSeconds is null && t.EnterArrivalRatio is null && t.EnterServiceLevelBelow is null)
            {
                error(k, "a tier needs at least one enter threshold");
            }

            void Hysteresis(string what, double? enter, double? exit, bool above)
            {
                if (enter is { } e && exit is { } x && (above ? x >= e : x <= e))
                {
                    error($"{k}:Exit{what}", $"must be {(above ? "below" : "above")} Enter{what} ({e}) so the tier cannot flap, not {x}");
                }
            }

            Hysteresis("QueueLength", t.EnterQueueLength, t.ExitQueueLength, above: true);
            Hysteresis("LongestWaitSeconds", t.EnterLongestWaitSeconds, t.ExitLongestWaitSeconds, above: true);
            Hysteresis("ArrivalRatio", t.EnterArrivalRatio, t.ExitArrivalRatio, above: true);
            if (t.EnterServiceLevelBelow is { } below && t.ExitServiceLevelAbove is { } exitAbove && exitAbove <= below)
            {
                error($"{k}:ExitServiceLevelAbove", $"must be above EnterServiceLevelBelow ({below}) so the tier cannot flap, not {exitAbove}");
            }

            result.Add(new SurgeTier(
                t.Tier,
                t.EnterQueueLength,
                t.EnterLongestWaitSeconds * 1000L,
                t.EnterArrivalRatio,
                t.EnterServiceLevelBelow,
                t.ExitQueueLength,
                t.ExitLongestWaitSeconds * 1000L,
                t.ExitArrivalRatio,
                t.ExitServiceLevelAbove));
        }

        return [.. result.OrderBy(t => t.Tier)];
    }

    /// <summary>Builds one agent's skill list; reports problems under <paramref name="key"/>.</summary>
    internal static AgentDefinition? CompileAgent(
        string id,
        string? name,
        string? team,
        string roleText,
        bool outbound,
        IDictionary<string, int>? skillMap,
        string contact,
        string stateText,
        string key,
        IReadOnlyDictionary<string, int> skillNames,
        Action<string, string> error)
    {
        var ok = true;
        if (!Names.TryParseRole(roleText, out var role))
        {
            error($"{key}:Role", $"unknown role '{roleText}' (agent, team-lead, supervisor)");
            ok = false;
        }

        if (!Names.TryParseState(stateText, out var state) || state is not (AgentState.LoggedOut or AgentState.Ready or AgentState.NotReady or AgentState.Standby))
        {
            error($"{key}:InitialState", $"unknown initial state '{stateText}' (logged-out, ready, not-ready, standby)");
            ok = false;
        }

        if (!IsContact(contact))
        {
            error($"{key}:Contact", $"must be a sip:, sips: or tel: URI without spaces, not '{contact}'");
            ok = false;
        }

        var skills = CompileSkills(skillMap, $"{key}:Skills", skillNames, error);
        if (skills is null)
        {
            ok = false;
        }

        return ok ? new AgentDefinition(id, name, team, role, outbound, skills!, contact, state) : null;
    }

    /// <summary>Turns a skill → level map into skill levels, sorted by skill index; null with errors when invalid.</summary>
    public static SkillLevel[]? CompileSkills(IDictionary<string, int>? skillMap, string key, IReadOnlyDictionary<string, int> skillNames, Action<string, string> error)
    {
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(skillNames);
        if (skillMap is null || skillMap.Count == 0)
        {
            error(key, "at least one skill is required");
            return null;
        }

        if (skillMap.Count > 32)
        {
            error(key, $"at most 32 skills per agent, not {skillMap.Count}");
            return null;
        }

        var list = new List<SkillLevel>(skillMap.Count);
        var ok = true;
        foreach (var (skill, level) in skillMap)
        {
            if (!skillNames.TryGetValue(skill, out var index))
            {
                error($"{key}:{skill}", $"unknown skill '{skill}'");
                ok = false;
                continue;
            }

            if (level is < 1 or > 10)
            {
                error($"{key}:{skill}", $"level must be between 1 and 10, not {level}");
                ok = false;
                continue;
            }

            list.Add(new SkillLevel(index, level));
        }

        list.Sort((a, b) => a.Skill.CompareTo(b.Skill));
        return ok ? list.ToArray() : null;
    }

    /// <summary>A name safe for SIP URIs, headers and metric labels: [A-Za-z0-9._-]{1,64}.</summary>
    public static bool IsToken(string? text)
    {
        if (string.IsNullOrEmpty(text) || text.Length > 64)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A contact URI: sip:, sips: or tel:, printable ASCII without spaces, at most 256 characters.</summary>
    public static bool IsContact(string? text)
    {
        if (string.IsNullOrEmpty(text) || text.Length > 256)
        {
            return false;
        }

        if (!(text.StartsWith("sip:", StringComparison.OrdinalIgnoreCase) || text.StartsWith("sips:", StringComparison.OrdinalIgnoreCase) || text.StartsWith("tel:", StringComparison.OrdinalIgnoreCase)))
        {
            return false;
        }

        foreach (var c in text)
        {
            if (c <= ' ' || c >= 127 || c is '<' or '>' or '"')
            {
                return false;
            }
        }

        return true;
    }
}
