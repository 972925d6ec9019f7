using System.Security.Cryptography;
using Acd.Core.Durability;

namespace Acd.Core.Configuration;

/// <summary>
/// A hash of everything in a domain's configuration that the router's behaviour depends on: skills and their
/// settings, the roster in order, the domain's limits and timings, the hotline features. Journal replay and snapshots
/// are exact only under the configuration they were written with, so the state carries this fingerprint and is
/// refused under another one.
/// </summary>
internal static class ConfigFingerprint
{
    public static string Compute(DomainConfig c)
    {
        var w = new StateWriter(8192);
        w.WriteString(c.Name);
        foreach (var v in (ReadOnlySpan<long>)[c.DefaultSkill, c.RingTimeoutMs, c.TransferWaitMs, c.DetachGraceMs, c.MaxWrapUpExtensionMs, c.DefaultHandleTimeMs, c.UtcOffsetMs, c.MaxLiveCalls, c.MaxAgents])
        {
            w.WriteVarInt(v);
        }

        w.WriteVarInt(c.Skills.Count);
        foreach (var s in c.Skills)
        {
            w.WriteString(s.Name);
            w.WriteVarInt(s.ServiceLevelMs);
            w.WriteDouble(s.ServiceLevelTarget);
            w.WriteVarInt(s.MaxQueueLength);
            w.WriteVarInt(s.MaxWaitMs);
            w.WriteVarInt(s.WrapUpMs);
            w.WriteVarInt((long)s.Strategy);
            w.WriteVarInt(s.DefaultPriority);
            w.WriteVarInt(s.Overflow.Count);
            foreach (var o in s.Overflow)
            {
                w.WriteVarInt(o.AfterMs);
                w.WriteVarInt(o.Skill);
                w.WriteVarInt(o.MinLevel);
                w.WriteVarInt(o.Priority);
            }
        }

        w.WriteVarInt(c.Roster.Count);
        foreach (var a in c.Roster)
        {
            w.WriteString(a.Id);
            w.WriteString(a.Name);
            w.WriteString(a.Team);
            w.WriteVarInt((long)a.Role);
            w.WriteBool(a.Outbound);
            w.WriteString(a.Contact);
            w.WriteVarInt((long)a.InitialState);
            w.WriteVarInt(a.Skills.Count);
            foreach (var k in a.Skills)
            {
                w.WriteVarInt(k.Skill);
                w.WriteVarInt(k.Level);
            }
        }

        var h = c.Hotline;
        foreach (var v in (ReadOnlySpan<long>)[h.VipSkill, h.VipPriority, h.MaxVipCallers, h.RepeatEnabled ? 1 : 0, h.RepeatCalls, h.RepeatWindowMs, h.RepeatSkill, h.RepeatBoost,
            h.OwnershipEnabled ? 1 : 0, h.OwnershipWindowMs, h.OwnershipWaitMs, h.CallerHistoryCapacity, h.CallbacksEnabled ? 1 : 0, h.CallbackSkillAgentsDial ? 1 : 0,
            h.CallbackMinAbandonWaitMs, h.CallbackEscalationMs, h.CallbackMaxAttempts, h.CallbackOutcomeTimeoutMs, h.CallbackMaxOpen, h.SurgeEnabled ? 1 : 0,
            h.SurgeEvaluationMs, h.SurgeCooldownMs, h.ArrivalWindowMs, h.BaselineHalfLifeMs, h.SupportTarget, h.DeflectWaitMs])
        {
            w.WriteVarInt(v);
        }

        w.WriteDouble(h.MinimumBaselinePerSecond);
        w.WriteDouble(h.Tier1OverflowFactor);
        w.WriteString(h.IvrUri);
        foreach (var list in (IReadOnlyList<long>[])[h.CallbackBackoffMs, [.. h.SupportSkills.Select(x => (long)x)]])
        {
            w.WriteVarInt(list.Count);
            foreach (var v in list)
            {
                w.WriteVarInt(v);
            }
        }

        w.WriteVarInt(h.VipCallers.Count);
        foreach (var v in h.VipCallers)
        {
            w.WriteString(v);
        }

        w.WriteVarInt(h.Languages.Count);
        foreach (var (prefix, skill) in h.Languages)
        {
            w.WriteString(prefix);
            w.WriteVarInt(skill);
        }

        w.WriteVarInt(h.Routes.Count);
        foreach (var r in h.Routes)
        {
            w.WriteString(r.ServiceNumber);
            w.WriteString(r.Ivr);
            w.WriteVarInt(r.Skill);
            w.WriteVarInt(r.Priority);
        }

        foreach (var tiers in h.SkillTiers.Prepend(h.Tiers))
        {
            w.WriteVarInt(tiers.Count);
            foreach (var t in tiers)
            {
                w.WriteString(t.ToString());
            }
        }

        return Convert.ToHexString(SHA256.HashData(w.Written))[..32];
    }
}
