using Acd.Host.Tests.Support;

namespace Acd.Host.Tests.Sip;

/// <summary>
/// The RFC 4475 torture messages (Data/rfc4475, recreated from the RFC's own archive by extract.py), each sent on its own
/// TCP connection to a daemon, and the answer held against what the RFC expects of an element in ACD's role — a
/// registrar and redirect server over a stream transport. Where the RFC leaves a choice ("400 is reasonable", "liberal
/// elements may ignore…"), the expectation says which one ACD makes.
/// </summary>
public sealed class Rfc4475Tests(Rfc4475Tests.DaemonFixture fixture) : IClassFixture<Rfc4475Tests.DaemonFixture>
{
    /// <summary>What must happen: <c>final=N</c> (the last answer), <c>final!=400</c> (any final answer but a syntax refusal),
    /// <c>+closed</c> (then the connection closes), <c>silent</c> (no answer and the connection stays: a response, or a
    /// message still waiting for its end), <c>any</c> (no crash; anything else goes).</summary>
    public static readonly TheoryData<string, string, string> Expected = new()
    {
        // §3.1.1 valid messages: parsed and served.
        { "wsinv", "final!=400", "3.1.1.1 a short tortuous INVITE" },
        { "intmeth", "final=501", "3.1.1.2 unusual token characters: an unknown method, 501 with Allow" },
        { "esc01", "final!=400", "3.1.1.3 valid % escapes" },
        { "escnull", "final=404", "3.1.1.4 %00 in the address of record: no agent has it" },
        { "esc02", "final=501", "3.1.1.5 % that is no escape, in a method" },
        { "lwsdisp", "final=200", "3.1.1.6 no LWS before <" },
        { "longreq", "final!=400", "3.1.1.7 long values, 34 Vias" },
        { "dblreq", "any", "3.1.1.8 trailing octets of a UDP datagram: over TCP they are a next message" },
        { "semiuri", "final=200", "3.1.1.9 ; in the user part" },
        { "transports", "final=200", "3.1.1.10 unknown transports in Via" },
        { "mpart01", "final=405", "3.1.1.11 a multipart MESSAGE: framed, MESSAGE not served" },
        { "unreason", "silent", "3.1.1.12 a UTF-8 reason phrase: a response, never answered, connection kept" },
        { "noreason", "silent", "3.1.1.13 an empty reason phrase" },

        // §3.1.2 invalid messages: refused, and nothing else disturbed.
        { "badinv01", "final=400", "3.1.2.1 extraneous header separators" },
        { "clerr", "silent", "3.1.2.2 Content-Length larger than the message: a stream waits for the rest" },
        { "ncl", "final=400+closed", "3.1.2.3 negative Content-Length: framing lost" },
        { "scalar02", "final=400", "3.1.2.4 overlarge CSeq" },
        { "scalarlg", "silent", "3.1.2.5 a response with overlarge values: dropped" },
        { "quotbal", "final=400", "3.1.2.6 unterminated quoted display name" },
        { "ltgtruri", "final=400", "3.1.2.7 <> around the Request-URI" },
        { "lwsruri", "final=400", "3.1.2.8 LWS inside the Request-URI" },
        { "lwsstart", "final=400", "3.1.2.9 several SPs in the request line" },
        { "trws", "final=400", "3.1.2.10 SPs at the end of the request line" },
        { "escruri", "final=400", "3.1.2.11 escaped headers in a SIP Request-URI" },
        { "baddate", "final!=400", "3.1.2.12 a Date in EST: ACD ignores Date" },
        { "regbadct", "final=400", "3.1.2.13 an addr-spec Contact with an escaped header and no <>" },
        { "badaspec", "any", "3.1.2.14 spaces inside <>" },
        { "baddn", "silent", "3.1.2.15 non-token display name; the file has no blank line, so the message never ends" },
        { "badvers", "final=505", "3.1.2.16 SIP/7.0" },
        { "mismatch01", "final=400", "3.1.2.17 CSeq method unlike the request's" },
        { "mismatch02", "final=400", "3.1.2.18 unknown method with a CSeq mismatch (400 or 501)" },
        { "bigcode", "silent", "3.1.2.19 an overlarge status code: dropped" },

        // §3.2, §3.3, §3.4.
        { "badbranch", "any", "3.2.1 a branch that is only the magic cookie" },
        { "insuf", "final=400", "3.3.1 missing Call-ID, From, To" },
        { "unkscm", "final=416", "3.3.2 unknown Request-URI scheme" },
        { "novelsc", "final=416", "3.3.3 a scheme ACD never accepts" },
        { "unksm2", "final=400", "3.3.4 a registrar's To must be a SIP address of record" },
        { "bext01", "final=420", "3.3.5 an unsupported Require: 420 with Unsupported" },
        { "invut", "final!=400", "3.3.6 an unknown Content-Type: a redirect server does not read the body" },
        { "regaut01", "final!=400", "3.3.7 an unknown Authorization scheme, ignored" },
        { "multi01", "final=400", "3.3.8 single-valued headers twice" },
        { "mcl01", "final=400+closed", "3.3.9 two Content-Lengths: framing lost" },
        { "bcast", "silent", "3.3.10 a 200 with a broadcast Via: a response, not acted on" },
        { "zeromf", "final=200", "3.3.11 Max-Forwards 0 to an endpoint" },
        { "cparam01", "final!=400", "3.3.12 a contact parameter" },
        { "cparam02", "final!=400", "3.3.13 a URI parameter in a contact" },
        { "regescrt", "final!=400", "3.3.14 an escaped header in a Contact in <>" },
        { "sdp01", "any", "3.3.15 an Accept without SDP: a redirect carries no body" },
        { "inv2543", "final=400+closed", "3.4.1 RFC 2543 syntax without Content-Length: on a stream it cannot be framed" },
    };

