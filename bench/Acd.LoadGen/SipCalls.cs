using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Unicode;
using Acd.Core.Sip;

namespace Acd.LoadGen;

/// <summary>The five seats of the hotline, and how a caller reaches each one over SIP.</summary>
internal static class Seats
{
    public static readonly string[] Names = ["general", "complaint", "data", "english", "vip"];

    /// <summary>The share of calls for each seat (a 10086-like mix).</summary>
    public static readonly double[] Mix = [0.60, 0.10, 0.15, 0.05, 0.10];

    /// <summary>What the INVITE carries to reach the seat: general is the default skill; English by language; VIP by class.</summary>
    public static ReadOnlySpan<byte> Header(int seat) => seat switch
    {
        1 => "X-Acd-Skill: complaint\r\n"u8,
        2 => "X-Acd-Skill: data\r\n"u8,
        3 => "X-Acd-Language: en\r\n"u8,
        4 => "X-Acd-Vip: 5\r\n"u8,
        _ => default,
    };

    public static int Pick(double u)
    {
        for (var i = 0; i < Mix.Length - 1; i++)
        {
            if (u < Mix[i])
            {
                return i;
            }

            u -= Mix[i];
        }

        return Mix.Length - 1;
    }
}

/// <summary>How a call ended, as its caller saw it.</summary>
internal enum CallOutcome
{
    Answered,
    Abandoned,
    TimedOut,
    Rejected,
    Deflected,
    Error,
}

/// <summary>Per-seat counts of one run (summed over connections at the end).</summary>
internal sealed class SeatCounts
{
    public long Offered;
    public long Answered;
    public long Abandoned;
    public long TimedOut;
    public long Rejected;
    public long Deflected;
    public long Errors;
    public long Queued;
    public long WaitingAtEnd;
    public long WaitMicrosAnswered;
    public readonly List<long> AnswerWaitsMs = [];

    public void Add(SeatCounts o)
    {
        Offered += o.Offered;
        Answered += o.Answered;
        Abandoned += o.Abandoned;
        TimedOut += o.TimedOut;
        Rejected += o.Rejected;
        Deflected += o.Deflected;
        Errors += o.Errors;
        Queued += o.Queued;
        WaitingAtEnd += o.WaitingAtEnd;
        WaitMicrosAnswered += o.WaitMicrosAnswered;
        AnswerWaitsMs.AddRange(o.AnswerWaitsMs);
    }
}

/// <summary>What a call does after its answer: talk for a while (0: hang up at once), give up after a patience.</summary>
internal interface ICallScript
{
    /// <summary>Talk time of a routed call, in milliseconds (0: BYE at once).</summary>
    long TalkMs(int seat);

    /// <summary>Patience of a queued caller, in milliseconds (≤ 0: waits for ever).</summary>
    long PatienceMs(int seat);

    /// <summary>Whether the per-call answer waits are kept (day mode: for service levels).</summary>
    bool KeepWaits { get; }
}

/// <summary>
/// One TCP connection to the daemon's SIP port, acting as a proxy with many callers behind it: INVITEs pipelined, each
/// answered 100 → (182) → 302, then ACK and BYE (or CANCEL when the caller gives up). A fixed table of call slots; the
/// Call-ID names the slot and its generation, so answers find their call without a dictionary.
/// </summary>
internal sealed class SipConnection : IAsyncDisposable
{
    private enum Phase : byte
    {
        Free,
        Inviting,
        Queued,
        Talking,
        Cancelling,
        Ending,
    }

    private struct Slot
    {
        public int Gen;
        public Phase Phase;
        public byte Seat;
        public bool Cleanup;
        public long SentTicks;
        public long Caller;
    }

