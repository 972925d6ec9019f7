using Microsoft.AspNetCore.Connections;

namespace Acd.Host;

/// <summary>A cap on the open connections of one listener (Kestrel's own limit is server-wide, SIP included).</summary>
internal static class ConnectionCap
{
    /// <summary>Connection middleware: beyond <paramref name="max"/> open connections, a new one is closed at once.</summary>
    public static Func<ConnectionDelegate, ConnectionDelegate> Middleware(int max)
    {
        var open = 0;
        return next => async connection =>
        {
            if (Interlocked.Increment(ref open) > max)
            {
                Interlocked.Decrement(ref open);
                connection.Abort(new ConnectionAbortedException($"{max} connections open"));
                return;
            }

            try
            {
                await next(connection).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref open);
            }
        };
    }
}
