using Acd.Core.Domain;
using Acd.Core.Routing;
using Acd.Core.Sip;
using Acd.Host.Routing;

namespace Acd.Host.Sip;

/// <summary>The SIP requests of SPEC section 5, each turned into commands and answers.</summary>
internal sealed partial class SipSession
{
    private const int DefaultExpires = 3600;

    private void Handle()
    {
        var m = _message;
        if (!m.IsRequest || m.Method == SipMethod.Ack)
        {
            // Responses are not ours to act on; ACK acknowledges a non-2xx final answer and is absorbed.
            return;
        }

        var rejection = SipRequests.Validate(m);
        if (rejection != SipRejection.None)
        {
            Refuse(rejection);
            return;
        }

        switch (m.Method)
        {
            case SipMethod.Invite:
                OnInvite(m);
                break;
            case SipMethod.Cancel:
                OnCallRequest(m, ReplyKind.Cancel);
                break;
            case SipMethod.Bye:
                OnCallRequest(m, ReplyKind.Bye);
                break;
            case SipMethod.Register:
                OnRegister(m);
                break;
            case SipMethod.Options:
                Send(new OutboundItem { Echo = SipTransactionEcho.Capture(m, _server.TagSalt), Status = 200, Phrase = "OK", Extras = ResponseExtras.Allow });
                break;
            default:
                Send(new OutboundItem { Echo = SipTransactionEcho.Capture(m, _server.TagSalt), Status = 405, Phrase = "Method Not Allowed", Extras = ResponseExtras.Allow });
                break;
        }
    }

    private void OnInvite(SipMessage m)
    {
        var echo = SipTransactionEcho.Capture(m, _server.TagSalt);
        Send(new OutboundItem { Echo = echo, Status = 100, Phrase = "Trying" });

        var domain = DomainOf(m);
        if (domain is null)
        {
            Send(new OutboundItem { Echo = echo, Status = 404, Phrase = "Not Found", Warning = "unknown routing domain" });
            return;
        }

        if (!TryReadPriority(m.Value(SipHeader.XAcdPriority), out var priority) || !TryReadVip(m.Value(SipHeader.XAcdVip), out var vip))
        {
            Send(new OutboundItem { Echo = echo, Status = 400, Phrase = "Bad Request - Malformed Header Value", Warning = "X-Acd-Priority and X-Acd-Vip take 0-9" });
            return;
        }

        var callId = SipValues.ToAscii(m.Value(SipHeader.CallId));
        var transaction = new SipInviteTransaction(this, echo, _server);
        var offer = new OfferCall
        {
            CallId = callId,
            Caller = UserOf(m.Value(SipHeader.From)),
            ServiceNumber = UserOfUri(m[m.RequestUri]),
            Skill = TokenOrNull(m.Value(SipHeader.XAcdSkill), domain),
            Priority = priority,
            Vip = vip,
            Language = TokenOrNull(m.Value(SipHeader.XAcdLanguage), null) ?? FirstLanguage(m.Value(SipHeader.AcceptLanguage)),
            IvrDigits = TokenOrNull(m.Value(SipHeader.XAcdIvr), null),
            Mode = OfferMode.Sip,
            Connection = Id,
            Owner = transaction,
        };
        _domainsUsed.Add(domain);
        Post(domain, offer, transaction);
    }

    /// <summary>CANCEL (the caller hung up while waiting: 200, and 487 to the INVITE) or BYE (the call ended: 200).</summary>
    private void OnCallRequest(SipMessage m, ReplyKind kind)
    {
        var echo = SipTransactionEcho.Capture(m, _server.TagSalt);
        var domain = DomainOf(m);
        if (domain is null)
        {
            Send(new OutboundItem { Echo = echo, Status = 481, Phrase = OutboundItem.PhraseOf(481), Warning = "unknown routing domain" });
            return;
        }

        var callId = SipValues.ToAscii(m.Value(SipHeader.CallId));
        Command command = kind == ReplyKind.Cancel
            ? new CallCommand(CommandKind.Abandon, callId)
            : new CallCommand(CommandKind.End, callId) { AbandonIfWaiting = true };
        Post(domain, command, new SipReply(this, echo, kind));
    }