    [Theory]
    [MemberData(nameof(Expected))]
    public async Task Each_torture_message_is_answered_as_the_RFC_expects(string name, string expected, string what)
    {
        var d = fixture.Daemon;
        var bytes = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "Data", "rfc4475", name + ".dat"));
        await using var c = await SipTestClient.ConnectAsync(d.Sip!);
        await c.SendAsync(bytes);
        var (answers, closed) = await ObserveAsync(c);
        var seen = (answers.Count == 0 ? "silent" : string.Join(" ", answers.Select(a => a.Status))) + (closed ? " closed" : string.Empty);
        var finalAnswer = answers.LastOrDefault(a => a.Status >= 200);
        var ok = expected switch
        {
            "any" => true,
            "silent" => answers.Count == 0 && !closed,
            "final!=400" => finalAnswer is not null && finalAnswer.Status != 400 && !closed,
            _ when expected.StartsWith("final=", StringComparison.Ordinal) => finalAnswer is not null
                && finalAnswer.Status == int.Parse(expected[6..9], System.Globalization.CultureInfo.InvariantCulture)
                && closed == expected.EndsWith("+closed", StringComparison.Ordinal),
            _ => throw new ArgumentOutOfRangeException(nameof(expected), expected, "unknown expectation"),
        };
        Assert.True(ok, $"{name} ({what}): expected {expected}, saw {seen}");

        if (name == "bext01")
        {
            Assert.Equal("nothingSupportsThis, nothingSupportsThisEither", finalAnswer!["Unsupported"]);
        }

        if (name is "intmeth" or "esc02")
        {
            Assert.Equal("INVITE, ACK, CANCEL, BYE, REGISTER, OPTIONS", finalAnswer!["Allow"]);
        }

        // Whatever came, the daemon serves the next peer.
        await using var next = await SipTestClient.ConnectAsync(d.Sip!);
        await next.SendAsync(Support.Sip.Request("OPTIONS", "after-" + name));
        Assert.Equal(200, (await next.ReadAsync()).Status);
    }

    /// <summary>Every answer until a final one and a short quiet after it (or 1.5 s of silence), and whether the daemon closed.</summary>
    private static async Task<(List<SipReply> Answers, bool Closed)> ObserveAsync(SipTestClient c)
    {
        var answers = new List<SipReply>();
        while (true)
        {
            try
            {
                var reply = await c.ReadAsync(answers.Any(a => a.Status >= 200) ? 0.3 : 1.5);
                answers.Add(reply);
            }
            catch (OperationCanceledException)
            {
                return (answers, false);
            }
            catch (Exception e) when (e is EndOfStreamException or IOException)
            {
                return (answers, true);
            }
        }
    }

    /// <summary>One daemon for every message (each on its own connection), with agents enough that every INVITE is redirected at once.</summary>
    public sealed class DaemonFixture : IAsyncLifetime
    {
        public TestDaemon Daemon { get; private set; } = null!;

        public async Task InitializeAsync() => Daemon = await TestDaemon.StartAsync(TestDaemon.Centre(agents: 100));

        public async Task DisposeAsync() => await Daemon.DisposeAsync();
    }
}
