using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Acd.LoadGen;

/// <summary>The command line: a mode, then <c>--name value</c> options. Every bad value is named.</summary>
internal sealed class Options
{
    public const string Usage = """
        acd-loadgen MODE [options]     drive a running ACD daemon over SIP (TCP) and gRPC, on loopback only

        modes:
          max    agents answer and hang up at once; calls as fast as the daemon takes them (or at --rate);
                 calls a second, INVITE→302 latency percentiles, daemon CPU seconds per 1,000 calls
          day    a hotline day compressed in time: arrivals on a daily curve with a month-end surge, the five
                 seats, caller patience, talk and wrap-up, agents logging in and out by an Erlang C plan;
                 per seat offered / answered / abandoned / service level / ASA, surge tiers seen
          fill   calls that all wait (agents not ready): the daemon's resident memory for that many waiting calls

        options (defaults in brackets):
          --sip ADDR:PORT         the daemon's SIP port [127.0.0.1:5060]
          --grpc ADDR:PORT        its gRPC port (day mode: agents, queues, surge) [127.0.0.1:50051]
          --http ADDR:PORT        its HTTP port (/metrics: CPU, memory, counters); "" to skip [127.0.0.1:8080]
          --api-token TOKEN       bearer token for gRPC
          --connections N         SIP connections [max: 4, day: 2, fill: 4]
          --window N              calls in flight per connection [max: 512, day: 20000, fill: 1000000]
          --calls N               stop after this many calls [max: 1,000,000; fill: 1,000,000]
          --duration SECONDS      stop after this long [max: 30]
          --warmup SECONDS        max: calls before measuring, not counted [0]
          --rate N                max: calls a second to offer (0: as fast as taken) [0]
          --pace-us N             max with --rate: between sends, sleep N microseconds (usleep) instead of the
                                  1 ms timer, so calls go out in smaller bursts (0: the timer) [0]
          --hours N               day: hours of the day simulated, from midnight [24]
          --hour-seconds S        day: real seconds per simulated hour [10]
          --peak-rate N           day: arrivals a second at the busiest normal hour [40]
          --surge-hours A-B       day: month-end surge hours [10-12]
          --surge-factor F        day: arrivals multiplied in the surge hours [2.5]
          --talk-seconds S        day: mean talk time (exponential) [3]
          --wrap-seconds S        day: wrap-up configured on the daemon, for the staffing plan [1]
          --patience-seconds S    day: mean caller patience (exponential) [15]
          --seed N                random seed [1]
          --json FILE             also write the results as JSON ("-": standard output)
          --quiet                 no progress line
        """;

    public string Mode { get; private set; } = string.Empty;

    public IPEndPoint Sip { get; private set; } = new(IPAddress.Loopback, 5060);

    public string Grpc { get; private set; } = "127.0.0.1:50051";

    public string? Http { get; private set; } = "127.0.0.1:8080";

    public string? ApiToken { get; private set; }

    public int Connections { get; private set; }

    public int Window { get; private set; }

    /// <summary>Max mode with a rate: microseconds to sleep between sends (0: the 1 ms timer).</summary>
    public int PaceMicroseconds { get; private set; }

    public long Calls { get; private set; }

    public double DurationSeconds { get; private set; }

    public double WarmupSeconds { get; private set; }

    public double Rate { get; private set; }

    public int Hours { get; private set; } = 24;

    public double HourSeconds { get; private set; } = 10;

    public double PeakRate { get; private set; } = 40;

    public (int From, int To) SurgeHours { get; private set; } = (10, 12);

    public double SurgeFactor { get; private set; } = 2.5;

    public double TalkSeconds { get; private set; } = 3;

    public double WrapSeconds { get; private set; } = 1;

    public double PatienceSeconds { get; private set; } = 15;

    public int Seed { get; private set; } = 1;

    public string? Json { get; private set; }

    public bool Quiet { get; private set; }

    public static Options Parse(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            throw new UsageException(null);
        }

        var o = new Options { Mode = args[0] };
        if (o.Mode is not ("max" or "day" or "fill"))
        {
            throw new UsageException($"unknown mode '{o.Mode}' (max, day or fill)");
        }

