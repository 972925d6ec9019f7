namespace Acd.Core.Sip;

/// <summary>Why a SIP message was refused. Mapped to a status code and phrase in one place: <see cref="SipRejections"/>.</summary>
public enum SipRejection : byte
{
    /// <summary>Not refused.</summary>
    None = 0,

    // Framing is kept: the message was delimited, the connection goes on.

    /// <summary>The start line is not "METHOD URI SIP/2.0" or "SIP/2.0 CODE PHRASE".</summary>
    InvalidStartLine,

    /// <summary>A version other than SIP/2.0.</summary>
    UnsupportedVersion,

    /// <summary>A header line without a colon or with an invalid name.</summary>
    InvalidHeader,

    /// <summary>A header the request needs (Via, From, To, Call-ID, CSeq) is missing.</summary>
    MissingHeader,

    /// <summary>CSeq is not "number METHOD", or its method differs from the request's.</summary>
    InvalidCSeq,

    /// <summary>A header value ACD reads is malformed (a URI, a number, a non-ASCII Call-ID...).</summary>
    InvalidHeaderValue,

    /// <summary>A header that takes one value (Call-ID, From, To, CSeq, Max-Forwards) is given twice.</summary>
    RepeatedHeader,

    /// <summary>The Request-URI is no URI (no scheme, in &lt;&gt;, with escaped headers in a SIP URI).</summary>
    InvalidRequestUri,

    /// <summary>The Request-URI's scheme is not one ACD serves (sip, sips): 416.</summary>
    UnsupportedUriScheme,

    /// <summary>A Require names an extension ACD does not support (it supports none): 420, with Unsupported.</summary>
    BadExtension,

    // Framing is lost: answer if possible, then close.

    /// <summary>The start line is longer than the limit.</summary>
    StartLineTooLong,

    /// <summary>The header block is longer than the limit.</summary>
    HeaderBlockTooLarge,

    /// <summary>More header lines than the limit.</summary>
    TooManyHeaders,

    /// <summary>No Content-Length: required on a stream transport (RFC 3261 §18.3).</summary>
    MissingContentLength,

    /// <summary>Content-Length is not a number, or several disagree.</summary>
    InvalidContentLength,

    /// <summary>The body is longer than the limit.</summary>
    BodyTooLarge,

    /// <summary>Bytes that cannot start a SIP message (binary junk, a bare LF...).</summary>
    Junk,
}

/// <summary>The status code and phrase of each rejection, and whether the connection survives it.</summary>
public static class SipRejections
{
    /// <summary>Whether framing is lost: the connection must be closed after the answer.</summary>
    public static bool BreaksFraming(SipRejection rejection) => rejection >= SipRejection.StartLineTooLong;

    /// <summary>The status code of the answer.</summary>
    public static int StatusCode(SipRejection rejection) => rejection switch
    {
        SipRejection.UnsupportedVersion => 505,
        SipRejection.UnsupportedUriScheme => 416,
        SipRejection.BadExtension => 420,
        SipRejection.StartLineTooLong => 414,
        SipRejection.HeaderBlockTooLarge or SipRejection.TooManyHeaders => 494,
        SipRejection.BodyTooLarge => 413,
        SipRejection.None => 200,
        _ => 400,
    };

    /// <summary>The reason phrase (with the cause, so a trace says what was wrong).</summary>
    public static string Phrase(SipRejection rejection) => rejection switch
    {
        SipRejection.InvalidStartLine => "Bad Request - Malformed Start Line",
        SipRejection.UnsupportedVersion => "Version Not Supported",
        SipRejection.InvalidHeader => "Bad Request - Malformed Header",
        SipRejection.MissingHeader => "Bad Request - Missing Required Header",
        SipRejection.InvalidCSeq => "Bad Request - Malformed CSeq",
        SipRejection.InvalidHeaderValue => "Bad Request - Malformed Header Value",
        SipRejection.RepeatedHeader => "Bad Request - Header Given Twice",
        SipRejection.InvalidRequestUri => "Bad Request - Malformed Request-URI",
        SipRejection.UnsupportedUriScheme => "Unsupported URI Scheme",
        SipRejection.BadExtension => "Bad Extension",
        SipRejection.StartLineTooLong => "Request-URI Too Long",
        SipRejection.HeaderBlockTooLarge => "Request Header Fields Too Large",
        SipRejection.TooManyHeaders => "Request Header Fields Too Large - Too Many Headers",
        SipRejection.MissingContentLength => "Bad Request - Missing Content-Length",
        SipRejection.InvalidContentLength => "Bad Request - Invalid Content-Length",
        SipRejection.BodyTooLarge => "Request Entity Too Large",
        SipRejection.Junk => "Bad Request - Not SIP",
        _ => "OK",
    };

    /// <summary>A stable label (metrics, logs).</summary>
    public static string Label(SipRejection rejection) => rejection switch
    {
        SipRejection.InvalidStartLine => "invalid-start-line",
        SipRejection.UnsupportedVersion => "unsupported-version",
        SipRejection.InvalidHeader => "invalid-header",
        SipRejection.MissingHeader => "missing-header",
        SipRejection.InvalidCSeq => "invalid-cseq",
        SipRejection.InvalidHeaderValue => "invalid-header-value",
        SipRejection.RepeatedHeader => "repeated-header",
        SipRejection.InvalidRequestUri => "invalid-request-uri",
        SipRejection.UnsupportedUriScheme => "unsupported-uri-scheme",
        SipRejection.BadExtension => "bad-extension",
        SipRejection.StartLineTooLong => "start-line-too-long",
        SipRejection.HeaderBlockTooLarge => "header-block-too-large",
        SipRejection.TooManyHeaders => "too-many-headers",
        SipRejection.MissingContentLength => "missing-content-length",
        SipRejection.InvalidContentLength => "invalid-content-length",
        SipRejection.BodyTooLarge => "body-too-large",
        SipRejection.Junk => "junk",
        _ => "none",
    };
}
