using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;

namespace Acd.Host.Grpc;

/// <summary>Settings of the gRPC endpoint.</summary>
public sealed class GrpcSettings
{
    /// <summary>Largest message accepted or sent, in bytes. Default 4 MiB, as gRPC's own default.</summary>
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Events buffered per Watch stream before a slow watcher is dropped. Default 10,000.</summary>
    public int WatchBuffer { get; set; } = 10_000;

    /// <summary>PFX certificate file for TLS; empty: HTTP/2 without TLS.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>Password of the PFX file.</summary>
    public string? CertificatePassword { get; set; }
}

/// <summary>What a handler sees of its call.</summary>
public sealed class GrpcContext(HttpContext http, CancellationToken cancelled)
{
    /// <summary>The HTTP/2 exchange.</summary>
    public HttpContext Http { get; } = http;

    /// <summary>Cancelled when the deadline passes or the client goes away.</summary>
    public CancellationToken Cancelled { get; } = cancelled;
}

/// <summary>
/// The gRPC wire protocol over Kestrel's HTTP/2 (PROTOCOL-HTTP2.md), in one place: method lookup, content-type,
/// authorization, grpc-timeout deadlines, length-prefixed messages with a size limit, and status in trailers — or,
/// when no message was written, in the headers (trailers-only). Services are plain classes registered here.
/// </summary>
public sealed partial class GrpcEndpoint
{
    private delegate Task Handler(HttpContext http, GrpcContext context);

    private readonly Dictionary<string, (Handler Handler, bool Public)> _methods = new(StringComparer.Ordinal);
    private readonly GrpcSettings _settings;
    private readonly byte[]? _token;
    private readonly ILogger<GrpcEndpoint> _logger;