        (o.Connections, o.Window, o.Calls, o.DurationSeconds) = o.Mode switch
        {
            "max" => (4, 512, 1_000_000L, 30.0),
            "day" => (2, 20_000, long.MaxValue, double.MaxValue),
            _ => (4, 1_000_000, 1_000_000L, 600.0),
        };

        for (var i = 1; i < args.Length; i++)
        {
            var name = args[i];
            if (string.Equals(name, "--quiet", StringComparison.Ordinal))
            {
                o.Quiet = true;
                continue;
            }

            if (i + 1 >= args.Length)
            {
                throw new UsageException($"{name}: a value is missing");
            }

            var value = args[++i];
            switch (name)
            {
                case "--sip": o.Sip = Loopback(name, value); break;
                case "--grpc": o.Grpc = Loopback(name, value).ToString(); break;
                case "--http": o.Http = value.Length == 0 ? null : Loopback(name, value).ToString(); break;
                case "--api-token": o.ApiToken = value; break;
                case "--connections": o.Connections = (int)Number(name, value, 1, 1000); break;
                case "--window": o.Window = (int)Number(name, value, 1, 1_000_000); break;
                case "--calls": o.Calls = (long)Number(name, value, 1, 1e12); break;
                case "--duration": o.DurationSeconds = Number(name, value, 0.1, 86_400); break;
                case "--warmup": o.WarmupSeconds = Number(name, value, 0, 3600); break;
                case "--rate": o.Rate = Number(name, value, 0, 1e8); break;
                case "--pace-us": o.PaceMicroseconds = (int)Number(name, value, 0, 100_000); break;
                case "--hours": o.Hours = (int)Number(name, value, 1, 24); break;
                case "--hour-seconds": o.HourSeconds = Number(name, value, 0.1, 3600); break;
                case "--peak-rate": o.PeakRate = Number(name, value, 0.01, 1e6); break;
                case "--surge-hours": o.SurgeHours = Range(name, value); break;
                case "--surge-factor": o.SurgeFactor = Number(name, value, 0, 100); break;
                case "--talk-seconds": o.TalkSeconds = Number(name, value, 0, 3600); break;
                case "--wrap-seconds": o.WrapSeconds = Number(name, value, 0, 3600); break;
                case "--patience-seconds": o.PatienceSeconds = Number(name, value, 0, 86_400); break;
                case "--seed": o.Seed = (int)Number(name, value, 0, int.MaxValue); break;
                case "--json": o.Json = value; break;
                default: throw new UsageException($"unknown option {name}");
            }
        }

        return o;
    }

    private static double Number(string name, string value, double min, double max)
    {
        if (!double.TryParse(value.Replace(",", string.Empty, StringComparison.Ordinal).Replace("_", string.Empty, StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
        {
            throw new UsageException($"{name}: '{value}' is not a number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}");
        }

        return v;
    }

    private static (int, int) Range(string name, string value)
    {
        var parts = value.Split('-');
        if (parts.Length != 2 || !int.TryParse(parts[0], CultureInfo.InvariantCulture, out var a) || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out var b) || a < 0 || b > 24 || a > b)
        {
            throw new UsageException($"{name}: '{value}' is not an hour range like 10-12");
        }

        return (a, b);
    }

    /// <summary>Load goes to loopback addresses only: a load generator must not be pointed at someone else's server.</summary>
    private static IPEndPoint Loopback(string name, string value)
    {
        var colon = value.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new UsageException($"{name}: '{value}' is not ADDR:PORT");
        }

        var host = value[..colon].Trim('[', ']');
        IPAddress[] addresses;
        try
        {
            addresses = IPAddress.TryParse(host, out var ip) ? [ip] : Dns.GetHostAddresses(host);
        }
        catch (SocketException e)
        {
            throw new UsageException($"{name}: '{host}' does not resolve ({e.Message})");
        }

        var loopback = addresses.FirstOrDefault(IPAddress.IsLoopback);
        return loopback is null || addresses.Any(a => !IPAddress.IsLoopback(a))
            ? throw new UsageException($"{name}: {host} is not a loopback address; acd-loadgen drives a daemon on this machine only")
            : new IPEndPoint(loopback, port);
    }
}

/// <summary>A bad command line: the message, then the usage.</summary>
internal sealed class UsageException(string? message) : Exception(message ?? "usage");
