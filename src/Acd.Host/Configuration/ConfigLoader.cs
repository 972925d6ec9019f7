using System.Globalization;
using System.Net;
using Acd.Core.Configuration;
using Acd.Core.Sip;

namespace Acd.Host.Configuration;

/// <summary>The daemon's validated settings: compiled domains and parsed listen addresses.</summary>
public sealed class AcdSettings
{
    internal AcdSettings(AcdOptions options, IReadOnlyList<DomainConfig> domains, IPEndPoint? sip, IPEndPoint? grpc, IPEndPoint? http, string source, SipLimits sipLimits)
    {
        SipLimits = sipLimits;
        Options = options;
        Domains = domains;
        Sip = sip;
        Grpc = grpc;
        Http = http;
        Source = source;
    }

    /// <summary>The bound options.</summary>
    public AcdOptions Options { get; }

    /// <summary>The routing domains.</summary>
    public IReadOnlyList<DomainConfig> Domains { get; }

    /// <summary>SIP listen address, or null when off.</summary>
    public IPEndPoint? Sip { get; }

    /// <summary>gRPC listen address, or null when off.</summary>
    public IPEndPoint? Grpc { get; }

    /// <summary>HTTP listen address, or null when off.</summary>
    public IPEndPoint? Http { get; }

    /// <summary>SIP port limits.</summary>
    public SipLimits SipLimits { get; }

    /// <summary>Whether the embedded demo centre is in use (no --config).</summary>
    public bool UsesDemoCentre { get; init; }

    /// <summary>Where the configuration came from (the embedded demo centre or a file).</summary>
    public string Source { get; }
}

