using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Options;

namespace Acd.Host.Sip;

/// <summary>The SIP port's address as Kestrel is told it: only <see cref="SipTransportFactory"/> binds it.</summary>
public sealed class SipEndPoint(IPEndPoint address) : EndPoint
{
    /// <summary>The address the port listens on.</summary>
    public IPEndPoint Address { get; } = address;

    /// <inheritdoc/>
    public override AddressFamily AddressFamily => Address.AddressFamily;

    /// <inheritdoc/>
    public override string ToString() => "sip://" + Address;
}

/// <summary>
/// The SIP port's transport: Kestrel's sockets with the connection's continuations run inline — a read's bytes go to
/// the connection's read loop on the thread that received them, and a flush sends on the thread that flushes — instead
/// of through the thread pool, whose every hand-off wakes a worker and one more in case more work follows
/// (docs/performance.md, issue 18's ninth step). Safe for SIP because its read loop parses what has arrived and posts
/// to the engines without waiting, and its writers only queue or write into the pipe; the one wait it may make is a
/// group commit of its own read's commands, and only while the journal is quiet (docs/durability.md). The gRPC and
/// HTTP ports keep Kestrel's default scheduling: their handlers are application code that may block.
/// </summary>
public sealed class SipTransportFactory(ILoggerFactory loggers) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    /// <summary>Each way, what the transport buffers for a connection (the other ports' bound too, in AcdProgram).</summary>
    public const long BufferBytes = 1024 * 1024;

    private readonly SocketTransportFactory _sockets = new(
        Options.Create(new SocketTransportOptions { MaxReadBufferSize = BufferBytes, MaxWriteBufferSize = BufferBytes, UnsafePreferInlineScheduling = true }),
        loggers);

    /// <inheritdoc/>
    public bool CanBind(EndPoint endpoint) => endpoint is SipEndPoint;

    /// <inheritdoc/>
    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
        => _sockets.BindAsync(((SipEndPoint)endpoint).Address, cancellationToken);
}
