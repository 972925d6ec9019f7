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

        if (m.Method != SipMethod.Register && !Rights.HasFlag(PeerRights.Calls))
        {
            // Not a proxy or PBX of this centre: no call, no ping, not even whether a call or agent exists.
            Forbid(SipRefusal.UntrustedSource, "this source may not send calls (Acd:Sip:TrustedPeers, CallPeers)");
            return;
        }

        if (m.Method == SipMethod.Other)
        {
            // A method ACD does not serve: 405 for a standard one, 501 for one it does not know (RFC 3261 §8.2.1).
            var standard = SipRequests.IsStandardMethod(m[m.MethodName]);
            Send(new OutboundItem
            {
                Echo = SipTransactionEcho.Capture(m, _server.TagSalt),
                Status = standard ? 405 : 501,
                Phrase = standard ? "Method Not Allowed" : "Not Implemented",
                Extras = ResponseExtras.Allow,
            });
            return;
        }

        if (SipRequests.Unsupported(m) is not SipRejection.None and var unsupported)
        {
            _server.Counters.Rejection(unsupported);
            Send(new OutboundItem
            {
                Echo = SipTransactionEcho.Capture(m, _server.TagSalt),
                Status = SipRejections.StatusCode(unsupported),
                Phrase = SipRejections.Phrase(unsupported),
                Unsupported = unsupported == SipRejection.BadExtension ? SipRequests.RequiredExtensions(m) : null,
            });
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
            case SipMethod.Options when !_server.Domains.Default.Serving:
                // A standby daemon: a proxy's dispatcher probing with OPTIONS takes it for an inactive destination.
                RefuseStandby(SipTransactionEcho.Capture(m, _server.TagSalt), _server.Domains.Default);
                break;
            case SipMethod.Options:
                Send(new OutboundItem { Echo = SipTransactionEcho.Capture(m, _server.TagSalt), Status = 200, Phrase = "OK", Extras = ResponseExtras.Allow });
                break;
        }
    }

    private void OnInvite(SipMessage m)
    {
        // The route kept with the call leaves out the Call-ID: it is the call's id (validated printable ASCII, at most 256).
        // Its lines are kept compact when calls wait in the domain (this one will likely wait too, and keep its route as
        // long as it does); when none waits, the call is routed at once and its route is written as received, which
        // costs less to make and to answer from. A compact route also keeps the call's id and caller (format 4), so that
        // the waiting call needs no strings of its own for them (the router checks they are the call's).
        var callId = SipValues.ToAscii(m.Value(SipHeader.CallId));
        var domain = DomainOf(m);
        var caller = UserOf(m.Value(SipHeader.From));
        var echo = domain?.CallsWaiting ?? false
            ? SipTransactionEcho.CaptureWaiting(m, _server.TagSalt, PeerBytes, callId, caller)
            : SipTransactionEcho.Capture(m, _server.TagSalt, PeerBytes, callId, compact: false);
        if (SipValues.HasParameter(m.Value(SipHeader.To), "tag"u8))
        {
            // A re-INVITE inside a dialog (hold, a session refresh): ACD answers every INVITE with a redirect and is part of
            // no dialog, so this one belongs to none it knows (RFC 3261 §12.2.2). It must not touch the call's routing.
            Send(new OutboundItem { Echo = echo, Status = 481, Phrase = OutboundItem.PhraseOf(481), Warning = "ACD is part of no dialog: a re-INVITE is not for it" });
            return;
        }

        Send(new OutboundItem { Echo = echo, Status = 100, Phrase = "Trying" });
        if (domain is null)
        {
            Send(new OutboundItem { Echo = echo, Status = 404, Phrase = "Not Found", Warning = "unknown routing domain" });
            return;
        }

        if (!domain.Active)
        {
            RefuseStandby(echo, domain);
            return;
        }

        // Routing headers only from trusted peers: a call peer's are read as absent.
        var trusted = Rights.HasFlag(PeerRights.Trusted);
        var priority = -1;
        var vip = 0;
        if (trusted && (!TryReadPriority(m.Value(SipHeader.XAcdPriority), out priority) || !TryReadVip(m.Value(SipHeader.XAcdVip), out vip)))
        {
            Send(new OutboundItem { Echo = echo, Status = 400, Phrase = "Bad Request - Malformed Header Value", Warning = "X-Acd-Priority and X-Acd-Vip take 0-9" });
            return;
        }

        if (!_server.RateLimits.AllowSource(Address, trusted))
        {
            Throttle(echo, SipRefusal.SourceRateLimit, "too many new calls a second from this source");
            return;
        }

        if (!_server.RateLimits.AllowCaller(caller, _server.Time.GetUtcNow().ToUnixTimeSeconds()))
        {
            Throttle(echo, SipRefusal.CallerRateLimit, "too many new calls a second from this caller");
            return;
        }

        var offer = new OfferCall
        {
            CallId = callId,
            Caller = caller,
            ServiceNumber = ServiceNumberOf(m[m.RequestUri]),
            Skill = trusted ? TokenOrNull(m.Value(SipHeader.XAcdSkill), domain) : null,
            Priority = priority,
            Vip = vip,
            Language = (trusted ? TokenOrNull(m.Value(SipHeader.XAcdLanguage), null) : null) ?? FirstLanguage(m.Value(SipHeader.AcceptLanguage)),
            IvrDigits = trusted ? TokenOrNull(m.Value(SipHeader.XAcdIvr), null) : null,
            Mode = OfferMode.Sip,
            Connection = Id,
            Owner = this,
            OwesCallback = trusted,
            AnswerRoute = echo.Route,
        };
        _domainsUsed.Add(domain);
        Post(domain, offer, new SipInviteReply(this, echo));
    }

    /// <summary>
    /// CANCEL (the caller hung up while waiting: 200, and 487 to the INVITE) or BYE (the call ended: 200). A BYE with
    /// <c>Reason: SIP;cause=487</c> says the caller left while the agent's phone rang: the call is abandoned, not ended.
    /// </summary>
    private void OnCallRequest(SipMessage m, ReplyKind kind)
    {
        var echo = SipTransactionEcho.Capture(m, _server.TagSalt);
        var domain = DomainOf(m);
        if (domain is null)
        {
            Send(new OutboundItem { Echo = echo, Status = 481, Phrase = OutboundItem.PhraseOf(481), Warning = "unknown routing domain" });
            return;
        }

        if (!domain.Active)
        {
            RefuseStandby(echo, domain);
            return;
        }

        var callId = SipValues.ToAscii(m.Value(SipHeader.CallId));
        Command command = kind == ReplyKind.Cancel
            ? new CallCommand(CommandKind.Abandon, callId)
            : new CallCommand(CommandKind.End, callId) { AbandonIfWaiting = true, Unanswered = SipValues.SaysNeverConnected(m) };
        Post(domain, command, new SipReply(this, echo, kind));
    }

    /// <summary>
    /// REGISTER To sip:&lt;agent&gt;@…: Contact with Expires logs the agent in (or refreshes it); Expires 0 logs it out. From a
    /// registrar peer, or with the agent's digest credentials; moving a logged-in agent to another contact needs what
    /// <c>Acd:Sip:ContactChange</c> says (by default, the credentials).
    /// </summary>
    private void OnRegister(SipMessage m)
    {
        var echo = SipTransactionEcho.Capture(m, _server.TagSalt);
        var agentId = UserOf(m.Value(SipHeader.To));
        if (agentId is null)
        {
            Send(new OutboundItem { Echo = echo, Status = 400, Phrase = "Bad Request - Malformed Header Value", Warning = "To names no agent" });
            return;
        }

        if (!Acd.Core.Configuration.DomainCompiler.IsToken(agentId))
        {
            // An address of record that cannot be a work number names no agent here (RFC 3261 §10.3 step 3).
            Send(new OutboundItem { Echo = echo, Status = 404, Phrase = "Not Found", Warning = "no agent has this work number" });
            return;
        }

        var registrar = Rights.HasFlag(PeerRights.Register);
        var authenticated = false;
        if (_server.Digest.Knows(agentId) && (!registrar || m.Has(SipHeader.Authorization)))
        {
            switch (_server.Digest.Verify(agentId, SipValues.ToAscii(SipValues.Trim(m.Value(SipHeader.Authorization))), "REGISTER"))
            {
                case DigestVerdict.Authenticated:
                    authenticated = true;
                    break;
                case DigestVerdict.Failed:
                    _server.Counters.Refused(SipRefusal.AuthenticationFailed);
                    _server.Counters.Registered(RegistrationAction.Refused);
                    SipServer.LogRegistrationRefused(_server.Logger, agentId, Remote, "digest credentials that do not verify");
                    Challenge(echo, agentId, stale: false);
                    return;
                case var verdict:
                    Challenge(echo, agentId, stale: verdict == DigestVerdict.Stale);
                    return;
            }
        }
        else if (!registrar)
        {
            _server.Counters.Registered(RegistrationAction.Refused);
            Forbid(SipRefusal.RegistrationForbidden, "this source may not register agents (Acd:Sip:RegistrarPeers) and the agent has no digest credentials");
            SipServer.LogRegistrationRefused(_server.Logger, agentId, Remote, "not a registrar peer, and the agent has no digest credentials");
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
        if (!domain.Active)
        {
            RefuseStandby(echo, domain);
            return;
        }

        if (contactValue.IsEmpty)
        {
            // A query of the bindings: nothing changes.
            Send(new OutboundItem { Echo = echo, Status = 200, Phrase = "OK" });
            return;
        }

        if (expires == 0 || contactValue.SequenceEqual("*"u8))
        {
            Post(domain, new AgentCommand(CommandKind.Logout, agentId), new SipReply(this, echo, ReplyKind.Unregister, agent: agentId, server: _server));
            return;
        }

        var contact = SipValues.ToAscii(contactValue[SipValues.UriOf(contactValue)]);
        var mayMove = authenticated || string.Equals(_server.ContactChange, "any", StringComparison.Ordinal) || (string.Equals(_server.ContactChange, "registrar", StringComparison.Ordinal) && registrar);
        Post(domain, new LoginAgent { AgentId = agentId, Contact = contact, Refresh = true, InitialState = AgentState.Ready, MayMoveContact = mayMove }, new SipReply(this, echo, ReplyKind.Register, contact, expires, agentId, _server));
    }

    /// <summary>403 to a request this peer may not send; counted, and logged once per connection.</summary>
    private void Forbid(SipRefusal reason, string why)
    {
        _server.Counters.Refused(reason);
        if (!_forbiddenLogged)
        {
            _forbiddenLogged = true;
            SipServer.LogRefused(_server.Logger, _message.Method.ToString().ToUpperInvariant(), Remote, why);
        }

        Send(new OutboundItem { Echo = SipTransactionEcho.Capture(_message, _server.TagSalt), Status = 403, Phrase = "Forbidden", Warning = why });
    }

    /// <summary>503 with Retry-After to a new call over a rate limit; counted.</summary>
    private void Throttle(SipTransactionEcho echo, SipRefusal reason, string why)
    {
        _server.Counters.Refused(reason);
        Send(new OutboundItem { Echo = echo, Status = 503, Phrase = "Service Unavailable", Extras = ResponseExtras.RetryAfter, Number = 1, Warning = why });
    }

    /// <summary>401 with a digest challenge for the agent.</summary>
    private void Challenge(SipTransactionEcho echo, string agentId, bool stale) =>
        Send(new OutboundItem { Echo = echo, Status = 401, Phrase = "Unauthorized", Extras = ResponseExtras.Challenge, Challenges = _server.Digest.Challenge(agentId, stale) });

    /// <summary>The domain a request names (X-Acd-Domain, from a trusted peer), else the default; null for an unknown name.</summary>
    /// <summary>Cluster mode, standby: 503 with Retry-After, naming the active daemon; nothing is posted.</summary>
    private void RefuseStandby(SipTransactionEcho echo, DomainRuntime domain) =>
        Send(new OutboundItem { Echo = echo, Status = 503, Phrase = "Service Unavailable", Extras = ResponseExtras.RetryAfter, Number = 1, Warning = domain.StandbyMessage });

    private DomainRuntime? DomainOf(SipMessage m)
    {
        var name = Rights.HasFlag(PeerRights.Trusted) ? m.Value(SipHeader.XAcdDomain) : default;
        return name.IsEmpty ? _server.Domains.Default : _server.Domains.Find(SipValues.ToAscii(SipValues.Trim(name)));
    }

    private static string? UserOf(ReadOnlySpan<byte> nameAddr)
    {
        var uri = nameAddr[SipValues.UriOf(nameAddr)];
        return UserOfUri(uri);
    }

    /// <summary>
    /// The dialled number (the Request-URI's user): the string of the connection's last INVITE when it is the same —
    /// a proxy sends one or a few numbers, and a string per INVITE is garbage the collector would have to clear.
    /// </summary>
    private string? ServiceNumberOf(ReadOnlySpan<byte> uri)
    {
        var last = _lastServiceNumber;
        if (last is not null && System.Text.Ascii.Equals(uri[SipValues.UserOf(uri)], last))
        {
            return last;
        }

        return _lastServiceNumber = UserOfUri(uri);
    }

    /// <summary>
    /// The user part, unescaped (<c>sip:%31%30%30%38%36@h</c> is 10086: URIs compare unescaped, RFC 3261 §19.1.4).
    /// One whose unescaped form is not printable ASCII (<c>null-%00-null</c>) is kept as written: it names no agent.
    /// </summary>
    private static string? UserOfUri(ReadOnlySpan<byte> uri)
    {
        var user = uri[SipValues.UserOf(uri)];
        if (user.IsEmpty || !SipValues.IsPrintableAscii(user))
        {
            return null;
        }

        var text = SipValues.ToAscii(user);
        if (user.IndexOf((byte)'%') < 0)
        {
            return text;
        }

        var unescaped = Uri.UnescapeDataString(text);
        return SipValues.IsPrintableAscii(System.Text.Encoding.UTF8.GetBytes(unescaped)) ? unescaped : text;
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
