using System.Text;

namespace Acd.Benchmarks.Workloads;

/// <summary>SIP messages shared by the parser tests and benchmarks.</summary>
public static class SipSamples
{
    /// <summary>A typical INVITE as a proxy forwards it: three Via, 510 bytes (a redirect server needs no SDP).</summary>
    public static readonly string Invite =
        "INVITE sip:10086@acd.example.cn SIP/2.0\r\n" +
        "Via: SIP/2.0/TCP 10.1.2.3:5060;branch=z9hG4bK-524287-1---aa7b\r\n" +
        "Via: SIP/2.0/TCP 10.1.2.4:5060;branch=z9hG4bK-1c2d3e;rport=5060\r\n" +
        "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnashds8;received=192.0.2.10\r\n" +
        "Max-Forwards: 68\r\n" +
        "From: \"13800138000\" <sip:13800138000@ims.example.cn>;tag=1928301774\r\n" +
        "To: <sip:10086@acd.example.cn>\r\n" +
        "Call-ID: a84b4c76e66710@pc33.example.cn\r\n" +
        "CSeq: 314159 INVITE\r\n" +
        "Contact: <sip:13800138000@192.0.2.10:5060>\r\n" +
        "X-Acd-Priority: 3\r\n" +
        "Content-Length: 0\r\n" +
        "\r\n";

    /// <summary>The INVITE as bytes.</summary>
    public static readonly byte[] InviteBytes = Encoding.ASCII.GetBytes(Invite);
}
