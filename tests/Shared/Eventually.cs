namespace Acd.Tests.Shared;

/// <summary>
/// Bounded polling for what another thread or process brings about: checks a condition every few milliseconds until it
/// holds, and fails the test, naming what was awaited, once the time allowed is over. Shared by the test projects.
/// </summary>
internal static class Eventually
{
    /// <summary>Waits until <paramref name="condition"/> holds, at most <paramref name="seconds"/>.</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, string what, double seconds = 10)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition().ConfigureAwait(false))
        {
            if (DateTime.UtcNow >= deadline)
            {
                Assert.Fail($"{what}: not within {seconds} s");
            }

            await Task.Delay(10).ConfigureAwait(false);
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds, at most <paramref name="seconds"/>.</summary>
    public static Task TrueAsync(Func<bool> condition, string what, double seconds = 10)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return TrueAsync(() => Task.FromResult(condition()), what, seconds);
    }
}