    private static readonly SipLimits Limits = new() { MaxHeaderBytes = 16384 };
    private readonly Socket _socket;
    private readonly int _id;
    private readonly string _run;
    private readonly byte[] _runBytes;
    private readonly string _target;
    private readonly ICallScript _script;
    private readonly Lock _lock = new();
    private readonly Slot[] _slots;
    private readonly Stack<int> _free;
    private readonly SemaphoreSlim _window;
    private readonly AutoResetEvent _outReady = new(false);
    private ArrayBufferWriter<byte> _out = new(64 * 1024);
    private ArrayBufferWriter<byte> _sending = new(64 * 1024);
    private Thread? _writer;
    private readonly Timers _timers;
    private readonly int _localPort;
    private Task _reader = Task.CompletedTask;
    private volatile bool _closed;
    private long _measureFrom;

    private SipConnection(Socket socket, int id, string run, string target, int slots, ICallScript script, Timers timers)
    {
        _socket = socket;
        _id = id;
        _run = run;
        _runBytes = System.Text.Encoding.ASCII.GetBytes(run);
        _target = target;
        _script = script;
        _timers = timers;
        _slots = new Slot[slots];
        _free = new Stack<int>(Enumerable.Range(0, slots).Reverse());
        _window = new SemaphoreSlim(slots, slots);
        _localPort = ((IPEndPoint)socket.LocalEndPoint!).Port;
        for (var i = 0; i < Seats.Names.Length; i++)
        {
            Counts[i] = new SeatCounts();
        }
    }

    public SeatCounts[] Counts { get; } = new SeatCounts[Seats.Names.Length];

    /// <summary>INVITE → 302 latency of every routed call.</summary>
    public HdrHistogram.LongHistogram Latency { get; private set; } = Latencies.New();

    /// <summary>Calls answered 182 Queued so far.</summary>
    public long QueuedCount
    {
        get
        {
            lock (_lock)
            {
                return Counts.Sum(c => c.Queued);
            }
        }
    }

    /// <summary>
    /// Starts the latency figures afresh (after a warm-up): from now on only calls sent at or after
    /// <paramref name="sentFrom"/> (a <see cref="Stopwatch"/> timestamp) count, so that the warm-up's calls still in
    /// flight do not.
    /// </summary>
    public void ResetLatency(long sentFrom)
    {
        lock (_lock)
        {
            Latency = Latencies.New();
            _measureFrom = sentFrom;
        }
    }

    /// <summary>Gives back slots taken but not used.</summary>
    public void ReleaseSlots(int count)
    {
        if (count > 0)
        {
            _window.Release(count);
        }
    }

    /// <summary>Answers that were not what SIP or the daemon's contract allow (each one described in <see cref="Problems"/>).</summary>
    public long ProtocolErrors;

    /// <summary>The first protocol problems seen.</summary>
    public List<string> Problems { get; } = [];

    public long Completed;

    public int InFlight => _slots.Length - _window.CurrentCount;

    public bool Closed => _closed;

