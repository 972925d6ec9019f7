using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;

namespace Acd.Host.Sip;

/// <summary>Where an INVITE transaction's answers go: its connection, or (recovered after a restart or a takeover) the peer by a new connection.</summary>
internal interface ISipAnswerTarget
{
    /// <summary>Queues an answer (any thread).</summary>
    void Send(in OutboundItem item);
}

/// <summary>A peer whose connection died with another process: every answer goes over a new connection (<see cref="SipFallback"/>).</summary>
internal sealed class RecoveredPeer(SipFallback fallback, IPAddress address) : ISipAnswerTarget
{
    /// <inheritdoc/>
    public void Send(in OutboundItem item) => fallback.Send(address, in item);
}

/// <summary>
/// RFC 3261 §18.2.2 for answers whose connection is gone: a proxy closes an idle TCP connection while its caller still
/// waits (Kamailio's <c>tcp_connection_lifetime</c> is shorter than a long wait), so the 302 that finally comes goes over a
/// new connection — to the address the request came from (what a <c>received</c> parameter would say) and the port of
/// the top Via's sent-by (the peer's listening port). One connection per peer address, opened on the first answer that
/// needs it and then an ordinary SIP connection (the peer may send requests over it); answers that come while it opens
/// wait for it. A peer that cannot be reached costs one attempt: for <c>AnswerRetrySeconds</c> answers to it are given
/// up at once. An answer given up that handed a call to an agent (a 302 to an agent) abandons the call, so the agent is
/// free at once and the caller is owed a callback.
/// </summary>
internal sealed class SipFallback
{
    private readonly SipServer _server;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<IPEndPoint, Link> _links = new();
    private readonly SocketConnectionContextFactory _factory;
    private long _opened;
    private long _undelivered;

    public SipFallback(SipServer server, ILogger logger)
    {
        _server = server;
        _logger = logger;
        _factory = new SocketConnectionContextFactory(new SocketConnectionFactoryOptions(), logger);
    }

    /// <summary>New connections opened for answers.</summary>
    public long Opened => Volatile.Read(ref _opened);

    /// <summary>Final answers that could not be delivered at all (no address, the peer unreachable).</summary>
    public long Undelivered => Volatile.Read(ref _undelivered);

    /// <summary>Sends a final answer whose connection is gone to the peer at <paramref name="address"/> over a new connection, or gives it up.</summary>
    public void Send(IPAddress? address, in OutboundItem item)
    {
        if (!_server.Settings.AnswerOverNewConnection || item.Status < 200 || _server.Stopping.IsCancellationRequested
            || address is null || item.Echo is not { } echo || !echo.TryGetTopViaPort("TCP"u8, 5060, out var port))
        {
            if (item.Status >= 200)
            {
                GiveUp(in item);
            }

            return;
        }

        var target = new IPEndPoint(address, port);
        while (true)
        {
            var link = _links.GetOrAdd(target, static (t, self) => new Link(self, t), this);
            link.Start();
            if (link.TryEnqueue(in item))
            {
                return;
            }

            // The link ended between finding it and using it: the next one is opened afresh.
            _links.TryRemove(new KeyValuePair<IPEndPoint, Link>(target, link));
        }
    }

    private void GiveUp(in OutboundItem item)
    {
        Interlocked.Increment(ref _undelivered);
        if (!_server.Stopping.IsCancellationRequested)
        {
            // While stopping, a handed-off call stays as it is in the journal: the daemon that recovers it decides.
            SipInviteAnswers.Undeliverable(in item);
        }
    }

    /// <summary>A connection to one peer: opening (answers wait), open (answers go to its session), failed (answers given up until it is forgotten), or ended.</summary>
    private sealed class Link
    {
        private readonly SipFallback _owner;
        private readonly IPEndPoint _target;
        private readonly Lock _gate = new();
        private List<OutboundItem>? _waiting = [];
        private SipSession? _session;
        private bool _failed;
        private bool _ended;

        private int _started;

        public Link(SipFallback owner, IPEndPoint target)
        {
            _owner = owner;
            _target = target;
        }

        /// <summary>Opens the connection, once (a link a race created and dropped is never started).</summary>
        public void Start()
        {
            if (Interlocked.Exchange(ref _started, 1) == 0)
            {
                _ = Task.Run(OpenAsync);
            }
        }

        /// <summary>False when the link has ended (its connection closed): the caller opens a new one.</summary>
        public bool TryEnqueue(in OutboundItem item)
        {
            SipSession? session;
            lock (_gate)
            {
                if (_ended || _session?.IsClosed == true)
                {
                    // Its connection has ended (perhaps not yet forgotten): the caller opens a new one.
                    _ended = true;
                    return false;
                }

                if (_failed)
                {
                    _owner.GiveUp(in item);
                    return true;
                }

                if (_session is null)
                {
                    // Bounded like a connection's own answers.
                    if (_waiting!.Count >= _owner._server.Limits.MaxPendingResponses)
                    {
                        _owner.GiveUp(in item);
                    }
                    else
                    {
                        _waiting.Add(item);
                    }

                    return true;
                }

                session = _session;
            }

            session.Send(in item);
            return true;
        }

        private async Task OpenAsync()
        {
            var server = _owner._server;
            var socket = new Socket(_target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(server.Stopping);
                timeout.CancelAfter(TimeSpan.FromSeconds(server.Settings.AnswerConnectTimeoutSeconds));
                await socket.ConnectAsync(_target, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                socket.Dispose();
                List<OutboundItem> given;
                lock (_gate)
                {
                    _failed = true;
                    given = _waiting!;
                    _waiting = null;
                }

                SipServer.LogAnswerUnreachable(_owner._logger, _target.ToString(), given.Count, e.Message);
                foreach (var item in given)
                {
                    _owner.GiveUp(in item);
                }

                // Forgotten after the retry interval: the next answer tries again.
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(server.Settings.AnswerRetrySeconds), server.Time, server.Stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Stopping.
                }

                End();
                return;
            }

            Interlocked.Increment(ref _owner._opened);
            var connection = _owner._factory.Create(socket);
            await using (connection.ConfigureAwait(false))
            {
                if (server.TryOpen(_target.Address) is { } refused)
                {
                    SipServer.LogAnswerUnreachable(_owner._logger, _target.ToString(), 0, refused);
                    connection.Abort();
                    Fail();
                    return;
                }

                try
                {
                    var session = new SipSession(server, connection);
                    List<OutboundItem> waiting;
                    lock (_gate)
                    {
                        _session = session;
                        waiting = _waiting!;
                        _waiting = null;
                    }

                    SipServer.LogAnswerConnection(_owner._logger, session.Id, _target.ToString(), waiting.Count);
                    var running = session.RunAsync();
                    foreach (var item in waiting)
                    {
                        session.Send(in item);
                    }

                    await running.ConfigureAwait(false);
                }
                finally
                {
                    End();
                    server.Closed(_target.Address);
                }
            }
        }

        private void Fail()
        {
            List<OutboundItem> given;
            lock (_gate)
            {
                _ended = true;
                given = _waiting ?? [];
                _waiting = null;
            }

            foreach (var item in given)
            {
                _owner.GiveUp(in item);
            }

            _owner._links.TryRemove(new KeyValuePair<IPEndPoint, Link>(_target, this));
        }

        private void End()
        {
            lock (_gate)
            {
                _ended = true;
            }

            _owner._links.TryRemove(new KeyValuePair<IPEndPoint, Link>(_target, this));
        }
    }
}
