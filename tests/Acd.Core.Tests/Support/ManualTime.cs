namespace Acd.Core.Tests.Support;

/// <summary>A clock that moves only when told: a small fake <see cref="TimeProvider"/> for tests.</summary>
public sealed class ManualTime(long startUnixMs) : TimeProvider
{
    private long _now = startUnixMs;

    public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(Interlocked.Read(ref _now));

    public void Advance(TimeSpan by) => Interlocked.Add(ref _now, (long)by.TotalMilliseconds);
}