    /// <remarks>
    /// The connect is synchronous on purpose: a socket that has run one asynchronous operation is non-blocking from
    /// then on, and .NET emulates each of its synchronous <c>Receive</c>s that finds nothing by waiting on the sockets'
    /// event thread, which then wakes this connection's reader: two thread wake-ups an answer instead of one.
    /// </remarks>
    public static SipConnection Open(IPEndPoint endpoint, int id, string run, int slots, ICallScript script, Timers timers)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(endpoint);
        var c = new SipConnection(socket, id, run, endpoint.ToString(), slots, script, timers);
        c._reader = Task.Factory.StartNew(c.ReadLoop, TaskCreationOptions.LongRunning);
        c._writer = new Thread(c.WriteLoop) { IsBackground = true, Name = $"loadgen-sip-writer-{id}" };
        c._writer.Start();
        return c;
    }

    /// <summary>Waits for a free call slot (the window of calls in flight).</summary>
    public Task WaitSlotAsync(CancellationToken cancelled) => _window.WaitAsync(cancelled);

    /// <summary>A free slot right now?</summary>
    public bool TryTakeSlot() => _window.Wait(0);

    /// <summary>Sends INVITEs for <paramref name="seats"/>, one call each; a slot must have been taken for each.</summary>
    public void Offer(ReadOnlySpan<byte> seats, long firstCaller)
    {
        lock (_lock)
        {
            var now = Stopwatch.GetTimestamp();
            for (var i = 0; i < seats.Length; i++)
            {
                var s = _free.Pop();
                ref var slot = ref _slots[s];
                slot.Gen++;
                slot.Phase = Phase.Inviting;
                slot.Seat = seats[i];
                slot.Cleanup = false;
                slot.SentTicks = now;
                slot.Caller = firstCaller + i;
                Counts[slot.Seat].Offered++;
                WriteInvite(s, ref slot);
            }

            Flush();
        }
    }

    /// <summary>Fires a timer: a talking call's BYE, or a queued caller's CANCEL.</summary>
    public void Fire(int s, int gen, bool hangUp)
    {
        lock (_lock)
        {
            ref var slot = ref _slots[s];
            if (slot.Gen != gen)
            {
                return;
            }

            if (hangUp && slot.Phase == Phase.Talking)
            {
                slot.Phase = Phase.Ending;
                WriteRequest("BYE"u8, s, ref slot, 2, toTag: true);
            }
            else if (!hangUp && slot.Phase is Phase.Queued or Phase.Inviting)
            {
                slot.Phase = Phase.Cancelling;
                WriteRequest("CANCEL"u8, s, ref slot, 1, toTag: false);
            }

            Flush();
        }
    }

    /// <summary>End of the run: counts the calls still waiting, cancels them, and hangs up calls still talking.</summary>
    public int EndRun()
    {
        var waiting = 0;
        lock (_lock)
        {
            for (var s = 0; s < _slots.Length; s++)
            {
                ref var slot = ref _slots[s];
                switch (slot.Phase)
                {
                    case Phase.Inviting or Phase.Queued:
                        waiting++;
                        Counts[slot.Seat].WaitingAtEnd++;
                        slot.Cleanup = true;
                        slot.Phase = Phase.Cancelling;
                        WriteRequest("CANCEL"u8, s, ref slot, 1, toTag: false);
                        break;
                    case Phase.Cancelling:
                        // A caller giving up right now: whatever the answer, it is no longer waiting.
                        break;
                    case Phase.Talking:
                        slot.Phase = Phase.Ending;
                        WriteRequest("BYE"u8, s, ref slot, 2, toTag: true);
                        break;
                }
            }

            Flush();
        }

        return waiting;
    }

    public async ValueTask DisposeAsync()
    {
        _closed = true;
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }

        _outReady.Set();
        _writer?.Join();
        _socket.Dispose();
        await _reader.ConfigureAwait(false);
        _window.Dispose();
        _outReady.Dispose();
    }

    private void ReadLoop()
    {
        var buffer = new byte[256 * 1024];
        var start = 0;
        var end = 0;
        var message = new SipMessage();
        byte[]? scratch = null;
        try
        {
            while (true)
            {
                if (end == buffer.Length)
                {
                    if (start == 0)
                    {
                        Problem("an answer larger than the read buffer");
                        return;
                    }

                    Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                    end -= start;
                    start = 0;
                }

                var n = _socket.Receive(buffer, end, buffer.Length - end, SocketFlags.None);
                if (n == 0)
                {
                    if (!_closed)
                    {
                        Problem("the daemon closed the connection");
                    }

                    return;
                }

                end += n;
                var now = Stopwatch.GetTimestamp();
                lock (_lock)
                {
                    var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(buffer, start, end - start));
                    while (true)
                    {
                        var result = SipParser.TryParse(ref reader, Limits, message, ref scratch);
                        if (result == SipParseResult.Incomplete)
                        {
                            break;
                        }

                        if (result is SipParseResult.Malformed or SipParseResult.Broken)
                        {
                            Problem($"an answer that does not parse ({message.Rejection})");
                            if (result == SipParseResult.Broken)
                            {
                                return;
                            }

                            continue;
                        }

                        if (result == SipParseResult.Message)
                        {
                            Handle(message, now);
                        }
                    }

                    start += (int)reader.Consumed;
                    Flush();
                }

                if (start == end)
                {
                    start = end = 0;
                }
            }
        }
        catch (SocketException) when (_closed)
        {
        }
        catch (ObjectDisposedException) when (_closed)
        {
        }
        catch (SocketException e)
        {
            lock (_lock)
            {
                Problem("connection failed: " + e.Message);
            }
        }
        finally
        {
            if (scratch is not null)
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }
        }
    }

    private void Handle(SipMessage m, long now)
    {
        if (m.IsRequest)
        {
            Problem("the daemon sent a request");
            return;
        }

        if (!TryFindSlot(m.Value(SipHeader.CallId), out var s, out var gen))
        {
            Problem("an answer for a Call-ID this run never sent");
            return;
        }

        ref var slot = ref _slots[s];
        if (slot.Gen != gen || slot.Phase == Phase.Free)
        {
            return; // a late answer for a call already finished (a 200 to a CANCEL after its 487, say)
        }

        var cseq = m.Value(SipHeader.CSeq);
        var code = m.StatusCode;
        var counts = Counts[slot.Seat];
        if (cseq.EndsWith("INVITE"u8))
        {
            if (code == 100)
            {
                return;
            }

            if (code == 182)
            {
                if (slot.Phase == Phase.Inviting)
                {
                    slot.Phase = Phase.Queued;
                    counts.Queued++;
                    var patience = _script.PatienceMs(slot.Seat);
                    if (patience > 0)
                    {
                        _timers.Schedule(now, patience, this, s, slot.Gen, hangUp: false);
                    }
                }

                return;
            }

            if (code is > 100 and < 200)
            {
                return;
            }

            // A final answer to the INVITE: it is acknowledged, and the call's fate is sealed by it.
            WriteRequest("ACK"u8, s, ref slot, 1, toTag: true);
            var cleanup = slot.Cleanup;
            if (code == 302)
            {
                var waited = Stopwatch.GetElapsedTime(slot.SentTicks, now);
                if (IsDeflection(m))
                {
                    Finish(s, ref slot, cleanup ? null : CallOutcome.Deflected);
                    return;
                }

                if (slot.Phase == Phase.Cancelling)
                {
                    // The caller gave up as the redirect crossed its CANCEL: the daemon abandons a call whose answer it has
                    // not yet confirmed, so it counts as abandoned there too, and there is no call to end.
                    Finish(s, ref slot, cleanup ? null : CallOutcome.Abandoned);
                    return;
                }

                if (slot.SentTicks >= _measureFrom)
                {
                    Latencies.Record(Latency, (long)waited.TotalMicroseconds);
                }

                if (cleanup)
                {
                    // Routed just as the run ended (it was counted as waiting): hang up at once.
                    counts.WaitingAtEnd--;
                    counts.Answered++;
                    slot.Phase = Phase.Ending;
                    WriteRequest("BYE"u8, s, ref slot, 2, toTag: true);
                    return;
                }

                counts.Answered++;
                counts.WaitMicrosAnswered += (long)waited.TotalMicroseconds;
                if (_script.KeepWaits)
                {
                    counts.AnswerWaitsMs.Add((long)waited.TotalMilliseconds);
                }

                var talk = _script.TalkMs(slot.Seat);
                if (talk <= 0)
                {
                    slot.Phase = Phase.Ending;
                    WriteRequest("BYE"u8, s, ref slot, 2, toTag: true);
                }
                else
                {
                    slot.Phase = Phase.Talking;
                    _timers.Schedule(now, talk, this, s, slot.Gen, hangUp: true);
                }

                return;
            }

            var outcome = code switch
            {
                487 => CallOutcome.Abandoned,
                480 when HasHeader(m, "Warning"u8) => CallOutcome.TimedOut,
                480 or 503 => CallOutcome.Rejected,
                _ => CallOutcome.Error,
            };
            if (outcome == CallOutcome.Abandoned && slot.Phase != Phase.Cancelling)
            {
                outcome = CallOutcome.Error;
            }

            if (outcome == CallOutcome.Error)
            {
                Problem($"INVITE answered {code}");
            }

            Finish(s, ref slot, cleanup ? null : outcome);
            return;
        }

        if (cseq.EndsWith("BYE"u8))
        {
            if (code != 200)
            {
                Problem($"BYE answered {code}");
            }

            if (slot.Phase == Phase.Ending)
            {
                Finish(s, ref slot, null);
            }

            return;
        }

        if (cseq.EndsWith("CANCEL"u8))
        {
            // 200 (the 487 follows), or 481/200 when the call was redirected at the same moment: the INVITE's own
            // final answer decides.
            if (code is not (200 or 481))
            {
                Problem($"CANCEL answered {code}");
            }

            return;
        }

        Problem($"an answer to an unknown CSeq ({code})");
    }

    private void Finish(int s, ref Slot slot, CallOutcome? outcome)
    {
        var counts = Counts[slot.Seat];
        switch (outcome)
        {
            case CallOutcome.Abandoned: counts.Abandoned++; break;
            case CallOutcome.TimedOut: counts.TimedOut++; break;
            case CallOutcome.Rejected: counts.Rejected++; break;
            case CallOutcome.Deflected: counts.Deflected++; break;
            case CallOutcome.Error: counts.Errors++; break;
        }

        slot.Phase = Phase.Free;
        _free.Push(s);
        Completed++;
        _window.Release();
    }

    private static bool IsDeflection(SipMessage m) => HasHeader(m, "X-Acd-Reason"u8);

    private static bool HasHeader(SipMessage m, ReadOnlySpan<byte> name)
    {
        foreach (var h in m.Headers)
        {
            if (System.Text.Ascii.EqualsIgnoreCase(m[h.Name], name))
            {
                return true;
            }
        }

        return false;
    }

    private bool TryFindSlot(ReadOnlySpan<byte> callId, out int slot, out int gen)
    {
        // "<run>-<connection>-<slot>-<generation>"
        slot = gen = 0;
        var parts = callId;
        if (!parts.StartsWith(_runBytes))
        {
            return false;
        }

        parts = parts[_runBytes.Length..];
        Span<long> numbers = stackalloc long[3];
        for (var i = 0; i < 3; i++)
        {
            if (parts.Length < 2 || parts[0] != (byte)'-')
            {
                return false;
            }

            parts = parts[1..];
            var digits = parts.IndexOf((byte)'-');
            var field = digits < 0 ? parts : parts[..digits];
            if (!System.Buffers.Text.Utf8Parser.TryParse(field, out long v, out var used) || used != field.Length)
            {
                return false;
            }

            numbers[i] = v;
            parts = digits < 0 ? default : parts[digits..];
        }

        slot = (int)numbers[1];
        gen = (int)numbers[2];
        return numbers[0] == _id && slot >= 0 && slot < _slots.Length;
    }

    private void WriteInvite(int s, ref Slot slot)
    {
        var span = _out.GetSpan(1024);
        Utf8.TryWrite(span, CultureInfo.InvariantCulture, $"INVITE sip:10086@{_target} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:{_localPort};branch=z9hG4bK{_run}-{_id}-{s}-{slot.Gen}-1\r\nFrom: <sip:{slot.Caller}@callers.invalid>;tag=c{slot.Caller}\r\nTo: <sip:10086@acd.invalid>\r\nCall-ID: {_run}-{_id}-{s}-{slot.Gen}\r\nCSeq: 1 INVITE\r\nContact: <sip:{slot.Caller}@127.0.0.1:{_localPort};transport=tcp>\r\nMax-Forwards: 70\r\n", out var written);
        _out.Advance(written);
        var header = Seats.Header(slot.Seat);
        header.CopyTo(_out.GetSpan(header.Length));
        _out.Advance(header.Length);
        "Content-Length: 0\r\n\r\n"u8.CopyTo(_out.GetSpan(32));
        _out.Advance(21);
    }

    private void WriteRequest(ReadOnlySpan<byte> method, int s, ref Slot slot, int cseq, bool toTag)
    {
        var span = _out.GetSpan(1024);
        method.CopyTo(span);
        var used = method.Length;
        // ACK and CANCEL belong to the INVITE's transaction (its branch); BYE is a transaction of its own.
        var branch = method.SequenceEqual("BYE"u8) ? 2 : 1;
        Utf8.TryWrite(span[used..], CultureInfo.InvariantCulture, $" sip:10086@{_target} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:{_localPort};branch=z9hG4bK{_run}-{_id}-{s}-{slot.Gen}-{branch}\r\nFrom: <sip:{slot.Caller}@callers.invalid>;tag=c{slot.Caller}\r\nTo: <sip:10086@acd.invalid>{(toTag ? ";tag=acd" : string.Empty)}\r\nCall-ID: {_run}-{_id}-{s}-{slot.Gen}\r\nCSeq: {cseq} ", out var written);
        used += written;
        method.CopyTo(span[used..]);
        used += method.Length;
        "\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"u8.CopyTo(span[used..]);
        used += 41;
        _out.Advance(used);
    }

    /// <summary>Hands what was written to the writer thread (under the call lock); nothing here blocks on the socket.</summary>
    private void Flush()
    {
        if (_out.WrittenCount > 0)
        {
            _outReady.Set();
        }
    }

    /// <summary>
    /// Sends what the reader and the offering thread wrote. A thread of its own, so that reading answers never waits
    /// for a send: a daemon that pauses reading while its answers are not read would otherwise deadlock with us.
    /// </summary>
    private void WriteLoop()
    {
        while (!_closed)
        {
            _outReady.WaitOne(50);
            lock (_lock)
            {
                (_out, _sending) = (_sending, _out);
            }

            try
            {
                var data = _sending.WrittenSpan;
                while (data.Length > 0)
                {
                    var n = _socket.Send(data, SocketFlags.None);
                    data = data[n..];
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                if (!_closed)
                {
                    lock (_lock)
                    {
                        Problem("sending failed: " + e.Message);
                    }
                }

                return;
            }
            finally
            {
                _sending.ResetWrittenCount();
            }
        }
    }

    private void Problem(string what)
    {
        ProtocolErrors++;
        if (Problems.Count < 10)
        {
            Problems.Add($"connection {_id}: {what}");
        }
    }
}

