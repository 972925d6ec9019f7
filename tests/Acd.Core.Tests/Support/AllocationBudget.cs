namespace Acd.Core.Tests.Support;

/// <summary>
/// Measures what a warmed-up piece of code allocates on the current thread. The runtime itself may allocate on the
/// thread now and then while it recompiles a hot method at a higher tier (type loads, a few KB, at a moment of its
/// choosing), so up to three windows are measured and the last one counts: code that allocates would allocate in every
/// one of them.
/// </summary>
public static class AllocationBudget
{
    /// <summary>Bytes allocated by each window run, until one allocates nothing (at most three).</summary>
    public static IReadOnlyList<long> Windows(Action window)
    {
        ArgumentNullException.ThrowIfNull(window);
        var windows = new List<long>();
        for (var w = 0; w < 3 && (windows.Count == 0 || windows[^1] != 0); w++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            window();
            windows.Add(GC.GetAllocatedBytesForCurrentThread() - before);
        }

        return windows;
    }

    /// <summary>Asserts that <paramref name="window"/> allocates nothing once the runtime has settled.</summary>
    public static void AssertNone(Action window, string what)
    {
        var windows = Windows(window);
        Assert.True(windows[^1] == 0, $"bytes allocated per window of {what}: {string.Join(", ", windows)}");
    }
}
