using System.Buffers;
using System.Text;
using Acd.Core.Sip;

namespace Acd.Core.Tests.Support;

/// <summary>Answer routes as the SIP port writes them, for router tests.</summary>
public static class SipRoutes
{
    /// <summary>The route of an INVITE that arrives while calls wait (format 4: it keeps the call id and the caller).</summary>
    public static byte[] Waiting(string callId, string caller)
    {
        var text = $"INVITE sip:10086@acd SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bK-{callId}\r\n"
            + $"From: <sip:{caller}@ims.test>;tag=f-{callId}\r\nTo: <sip:10086@acd>\r\nCall-ID: {callId}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(text)));
        var message = new SipMessage();
        byte[]? scratch = null;
        if (SipParser.TryParse(ref reader, new SipLimits(), message, ref scratch) != SipParseResult.Message)
        {
            throw new InvalidOperationException("not an INVITE");
        }

        return SipTransactionEcho.CaptureWaiting(message, 7, [10, 0, 0, 1], callId, caller).Route;
    }
}
