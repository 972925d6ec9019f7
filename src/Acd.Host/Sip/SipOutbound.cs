using System.Buffers;
using Acd.Core.Sip;

namespace Acd.Host.Sip;

/// <summary>Which extra headers a response carries.</summary>
internal enum ResponseExtras : byte
{
    None = 0,

    /// <summary>182: X-Acd-Queue-Position, X-Acd-Estimated-Wait.</summary>
    Queued,

    /// <summary>302 to an agent: Contact, X-Acd-Agent, X-Acd-Skill, X-Acd-Wait-Ms.</summary>
    Redirect,

    /// <summary>302 to self-service: Contact, X-Acd-Reason: deflect.</summary>
    Deflect,

    /// <summary>Retry-After.</summary>
    RetryAfter,

    /// <summary>Allow (OPTIONS, 405).</summary>
    Allow,

    /// <summary>REGISTER: Contact;expires and Expires.</summary>
    Registered,

    /// <summary>401: a WWW-Authenticate per digest algorithm offered (<see cref="OutboundItem.Challenges"/>).</summary>
    Challenge,
}

/// <summary>One response waiting to be written to a connection; everything it needs, by reference.</summary>
internal readonly record struct OutboundItem
{
    public bool Pong { get; init; }

    public SipTransactionEcho? Echo { get; init; }

    public int Status { get; init; }

    public string Phrase { get; init; }

    public ResponseExtras Extras { get; init; }

    public string? AgentId { get; init; }

    public string? Contact { get; init; }

    public string? Skill { get; init; }

    public string? Warning { get; init; }

    public long Number { get; init; }

    public long Estimate { get; init; }

    /// <summary>For a 302 to an agent: the call it hands over, abandoned when the answer cannot be delivered at all (<see cref="SipInviteAnswers.Undeliverable"/>).</summary>
    public string? HandedOff { get; init; }

    /// <summary>The routing domain of <see cref="HandedOff"/>.</summary>
    public Acd.Host.Routing.DomainRuntime? Domain { get; init; }

    /// <summary>For a 420: the Unsupported header's option tags.</summary>
    public string? Unsupported { get; init; }

    /// <summary>For a 401: the WWW-Authenticate values.</summary>
    public IReadOnlyList<string>? Challenges { get; init; }

    /// <summary>What the answer holds in memory until written, in bytes, for the pending bounds (an estimate: the echo and a response's own lines).</summary>
    public long Cost => (Echo?.Size ?? 0) + (Contact?.Length ?? 0) + (Warning?.Length ?? 0) + (Unsupported?.Length ?? 0) + 160;

    /// <summary>Writes the response.</summary>
    public void WriteTo(IBufferWriter<byte> writer)
    {
        if (Pong)
        {
            "\r\n"u8.CopyTo(writer.GetSpan(2));
            writer.Advance(2);
            return;
        }

        SipResponseWriter.Begin(writer, Status, Phrase, Echo);
        switch (Extras)
        {
            case ResponseExtras.Queued:
                SipResponseWriter.Header(writer, "X-Acd-Queue-Position"u8, Number);
                SipResponseWriter.Header(writer, "X-Acd-Estimated-Wait"u8, (Estimate + 999) / 1000);
                break;
            case ResponseExtras.Redirect:
                SipResponseWriter.Header(writer, "Contact"u8, "<"u8, Contact!, ">"u8);
                SipResponseWriter.Header(writer, "X-Acd-Agent"u8, AgentId!);
                SipResponseWriter.Header(writer, "X-Acd-Skill"u8, Skill!);
                SipResponseWriter.Header(writer, "X-Acd-Wait-Ms"u8, Number);
                break;
            case ResponseExtras.Deflect:
                SipResponseWriter.Header(writer, "Contact"u8, "<"u8, Contact!, ">"u8);
                SipResponseWriter.Header(writer, "X-Acd-Reason"u8, "deflect"u8);
                if (Skill is not null)
                {
                    SipResponseWriter.Header(writer, "X-Acd-Skill"u8, Skill);
                }

                break;
            case ResponseExtras.RetryAfter:
                SipResponseWriter.Header(writer, "Retry-After"u8, Number);
                break;
            case ResponseExtras.Allow:
                SipResponseWriter.Header(writer, "Allow"u8, SipResponseWriter.Allow);
                break;
            case ResponseExtras.Registered:
                SipResponseWriter.Header(writer, "Contact"u8, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"<{Contact}>;expires={Number}"));
                SipResponseWriter.Header(writer, "Expires"u8, Number);
                break;
            case ResponseExtras.Challenge:
                foreach (var challenge in Challenges ?? [])
                {
                    SipResponseWriter.Header(writer, "WWW-Authenticate"u8, challenge);
                }

                break;
        }

        if (Unsupported is not null)
        {
            SipResponseWriter.Header(writer, "Unsupported"u8, Unsupported);
        }

        if (Warning is not null)
        {
            SipResponseWriter.Header(writer, "Warning"u8, "399 acd \"" + Warning.Replace('"', '\'') + "\"");
        }

        SipResponseWriter.Header(writer, "Server"u8, "ACD"u8);
        SipResponseWriter.End(writer);
    }

    /// <summary>The standard phrase of a status code.</summary>
    public static string PhraseOf(int status) => status switch
    {
        100 => "Trying",
        182 => "Queued",
        200 => "OK",
        302 => "Moved Temporarily",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        487 => "Request Terminated",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Unknown",
    };
}
