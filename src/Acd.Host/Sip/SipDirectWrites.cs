namespace Acd.Host.Sip;

/// <summary>
/// Answers written into their connection's pipe by the thread that makes them, flushed once per connection when its
/// work ends — a delivered batch (the journal's thread, or the engine's without a journal) or a read's messages (the
/// connection's read loop) — instead of queued for the connection's write loop. At a hotline's everyday rate each hand-off
/// to the write loop costs the thread pool a wake-up, and one more for the worker it wakes in case more work follows
/// (docs/performance.md, issue 18's ninth step); so an answer that can go at once goes on the thread that has it. It can
/// when no one else writes to the connection and nothing is queued before it (<see cref="SipSession.TryWriteDirect"/>);
/// otherwise it is queued as before, and the write loop keeps the order and the bounds.
/// </summary>
internal sealed class SipDirectWrites
{
    [ThreadStatic]
    private static SipDirectWrites? t_scope;

    private readonly List<SipSession> _held = [];
    private int _depth;

    /// <summary>The connection whose read the thread handles in this scope, if it is a read loop's.</summary>
    public SipSession? Reading { get; private set; }

    /// <summary>The thread's open scope, or null: outside one, answers are queued for the write loop.</summary>
    public static SipDirectWrites? Current => t_scope is { _depth: > 0 } scope ? scope : null;

    /// <summary>Opens (or enters again) the thread's scope; a read loop opening it names its connection.</summary>
    public static void Begin(SipSession? reading = null)
    {
        var scope = t_scope ??= new SipDirectWrites();
        if (scope._depth++ == 0)
        {
            scope.Reading = reading;
        }
    }

    /// <summary>Leaves the scope; the outermost end flushes every connection written to and gives it back to its write loop.</summary>
    public static void End()
    {
        var scope = t_scope!;
        if (--scope._depth > 0)
        {
            return;
        }

        scope.Reading = null;
        scope.Flush();
    }

    private void Flush()
    {
        // FlushDirect takes a connection's end (a failed or pending flush) without throwing, so every connection held here
        // gets its flush and is given back.
        foreach (var session in _held)
        {
            session.FlushDirect();
        }

        _held.Clear();
    }

    /// <summary>
    /// Inside a scope: flushes every connection written to so far and gives it back, the scope staying open (a later
    /// answer takes its connection again). Before the thread waits for the disk, what it wrote leaves.
    /// </summary>
    public static void FlushHeld()
    {
        if (Current is { } scope)
        {
            scope.Flush();
        }
    }

    /// <summary>A connection this scope now writes to (its writer held until <see cref="End"/>).</summary>
    public void Hold(SipSession session) => _held.Add(session);
}