/// <summary>
/// Builds the configuration the .NET way, in increasing precedence: the embedded demo centre (only without
/// <c>--config</c>), <c>appsettings.json</c> beside the working directory (optional), the <c>--config</c> file,
/// environment variables (<c>Acd__RingTimeoutSeconds=30</c>) and command-line switches; then binds and checks it.
/// </summary>
public static class ConfigLoader
{
    /// <summary>Short switches and the keys they set.</summary>
    public static readonly IReadOnlyDictionary<string, string> Switches = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["--sip"] = "Acd:Listen:Sip",
        ["--grpc"] = "Acd:Listen:Grpc",
        ["--http"] = "Acd:Listen:Http",
        ["--data"] = "Acd:DataDirectory",
        ["--api-token"] = "Acd:Api:Token",
        ["--log-format"] = "Logging:Console:FormatterName",
        ["--config"] = "Acd:ConfigFile",
    };

    /// <summary>The embedded demo centre.</summary>
    public static Stream OpenDemoCentre() =>
        typeof(ConfigLoader).Assembly.GetManifestResourceStream("Acd.Host.demo-centre.json")
        ?? throw new InvalidOperationException("the demo centre is not embedded");

    /// <summary>Finds the value of <c>--config</c> in the arguments (either <c>--config FILE</c> or <c>--config=FILE</c>).</summary>
    public static string? ConfigFileArgument(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        for (var i = 0; i < args.Count; i++)
        {
            if (string.Equals(args[i], "--config", StringComparison.Ordinal) && i + 1 < args.Count)
            {
                return args[i + 1];
            }

            if (args[i].StartsWith("--config=", StringComparison.Ordinal))
            {
                return args[i]["--config=".Length..];
            }
        }

        return null;
    }

    /// <summary>Fills <paramref name="configuration"/> with every source in order.</summary>
    public static void AddSources(IConfigurationBuilder configuration, string[] args)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var file = ConfigFileArgument(args);
        if (file is null)
        {
            configuration.AddJsonStream(OpenDemoCentre());
        }

        configuration.AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true, reloadOnChange: false);
        if (file is not null)
        {
            configuration.AddJsonFile(Path.GetFullPath(file), optional: false, reloadOnChange: false);
        }

        configuration.AddEnvironmentVariables();
        configuration.AddCommandLine(args, new Dictionary<string, string>(Switches, StringComparer.Ordinal));
    }

    /// <summary>Binds the <c>Acd</c> section and checks everything; throws <see cref="ConfigException"/> naming each bad key.</summary>
    public static AcdSettings Load(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var errors = new List<ConfigError>();
        var options = new AcdOptions();
        var section = configuration.GetSection("Acd");
        try
        {
            section.Bind(options, o => o.ErrorOnUnknownConfiguration = false);
        }
        catch (InvalidOperationException e)
        {
            // The binder names the key ("... at 'Acd:RingTimeoutSeconds' to type 'System.Int32'") and the value.
            var key = System.Text.RegularExpressions.Regex.Match(e.Message, "at '([^']+)'") is { Success: true } m ? m.Groups[1].Value : "Acd";
            throw new ConfigException([new ConfigError(key, e.Message + (e.InnerException is null ? string.Empty : " " + e.InnerException.Message))]);
        }

        var domains = new List<DomainConfig>();
        if (options.Domains.Count == 0)
        {
            var single = DomainCompiler.TryCompile(options, "Acd", errors);
            if (single is not null)
            {
                domains.Add(single);
            }
        }
        else
        {
            if (options.Skills.Count > 0 || options.Agents.Count > 0 || options.AgentGroups.Count > 0)
            {
                errors.Add(new ConfigError("Acd:Domains", "list the skills and agents either at the top of Acd or in Acd:Domains, not both"));
            }

            for (var i = 0; i < options.Domains.Count; i++)
            {
                var d = DomainCompiler.TryCompile(options.Domains[i], $"Acd:Domains:{i}", errors);
                if (d is not null)
                {
                    domains.Add(d);
                }
            }
        }

        CheckDomainsApart(domains, errors);
        var sip = ParseEndpoint(options.Listen.Sip, "Acd:Listen:Sip", errors);
        var grpc = ParseEndpoint(options.Listen.Grpc, "Acd:Listen:Grpc", errors);
        var http = ParseEndpoint(options.Listen.Http, "Acd:Listen:Http", errors);
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            errors.Add(new ConfigError("Acd:DataDirectory", "must name a directory"));
        }

        CheckRange(errors, "Acd:Engine:QueueCapacity", options.Engine.QueueCapacity, 16, 1 << 24);
        CheckRange(errors, "Acd:Engine:MaxBatch", options.Engine.MaxBatch, 1, 65_536);
        CheckRange(errors, "Acd:Engine:Batches", options.Engine.Batches, 1, 64);
        CheckRange(errors, "Acd:Journal:SegmentMegabytes", options.Journal.SegmentMegabytes, 1, 4096);
        CheckRange(errors, "Acd:Journal:SnapshotEveryRecords", options.Journal.SnapshotEveryRecords, 1000, 100_000_000);
        CheckRange(errors, "Acd:Journal:SnapshotIntervalSeconds", options.Journal.SnapshotIntervalSeconds, 1, 86_400);
        CheckRange(errors, "Acd:Journal:KeepSnapshots", options.Journal.KeepSnapshots, 1, 100);
        CheckRange(errors, "Acd:Journal:SnapshotCaptureMaxCalls", options.Journal.SnapshotCaptureMaxCalls, 0, 100_000_000);
        var sipOptions = options.Sip;
        CheckRange(errors, "Acd:Sip:MaxStartLineBytes", sipOptions.MaxStartLineBytes, 32, 65_536);
        CheckRange(errors, "Acd:Sip:MaxHeaderBytes", sipOptions.MaxHeaderBytes, 256, 1 << 20);
        CheckRange(errors, "Acd:Sip:MaxHeaders", sipOptions.MaxHeaders, 8, 1024);
        CheckRange(errors, "Acd:Sip:MaxBodyBytes", sipOptions.MaxBodyBytes, 0, 1 << 24);
        CheckRange(errors, "Acd:Sip:IdleTimeoutSeconds", sipOptions.IdleTimeoutSeconds, 1, 86_400);
        CheckRange(errors, "Acd:Sip:MaxPendingResponses", sipOptions.MaxPendingResponses, 16, 1 << 24);
        CheckRange(errors, "Acd:Sip:MaxConnections", sipOptions.MaxConnections, 1, 1_000_000);
        CheckRange(errors, "Acd:Sip:RetryAfterNoAgentsSeconds", sipOptions.RetryAfterNoAgentsSeconds, 0, 86_400);
        CheckRange(errors, "Acd:Sip:RetryAfterBusySeconds", sipOptions.RetryAfterBusySeconds, 0, 86_400);
        CheckRange(errors, "Acd:Grpc:MaxMessageBytes", options.Grpc.MaxMessageBytes, 1024, 64 * 1024 * 1024);
        CheckRange(errors, "Acd:Grpc:WatchBuffer", options.Grpc.WatchBuffer, 16, 10_000_000);
        if (options.Grpc.ResponseCompression is { Length: > 0 } compression && !string.Equals(compression, "gzip", StringComparison.Ordinal))
        {
            errors.Add(new ConfigError("Acd:Grpc:ResponseCompression", $"must be empty (no compression) or gzip, not '{compression}'"));
        }

        if (!string.IsNullOrEmpty(options.Grpc.CertificatePath) && !File.Exists(options.Grpc.CertificatePath))
        {
            errors.Add(new ConfigError("Acd:Grpc:CertificatePath", $"file '{options.Grpc.CertificatePath}' not found"));
        }

        if (options.Api.Token is { Length: > 0 and < 16 })
        {
            errors.Add(new ConfigError("Acd:Api:Token", "an API token must be at least 16 characters"));
        }
        if (errors.Count > 0)
        {
            throw new ConfigException(errors);
        }

        var source = configuration["Acd:ConfigFile"] is { Length: > 0 } f ? Path.GetFullPath(f) : "embedded demo centre";
        var sipLimits = new SipLimits
        {
            MaxStartLineBytes = sipOptions.MaxStartLineBytes,
            MaxHeaderBytes = sipOptions.MaxHeaderBytes,
            MaxHeaders = sipOptions.MaxHeaders,
            MaxBodyBytes = sipOptions.MaxBodyBytes,
            IdleTimeoutSeconds = sipOptions.IdleTimeoutSeconds,
            MaxPendingResponses = sipOptions.MaxPendingResponses,
            MaxConnections = sipOptions.MaxConnections,
        };
        return new AcdSettings(options, domains, sip, grpc, http, source, sipLimits) { UsesDemoCentre = string.IsNullOrEmpty(configuration["Acd:ConfigFile"]) };
    }

    internal static void CheckRange(List<ConfigError> errors, string key, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            errors.Add(new ConfigError(key, $"must be between {min} and {max}, not {value}"));
        }
    }

    /// <summary>Parses <c>ADDR:PORT</c> (IPv6 as <c>[::1]:PORT</c>, <c>localhost:PORT</c> as 127.0.0.1); empty turns the listener off.</summary>
    public static IPEndPoint? ParseEndpoint(string? text, string key, List<ConfigError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var colon = text.LastIndexOf(':');
        if (colon > 0 && int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535)
        {
            var host = text[..colon];
            if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
            {
                return new IPEndPoint(IPAddress.Loopback, port);
            }

            var bracketed = host.Length > 2 && host[0] == '[' && host[^1] == ']';
            if (IPAddress.TryParse(bracketed ? host[1..^1] : host, out var address)
                && (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6) == bracketed)
            {
                return new IPEndPoint(address, port);
            }
        }

        errors.Add(new ConfigError(key, $"must be ADDR:PORT (for example 127.0.0.1:5060 or [::1]:5060), not '{text}'"));
        return null;
    }

    private static void CheckDomainsApart(List<DomainConfig> domains, List<ConfigError> errors)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var agents = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < domains.Count; i++)
        {
            var d = domains[i];
            if (!names.Add(d.Name))
            {
                errors.Add(new ConfigError($"Acd:Domains:{i}:Name", $"domain '{d.Name}' is defined twice"));
            }

            foreach (var a in d.Roster)
            {
                if (!agents.TryAdd(a.Id, d.Name))
                {
                    errors.Add(new ConfigError($"Acd:Domains:{i}", $"agent '{a.Id}' is also in domain '{agents[a.Id]}'; work numbers are unique across domains"));
                    break;
                }
            }
        }
    }
}
