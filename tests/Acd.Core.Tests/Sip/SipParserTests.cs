using System.Buffers;
using System.Text;
using Acd.Benchmarks.Workloads;
using Acd.Core.Sip;
using Acd.Core.Tests.Support;

namespace Acd.Core.Tests.Sip;

public sealed class SipParserTests
{
    private static readonly SipLimits Limits = new();

    private static (SipParseResult Result, long Consumed, SipMessage Message) Parse(ReadOnlySequence<byte> data, SipLimits? limits = null)
    {
        var reader = new SequenceReader<byte>(data);
        var message = new SipMessage();
        byte[]? scratch = null;
        var result = SipParser.TryParse(ref reader, limits ?? Limits, message, ref scratch);
        return (result, reader.Consumed, message);
    }

    private static (SipParseResult Result, long Consumed, SipMessage Message) Parse(string text, SipLimits? limits = null)
        => Parse(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(text)), limits);

    private static string Text(SipMessage m, SipRange r) => Encoding.UTF8.GetString(m[r]);

    private static string Request(string headers, string body = "", string startLine = "INVITE sip:10086@acd SIP/2.0")
        => $"{startLine}\r\n{headers}Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}";

    private const string Basic = "Via: SIP/2.0/TCP a:5060;branch=z9hG4bK1\r\nFrom: <sip:1@a>;tag=1\r\nTo: <sip:10086@acd>\r\nCall-ID: c1@a\r\nCSeq: 1 INVITE\r\n";

    [Fact]
    public void A_typical_invite_parses_with_every_header_where_it_is()
    {
        var (result, consumed, m) = Parse(new ReadOnlySequence<byte>(SipSamples.InviteBytes));
        Assert.Equal(SipParseResult.Message, result);
        Assert.Equal(SipSamples.InviteBytes.Length, consumed);
        Assert.True(m.IsRequest);
        Assert.Equal(SipMethod.Invite, m.Method);
        Assert.Equal("sip:10086@acd.example.cn", Text(m, m.RequestUri));
        Assert.Equal(3, m.Headers.ToArray().Count(h => h.Header == SipHeader.Via));
        Assert.Equal("a84b4c76e66710@pc33.example.cn", Encoding.ASCII.GetString(m.Value(SipHeader.CallId)));
        Assert.Equal("314159 INVITE", Encoding.ASCII.GetString(m.Value(SipHeader.CSeq)));
        Assert.Equal("3", Encoding.ASCII.GetString(m.Value(SipHeader.XAcdPriority)));
        Assert.Equal(0, m.ContentLength);
        Assert.Equal(SipRejection.None, SipRequests.Validate(m));
    }

    [Fact]
    public void Every_prefix_of_a_valid_message_is_incomplete_and_consumes_nothing()
    {
        var bytes = Encoding.UTF8.GetBytes(Request(Basic, "v=0\r\n"));
        for (var n = 0; n < bytes.Length; n++)
        {
            var (result, consumed, _) = Parse(new ReadOnlySequence<byte>(bytes, 0, n));
            Assert.True(result == SipParseResult.Incomplete, $"prefix of {n} bytes gave {result}");
            Assert.Equal(0, consumed);
        }
    }

    [Fact]
    public void A_message_split_across_segments_at_every_byte_parses_the_same()
    {
        var bytes = Encoding.UTF8.GetBytes(Request(Basic + "Subject: a\r\n folded\r\n", "hello"));
        var (_, _, whole) = Parse(new ReadOnlySequence<byte>(bytes));
        var expected = whole.Headers.ToArray().Select(h => (h.Header, Text(whole, h.Name), Text(whole, h.Value))).ToList();
        for (var cut = 1; cut < bytes.Length; cut++)
        {
            for (var second = cut + 1; second < bytes.Length; second += 37)
            {
                var (result, consumed, m) = Parse(Segments.Split(bytes, cut, second));
                Assert.Equal(SipParseResult.Message, result);
                Assert.Equal(bytes.Length, consumed);
                Assert.Equal(expected, m.Headers.ToArray().Select(h => (h.Header, Text(m, h.Name), Text(m, h.Value))).ToList());
                Assert.Equal("hello", Text(m, m.Body));
            }
        }
    }

    [Fact]
    public void Compact_forms_are_understood_in_any_case()
    {
        var (result, _, m) = Parse(Request("v: SIP/2.0/TCP a;branch=z9hG4bK1\r\nF: <sip:1@a>;tag=1\r\nt: <sip:2@b>\r\nI: id-1\r\nCSEQ: 2 INVITE\r\nm: <sip:x@y>\r\nk: timer\r\ns: hi\r\no: presence\r\nc: text/plain\r\ne: gzip\r\n").Replace("Content-Length", "l", StringComparison.Ordinal));
        Assert.Equal(SipParseResult.Message, result);
        Assert.Equal("id-1", Encoding.ASCII.GetString(m.Value(SipHeader.CallId)));
        Assert.Equal(
            [SipHeader.Via, SipHeader.From, SipHeader.To, SipHeader.CallId, SipHeader.CSeq, SipHeader.Contact, SipHeader.Supported, SipHeader.Subject, SipHeader.Event, SipHeader.ContentType, SipHeader.ContentEncoding, SipHeader.ContentLength],
            m.Headers.ToArray().Select(h => h.Header));
        Assert.Equal(SipRejection.None, SipRequests.Validate(m));
    }

    [Fact]
    public void Folded_lines_continue_the_previous_value()
    {
        var (result, _, m) = Parse(Request(Basic + "Subject: I know you're there,\r\n   pick up the phone\r\n\tand talk to me!\r\n"));
        Assert.Equal(SipParseResult.Message, result);
        var subject = Encoding.ASCII.GetString(m.Value(SipHeader.Subject));
        Assert.StartsWith("I know you're there,", subject, StringComparison.Ordinal);
        Assert.EndsWith("and talk to me!", subject, StringComparison.Ordinal);
    }

    [Fact]
    public void Several_vias_on_separate_lines_and_comma_separated_are_kept_in_order()
    {
        var (_, _, m) = Parse(Request("Via: SIP/2.0/TCP a;branch=z9hG4bKa, SIP/2.0/TCP b;branch=z9hG4bKb\r\nv: SIP/2.0/UDP c;branch=z9hG4bKc\r\nFrom: <sip:1@a>;tag=1\r\nTo: <sip:2@b>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"));
        var vias = m.Headers.ToArray().Where(h => h.Header == SipHeader.Via).Select(h => Text(m, h.Value)).ToList();
        Assert.Equal(["SIP/2.0/TCP a;branch=z9hG4bKa, SIP/2.0/TCP b;branch=z9hG4bKb", "SIP/2.0/UDP c;branch=z9hG4bKc"], vias);
    }

    [Fact]
    public void Odd_spacing_around_colons_and_values_is_accepted()
    {
        var (result, _, m) = Parse("OPTIONS sip:acd SIP/2.0\r\nVia :  SIP/2.0/TCP a;branch=z9hG4bK1  \r\nFrom:<sip:1@a>;tag=1\r\nTo:\t<sip:acd>\r\ncall-id :x-1\r\nCSeq:    7    OPTIONS\r\ncontent-length :   0  \r\n\r\n");
        Assert.Equal(SipParseResult.Message, result);
        Assert.Equal("SIP/2.0/TCP a;branch=z9hG4bK1", Encoding.ASCII.GetString(m.Value(SipHeader.Via)));
        Assert.Equal("x-1", Encoding.ASCII.GetString(m.Value(SipHeader.CallId)));
        Assert.Equal(SipRejection.None, SipRequests.Validate(m));
    }

    [Fact]
    public void Many_messages_in_one_buffer_parse_one_after_the_other()
    {
        var one = Request(Basic, "abc");
        var all = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(one, 50)) + "\r\n\r\n" + one);
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(all));
        var message = new SipMessage();
        byte[]? scratch = null;
        var results = new List<SipParseResult>();
        SipParseResult r;
        while ((r = SipParser.TryParse(ref reader, Limits, message, ref scratch)) != SipParseResult.Incomplete)
        {
            results.Add(r);
            if (r == SipParseResult.Message)
            {
                Assert.Equal("abc", Text(message, message.Body));
            }
        }

        Assert.Equal(52, results.Count);
        Assert.Equal(SipParseResult.KeepAlive, results[50]);
        Assert.Equal(all.Length, reader.Consumed);
    }

    [Fact]
    public void A_response_status_line_is_recognised()
    {
        var (result, _, m) = Parse("SIP/2.0 180 Ringing\r\n" + Basic + "Content-Length: 0\r\n\r\n");
        Assert.Equal(SipParseResult.Message, result);
        Assert.False(m.IsRequest);
        Assert.Equal(180, m.StatusCode);
    }

    [Theory]
    [InlineData("INVITE sip:a SIP/2.0", "Bogus-Line\r\n", SipRejection.InvalidHeader, 400)]
    [InlineData("INVITE sip:a SIP/2.0", "Bad Name: x\r\n", SipRejection.InvalidHeader, 400)]
    [InlineData("INVITE sip:a SIP/2.0", "Subject: bare\nline feed\r\n", SipRejection.InvalidHeader, 400)]
    [InlineData("INVITE sip:a SIP/2.0", "Subject: bare\rreturn\r\n", SipRejection.InvalidHeader, 400)]
    [InlineData("INVITE sip:a SIP/2.0", "Subject: bell\u0007\r\n", SipRejection.InvalidHeader, 400)]
    [InlineData("INVITE sip:a SIP/3.0", "", SipRejection.UnsupportedVersion, 505)]
    [InlineData("INVITE sip:a", "", SipRejection.InvalidStartLine, 400)]
    [InlineData("INVITE  sip:a SIP/2.0", "", SipRejection.InvalidStartLine, 400)]
    [InlineData("IN(VITE sip:a SIP/2.0", "", SipRejection.InvalidStartLine, 400)]
    public void A_malformed_but_delimited_message_is_consumed_and_refused_with_its_reason(string startLine, string extra, SipRejection reason, int status)
    {
        var text = Request(Basic + extra, startLine: startLine) + Request(Basic);
        var (result, consumed, m) = Parse(text);
        Assert.Equal(SipParseResult.Malformed, result);
        Assert.Equal(reason, m.Rejection);
        Assert.Equal(status, SipRejections.StatusCode(reason));
        Assert.False(SipRejections.BreaksFraming(reason));
        Assert.Equal(Encoding.UTF8.GetByteCount(Request(Basic + extra, startLine: startLine)), consumed);
    }

    [Theory]
    [InlineData("", SipRejection.MissingHeader)]
    [InlineData("CSeq-x", SipRejection.InvalidCSeq)]
    [InlineData("CSeq-method", SipRejection.InvalidCSeq)]
    [InlineData("Call-ID-space", SipRejection.InvalidHeaderValue)]
    public void A_request_without_what_every_request_needs_is_refused(string defect, SipRejection reason)
    {
        var headers = defect switch
        {
            "" => "Via: SIP/2.0/TCP a;branch=z9hG4bK1\r\nFrom: <sip:1@a>;tag=1\r\nTo: <sip:2@b>\r\nCSeq: 1 INVITE\r\n",
            "CSeq-x" => Basic.Replace("1 INVITE", "x INVITE", StringComparison.Ordinal),
            "CSeq-method" => Basic.Replace("1 INVITE", "1 BYE", StringComparison.Ordinal),
            _ => Basic.Replace("c1@a", "c 1@a", StringComparison.Ordinal),
        };
        var (result, _, m) = Parse(Request(headers));
        Assert.Equal(SipParseResult.Message, result);
        Assert.Equal(reason, SipRequests.Validate(m));
        Assert.Equal(400, SipRejections.StatusCode(reason));
    }

    [Theory]
    [InlineData(SipRejection.MissingContentLength, 400)]
    [InlineData(SipRejection.InvalidContentLength, 400)]
    [InlineData(SipRejection.BodyTooLarge, 413)]
    [InlineData(SipRejection.HeaderBlockTooLarge, 494)]
    [InlineData(SipRejection.TooManyHeaders, 494)]
    [InlineData(SipRejection.StartLineTooLong, 414)]
    [InlineData(SipRejection.Junk, 400)]
    public void Input_that_breaks_framing_is_refused_without_consuming_and_closes(SipRejection reason, int status)
    {
        var limits = new SipLimits { MaxHeaderBytes = 512, MaxHeaders = 10, MaxBodyBytes = 100, MaxStartLineBytes = 64 };
        var text = reason switch
        {
            SipRejection.MissingContentLength => $"INVITE sip:a SIP/2.0\r\n{Basic}\r\n",
            SipRejection.InvalidContentLength => $"INVITE sip:a SIP/2.0\r\n{Basic}Content-Length: 12x\r\n\r\n",
            SipRejection.BodyTooLarge => Request(Basic, new string('b', 101)),
            SipRejection.HeaderBlockTooLarge => $"INVITE sip:a SIP/2.0\r\n{Basic}X-Pad: {new string('p', 600)}\r\n",
            SipRejection.TooManyHeaders => Request(Basic + string.Concat(Enumerable.Range(0, 10).Select(i => $"X-{i}: {i}\r\n"))),
            SipRejection.StartLineTooLong => $"INVITE sip:{new string('a', 80)} SIP/2.0\r\n",
            _ => "\u0001\u0002\u0003binary",
        };
        var (result, consumed, m) = Parse(text, limits);
        Assert.Equal(SipParseResult.Broken, result);
        Assert.Equal(reason, m.Rejection);
        Assert.Equal(0, consumed);
        Assert.True(SipRejections.BreaksFraming(reason));
        Assert.Equal(status, SipRejections.StatusCode(reason));
    }

    [Fact]
    public void Junk_is_told_at_once_without_waiting_for_a_whole_header_block()
    {
        foreach (var junk in new[] { "\0\0\0\0", "\u00ff\u00fe", "\r\nGET / HTTP/1.1\n", "INVITE sip:a\u0007 SIP/2.0\r\n" })
        {
            var (result, consumed, m) = Parse(junk);
            Assert.True(result == SipParseResult.Broken, $"{junk}: {result}");
            Assert.Equal(SipRejection.Junk, m.Rejection);
            Assert.Equal(0, consumed);
        }
    }

    [Fact]
    public void A_whole_first_line_that_cannot_start_a_message_is_junk_without_waiting_for_a_blank_line()
    {
        // What a too-short Content-Length leaves behind: the rest of an SDP body.
        var (result, consumed, m) = Parse("o=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\n");
        Assert.Equal(SipParseResult.Broken, result);
        Assert.Equal(SipRejection.Junk, m.Rejection);
        Assert.Equal(0, consumed);
    }

    [Fact]
    public void Conflicting_content_lengths_break_framing()
    {
        var (result, _, m) = Parse($"INVITE sip:a SIP/2.0\r\n{Basic}Content-Length: 0\r\nl: 5\r\n\r\nhello");
        Assert.Equal(SipParseResult.Broken, result);
        Assert.Equal(SipRejection.InvalidContentLength, m.Rejection);
    }

    [Fact]
    public void A_body_not_yet_arrived_is_incomplete()
    {
        var (result, consumed, _) = Parse(Request(Basic, "0123456789")[..^4]);
        Assert.Equal(SipParseResult.Incomplete, result);
        Assert.Equal(0, consumed);
    }

    [Fact]
    public void Every_header_has_names_they_are_unique_and_each_is_recognised_in_any_case()
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        Assert.Equal(SipHeaders.Count - 1, SipHeaders.Known.Count);
        foreach (var header in SipHeaders.Known)
        {
            var names = SipHeaders.NamesOf(header);
            Assert.NotEmpty(names);
            foreach (var name in names)
            {
                Assert.True(seen.Add(name), $"{name} names two headers");
                Assert.Equal(header, SipParser.Classify(System.Text.Encoding.ASCII.GetBytes(name)));
                Assert.Equal(header, SipParser.Classify(System.Text.Encoding.ASCII.GetBytes(name.ToUpperInvariant())));
            }
        }

        // A name longer than any known one is simply another header.
        Assert.Equal(SipHeader.Other, SipParser.Classify("X-Acd-Priority-And-Then-Some"u8));
        Assert.Equal(SipHeader.Other, SipParser.Classify("X-Unknown"u8));
    }

    [Theory]
    [InlineData("SIP/2.0/TCP proxy.example:5070;branch=z9hG4bK1", 5070)]
    [InlineData("SIP/2.0/tcp 10.0.0.5 ;branch=z9hG4bK1", 5060)]
    [InlineData("SIP / 2.0 / TCP [2001:db8::1]:5080;received=10.0.0.9", 5080)]
    [InlineData("SIP/2.0/TCP [2001:db8::1];branch=z9hG4bK1", 5060)]
    [InlineData("SIP/2.0/TCP 10.0.0.5:5071, SIP/2.0/UDP 10.0.0.6:5060", 5071)]
    [InlineData("SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK1", -1)]
    [InlineData("SIP/2.0/TLS 10.0.0.5:5061;branch=z9hG4bK1", -1)]
    [InlineData("SIP/2.0/TCP 10.0.0.5:0;branch=z9hG4bK1", -1)]
    [InlineData("SIP/2.0/TCP 10.0.0.5:70000;branch=z9hG4bK1", -1)]
    [InlineData("SIP/2.0/TCP 10.0.0.5:50x;branch=z9hG4bK1", -1)]
    [InlineData("SIP/2.0/TCP", -1)]
    public void The_port_an_answer_goes_to_when_its_connection_is_gone_is_the_top_vias_sent_by_port(string via, int expected)
    {
        var (result, _, m) = Parse(Request(Basic.Replace("SIP/2.0/TCP a:5060;branch=z9hG4bK1", via, StringComparison.Ordinal)));
        Assert.Equal(SipParseResult.Message, result);
        var echo = SipTransactionEcho.Capture(m, 7);
        Assert.Equal(expected, echo.TryGetTopViaPort("TCP"u8, 5060, out var port) ? port : -1);
    }

    [Theory]
    [InlineData("Reason: SIP;cause=487;text=\"Request Terminated\"\r\n", true)]
    [InlineData("Reason: Q.850;cause=16, sip ; cause=487\r\n", true)]
    [InlineData("Reason: Q.850;cause=16\r\nReason: SIP;cause=487\r\n", true)]
    [InlineData("Reason: SIP;cause=200;text=\"Call completed elsewhere\"\r\n", false)]
    [InlineData("Reason: Q.850;cause=487\r\n", false)]
    [InlineData("Reason: SIP;cause=4870\r\n", false)]
    [InlineData("", false)]
    public void A_bye_says_the_call_never_connected_only_with_a_sip_reason_of_cause_487(string header, bool expected)
    {
        var (result, _, m) = Parse(Request(Basic.Replace("CSeq: 1 INVITE", "CSeq: 2 BYE", StringComparison.Ordinal) + header, startLine: "BYE sip:acd SIP/2.0"));
        Assert.Equal(SipParseResult.Message, result);
        Assert.Equal(expected, SipValues.SaysNeverConnected(m));
    }

    [Fact]
    public void A_transactions_route_answers_it_the_same_after_the_process_that_received_it_is_gone()
    {
        var (_, _, m) = Parse(Request(Basic.Replace("To: <sip:10086@acd>", "To: <sip:10086@acd>;\r\n x=1", StringComparison.Ordinal)));
        var live = SipTransactionEcho.Capture(m, 42, [10, 0, 0, 5]);
        var recovered = SipTransactionEcho.FromRoute(live.Route.ToArray());
        Assert.Equal(new byte[] { 10, 0, 0, 5 }, recovered.PeerAddress.ToArray());
        foreach (var addTag in new[] { false, true })
        {
            var a = new ArrayBufferWriter<byte>();
            var b = new ArrayBufferWriter<byte>();
            live.Write(a, addTag);
            recovered.Write(b, addTag);
            Assert.Equal(Encoding.ASCII.GetString(a.WrittenSpan), Encoding.ASCII.GetString(b.WrittenSpan));
        }

        Assert.True(recovered.TryGetTopViaPort("TCP"u8, 5060, out var port) && port == 5060);
        Assert.Throws<InvalidDataException>(() => SipTransactionEcho.FromRoute([9, 0, 1, 2]));
        Assert.Throws<InvalidDataException>(() => SipTransactionEcho.FromRoute(live.Route[..8]));
    }

    [Fact]
    public void An_invites_route_leaves_out_the_call_id_and_answers_with_the_calls_id_written_back()
    {
        var (_, _, m) = Parse(Request(Basic));
        var callId = SipValues.ToAscii(m.Value(SipHeader.CallId));
        var whole = SipTransactionEcho.Capture(m, 42, [10, 0, 0, 5]);
        var invite = SipTransactionEcho.Capture(m, 42, [10, 0, 0, 5], callId);
        Assert.True(invite.Route.Length < whole.Route.Length - ("Call-ID: " + callId + "\r\n").Length);
        Assert.DoesNotContain("Call-ID", Encoding.ASCII.GetString(invite.Route), StringComparison.Ordinal);
        Assert.DoesNotContain(callId, Encoding.ASCII.GetString(invite.Route), StringComparison.Ordinal);

        // The same header lines as the echo that keeps the Call-ID (the Call-ID's place among them aside), live and recovered.
        static string[] Lines(SipTransactionEcho echo)
        {
            var w = new ArrayBufferWriter<byte>();
            echo.Write(w, addTag: true);
            return [.. Encoding.ASCII.GetString(w.WrittenSpan).Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)];
        }

        Assert.Equal(Lines(whole), Lines(invite));
        Assert.Equal(Lines(whole), Lines(SipTransactionEcho.FromRoute(invite.Route.ToArray(), callId)));
        Assert.Contains($"Call-ID: {callId}", Lines(invite));

        // Without the call's id a route that left it out answers nothing; one that kept it (journaled before) needs none.
        Assert.Throws<InvalidDataException>(() => SipTransactionEcho.FromRoute(invite.Route.ToArray()));
        Assert.Throws<InvalidDataException>(() => SipTransactionEcho.FromRoute(invite.Route.ToArray(), "caf\u00e9"));
        Assert.Throws<InvalidDataException>(() => SipTransactionEcho.FromRoute(invite.Route.ToArray(), "x\r\nVia: injected"));
        Assert.Equal(Lines(whole), Lines(SipTransactionEcho.FromRoute(whole.Route.ToArray(), "ignored")));
    }
}
