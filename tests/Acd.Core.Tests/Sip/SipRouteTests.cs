using System.Buffers;
using System.Text;
using Acd.Core.Sip;

namespace Acd.Core.Tests.Sip;

/// <summary>
/// An INVITE's answer route in its compact form (format 3, and format 4 with the call's id and caller): what a waiting
/// call keeps to answer its caller later.
/// </summary>
public sealed class SipRouteTests
{
    private static SipMessage Parse(string headers)
    {
        var text = $"INVITE sip:10086@acd SIP/2.0\r\n{headers}Content-Length: 0\r\n\r\n";
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(text)));
        var message = new SipMessage();
        byte[]? scratch = null;
        Assert.Equal(SipParseResult.Message, SipParser.TryParse(ref reader, new SipLimits(), message, ref scratch));
        return message;
    }

    private static string Written(SipTransactionEcho echo, bool addTag)
    {
        var w = new ArrayBufferWriter<byte>();
        echo.Write(w, addTag);
        return Encoding.UTF8.GetString(w.WrittenSpan);
    }

    /// <summary>The echo's lines, the Call-ID's place among them aside.</summary>
    private static string[] Lines(SipTransactionEcho echo, bool addTag) =>
        [.. Written(echo, addTag).Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)];

    private const string Generators =
        "Via: SIP/2.0/TCP 127.0.0.1:45678;branch=z9hG4bK7f3a9c21-0-81234-3-1\r\n"
        + "From: <sip:13700081234@callers.invalid>;tag=c13700081234\r\nTo: <sip:10086@acd.invalid>\r\n"
        + "Call-ID: 7f3a9c21-0-81234-3\r\nCSeq: 1 INVITE\r\n";

    /// <summary>Behind a proxy: its Via on top, the phone's with received and rport, a display name, a To with parameters.</summary>
    private const string Proxied =
        "Via: SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bKd1e4.8a1c0b6f.0;i=1\r\n"
        + "Via: SIP/2.0/UDP 192.168.1.20:5060;received=203.0.113.7;rport=40512;branch=z9hG4bK-524287-1---abc\r\n"
        + "From: \"Zhang San\" <sip:+8613800138000@ims.example.cn;user=phone>;tag=as6f3e2a1b\r\n"
        + "To: <sip:10086@acd.example.cn;transport=tcp>\r\nCall-ID: 3c26@192.168.1.20\r\nCSeq: 102 INVITE\r\n";

    public static TheoryData<string> Invites => new()
    {
        Generators,
        Proxied,
        // Compact header names, a folded To, a CSeq kept as written (extra spaces), a large CSeq.
        "v: SIP/2.0/TLS gw.example.cn:5061;branch=z9hG4bKx;alias\r\nf: <sips:8001@pbx>;tag=9\r\nt: <sip:10086@acd>;\r\n x=1\r\ni: a@b\r\nCSeq:   7   INVITE\r\n",
        "Via: SIP/2.0/TCP a:5060;branch=z9hG4bK1, SIP/2.0/TCP b;lr\r\nFrom: <sip:1@a>;tag=1\r\nTo: <sip:10086@acd>;tag=given\r\nCall-ID: c1@a\r\nCSeq: 2147483647 INVITE\r\n",
        // A display name in UTF-8 with a quoted quote, a tab; pieces cut short (";rport" alone, "<sip" without its colon).
        "Via: SIP/2.0/TCP a:5060;rport;branch=z9hG4bK1\r\nFrom: \"张\\\"\t三\" <sip:1@a>;tag=1\r\nTo: \"<sip\" <sip:10086@acd>\r\nCall-ID: c1@a\r\nCSeq: 0 INVITE\r\n",
    };

    [Theory]
    [MemberData(nameof(Invites))]
    public void A_compact_route_answers_with_the_same_lines_as_the_request_had_live_and_read_back(string headers)
    {
        var m = Parse(headers);
        var callId = SipValues.ToAscii(m.Value(SipHeader.CallId));
        var whole = SipTransactionEcho.Capture(m, 42, [10, 0, 0, 5]);
        var invite = SipTransactionEcho.Capture(m, 42, [10, 0, 0, 5], callId);
        Assert.Equal(3, invite.Route[0]);
        var asReceived = SipTransactionEcho.Capture(m, 42, [10, 0, 0, 5], callId, compact: false);
        Assert.Equal(2, asReceived.Route[0]);
        var recovered = SipTransactionEcho.FromRoute([.. invite.Route], callId);
        foreach (var addTag in new[] { false, true })
        {
            Assert.Equal(Lines(whole, addTag), Lines(invite, addTag));
            Assert.Equal(Written(asReceived, addTag), Written(invite, addTag));
            Assert.Equal(Written(asReceived, addTag), Written(SipTransactionEcho.FromRoute([.. asReceived.Route], callId), addTag));
            Assert.Equal(Written(invite, addTag), Written(recovered, addTag));
        }

        Assert.Equal(new byte[] { 10, 0, 0, 5 }, recovered.PeerAddress.ToArray());
        Assert.Equal(whole.TryGetTopViaPort("TCP"u8, 5060, out var expected), recovered.TryGetTopViaPort("TCP"u8, 5060, out var port));
        Assert.Equal(expected, port);
    }

    [Theory]
    [MemberData(nameof(Invites))]
    public void A_waiting_calls_route_keeps_its_id_and_caller_and_answers_as_the_compact_one(string headers)
    {
        var m = Parse(headers);
        var callId = SipValues.ToAscii(m.Value(SipHeader.CallId));
        var compact = SipTransactionEcho.Capture(m, 42, [10, 0, 0, 5], callId);
        var waiting = SipTransactionEcho.CaptureWaiting(m, 42, [10, 0, 0, 5], callId, "+8613800138000");
        Assert.Equal(4, waiting.Route[0]);
        Assert.True(SipTransactionEcho.TryGetIdentity(waiting.Route, out var id, out var caller));
        Assert.Equal(callId, Encoding.ASCII.GetString(id));
        Assert.Equal("+8613800138000", Encoding.ASCII.GetString(caller));
        Assert.False(SipTransactionEcho.TryGetIdentity(compact.Route, out _, out _));

        // Read back with the call's id or without it (the route's own is written then).
        var withId = SipTransactionEcho.FromRoute([.. waiting.Route], callId);
        var withoutId = SipTransactionEcho.FromRoute([.. waiting.Route]);
        foreach (var addTag in new[] { false, true })
        {
            Assert.Equal(Written(compact, addTag), Written(waiting, addTag));
            Assert.Equal(Written(compact, addTag), Written(withId, addTag));
            Assert.Equal(Written(compact, addTag), Written(withoutId, addTag));
        }

        Assert.Equal(new byte[] { 10, 0, 0, 5 }, withoutId.PeerAddress.ToArray());
        Assert.Equal(compact.TryGetTopViaPort("TCP"u8, 5060, out var expected), withoutId.TryGetTopViaPort("TCP"u8, 5060, out var port));
        Assert.Equal(expected, port);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("张三")]
    [InlineData("a b")]
    public void A_caller_that_is_not_printable_ascii_is_left_to_the_call(string? caller)
    {
        var m = Parse(Generators);
        var callId = SipValues.ToAscii(m.Value(SipHeader.CallId));
        var waiting = SipTransactionEcho.CaptureWaiting(m, 42, [], callId, caller);
        Assert.True(SipTransactionEcho.TryGetIdentity(waiting.Route, out var id, out var kept));
        Assert.Equal(callId, Encoding.ASCII.GetString(id));
        Assert.True(kept.IsEmpty);
        Assert.Equal(Written(SipTransactionEcho.Capture(m, 42, [], callId), true), Written(SipTransactionEcho.FromRoute(waiting.Route), true));

        // Nor is a caller longer than 256 characters.
        var longCaller = SipTransactionEcho.CaptureWaiting(m, 42, [], callId, new string('1', 257));
        Assert.True(SipTransactionEcho.TryGetIdentity(longCaller.Route, out _, out kept));
        Assert.True(kept.IsEmpty);
    }

    [Fact]
    public void The_call_id_and_caller_belong_to_format_4_only_and_the_call_id_comes_first()
    {
        var m = Parse(Proxied);
        var callId = SipValues.ToAscii(m.Value(SipHeader.CallId));
        var waiting = SipTransactionEcho.CaptureWaiting(m, 42, [10, 0, 0, 5], callId, "8001").Route;
        var compact = SipTransactionEcho.Capture(m, 42, [10, 0, 0, 5], callId).Route;

        byte[] asFormat3 = [3, .. waiting.AsSpan(1)];
        Assert.Throws<InvalidDataException>(() => SipTransactionEcho.FromRoute(asFormat3, callId));
        byte[] asFormat4 = [4, .. compact.AsSpan(1)];
        Assert.Throws<InvalidDataException>(() => SipTransactionEcho.FromRoute(asFormat4, callId));
        Assert.False(SipTransactionEcho.TryGetIdentity(asFormat4, out _, out _));

        // Without the call's id, a route that does not carry one cannot be answered.
        Assert.Throws<InvalidDataException>(() => SipTransactionEcho.FromRoute(compact));
        Assert.Throws<InvalidDataException>(() => SipTransactionEcho.FromRoute(waiting, "not ascii: é"));
    }

    [Fact]
    public void The_load_generators_invite_keeps_under_two_thirds_of_the_bytes_its_lines_take()
    {
        var m = Parse(Generators);
        var callId = SipValues.ToAscii(m.Value(SipHeader.CallId));
        var whole = SipTransactionEcho.Capture(m, 42, [127, 0, 0, 1]);
        var lines = whole.Route.Length - ("Call-ID: " + callId + "\r\n").Length; // route format 2: the lines without the Call-ID
        var compact = SipTransactionEcho.Capture(m, 42, [127, 0, 0, 1], callId).Route.Length;
        Assert.True(compact * 3 < lines * 2, $"{compact} bytes against {lines}");
    }

    [Fact]
    public void Any_bytes_come_back_from_the_codec_as_they_were()
    {
        var random = new Random(18);
        string[] pieces = ["SIP/2.0/TCP ", ";branch=z9hG4bK", ";rport", ";rport=", ">;tag=", ";tag=", "<sip:", "<sips:", ":5060", "sip:", ";transport=tcp", ";i="];
        var buffer = new byte[4096];
        for (var round = 0; round < 20_000; round++)
        {
            var value = new List<byte>();
            var parts = random.Next(12);
            for (var p = 0; p < parts; p++)
            {
                if (random.Next(3) == 0)
                {
                    var piece = Encoding.ASCII.GetBytes(pieces[random.Next(pieces.Length)]);
                    value.AddRange(random.Next(4) == 0 ? piece[..random.Next(piece.Length)] : piece); // whole, or cut short
                }
                else
                {
                    for (var k = random.Next(1, 8); k > 0; k--)
                    {
                        value.Add((byte)(random.Next(2) == 0 ? random.Next(0x20) : random.Next(256)));
                    }
                }
            }

            var original = value.ToArray();
            var written = SipRouteCodec.Encode(original, buffer);
            Assert.True(written <= SipRouteCodec.MaxEncodedLength(original.Length));
            Assert.True(SipRouteCodec.TryGetDecodedLength(buffer.AsSpan(0, written), out var length));
            Assert.Equal(original.Length, length);
            var decoded = new byte[length];
            Assert.Equal(length, SipRouteCodec.Decode(buffer.AsSpan(0, written), decoded));
            Assert.Equal(original, decoded);
        }
    }

    [Theory]
    [InlineData(new byte[] { 0x00 })]
    [InlineData(new byte[] { (byte)'a', 0x1C })]
    [InlineData(new byte[] { 0x1E })]
    [InlineData(new byte[] { (byte)'a', 0x1F })]
    [InlineData(new byte[] { 0x1F, (byte)'a' })]
    [InlineData(new byte[] { 0x1F, (byte)'\r' })]
    public void Bytes_the_codec_never_writes_are_not_a_value(byte[] encoded) =>
        Assert.False(SipRouteCodec.TryGetDecodedLength(encoded, out _));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_damaged_compact_route_is_refused_or_answers_without_failing_never_anything_else(bool withIdentity)
    {
        var m = Parse(Proxied);
        var callId = SipValues.ToAscii(m.Value(SipHeader.CallId));
        var route = withIdentity
            ? SipTransactionEcho.CaptureWaiting(m, 42, [10, 0, 0, 5], callId, "8613800138000").Route
            : SipTransactionEcho.Capture(m, 42, [10, 0, 0, 5], callId).Route;

        // Cut short anywhere: refused.
        for (var length = 0; length < route.Length; length++)
        {
            Assert.Throws<InvalidDataException>(() => SipTransactionEcho.FromRoute(route[..length], callId));
            SipTransactionEcho.TryGetIdentity(route[..length], out _, out _);
        }

        // Any byte changed to any value: refused, or an echo that writes lines of the length it announced.
        var refused = 0;
        for (var at = 0; at < route.Length; at++)
        {
            foreach (var value in new byte[] { 0x00, 0x01, 0x1F, 0x7F, 0x80, 0xFF, (byte)'C', (byte)'T', (byte)'V', (byte)'I', (byte)'U', (byte)(route[at] + 1) })
            {
                var damaged = route.ToArray();
                damaged[at] = value;
                SipTransactionEcho.TryGetIdentity(damaged, out _, out _); // never throws: the router asks it of any client's bytes
                try
                {
                    var echo = SipTransactionEcho.FromRoute(damaged, callId);
                    Written(echo, addTag: true);
                    echo.TryGetTopViaPort("TCP"u8, 5060, out _);
                }
                catch (InvalidDataException)
                {
                    refused++;
                }
            }
        }

        Assert.True(refused > route.Length, $"{refused} of {route.Length * 12} damaged routes refused");
    }

    [Theory]
    [MemberData(nameof(Invites))]
    public void Routes_journaled_in_the_older_formats_still_answer_the_same(string headers)
    {
        var m = Parse(headers);
        var callId = SipValues.ToAscii(m.Value(SipHeader.CallId));
        var live = SipTransactionEcho.Capture(m, 42, [10, 0, 0, 5], callId);

        // Format 1 (every line), and format 2 as releases before issue 18's fourth step wrote an INVITE's: format 1 without
        // its Call-ID line.
        var format1 = SipTransactionEcho.Capture(m, 42, [10, 0, 0, 5]).Route.ToArray();
        var line = Encoding.ASCII.GetBytes($"Call-ID: {callId}\r\n");
        var at = format1.AsSpan().IndexOf(line);
        Assert.True(at > 0);
        byte[] format2 = [2, .. format1.AsSpan(1, at - 1), .. format1.AsSpan(at + line.Length)];
        foreach (var addTag in new[] { false, true })
        {
            Assert.Equal(Lines(live, addTag), Lines(SipTransactionEcho.FromRoute(format1, "ignored"), addTag));
            Assert.Equal(Lines(live, addTag), Lines(SipTransactionEcho.FromRoute(format2, callId), addTag));
        }
    }
}
