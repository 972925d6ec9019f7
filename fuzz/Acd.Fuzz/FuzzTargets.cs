using System.Buffers;
using System.Text;
using System.Text.Json;
using Acd.Core.Configuration;
using Acd.Core.Durability;
using Acd.Core.Routing;
using Acd.Core.Sip;

namespace Acd.Fuzz;

/// <summary>A fuzz target found input that breaks a property: not merely refused, but handled wrongly.</summary>
public sealed class FuzzFinding(string message) : Exception(message);

/// <summary>
/// The fuzz targets. Each takes any bytes; input the code under test refuses the documented way (an
/// <see cref="InvalidDataException"/>, a rejection) is fine; any other exception, or a property that does not hold, is a
/// finding. The same code runs under afl-fuzz (Program.cs) and over the corpus in the core tests.
/// </summary>
public static class FuzzTargets
{
    /// <summary>The targets by name.</summary>
    public static readonly IReadOnlyDictionary<string, Action<byte[]>> All = new Dictionary<string, Action<byte[]>>(StringComparer.Ordinal)
    {
        ["sip"] = Sip,
        ["journal"] = Journal,
        ["snapshot"] = Snapshot,
        ["config"] = Config,
    };

    // Made on first use, never in a static constructor: under afl-fuzz, instrumented code (Acd.Core) must not run before
    // SharpFuzz has set up its coverage map, and Main touches this class to pick the target.
    private static readonly Lazy<SipLimits> LimitsOnce = new(() => new SipLimits { MaxHeaderBytes = 4096, MaxBodyBytes = 4096, MaxHeaders = 32, MaxStartLineBytes = 512 });

    private static SipLimits Limits => LimitsOnce.Value;

    // ---- SIP: the parser against a slow, obviously correct reading of the same bytes, and against itself in pieces ----

    /// <summary>
    /// Parses the bytes whole and split in three segments (the copy path); both must agree exactly, and a message the
    /// parser frames must be what <see cref="ReferenceSip"/> finds in the same bytes. Validation runs on every request.
    /// </summary>
    public static void Sip(byte[] data)
    {
        var whole = ParseAll(new ReadOnlySequence<byte>(data));
        var split = ParseAll(Split(data));
        if (!whole.SequenceEqual(split, StringComparer.Ordinal))
        {
            throw new FuzzFinding($"one segment and three disagree:\n  {string.Join("\n  ", whole)}\nvs\n  {string.Join("\n  ", split)}");
        }
    }

    private static List<string> ParseAll(ReadOnlySequence<byte> data)
    {
        var seen = new List<string>();
        var reader = new SequenceReader<byte>(data);
        var message = new SipMessage();
        byte[]? scratch = null;
        for (var n = 0; n < 64; n++)
        {
            var before = reader.Consumed;
            var rest = data.Slice(reader.Position).ToArray();
            var result = SipParser.TryParse(ref reader, Limits, message, ref scratch);
            var consumed = reader.Consumed - before;
            if (result is SipParseResult.Message or SipParseResult.Malformed)
            {
                var described = Describe(message, result, consumed);
                var reference = ReferenceSip.Frame(rest, Limits);
                if (reference is null || reference.Value.Consumed != consumed || !reference.Value.Headers.SequenceEqual(Headers(message)) || reference.Value.ContentLength != message.ContentLength)
                {
                    throw new FuzzFinding($"the parser framed {described} where the reference finds {(reference is null ? "no message" : $"{reference.Value.Consumed} bytes, {reference.Value.Headers.Count} headers, Content-Length {reference.Value.ContentLength}")}");
                }

                if (message.IsRequest && result == SipParseResult.Message)
                {
                    described += " " + SipRequests.Validate(message) + " " + SipRequests.Unsupported(message);
                }

                seen.Add(described);
                continue;
            }

            if (result == SipParseResult.Incomplete && consumed != 0)
            {
                throw new FuzzFinding("an incomplete message consumed bytes");
            }

            if (result == SipParseResult.Incomplete && ReferenceSip.Frame(rest, Limits) is { } framed && framed.Consumed <= rest.Length && result != SipParseResult.Broken)
            {
                throw new FuzzFinding($"the parser waits for more, where the reference finds a whole message of {framed.Consumed} bytes");
            }

            seen.Add(result + (result == SipParseResult.Broken ? " " + message.Rejection : string.Empty) + $" after {consumed}");
            if (result != SipParseResult.KeepAlive)
            {
                break;
            }
        }

        if (scratch is not null)
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }

        return seen;
    }

    private static string Describe(SipMessage m, SipParseResult result, long consumed) =>
        $"{result} {m.Rejection} {consumed} bytes, request {m.IsRequest} {Encoding.Latin1.GetString(m[m.MethodName])} {Encoding.Latin1.GetString(m[m.RequestUri])}, status {m.StatusCode}, " +
        string.Join("|", Headers(m).Select(h => $"{h.Name}={h.Value}"));

    private static List<(string Name, string Value)> Headers(SipMessage m) =>
        [.. m.Headers.ToArray().Select(h => (Encoding.Latin1.GetString(m[h.Name]), Encoding.Latin1.GetString(m[h.Value])))];

    /// <summary>The bytes in three segments, cut where the data says (so the fuzzer explores the cuts too).</summary>
    private static ReadOnlySequence<byte> Split(byte[] data)
    {
        if (data.Length < 3)
        {
            return new ReadOnlySequence<byte>(data);
        }

        var a = 1 + (data[0] % (data.Length - 2));
        var b = a + 1 + (data[^1] % (data.Length - a - 1));
        var first = new Segment(data.AsMemory(0, a), 0);
        var last = first.Append(data.AsMemory(a, b - a)).Append(data.AsMemory(b));
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long index)
        {
            Memory = memory.ToArray(); // a copy: no segment shares memory with another
            RunningIndex = index;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }

    // ---- journal: the scanner over any bytes, the command codec on any payload ----

    /// <summary>
    /// Scans the bytes as a journal file of either format (each record decoded, or refused as invalid data); the scan's
    /// verdict must fit the bytes. Then decodes the bytes as one payload: a command that decodes must encode back to
    /// bytes that decode to the same encoding.
    /// </summary>
    public static void Journal(byte[] data)
    {
        foreach (var format in new[] { 1, 2 })
        {
            var scanner = new JournalScanner(data, 0, format);
            var records = 0;
            while (scanner.TryNext(out var payload))
            {
                if (++records > data.Length)
                {
                    throw new FuzzFinding("the scanner does not advance");
                }

                DecodeOrRefuse(payload);
            }

            if (scanner.GoodLength > data.Length || scanner.UsedLength < scanner.GoodLength || scanner.UsedLength > data.Length)
            {
                throw new FuzzFinding($"scan lengths out of order: good {scanner.GoodLength}, used {scanner.UsedLength}, of {data.Length}");
            }

            if (scanner.End == JournalScanEnd.Clean && data.AsSpan(scanner.GoodLength).ContainsAnyExcept((byte)0))
            {
                throw new FuzzFinding("a clean end with bytes after the last record");
            }
        }

        DecodeOrRefuse(data);
    }

    private static void DecodeOrRefuse(ReadOnlyMemory<byte> payload)
    {
        (long Index, long TimeMs, Command Command) decoded;
        try
        {
            decoded = JournalFormat.Decode(payload);
        }
        catch (InvalidDataException)
        {
            return;
        }

        var once = Encode(decoded);
        var scanner = new JournalScanner(once);
        if (!scanner.TryNext(out var again))
        {
            throw new FuzzFinding("a record written is not read back");
        }

        var twice = Encode(JournalFormat.Decode(again));
        if (!once.AsSpan().SequenceEqual(twice))
        {
            throw new FuzzFinding($"a decoded command does not encode the same twice ({decoded.Command.GetType().Name})");
        }
    }

    private static byte[] Encode((long Index, long TimeMs, Command Command) record)
    {
        var w = new StateWriter(256);
        JournalFormat.Append(w, record.Index, record.TimeMs, record.Command);
        return w.Written.ToArray();
    }

    // ---- snapshot: the router's state reader on any bytes ----

    private static readonly Lazy<DomainConfig> SnapshotConfig = new(() => Compile(SnapshotCentre) ?? throw new InvalidOperationException("the snapshot centre does not compile"));

    /// <summary>
    /// The centre of the snapshot target and its seeds: as small as a state gets (one skill, two agents), so a seed is a
    /// couple of hundred bytes and a mutation has good odds of landing on any one of them.
    /// </summary>
    public const string SnapshotCentre = """
        { "Name": "s", "DefaultSkill": "g", "Repeat": { "Enabled": false }, "Ownership": { "Enabled": false },
          "Skills": [ { "Name": "g", "MaxQueueLength": 9 } ],
          "Agents": [ { "Id": "A", "Skills": { "g": 5 } }, { "Id": "B", "Skills": { "g": 3 }, "InitialState": "not-ready" } ] }
        """;

    /// <summary>A small centre for the snapshot seeds and target: two skills, overflow, callbacks, a roster.</summary>
    public const string SeedCentre = """
        { "Name": "fuzz", "RingTimeoutSeconds": 20,
          "Callbacks": { "MinAbandonWaitSeconds": 0 },
          "Skills": [ { "Name": "general", "MaxQueueLength": 50, "Overflow": [ { "AfterSeconds": 30, "Skill": "data" } ] }, { "Name": "data" } ],
          "Agents": [ { "Id": "A1", "Skills": { "general": 5 } }, { "Id": "A2", "Skills": { "general": 3, "data": 5 } }, { "Id": "A3", "Skills": { "data": 4 }, "InitialState": "not-ready" } ] }
        """;

    /// <summary>Reads the bytes as a router snapshot: refused as invalid data, or read into a state that writes back the same way twice.</summary>
    public static void Snapshot(byte[] data)
    {
        Router router;
        try
        {
            router = Router.ReadState(SnapshotConfig.Value, new StateReader(data));
        }
        catch (Exception e) when (e is InvalidDataException or NewerFormatException)
        {
            return;
        }

        var once = new StateWriter(1 << 12);
        router.WriteState(once);
        var again = Router.ReadState(SnapshotConfig.Value, new StateReader(once.WrittenMemory));
        var twice = new StateWriter(1 << 12);
        again.WriteState(twice);
        if (!once.Written.SequenceEqual(twice.Written))
        {
            throw new FuzzFinding("a state read writes back differently the second time");
        }
    }

    // ---- config: the domain compiler on any JSON ----

    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true, AllowTrailingCommas = true, ReadCommentHandling = JsonCommentHandling.Skip, MaxDepth = 32 };

    /// <summary>Compiles any JSON that binds to a domain's options: errors are listed, never thrown.</summary>
    public static void Config(byte[] data)
    {
        var config = Compile(data);
        if (config is not null && !DomainCompiler.IsToken(config.Name))
        {
            throw new FuzzFinding("a compiled domain with an invalid name");
        }
    }

    private static DomainConfig? Compile(string json) => Compile(Encoding.UTF8.GetBytes(json));

    private static DomainConfig? Compile(byte[] json)
    {
        DomainOptions? options;
        try
        {
            options = JsonSerializer.Deserialize<DomainOptions>(json, Json);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            return null; // not JSON of these options: what the configuration reader refuses before the compiler
        }

        if (options is null)
        {
            return null;
        }

        var errors = new List<ConfigError>();
        var compiled = DomainCompiler.TryCompile(options, "Acd", errors);
        if ((compiled is null) == (errors.Count == 0))
        {
            throw new FuzzFinding(compiled is null ? "no domain and no error" : "a domain compiled with errors: " + string.Join("; ", errors));
        }

        return compiled;
    }
}