    /// <summary>REGISTER To sip:&lt;agent&gt;@…: Contact with Expires logs the agent in (or refreshes it); Expires 0 logs it out.</summary>
    private void OnRegister(SipMessage m)
    {
        var echo = SipTransactionEcho.Capture(m, _server.TagSalt);
        var agentId = UserOf(m.Value(SipHeader.To));
        if (agentId is null)
        {
            Send(new OutboundItem { Echo = echo, Status = 400, Phrase = "Bad Request - Malformed Header Value", Warning = "To names no agent" });
            return;
        }

        var contactValue = SipValues.Trim(m.Value(SipHeader.Contact));
        var expires = DefaultExpires;
        if (m.TryGet(SipHeader.Expires, out var expiresLine) && !SipValues.TryParseNumber(m[expiresLine.Value], out expires))
        {
            Send(new OutboundItem { Echo = echo, Status = 400, Phrase = "Bad Request - Malformed Header Value", Warning = "Expires is not a number" });
            return;
        }

        if (SipValues.TryGetParameter(contactValue, "expires"u8, out var contactExpires) && !SipValues.TryParseNumber(contactValue[contactExpires], out expires))
        {
            Send(new OutboundItem { Echo = echo, Status = 400, Phrase = "Bad Request - Malformed Header Value", Warning = "Contact expires is not a number" });
            return;
        }

        var domain = _server.Domains.ForAgent(agentId);
        if (contactValue.IsEmpty)
        {
            // A query of the bindings: nothing changes.
            Send(new OutboundItem { Echo = echo, Status = 200, Phrase = "OK" });
            return;
        }

        if (expires == 0 || contactValue.SequenceEqual("*"u8))
        {
            Post(domain, new AgentCommand(CommandKind.Logout, agentId), new SipReply(this, echo, ReplyKind.Unregister, agent: agentId, registrations: _server.Registrations));
            return;
        }

        var contact = SipValues.ToAscii(contactValue[SipValues.UriOf(contactValue)]);
        Post(domain, new LoginAgent { AgentId = agentId, Contact = contact, Refresh = true, InitialState = AgentState.Ready }, new SipReply(this, echo, ReplyKind.Register, contact, expires, agentId, _server.Registrations));
    }

    /// <summary>The domain a request names (X-Acd-Domain), else the default; null for an unknown name.</summary>
    private DomainRuntime? DomainOf(SipMessage m)
    {
        var name = m.Value(SipHeader.XAcdDomain);
        return name.IsEmpty ? _server.Domains.Default : _server.Domains.Find(SipValues.ToAscii(SipValues.Trim(name)));
    }

    private static string? UserOf(ReadOnlySpan<byte> nameAddr)
    {
        var uri = nameAddr[SipValues.UriOf(nameAddr)];
        return UserOfUri(uri);
    }

    private static string? UserOfUri(ReadOnlySpan<byte> uri)
    {
        var user = uri[SipValues.UserOf(uri)];
        return user.IsEmpty || !SipValues.IsPrintableAscii(user) ? null : SipValues.ToAscii(user);
    }

    /// <summary>A token header value; skill names resolve to the configuration's own strings (no allocation).</summary>
    private static string? TokenOrNull(ReadOnlySpan<byte> value, DomainRuntime? domain)
    {
        value = SipValues.Trim(value);
        if (value.IsEmpty || !SipValues.IsPrintableAscii(value))
        {
            return null;
        }

        if (domain is not null)
        {
            foreach (var skill in domain.Config.Skills)
            {
                if (System.Text.Ascii.Equals(value, skill.Name))
                {
                    return skill.Name;
                }
            }
        }

        return SipValues.ToAscii(value);
    }

    private static string? FirstLanguage(ReadOnlySpan<byte> acceptLanguage)
    {
        acceptLanguage = SipValues.Trim(acceptLanguage);
        var end = acceptLanguage.IndexOfAny((byte)',', (byte)';');
        var first = SipValues.Trim(end < 0 ? acceptLanguage : acceptLanguage[..end]);
        return first.IsEmpty || !SipValues.IsPrintableAscii(first) ? null : SipValues.ToAscii(first);
    }

    private static bool TryReadPriority(ReadOnlySpan<byte> value, out int priority)
    {
        priority = -1;
        value = SipValues.Trim(value);
        return value.IsEmpty || (SipValues.TryParseNumber(value, out priority) && priority <= 9);
    }

    private static bool TryReadVip(ReadOnlySpan<byte> value, out int vip)
    {
        vip = 0;
        value = SipValues.Trim(value);
        if (value.IsEmpty || System.Text.Ascii.EqualsIgnoreCase(value, "no"u8) || System.Text.Ascii.EqualsIgnoreCase(value, "false"u8))
        {
            return true;
        }

        if (System.Text.Ascii.EqualsIgnoreCase(value, "yes"u8) || System.Text.Ascii.EqualsIgnoreCase(value, "true"u8))
        {
            vip = 1;
            return true;
        }

        return SipValues.TryParseNumber(value, out vip) && vip <= 9;
    }
}
