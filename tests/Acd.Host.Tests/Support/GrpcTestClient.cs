using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Acd.Host.Grpc;
using Google.Protobuf;

namespace Acd.Host.Tests.Support;

/// <summary>The status of a gRPC call and where it was found (trailers, or headers for trailers-only).</summary>
public sealed record GrpcResult<T>(GrpcStatus Status, string? Message, T? Response, bool TrailersOnly, HttpResponseMessage Http)
{
    public T Ok => Status == GrpcStatus.Ok ? Response! : throw new InvalidOperationException($"{Status}: {Message}");
}

/// <summary>A plain HttpClient speaking gRPC over HTTP/2 without TLS (prior knowledge), as a test client.</summary>
public sealed class GrpcTestClient : IDisposable
{
    private readonly HttpClient _http;

    public GrpcTestClient(IPEndPoint endpoint, string? token = null)
    {
        _http = new HttpClient(new SocketsHttpHandler { EnableMultipleHttp2Connections = true })
        {
            BaseAddress = new Uri($"http://{endpoint}"),
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(30),
        };
        Token = token;
    }

    public string? Token { get; set; }

    public static byte[] Frame(IMessage message, byte flag = 0)
    {
        var payload = message.ToByteArray();
        var frame = new byte[5 + payload.Length];
        frame[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }

    public HttpRequestMessage Request(string path, byte[] body, string contentType = "application/grpc", string? timeout = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new ByteArrayContent(body),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TryAddWithoutValidation("te", "trailers");
        if (Token is not null)
        {
            request.Headers.TryAddWithoutValidation("authorization", "Bearer " + Token);
        }

        if (timeout is not null)
        {
            request.Headers.TryAddWithoutValidation("grpc-timeout", timeout);
        }

        return request;
    }

    public async Task<GrpcResult<TResponse>> UnaryAsync<TResponse>(string path, IMessage request, MessageParser<TResponse> parser, string? timeout = null)
        where TResponse : IMessage<TResponse>
    {
        var results = await CallAsync(Request(path, Frame(request), timeout: timeout), parser);
        return results.Result with { Response = results.Messages.SingleOrDefault() };
    }

    /// <summary>Sends a request and reads every message, then the status.</summary>
    public async Task<(GrpcResult<TResponse> Result, List<TResponse> Messages)> CallAsync<TResponse>(HttpRequestMessage request, MessageParser<TResponse> parser, CancellationToken cancel = default)
        where TResponse : IMessage<TResponse>
    {
        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
        var messages = new List<TResponse>();
        if (response.Headers.TryGetValues("grpc-status", out var headerStatus))
        {
            var message = response.Headers.TryGetValues("grpc-message", out var m) ? GrpcMessageEncoding.Decode(m.First()) : null;
            var body = await response.Content.ReadAsByteArrayAsync(cancel);
            Assert.Empty(body);
            return (new GrpcResult<TResponse>((GrpcStatus)int.Parse(headerStatus.First(), System.Globalization.CultureInfo.InvariantCulture), message, default, true, response), messages);
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cancel);
        var header = new byte[5];
        while (await ReadExactlyOrEndAsync(stream, header, cancel))
        {
            var payload = new byte[BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(1))];
            await stream.ReadExactlyAsync(payload, cancel);
            messages.Add(parser.ParseFrom(payload));
        }

        var trailers = response.TrailingHeaders;
        var status = trailers.TryGetValues("grpc-status", out var s) ? (GrpcStatus)int.Parse(s.First(), System.Globalization.CultureInfo.InvariantCulture) : GrpcStatus.Unknown;
        var text = trailers.TryGetValues("grpc-message", out var t) ? GrpcMessageEncoding.Decode(t.First()) : null;
        return (new GrpcResult<TResponse>(status, text, default, false, response), messages);
    }

    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancel = default) => _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);

    private static async Task<bool> ReadExactlyOrEndAsync(Stream stream, byte[] buffer, CancellationToken cancel)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(read), cancel);
            if (n == 0)
            {
                return read == 0 ? false : throw new EndOfStreamException("stream ended inside a frame header");
            }

            read += n;
        }

        return true;
    }

    public void Dispose() => _http.Dispose();
}
