using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Acd.Core.Routing;

/// <summary>
/// Asks the processor to start loading a cache line that the router will read soon, without waiting for it. A hint
/// only: no load result is used, so an address made stale by the collector moving an object can at worst fetch a
/// useless line (prefetch instructions never fault). A no-op where the instruction is not available.
/// </summary>
internal static class CacheHint
{
    /// <summary>The line holding <paramref name="location"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Prefetch<T>(ref T location)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(Unsafe.AsPointer(ref location));
        }
    }

    /// <summary>The line of an object's first field (nothing for null).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PrefetchObject(object? o)
    {
        if (o is not null)
        {
            Prefetch(ref Unsafe.As<RawObject>(o).First);
        }
    }

    /// <summary>Every line of an object's first <paramref name="bytes"/> bytes of fields (nothing for null).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PrefetchFields(object? o, int bytes)
    {
        if (o is not null)
        {
            PrefetchSpan(ref Unsafe.As<RawObject>(o).First, bytes);
        }
    }

    /// <summary>Every line of the <paramref name="bytes"/> bytes from <paramref name="location"/> on (its last included, wherever it starts).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void PrefetchSpan<T>(ref T location, int bytes)
    {
        if (Sse.IsSupported)
        {
            var p = (byte*)Unsafe.AsPointer(ref location);
            for (var offset = 0; offset < bytes; offset += 64)
            {
                Sse.Prefetch0(p + offset);
            }

            Sse.Prefetch0(p + bytes - 1);
        }
    }

    /// <summary>Any object seen as its first byte of fields, as the runtime's own <c>RawData</c> does.</summary>
    private sealed class RawObject
    {
        public byte First;
    }
}