    /// <summary>Creates the endpoint; <paramref name="token"/> (if any) is required of every method not registered as public.</summary>
    public GrpcEndpoint(GrpcSettings settings, string? token, ILogger<GrpcEndpoint> logger)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _token = string.IsNullOrEmpty(token) ? null : Encoding.UTF8.GetBytes(token);
        _logger = logger;
    }

    /// <summary>Called after each call with its method and status (metrics).</summary>
    public Action<string, GrpcStatus>? Completed { get; set; }

    /// <summary>Every registered method path.</summary>
    public IEnumerable<string> Methods => _methods.Keys;

    /// <summary>Registers a unary method.</summary>
    public void Unary<TRequest, TResponse>(string service, string method, MessageParser<TRequest> parser, Func<TRequest, GrpcContext, Task<TResponse>> handler, bool isPublic = false)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        _methods.Add($"/{service}/{method}", (async (http, context) =>
        {
            var request = await ReadSingleAsync(http.Request.BodyReader, parser, context.Cancelled).ConfigureAwait(false);
            var response = await handler(request, context).ConfigureAwait(false);
            await WriteMessageAsync(http, response, context.Cancelled).ConfigureAwait(false);
        }, isPublic));
    }

    /// <summary>Registers a server-streaming method; the handler writes through the writer it is given.</summary>
    public void ServerStreaming<TRequest, TResponse>(string service, string method, MessageParser<TRequest> parser, Func<TRequest, Func<TResponse, bool, Task>, GrpcContext, Task> handler, bool isPublic = false)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        _methods.Add($"/{service}/{method}", (async (http, context) =>
        {
            var request = await ReadSingleAsync(http.Request.BodyReader, parser, context.Cancelled).ConfigureAwait(false);
            await handler(request, (message, flush) => WriteMessageAsync(http, message, context.Cancelled, flush), context).ConfigureAwait(false);
        }, isPublic));
    }

    /// <summary>Handles one HTTP request on the gRPC port.</summary>
    public async Task HandleAsync(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        var path = http.Request.Path.Value ?? string.Empty;
        if (!HttpMethods.IsPost(http.Request.Method))
        {
            http.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }

        var contentType = http.Request.ContentType;
        if (contentType is null || !contentType.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase)
            || (contentType.Length > 16 && contentType[16] is not ('+' or ';')))
        {
            // Not gRPC at all: an HTTP answer, as the protocol asks.
            http.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }

        http.Response.ContentType = "application/grpc";
        http.Response.Headers["grpc-accept-encoding"] = "identity";
        if (!_methods.TryGetValue(path, out var entry))
        {
            Finish(http, path, GrpcStatus.Unimplemented, $"unknown method {path}");
            return;
        }

        if (!entry.Public && _token is not null)
        {
            var denied = CheckToken(http.Request.Headers.Authorization.ToString());
            if (denied is { } status)
            {
                Finish(http, path, status, status == GrpcStatus.Unauthenticated ? "an API token is required: authorization: Bearer <token>" : "the API token is not valid");
                return;
            }
        }

        var encoding = http.Request.Headers["grpc-encoding"].ToString();
        if (encoding.Length > 0 && !string.Equals(encoding, "identity", StringComparison.Ordinal))
        {
            Finish(http, path, GrpcStatus.Unimplemented, $"message encoding {encoding} is not supported (identity only)");
            return;
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        var timeoutHeader = http.Request.Headers["grpc-timeout"].ToString();
        if (timeoutHeader.Length > 0)
        {
            if (!GrpcTimeout.TryParse(timeoutHeader, out var timeout))
            {
                Finish(http, path, GrpcStatus.InvalidArgument, $"malformed grpc-timeout '{timeoutHeader}'");
                return;
            }

            deadline.CancelAfter(timeout);
        }

        try
        {
            await entry.Handler(http, new GrpcContext(http, deadline.Token)).ConfigureAwait(false);
            Finish(http, path, GrpcStatus.Ok, null);
        }
        catch (GrpcException e)
        {
            Finish(http, path, e.Status, e.Message);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !http.RequestAborted.IsCancellationRequested)
        {
            Finish(http, path, GrpcStatus.DeadlineExceeded, "deadline exceeded");
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            Completed?.Invoke(path, GrpcStatus.Cancelled);
        }
        catch (InvalidProtocolBufferException e)
        {
            Finish(http, path, GrpcStatus.Internal, "the request message could not be read: " + e.Message);
        }
        catch (IOException) when (http.RequestAborted.IsCancellationRequested)
        {
            Completed?.Invoke(path, GrpcStatus.Cancelled);
        }
#pragma warning disable CA1031 // any other failure of a handler is the client's INTERNAL, not a dropped stream
        catch (Exception e) when (!http.RequestAborted.IsCancellationRequested)
#pragma warning restore CA1031
        {
            LogHandlerFailed(_logger, path, e);
            Finish(http, path, GrpcStatus.Internal, "internal error: " + e.Message);
        }
    }

    private GrpcStatus? CheckToken(string authorization)
    {
        const string Bearer = "Bearer ";
        if (!authorization.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase) || authorization.Length == Bearer.Length)
        {
            return GrpcStatus.Unauthenticated;
        }

        var presented = Encoding.UTF8.GetBytes(authorization[Bearer.Length..].Trim());
        return CryptographicOperations.FixedTimeEquals(presented, _token) ? null : GrpcStatus.PermissionDenied;
    }

    /// <summary>Ends the call with a status: in the headers if nothing was sent yet (trailers-only), else in the trailers.</summary>
    private void Finish(HttpContext http, string path, GrpcStatus status, string? message)
    {
        Completed?.Invoke(path, status);
        if (http.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        var code = ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var encoded = message is null ? null : GrpcMessageEncoding.Encode(message);
        if (!http.Response.HasStarted)
        {
            http.Response.Headers["grpc-status"] = code;
            if (encoded is not null)
            {
                http.Response.Headers["grpc-message"] = encoded;
            }

            return;
        }

        http.Response.AppendTrailer("grpc-status", code);
        if (encoded is not null)
        {
            http.Response.AppendTrailer("grpc-message", encoded);
        }

        if (status != GrpcStatus.Ok)
        {
            LogStreamError(_logger, path, status, message);
        }
    }

    /// <summary>Reads exactly one length-prefixed message from the request body.</summary>
    private async Task<T> ReadSingleAsync<T>(PipeReader reader, MessageParser<T> parser, CancellationToken cancelled)
        where T : IMessage<T>
    {
        T? message = default;
        var count = 0;
        while (true)
        {
            var result = await reader.ReadAsync(cancelled).ConfigureAwait(false);
            var buffer = result.Buffer;
            while (TryReadFrame(ref buffer, out var payload))
            {
                if (++count > 1)
                {
                    throw new GrpcException(GrpcStatus.Unimplemented, "a unary or server-streaming method takes one request message");
                }

                message = parser.ParseFrom(payload);
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                if (!buffer.IsEmpty)
                {
                    throw new GrpcException(GrpcStatus.Internal, "the request ended inside a message");
                }

                return count == 1 ? message! : throw new GrpcException(GrpcStatus.Internal, "no request message");
            }
        }
    }

    private bool TryReadFrame(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> payload)
    {
        payload = default;
        if (buffer.Length < 5)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[5];
        buffer.Slice(0, 5).CopyTo(header);
        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (header[0] > 1)
        {
            throw new GrpcException(GrpcStatus.Internal, $"invalid compressed flag {header[0]}");
        }

        if (header[0] == 1)
        {
            throw new GrpcException(GrpcStatus.Unimplemented, "compressed messages are not supported (identity only)");
        }

        if (length > (uint)_settings.MaxMessageBytes)
        {
            throw new GrpcException(GrpcStatus.ResourceExhausted, $"request message of {length} bytes is over the limit of {_settings.MaxMessageBytes}");
        }

        if (buffer.Length < 5 + length)
        {
            return false;
        }

        payload = buffer.Slice(5, length);
        buffer = buffer.Slice(5 + length);
        return true;
    }

    private async Task WriteMessageAsync<T>(HttpContext http, T message, CancellationToken cancelled, bool flush = true)
        where T : IMessage<T>
    {
        var size = message.CalculateSize();
        if (size > _settings.MaxMessageBytes)
        {
            throw new GrpcException(GrpcStatus.ResourceExhausted, $"response message of {size} bytes is over the limit of {_settings.MaxMessageBytes}");
        }

        var writer = http.Response.BodyWriter;
        var span = writer.GetSpan(5 + size);
        span[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)size);
        message.WriteTo(span.Slice(5, size));
        writer.Advance(5 + size);
        if (flush)
        {
            await writer.FlushAsync(cancelled).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "gRPC {Method} failed")]
    private static partial void LogHandlerFailed(ILogger logger, string method, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "gRPC {Method} ended with {Status}: {Message}")]
    private static partial void LogStreamError(ILogger logger, string method, GrpcStatus status, string? message);
}
