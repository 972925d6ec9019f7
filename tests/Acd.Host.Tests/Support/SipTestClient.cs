using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Acd.Core.Sip;

namespace Acd.Host.Tests.Support;

/// <summary>A SIP response as read off the wire.</summary>
public sealed record SipReply(int Status, string StartLine, IReadOnlyList<(string Name, string Value)> Headers, string Raw)
{
    public string? this[string name] => Headers.FirstOrDefault(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase)).Value;

    public IEnumerable<string> All(string name) => Headers.Where(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value);

    public override string ToString() => Raw;
}

/// <summary>A raw TCP SIP peer: writes text, reads responses framed by Content-Length.</summary>
public sealed class SipTestClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly PipeReader _reader;
    private readonly SipMessage _message = new();
    private readonly SipLimits _limits = new() { MaxBodyBytes = 1 << 20, MaxHeaderBytes = 1 << 20, MaxHeaders = 1024 };

    private SipTestClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        _reader = PipeReader.Create(_stream);
    }

    /// <summary>Connects; from <paramref name="source"/> when given (any 127.x.y.z address works on loopback: an "other host" for trust tests).</summary>
    public static async Task<SipTestClient> ConnectAsync(IPEndPoint endpoint, IPAddress? source = null)
    {
        var tcp = source is null ? new TcpClient() : new TcpClient(new IPEndPoint(source, 0));
        await tcp.ConnectAsync(endpoint);
        tcp.NoDelay = true;
        return new SipTestClient(tcp);
    }

    /// <summary>The client's own address and port.</summary>
    public IPEndPoint Local => (IPEndPoint)_tcp.Client.LocalEndPoint!;

    /// <summary>Speaks SIP over a connection the daemon opened (an accepted one).</summary>
    public static SipTestClient Over(TcpClient accepted)
    {
        ArgumentNullException.ThrowIfNull(accepted);
        accepted.NoDelay = true;
        return new SipTestClient(accepted);
    }

    public async Task SendAsync(string text) => await _stream.WriteAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] bytes) => await _stream.WriteAsync(bytes);

    /// <summary>The next response, or a failure after <paramref name="seconds"/>.</summary>
    public async Task<SipReply> ReadAsync(double seconds = 10)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        while (true)
        {
            var result = await _reader.ReadAsync(timeout.Token);
            var buffer = result.Buffer;
            if (buffer.Length >= 2 && buffer.FirstSpan[0] == '\r' && buffer.Slice(1).FirstSpan[0] == '\n'
                && (buffer.Length == 2 || buffer.Slice(2).FirstSpan[0] != '\r'))
            {
                // A single CRLF: the pong to a keep-alive ping.
                _reader.AdvanceTo(buffer.GetPosition(2));
                return new SipReply(0, "PONG", [], "\r\n");
            }

            var reader = new SequenceReader<byte>(buffer);
            byte[]? scratch = null;
            var parsed = SipParser.TryParse(ref reader, _limits, _message, ref scratch);
            if (parsed is SipParseResult.Message or SipParseResult.Malformed)
            {
                var raw = Encoding.UTF8.GetString(_message.Frame.Span);
                var headers = _message.Headers.ToArray()
                    .Select(h => (Encoding.UTF8.GetString(_message[h.Name]), Encoding.UTF8.GetString(_message[h.Value])))
                    .ToList();
                var startLine = raw[..raw.IndexOf("\r\n", StringComparison.Ordinal)];
                _reader.AdvanceTo(reader.Position);
                return new SipReply(_message.StatusCode, startLine, headers, raw);
            }

            if (parsed == SipParseResult.KeepAlive)
            {
                _reader.AdvanceTo(reader.Position);
                return new SipReply(0, "PONG", [], "\r\n");
            }

            if (parsed == SipParseResult.Broken)
            {
                throw new InvalidOperationException("unparsable data from the daemon: " + Encoding.UTF8.GetString(buffer.ToArray()));
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                throw new EndOfStreamException("the daemon closed the connection");
            }
        }
    }

    /// <summary>Reads until a response with one of the statuses comes (returning all read on the way).</summary>
    public async Task<List<SipReply>> ReadUntilAsync(params int[] statuses)
    {
        var all = new List<SipReply>();
        while (true)
        {
            var r = await ReadAsync();
            all.Add(r);
            if (statuses.Contains(r.Status))
            {
                return all;
            }
        }
    }

    /// <summary>Whether the daemon closes the connection within <paramref name="seconds"/> (after any data it sends).</summary>
    public async Task<bool> ClosedAsync(double seconds = 10)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        try
        {
            while (true)
            {
                var result = await _reader.ReadAsync(timeout.Token);
                _reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>Whether nothing arrives within <paramref name="seconds"/>.</summary>
    public async Task<bool> SilentAsync(double seconds)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        try
        {
            var result = await _reader.ReadAsync(timeout.Token);
            _reader.AdvanceTo(result.Buffer.Start);
            return false;
        }
        catch (OperationCanceledException)
        {
            return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _reader.CompleteAsync();
        _tcp.Dispose();
    }
}

/// <summary>Requests as a proxy would send them.</summary>
public static class Sip
{
    public static string Request(string method, string callId, int cseq = 1, string uri = "sip:10086@acd.test", string extra = "", string to = "<sip:10086@acd.test>", string body = "", string? cseqMethod = null, int vias = 2, string from = "13800138000")
    {
        var via = string.Concat(Enumerable.Range(0, vias).Select(i => $"Via: SIP/2.0/TCP 10.0.0.{i + 1}:5060;branch=z9hG4bK-{callId}-{i}\r\n"));
        return $"{method} {uri} SIP/2.0\r\n{via}Max-Forwards: 70\r\nFrom: <sip:{from}@ims.test>;tag=from-{callId}\r\nTo: {to}\r\nCall-ID: {callId}\r\nCSeq: {cseq} {cseqMethod ?? method}\r\n{extra}Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}";
    }

    public static string Invite(string callId, string extra = "", int vias = 2, string from = "13800138000") => Request("INVITE", callId, extra: extra, vias: vias, from: from);

    public static string Register(string agent, int expires = 3600, string contact = "<sip:phone@10.9.9.9:5070>")
        => Request("REGISTER", "reg-" + agent + "-" + expires, uri: "sip:acd.test", to: $"<sip:{agent}@acd.test>", extra: $"Contact: {contact}\r\nExpires: {expires}\r\n");
}
