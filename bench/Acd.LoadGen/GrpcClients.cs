using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;

namespace Acd.LoadGen;

/// <summary>A gRPC call that ended with a status other than OK.</summary>
internal sealed class GrpcCallException(int status, string message) : Exception($"gRPC status {status}: {message}")
{
    public int Status { get; } = status;
}

/// <summary>Unary gRPC over HTTP/2 without TLS with a plain <see cref="HttpClient"/> (Grpc.Net.Client is not available here).</summary>
internal sealed class GrpcUnary : IDisposable
{
    private readonly HttpClient _http;
    private readonly string? _token;

    public GrpcUnary(string endpoint, string? token)
    {
        _http = new HttpClient(new SocketsHttpHandler { EnableMultipleHttp2Connections = true }) { BaseAddress = new Uri($"http://{endpoint}") };
        _token = token;
    }

    public async Task<TResponse> CallAsync<TResponse>(string path, IMessage request, MessageParser<TResponse> parser, CancellationToken cancelled)
        where TResponse : IMessage<TResponse>
    {
        var payload = request.ToByteArray();
        var body = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(body, 5);
        using var message = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        message.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        if (_token is not null)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        }

        using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancelled).ConfigureAwait(false);
        var bytes = await response.Content.ReadAsByteArrayAsync(cancelled).ConfigureAwait(false);
        var status = Header(response, "grpc-status") ?? "2";
        if (!string.Equals(status, "0", StringComparison.Ordinal))
        {
            throw new GrpcCallException(int.Parse(status, System.Globalization.CultureInfo.InvariantCulture), Uri.UnescapeDataString(Header(response, "grpc-message") ?? string.Empty));
        }

        if (bytes.Length < 5)
        {
            throw new GrpcCallException(13, "no message in the response");
        }

        var length = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(1));
        return parser.ParseFrom(bytes.AsSpan(5, length));
    }

    public void Dispose() => _http.Dispose();

    private static string? Header(HttpResponseMessage response, string name) =>
        response.TrailingHeaders.TryGetValues(name, out var t) ? t.FirstOrDefault()
        : response.Headers.TryGetValues(name, out var h) ? h.FirstOrDefault() : null;
}
