using System.Runtime.InteropServices;
using Acd.Core.Routing;

namespace Acd.Core.Engine;

/// <summary>One command as executed: when, with what result, and which events it produced.</summary>
/// <param name="Command">The command.</param>
/// <param name="Reply">Who waits for the result (not journaled).</param>
/// <param name="TimeMs">The clock it was executed at.</param>
/// <param name="Result">Its result.</param>
/// <param name="FirstEvent">Index of its first event in <see cref="EngineBatch.Events"/>.</param>
/// <param name="EventCount">How many events it produced (timers fired before it included).</param>
/// <param name="ElapsedTicks">How long the router took over it, in <see cref="TimeProvider.TimestampFrequency"/> ticks.</param>
public readonly record struct BatchEntry(Command Command, object? Reply, long TimeMs, CommandResult Result, int FirstEvent, int EventCount, long ElapsedTicks);

/// <summary>
/// The commands one turn of the engine loop executed, with their events, handed to the <see cref="IEngineSink"/>.
/// The sink may keep it (to journal it, to release answers once it is durable) and must call <see cref="Release"/>
/// exactly once when done; the engine then reuses it. A bounded pool of batches is the engine's backpressure.
/// </summary>
public sealed class EngineBatch
{
    private readonly List<BatchEntry> _entries = new(256);
    private readonly Action<EngineBatch> _recycle;

    internal EngineBatch(Action<EngineBatch> recycle)
    {
        _recycle = recycle;
    }

    /// <summary>Batch number, from 1, in execution order.</summary>
    public long Number { get; internal set; }

    /// <summary>Calls waiting in the domain once the batch was executed.</summary>
    public long WaitingAfter { get; internal set; }

    /// <summary>The routing domain.</summary>
    public string Domain { get; internal set; } = string.Empty;

    /// <summary>
    /// Executed on a poster's thread (<see cref="RoutingEngine.RunPosted"/>) rather than the loop's: the sink's
    /// <see cref="IEngineSink.AfterInline"/> follows on that thread once the engine is free again.
    /// </summary>
    public bool Inline { get; internal set; }

    /// <summary>The executed commands in order.</summary>
    public ReadOnlySpan<BatchEntry> Entries => CollectionsMarshal.AsSpan(_entries);

    /// <summary>Number of commands.</summary>
    public int Count => _entries.Count;

    /// <summary>All events of the batch in order.</summary>
    public EventBuffer Events { get; } = new(1024);

    /// <summary>Gives the batch back to the engine.</summary>
    public void Release()
    {
        _entries.Clear();
        Events.Clear();
        _recycle(this);
    }

    internal void Add(in BatchEntry entry) => _entries.Add(entry);
}

/// <summary>Receives every batch the engine executes, in order, on the thread that executed it (the engine's, or a poster's running it inline: one at a time).</summary>
public interface IEngineSink
{
    /// <summary>
    /// Takes a batch. Must not block for long (it runs on the routing thread); slow work (fsync, socket writes)
    /// belongs on another thread, which calls <see cref="EngineBatch.Release"/> when done.
    /// </summary>
    void OnBatch(EngineBatch batch);

    /// <summary>
    /// After a poster executed a batch on its own thread (<see cref="EngineBatch.Inline"/>) and gave the engine back, on
    /// that thread: the sink may do the batch's slow work here (the poster has nothing else to do) instead of waking a
    /// thread of its own for it. By default nothing: <see cref="OnBatch"/> has handed the batch on.
    /// </summary>
    void AfterInline()
    {
    }
}

/// <summary>A reply target that the sink completes with a command's result.</summary>
public interface ICommandReply
{
    /// <summary>Delivers the result (called once, when the answer may leave the daemon).</summary>
    void Complete(in CommandResult result);
}

/// <summary>A reply awaited as a task.</summary>
public sealed class TaskReply : ICommandReply
{
    private readonly TaskCompletionSource<CommandResult> _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The result, when it comes.</summary>
    public Task<CommandResult> Task => _tcs.Task;

    /// <inheritdoc/>
    public void Complete(in CommandResult result) => _tcs.TrySetResult(result);

    /// <summary>Fails the wait (the engine stopped).</summary>
    public void Fail(Exception error) => _tcs.TrySetException(error);
}
