using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Channels;
using Acd.Core.Routing;
using Acd.Core.Sip;
using Acd.Host.Routing;
using Microsoft.AspNetCore.Connections;

namespace Acd.Host.Sip;

/// <summary>
/// One SIP connection. The read loop parses every complete message in what has arrived, answers what it can at once
/// (100 Trying, errors), and hands commands to the routing engines without waiting for them; the write loop is the
/// connection's only writer, draining answers — its own and those the engines produce — into the pipe, whose flush
/// applies the transport's backpressure. The engines never wait for a connection: they only queue an answer.
/// </summary>
internal sealed partial class SipSession : ISipAnswerTarget
{
    private readonly SipServer _server;
    private readonly ConnectionContext _connection;
    private readonly Socket? _socket;
    private readonly Channel<OutboundItem> _outbound = Channel.CreateUnbounded<OutboundItem>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false, AllowSynchronousContinuations = false });

    private readonly SipMessage _message = new();
    private readonly List<(DomainRuntime Domain, Command Command, object? Reply)> _deferred = [];
    // Engines this read posted to without waking them: each runs what was posted once the read's messages are handled.
    private readonly List<Acd.Core.Engine.RoutingEngine> _posted = new(1);
    private readonly HashSet<DomainRuntime> _domainsUsed = [];
    private string? _lastServiceNumber;
    private byte[]? _scratch;
    private int _pending;
    private bool _forbiddenLogged;
    private long _pendingBytes;
    private int _overflowed;
    private bool _closed;

    // Who writes into the transport's pipe: the write loop, or a thread writing its answers directly (SipDirectWrites).
    private readonly SemaphoreSlim _writer = new(1, 1);

    // The direct writer's scope that holds the pipe, if one does (written only by the thread holding _writer; another
    // thread reading it sees someone else's scope or none, never its own, so it goes through _writer).
    private SipDirectWrites? _directOwner;

    // Bytes of answers written directly since the owner took the pipe: past a chunk, the rest of its answers are queued.
    private long _directBytes;

    public SipSession(SipServer server, ConnectionContext connection)
    {
        _server = server;
        _connection = connection;
        _socket = connection.Features.Get<Microsoft.AspNetCore.Connections.Features.IConnectionSocketFeature>()?.Socket;
        Id = server.NewConnectionId();
        Remote = connection.RemoteEndPoint?.ToString();
        var remote = (connection.RemoteEndPoint as System.Net.IPEndPoint)?.Address;
        Address = remote is { IsIPv4MappedToIPv6: true } ? remote.MapToIPv4() : remote;
        PeerBytes = Address?.GetAddressBytes() ?? [];
        Rights = server.Peers.RightsOf(Address);
    }

    public long Id { get; }

    /// <summary>Whether the connection has ended (set before its answer queue closes).</summary>
    public bool IsClosed => Volatile.Read(ref _closed);

    public string? Remote { get; }

    /// <summary>The peer's address.</summary>
    public System.Net.IPAddress? Address { get; }

    /// <summary>The peer's address as bytes (kept in each INVITE's answer route).</summary>
    public byte[] PeerBytes { get; }

    /// <summary>What the peer may do, by its network.</summary>
    public PeerRights Rights { get; }

    /// <summary>
    /// Queues an answer (any thread). The answers a peer has not read are bounded — in number and in bytes for the
    /// connection, and in bytes over every connection — and a peer that lets them pile up past a bound is disconnected:
    /// its queue is dropped, and with it the memory.
    /// </summary>
    public void Send(in OutboundItem item)
    {
        var size = item.Cost;
        var count = Interlocked.Increment(ref _pending);
        var bytes = Interlocked.Add(ref _pendingBytes, size);
        var total = _server.AddPendingBytes(size);
        var limits = _server.Limits;
        var over = count > limits.MaxPendingResponses || bytes > limits.MaxPendingBytes
            || (total > limits.MaxPendingBytesTotal && bytes > limits.MaxPendingBytesTotal / Math.Max(1, _server.OpenConnections));
        if (!over && TryWriteDirect(in item, size))
        {
            return;
        }

        if (over || !_outbound.Writer.TryWrite(item))
        {
            Unqueued(size);
            if (!over && Volatile.Read(ref _overflowed) == 0)
            {
                // The connection is gone: a final answer goes over a new one (RFC 3261 §18.2.2).
                _server.Fallback.Send(Address, in item);
            }
            else if (over && Interlocked.Exchange(ref _overflowed, 1) == 0)
            {
                _server.Counters.SlowReader();
                SipServer.LogSlowReader(_server.Logger, Id, Remote, count, bytes);
                _server.Reliever?.Released(bytes);
                _connection.Abort();
            }
        }
    }

    /// <summary>
    /// Writes an answer straight into the pipe when the thread has a <see cref="SipDirectWrites"/> scope, no one else
    /// writes to the connection and no answer is queued before this one (so the order of a transaction's answers holds:
    /// a 100 queued earlier is written before the final answer the engine made after it). The pipe is held until the
    /// scope ends and flushes it.
    /// </summary>
    internal bool TryWriteDirect(in OutboundItem item, long size)
    {
        if (SipDirectWrites.Current is not { } scope)
        {
            return false;
        }

        if (!ReferenceEquals(_directOwner, scope))
        {
            if (!_writer.Wait(0))
            {
                return false;
            }

            if (Volatile.Read(ref _closed) || _outbound.Reader.TryPeek(out _))
            {
                _writer.Release();
                return false;
            }

            _directOwner = scope;
            _directBytes = 0;
            scope.Hold(this);
        }
        else if (_directBytes >= WriteChunkBytes)
        {
            // A chunk written already (a peer's burst of requests each answered at once): the rest waits in the queue,
            // counted against the connection's bounds, and follows in order after this flush.
            return false;
        }

        _directBytes += size;
        try
        {
            WriteOut(in item, size, _connection.Transport.Output);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException)
        {
            // The pipe is gone with the connection: the answer is dropped with it, as the write loop drops what it holds.
        }

        return true;
    }

    /// <summary>An answer leaves the queue's count and goes into the pipe (by a direct writer or the write loop).</summary>
    private void WriteOut(in OutboundItem item, long cost, PipeWriter output)
    {
        Unqueued(cost);
        item.WriteTo(output);
        if (!item.Pong)
        {
            _server.Counters.Response(item.Status);
        }
    }

    /// <summary>
    /// Whether the kernel holds no more bytes of this connection than the read took: only then may its read loop wait
    /// for the disk (a group commit of its own) without holding back requests that have already come.
    /// </summary>
    internal bool NothingMoreToRead()
    {
        try
        {
            return _socket?.Available is null or 0;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return true; // the connection is gone: nothing of it waits
        }
    }

    /// <summary>At the end of a direct writer's scope: flushes what it wrote and gives the pipe back.</summary>
    internal void FlushDirect()
    {
        _directOwner = null;
        ValueTask<FlushResult> flush;
        try
        {
            flush = _connection.Transport.Output.FlushAsync();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException)
        {
            _writer.Release();
            return;
        }

        if (flush.IsCompleted)
        {
            // Its result taken (a pipe's flush is completed by taking it); a failure is the connection's end, seen by the loops.
            try
            {
                flush.GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is IOException or ConnectionResetException or ConnectionAbortedException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
            {
            }

            _writer.Release();
            return;
        }

        // The peer reads slowly: the pipe stays held until the transport has taken the bytes, and answers queue meanwhile.
        _ = ReleaseAfterAsync(flush);
    }

    private async Task ReleaseAfterAsync(ValueTask<FlushResult> flush)
    {
        try
        {
            await flush.ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ConnectionResetException or ConnectionAbortedException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            // The peer went away; the read loop sees it too.
        }
        finally
        {
            _writer.Release();
        }
    }

    /// <summary>An answer left the queue (written, or dropped).</summary>
    private void Unqueued(long size)
    {
        Interlocked.Decrement(ref _pending);
        Interlocked.Add(ref _pendingBytes, -size);
        _server.AddPendingBytes(-size);
    }

    public async Task RunAsync()
    {
        var writing = WriteLoopAsync();
        try
        {
            await ReadLoopAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ConnectionResetException or ConnectionAbortedException or ObjectDisposedException or OperationCanceledException)
        {
            // The peer went away.
        }
#pragma warning disable CA1031 // one failing session must not take the listener down; it is logged and closed
        catch (Exception e)
#pragma warning restore CA1031
        {
            SipServer.LogFailure(_server.Logger, e, Id);
        }
        finally
        {
            Volatile.Write(ref _closed, true);
            _outbound.Writer.TryComplete();
            await writing.ConfigureAwait(false);

            // A direct writer that took the pipe before the close finishes its flush before the transport is completed.
            await _writer.WaitAsync().ConfigureAwait(false);
            while (_outbound.Reader.TryRead(out var unsent))
            {
                Unqueued(unsent.Cost);
                if (Volatile.Read(ref _overflowed) == 0)
                {
                    _server.Fallback.Send(Address, in unsent);
                }
            }

            if (_scratch is not null)
            {
                ArrayPool<byte>.Shared.Return(_scratch);
                _scratch = null;
            }

            // Waiting calls of this connection keep their places: their answers go over a new connection when they come;
            // without that (or without an address to open one to), they are held for the grace period, for a proxy to
            // send the INVITE again.
            var detach = !_server.Settings.AnswerOverNewConnection || Address is null;
            foreach (var domain in detach ? _domainsUsed : [])
            {
                domain.Engine.TryPost(new DetachConnection(Id));
            }

            if (detach && _domainsUsed.Count > 0)
            {
                SipServer.LogDetached(_server.Logger, Id, Remote, _domainsUsed.Count);
            }
        }
    }

    private async Task ReadLoopAsync()
    {
        var input = _connection.Transport.Input;
        var idleLimit = TimeSpan.FromSeconds(_server.Limits.IdleTimeoutSeconds);
        var messageLimit = TimeSpan.FromSeconds(_server.Limits.MessageTimeoutSeconds);
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(_connection.ConnectionClosed, _server.Stopping);

        // When the bytes of a message not yet complete first came: the whole message must follow within the limit, however
        // slowly it trickles (each byte restarts the idle timer, not this one).
        long partialSince = 0;
        while (true)
        {
            var wait = idleLimit;
            if (partialSince != 0)
            {
                var left = messageLimit - System.Diagnostics.Stopwatch.GetElapsedTime(partialSince);
                wait = left < wait ? left : wait;
            }

            if (wait <= TimeSpan.Zero)
            {
                CloseSlowSender();
                return;
            }

            idle.CancelAfter(wait);
            ReadResult result;
            try
            {
                result = await input.ReadAsync(idle.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_server.Stopping.IsCancellationRequested)
            {
                return;
            }
            catch (OperationCanceledException) when (!_connection.ConnectionClosed.IsCancellationRequested)
            {
                if (partialSince != 0 && System.Diagnostics.Stopwatch.GetElapsedTime(partialSince) >= messageLimit)
                {
                    CloseSlowSender();
                    return;
                }

                _server.Counters.Idle();
                SipServer.LogIdle(_server.Logger, Id, Remote, _server.Limits.IdleTimeoutSeconds);
                return;
            }

            var buffer = result.Buffer;
            var consumed = buffer.Start;
            var close = false;
            SipDirectWrites.Begin(reading: this);
            try
            {
                close = ParseAll(buffer, ref consumed);
            }
            finally
            {
                try
                {
                    RunPosted();
                }
                finally
                {
                    // Whatever happened above, the thread's scope is left and the pipe advanced: the scope is the
                    // event thread's, shared by every connection it serves.
                    SipDirectWrites.End();
                    input.AdvanceTo(consumed, buffer.End);
                }
            }

            var progressed = !consumed.Equals(buffer.Start);
            var remains = !buffer.Slice(consumed).IsEmpty;
            partialSince = !remains ? 0 : progressed || partialSince == 0 ? System.Diagnostics.Stopwatch.GetTimestamp() : partialSince;

            if (_deferred.Count > 0)
            {
                await PostDeferredAsync().ConfigureAwait(false);
            }

            if (close)
            {
                return;
            }

            if (result.IsCompleted)
            {
                if (!buffer.Slice(consumed).IsEmpty)
                {
                    // The peer closed in the middle of a message.
                    SipServer.LogBroken(_server.Logger, Id, Remote, "connection closed inside a message");
                }

                return;
            }
        }
    }

    /// <summary>Handles every complete message in the buffer; true when framing is lost and the connection must close.</summary>
    private bool ParseAll(ReadOnlySequence<byte> buffer, ref SequencePosition consumed)
    {
        var reader = new SequenceReader<byte>(buffer);
        while (true)
        {
            var result = SipParser.TryParse(ref reader, _server.Limits, _message, ref _scratch);
            switch (result)
            {
                case SipParseResult.Incomplete:
                    return false;
                case SipParseResult.KeepAlive:
                    consumed = reader.Position;
                    Send(new OutboundItem { Pong = true });
                    continue;
                case SipParseResult.Broken:
                    RespondBroken();
                    return true;
                case SipParseResult.Malformed:
                    consumed = reader.Position;
                    _server.Counters.Message(_message.IsRequest ? _message.Method : Acd.Core.Sip.SipMethod.None);
                    if (_message.IsRequest && _message.Method != Acd.Core.Sip.SipMethod.Ack)
                    {
                        Refuse(_message.Rejection);
                    }

                    continue;
                default:
                    consumed = reader.Position;
                    _server.Counters.Message(_message.IsRequest ? _message.Method : Acd.Core.Sip.SipMethod.None);
                    Handle();
                    continue;
            }
        }
    }

    /// <summary>A message begun was not complete within the limit: the connection is closed (no answer: nothing was asked yet).</summary>
    private void CloseSlowSender()
    {
        _server.Counters.MessageTimeout();
        SipServer.LogSlowSender(_server.Logger, Id, Remote, _server.Limits.MessageTimeoutSeconds);
    }

    private void RespondBroken()
    {
        var rejection = _message.Rejection;
        _server.Counters.Broken();
        _server.Counters.Rejection(rejection);
        SipServer.LogBroken(_server.Logger, Id, Remote, SipRejections.Label(rejection));
        if (_message.IsResponse)
        {
            return; // a response is never answered, however broken: the connection just closes
        }

        // The headers may be there (a missing or bad Content-Length) or not (junk): answer with what there is.
        SipTransactionEcho? echo = _message.HeaderCount > 0 && _message.Frame.Length > 0 ? SipTransactionEcho.Capture(_message, _server.TagSalt) : null;
        var status = SipRejections.StatusCode(rejection);
        Send(new OutboundItem { Echo = echo, Status = status, Phrase = SipRejections.Phrase(rejection) });
    }

    private void Refuse(SipRejection rejection)
    {
        _server.Counters.Rejection(rejection);
        var echo = SipTransactionEcho.Capture(_message, _server.TagSalt);
        Send(new OutboundItem { Echo = echo, Status = SipRejections.StatusCode(rejection), Phrase = SipRejections.Phrase(rejection) });
    }

    /// <summary>
    /// Hands a command to an engine without waiting; once one had to wait, the rest follow it in order. The engine is
    /// not woken here: at the end of the read <see cref="RunPosted"/> has it run every command the read posted — on
    /// this thread when it sleeps, so the answers go out in this read's flush.
    /// </summary>
    private void Post(DomainRuntime domain, Command command, object? reply)
    {
        if (_deferred.Count == 0 && domain.Engine.TryPostQuietly(command, reply))
        {
            if (!_posted.Contains(domain.Engine))
            {
                _posted.Add(domain.Engine);
            }

            return;
        }

        _deferred.Add((domain, command, reply));
    }

    /// <summary>After a read's messages: each engine posted to runs them (inline when it sleeps, else it is woken).</summary>
    private void RunPosted()
    {
        foreach (var engine in _posted)
        {
            engine.RunPosted();
        }

        _posted.Clear();
    }

    private async Task PostDeferredAsync()
    {
        foreach (var (domain, command, reply) in _deferred)
        {
            try
            {
                await domain.Engine.PostAsync(command, reply, _connection.ConnectionClosed).ConfigureAwait(false);
            }
            catch (InvalidOperationException e)
            {
                // The engine is stopping: answer that the service is unavailable.
                (reply as Acd.Core.Engine.ICommandReply)?.Complete(new CommandResult(Acd.Core.Domain.ResultCode.ResourceExhausted, e.Message));
            }
        }

        _deferred.Clear();
    }

    /// <summary>Bytes of answers (by their queued cost) written into the transport's pipe before it is flushed.</summary>
    private const long WriteChunkBytes = 256 * 1024;

    private async Task WriteLoopAsync()
    {
        var output = _connection.Transport.Output;
        var reader = _outbound.Reader;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                // A thread writing its answers directly holds the pipe until its flush (then the queue's answers follow).
                await _writer.WaitAsync().ConfigureAwait(false);
                try
                {
                    // At most a chunk into the pipe between flushes: what a slow reader has not taken stays in the queue,
                    // counted against its bounds, instead of in the transport's pooled blocks (which the process keeps once grown).
                    long chunk = 0;
                    while (chunk < WriteChunkBytes && reader.TryRead(out var item))
                    {
                        var cost = item.Cost;
                        chunk += cost;
                        WriteOut(in item, cost, output);
                    }

                    var flush = await output.FlushAsync().ConfigureAwait(false);
                    if (flush.IsCompleted || flush.IsCanceled)
                    {
                        return;
                    }
                }
                finally
                {
                    _writer.Release();
                }
            }
        }
        catch (Exception e) when (e is IOException or ConnectionResetException or ConnectionAbortedException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            // The peer went away; answers still queued are dropped with the connection.
        }
    }
}
