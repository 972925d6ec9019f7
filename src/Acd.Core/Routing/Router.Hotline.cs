using Acd.Core.Configuration;
using Acd.Core.Domain;

namespace Acd.Core.Routing;

/// <summary>
/// Which skill and priority an arriving call gets (SPEC 4.3, 4.4), and whether it belongs to an agent already:
/// an explicit skill wins; then VIP (the caller list or the offer's class) → the VIP seat at VIP priority; then a
/// language → its seat; then a repeat caller → the repeat seat when staffed; then the dialed number and IVR digits
/// → the routing table; else the default skill. A repeat caller not sent to the repeat seat gets a priority boost.
/// </summary>
public sealed partial class Router
{
    private readonly CallerHistory _history;
    private readonly Dictionary<string, int> _vipClass = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ushort> _sharedCodes = new(StringComparer.Ordinal);
    private readonly List<string> _sharedValues = [];
    private readonly Dictionary<int, (string? ServiceNumber, string? Language)> _unshared = [];
    private string? _lastShared;
    private ushort _lastSharedCode;

    /// <summary>The outcome of classifying an offer; <see cref="History"/> is the caller's history entry.</summary>
    private readonly record struct Classification(int Skill, int Priority, int Vip, bool Repeat, int History);

    /// <summary>Classifies an offer and remembers the caller's call; returns a failure for an unknown explicit skill.</summary>
    private CommandResult? Classify(OfferCall cmd, out Classification result)
    {
        var hotline = _config.Hotline;
        var explicitSkill = -1;
        if (cmd.Skill is not null && (explicitSkill = _config.FindSkill(cmd.Skill)) < 0)
        {
            result = default;
            return Fail(ResultCode.NotFound, $"unknown skill '{cmd.Skill}'");
        }

        var vip = cmd.Vip;
        if (cmd.Caller is not null && _vipClass.Count > 0 && _vipClass.TryGetValue(cmd.Caller, out var listed))
        {
            vip = Math.Max(vip, listed);
        }

        // One look-up of the caller serves repeat detection now and ownership later.
        var repeat = false;
        var history = -1;
        if (cmd.Caller is not null && _history.Capacity > 0)
        {
            history = _history.Arrive(cmd.Caller, _now, _now - hotline.RepeatWindowMs, out var earlier);
            repeat = hotline.RepeatEnabled && earlier + 1 >= hotline.RepeatCalls;
        }

        int skill;
        var priority = -1;
        if (explicitSkill >= 0)
        {
            skill = explicitSkill;
        }
        else if (vip > 0 && hotline.VipSkill >= 0)
        {
            skill = hotline.VipSkill;
            priority = hotline.VipPriority;
        }
        else if (LanguageSkill(cmd.Language) is var language and >= 0)
        {
            skill = language;
        }
        else if (repeat && hotline.RepeatSkill >= 0 && HasStaff(_skills[hotline.RepeatSkill]))
        {
            skill = hotline.RepeatSkill;
        }
        else
        {
            (skill, priority) = RouteOf(cmd.ServiceNumber, cmd.IvrDigits);
        }

        if (cmd.Priority >= 0)
        {
            priority = Math.Max(cmd.Priority, priority);
        }
        else if (priority < 0)
        {
            priority = _skills[skill].Definition.DefaultPriority;
        }

        if (vip > 0)
        {
            priority = Math.Max(priority, hotline.VipPriority);
        }

        if (repeat && skill != hotline.RepeatSkill)
        {
            priority = Math.Min(9, priority + hotline.RepeatBoost);
        }

        result = new Classification(skill, priority, vip, repeat, history);
        return null;
    }

    private int LanguageSkill(string? language)
    {
        if (string.IsNullOrEmpty(language))
        {
            return -1;
        }

        foreach (var (prefix, skill) in _config.Hotline.Languages)
        {
            if (language.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return skill;
            }
        }

        return -1;
    }

    /// <summary>The routing-table row for a dialed number and IVR digits: the longest IVR prefix among matching rows.</summary>
    private (int Skill, int Priority) RouteOf(string? serviceNumber, string? ivr)
    {
        RouteRule? best = null;
        foreach (var rule in _config.Hotline.Routes)
        {
            if ((rule.ServiceNumber is null || string.Equals(rule.ServiceNumber, serviceNumber, StringComparison.Ordinal))
                && (rule.Ivr is null || (ivr is not null && ivr.StartsWith(rule.Ivr, StringComparison.Ordinal)))
                && (best is null || (rule.Ivr?.Length ?? -1) > (best.Ivr?.Length ?? -1)
                    || ((rule.Ivr?.Length ?? -1) == (best.Ivr?.Length ?? -1) && rule.ServiceNumber is not null && best.ServiceNumber is null)))
            {
                best = rule;
            }
        }

        return best is null ? (_config.DefaultSkill, -1) : (best.Skill, best.Priority);
    }

    /// <summary>
    /// First-contact ownership: the caller's last agent, when recent, holding the skill and logged in. Available →
    /// that agent takes the call; busy (ringing, talking, wrapping up) → the call waits for it a few seconds.
    /// </summary>
    private (int Agent, int WaitFor) Owner(int history, int skill)
    {
        var hotline = _config.Hotline;
        if (!hotline.OwnershipEnabled || history < 0)
        {
            return (-1, -1);
        }

        var (last, at) = _history.LastAgent(history);
        if (last < 0 || _now - at > hotline.OwnershipWindowMs)
        {
            return (-1, -1);
        }

        var a = _agents.Items[last];
        if (a.LevelIn(skill) == 0)
        {
            return (-1, -1);
        }

        if (a.InPool)
        {
            return (last, -1);
        }

        return a.State is AgentState.Reserved or AgentState.Talking or AgentState.WrapUp && hotline.OwnershipWaitMs > 0 ? (-1, last) : (-1, -1);
    }

    private CommandResult SetVip(SetCallerVip cmd)
    {
        if (string.IsNullOrEmpty(cmd.Caller) || cmd.Caller.Length > MaxFieldLength)
        {
            return Fail(ResultCode.InvalidArgument, $"a caller number is 1 to {MaxFieldLength} characters");
        }

        if (cmd.VipClass is < 0 or > 9)
        {
            return Fail(ResultCode.InvalidArgument, $"VIP class must be 0 to 9, not {cmd.VipClass}");
        }

        if (cmd.VipClass == 0)
        {
            _vipClass.Remove(cmd.Caller);
            return CommandResult.Ok;
        }

        if (!_vipClass.ContainsKey(cmd.Caller) && _vipClass.Count >= _config.Hotline.MaxVipCallers)
        {
            return Fail(ResultCode.ResourceExhausted, $"the VIP list holds its maximum of {_config.Hotline.MaxVipCallers} callers");
        }

        _vipClass[cmd.Caller] = cmd.VipClass;
        return CommandResult.Ok;
    }

    /// <summary>Callers the repeat and ownership history remembers now (at most its capacity).</summary>
    public int RememberedCallers => _history.Count;

    /// <summary>VIP class of a caller (0: none).</summary>
    public int VipClassOf(string caller) => _vipClass.GetValueOrDefault(caller);
}
