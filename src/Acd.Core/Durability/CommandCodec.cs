using Acd.Core.Domain;
using Acd.Core.Routing;

namespace Acd.Core.Durability;

/// <summary>
/// The journal's encoding of commands: what a replay needs to execute each state-changing command again exactly —
/// never the reply target or the SIP transaction that owns a call (<see cref="OfferCall.Owner"/>). Queries are not
/// journaled. Format: the command kind, then its fields in a fixed order. Fields added in a later journal format come
/// last in their command and are read only when present, so the records of an earlier format read with their defaults.
/// </summary>
public static class CommandCodec
{
    /// <summary>The largest <see cref="OfferCall.AnswerRoute"/> a record may carry.</summary>
    public const int MaxAnswerRoute = Acd.Core.Sip.SipTransactionEcho.MaxRouteBytes;

    /// <summary>Whether a command changes state and so is journaled.</summary>
    public static bool IsJournaled(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        return command.Kind != CommandKind.Query;
    }

    /// <summary>Writes a journaled command.</summary>
    public static void Write(StateWriter w, Command command) => Write(w, command, withAnswerRoute: true);

    /// <summary>
    /// Writes a journaled command; without <paramref name="withAnswerRoute"/> an offer's answer route is left out (an
    /// offer that did not leave its call waiting: the route is dropped when a call is routed, so replay ends the same).
    /// </summary>
    public static void Write(StateWriter w, Command command, bool withAnswerRoute)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(command);
        w.WriteByte((byte)command.Kind);
        switch (command)
        {
            case Tick or LoginRoster:
                break;
            case OfferCall o:
                w.WriteString(o.CallId);
                w.WriteString(o.Caller);
                w.WriteString(o.ServiceNumber);
                w.WriteString(o.Skill);
                w.WriteVarInt(o.Priority);
                w.WriteString(o.Language);
                w.WriteVarInt(o.Vip);
                w.WriteString(o.IvrDigits);
                w.WriteByte((byte)o.Mode);
                w.WriteVarInt(o.Connection);
                w.WriteBool(o.OwesCallback); // from format 2: a record of format 1 ends before it (true)
                if (withAnswerRoute && o.AnswerRoute is { } route)
                {
                    w.WriteBlob(route); // only when there is one: a record without it reads as before
                }
                break;
            case CallCommand c:
                w.WriteString(c.CallId);
                w.WriteBool(c.AbandonIfWaiting);
                w.WriteString(c.Reason); // from format 2
                if (c.Unanswered)
                {
                    w.WriteBool(true); // only when set: a record without it reads as before
                }
                break;
            case TransferCall t:
                w.WriteString(t.CallId);
                w.WriteString(t.ToSkill);
                w.WriteString(t.ToAgent);
                break;
            case DetachConnection d:
                w.WriteVarInt(d.Connection);
                if (d.KeepAnswerable)
                {
                    w.WriteBool(true); // only when set: a record without it reads as before
                }

                break;
            case LoginAgent l:
                w.WriteString(l.AgentId);
                w.WriteByte((byte)l.InitialState);
                w.WriteString(l.Reason);
                w.WriteString(l.Contact);
                w.WriteString(l.Role);
                w.WriteByte(l.Outbound switch { null => 0, false => 1, true => 2 });
                w.WriteBool(l.Refresh);
                if (l.Skills is null)
                {
                    w.WriteVarInt(-1);
                }
                else
                {
                    // In the order the dictionary gives them: the order an agent's skills are compiled in.
                    w.WriteVarInt(l.Skills.Count);
                    foreach (var (skill, level) in l.Skills)
                    {
                        w.WriteString(skill);
                        w.WriteVarInt(level);
                    }
                }

                w.WriteBool(l.MayMoveContact); // from format 2: a record of format 1 ends before it (true)
                break;
            case AgentCommand a:
                w.WriteString(a.AgentId);
                w.WriteByte((byte)a.State);
                w.WriteString(a.Reason);
                w.WriteVarInt(a.Seconds);
                break;
            case SetCallerVip v:
                w.WriteString(v.Caller);
                w.WriteVarInt(v.VipClass);
                break;
            case ForceSurgeTier f:
                w.WriteString(f.Skill);
                w.WriteVarInt(f.Tier);
                w.WriteVarInt(f.DurationSeconds);
                w.WriteString(f.Reason);
                break;
            case ClearSurgeOverride c:
                w.WriteString(c.Skill);
                break;
            case ReportCallbackOutcome c:
                w.WriteString(c.CallbackId);
                w.WriteBool(c.Reached);
                break;
            case CancelCallback c:
                w.WriteString(c.CallbackId);
                break;
            default:
                throw new ArgumentException($"command {command.Kind} is not journaled", nameof(command));
        }
    }

    /// <summary>Reads a command written by <see cref="Write(StateWriter, Command, bool)"/>; malformed input throws <see cref="InvalidDataException"/>.</summary>
    public static Command Read(StateReader r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var kind = (CommandKind)r.ReadByte();

        switch (kind)
        {
            case CommandKind.Tick:
                return Tick.Instance;
            case CommandKind.LoginRoster:
                return LoginRoster.Instance;
            case CommandKind.Offer:
                return new OfferCall
                {
                    CallId = r.ReadRequiredString(),
                    Caller = r.ReadString(),
                    ServiceNumber = r.ReadString(),
                    Skill = r.ReadString(),
                    Priority = r.ReadInt(),
                    Language = r.ReadString(),
                    Vip = r.ReadInt(),
                    IvrDigits = r.ReadString(),
                    Mode = r.ReadEnum<OfferMode>(),
                    Connection = r.ReadVarInt(),
                    OwesCallback = r.AtEnd || r.ReadBool(),
                    AnswerRoute = r.AtEnd ? null : r.ReadBlob(MaxAnswerRoute),
                };
            case CommandKind.Answered or CommandKind.NoAnswer or CommandKind.End or CommandKind.Abandon:
                return new CallCommand(kind, r.ReadRequiredString()) { AbandonIfWaiting = r.ReadBool(), Reason = r.AtEnd ? null : r.ReadString(), Unanswered = !r.AtEnd && r.ReadBool() };
            case CommandKind.Transfer:
                return new TransferCall { CallId = r.ReadRequiredString(), ToSkill = r.ReadString(), ToAgent = r.ReadString() };
            case CommandKind.DetachConnection:
                return new DetachConnection(r.ReadVarInt()) { KeepAnswerable = !r.AtEnd && r.ReadBool() };
            case CommandKind.Login:
                var id = r.ReadRequiredString();
                var state = r.ReadEnum<AgentState>();
                var reason = r.ReadString();
                var contact = r.ReadString();
                var role = r.ReadString();
                bool? outbound = r.ReadByte() switch
                {
                    0 => null,
                    1 => false,
                    2 => true,
                    var b => throw new InvalidDataException($"outbound flag {b}"),
                };
                var refresh = r.ReadBool();
                var count = r.ReadInt(-1, Agent.MaxSkills * 4);
                Dictionary<string, int>? skills = null;
                if (count >= 0)
                {
                    skills = new Dictionary<string, int>(count, StringComparer.Ordinal);
                    for (var i = 0; i < count; i++)
                    {
                        skills[r.ReadRequiredString()] = r.ReadInt();
                    }
                }

                var mayMove = r.AtEnd || r.ReadBool();
                return new LoginAgent { AgentId = id, InitialState = state, Reason = reason, Contact = contact, Role = role, Outbound = outbound, Refresh = refresh, Skills = skills, MayMoveContact = mayMove };
            case CommandKind.Logout or CommandKind.SetState or CommandKind.EndWrapUp or CommandKind.ExtendWrapUp:
                return new AgentCommand(kind, r.ReadRequiredString()) { State = r.ReadEnum<AgentState>(), Reason = r.ReadString(), Seconds = r.ReadInt() };
            case CommandKind.SetVip:
                return new SetCallerVip(r.ReadRequiredString(), r.ReadInt());
            case CommandKind.ForceTier:
                return new ForceSurgeTier { Skill = r.ReadString(), Tier = r.ReadInt(), DurationSeconds = r.ReadInt(), Reason = r.ReadString() };
            case CommandKind.ClearSurge:
                return new ClearSurgeOverride { Skill = r.ReadString() };
            case CommandKind.CompleteCallback:
                return new ReportCallbackOutcome(r.ReadRequiredString(), r.ReadBool());
            case CommandKind.CancelCallback:
                return new CancelCallback(r.ReadRequiredString());
            default:
                throw new InvalidDataException($"unknown command kind {(byte)kind}");
        }
    }
}