/// <summary>The run's timers (talk times, patience), fired by one thread in due order.</summary>
internal sealed class Timers : IDisposable
{
    private readonly PriorityQueue<(SipConnection Connection, int Slot, int Gen, bool HangUp), long> _due = new();
    private readonly Lock _lock = new();
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stop = new();
    private readonly AutoResetEvent _wake = new(false);

    public Timers()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "loadgen-timers" };
        _thread.Start();
    }

    public int Pending
    {
        get
        {
            lock (_lock)
            {
                return _due.Count;
            }
        }
    }

    public void Schedule(long nowTicks, long afterMs, SipConnection connection, int slot, int gen, bool hangUp)
    {
        var due = nowTicks + (afterMs * Stopwatch.Frequency / 1000);
        lock (_lock)
        {
            _due.Enqueue((connection, slot, gen, hangUp), due);
        }
    }

    /// <summary>Forgets every pending timer (the run is over).</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _due.Clear();
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _wake.Set();
        _thread.Join();
        _stop.Dispose();
        _wake.Dispose();
    }

    private void Run()
    {
        var fire = new List<(SipConnection Connection, int Slot, int Gen, bool HangUp)>();
        while (!_stop.IsCancellationRequested)
        {
            var now = Stopwatch.GetTimestamp();
            lock (_lock)
            {
                while (_due.TryPeek(out var item, out var due) && due <= now)
                {
                    _due.Dequeue();
                    fire.Add(item);
                }
            }

            foreach (var (connection, slot, gen, hangUp) in fire)
            {
                connection.Fire(slot, gen, hangUp);
            }

            fire.Clear();
            _wake.WaitOne(2);
        }
    }
}
