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

    /// <summary>The API token in force (from the file, the configuration or the command line); null: none.</summary>
    public string? ApiToken { get; init; }

    /// <summary>What SIP peers may do, by their network.</summary>
    internal Acd.Host.Sip.SipPeers SipPeers { get; init; } = new([], [], []);

    /// <summary>Agents' digest credentials (HA1 hashes), from <c>Acd:Sip:CredentialsFile</c>.</summary>
    internal IReadOnlyDictionary<string, (string? Sha256, string? Md5)> SipCredentials { get; init; } = new Dictionary<string, (string?, string?)>(StringComparer.Ordinal);

    /// <summary>The gRPC port's TLS certificate, loaded and checked at start; null: no TLS.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? GrpcCertificate { get; init; }

    /// <summary>The HTTP port's TLS certificate, loaded and checked at start; null: no TLS.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? HttpCertificate { get; init; }

    /// <summary>Things an operator should know at start (a token on the command line, an exposed listener without a token or TLS).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Where the configuration came from (the embedded demo centre or a file).</summary>
    public string Source { get; }
}

/// <summary>
/// Builds the configuration the .NET way, in increasing precedence: either the <c>--config</c> file, or (without it)
/// the embedded demo centre and an <c>appsettings.json</c> in the working directory if there is one; then environment
/// variables (<c>Acd__RingTimeoutSeconds=30</c>) and command-line switches. Then binds and checks it.
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
        ["--cluster"] = "Acd:Cluster:ConnectionString",
        ["--api-token"] = "Acd:Api:Token",
        ["--api-token-file"] = "Acd:Api:TokenFile",
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

            // Only with the demo centre: a file in the working directory (the systemd unit's is its writable data
            // directory) must not change a configuration named on the command line behind the operator's back.
            var local = Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json");
            if (File.Exists(local))
            {
                AddJsonFile(configuration, local, "appsettings.json");
                configuration.AddInMemoryCollection([new KeyValuePair<string, string?>(AppSettingsUsed, local)]);
            }
        }
        else
        {
            AddJsonFile(configuration, file, "--config");
        }

        configuration.AddEnvironmentVariables();
        configuration.AddCommandLine(args, new Dictionary<string, string>(Switches, StringComparer.Ordinal));
        if (args.Any(a => a.StartsWith("--api-token", StringComparison.Ordinal) && !a.StartsWith("--api-token-file", StringComparison.Ordinal)
            || a.Contains("Acd:Api:Token", StringComparison.OrdinalIgnoreCase) && !a.Contains("Acd:Api:TokenFile", StringComparison.OrdinalIgnoreCase)))
        {
            // Outside the Acd section: only to warn that the token is visible in /proc/PID/cmdline.
            configuration.AddInMemoryCollection([new KeyValuePair<string, string?>(TokenOnCommandLine, "true")]);
        }
    }

    /// <summary>Set when the API token came on the command line.</summary>
    private const string TokenOnCommandLine = "AcdHost:ApiTokenOnCommandLine";

    /// <summary>Set to the path of the working directory's appsettings.json when it was read.</summary>
    private const string AppSettingsUsed = "AcdHost:AppSettings";

    /// <summary>
    /// Adds a JSON file, checked first so that every way it can be wrong is one error naming the file and, for bad
    /// JSON, the line and column: missing, unreadable, empty, cut short, not an object at the top, a key twice.
    /// </summary>
    private static void AddJsonFile(IConfigurationBuilder configuration, string file, string what)
    {
        var path = Path.GetFullPath(file);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException([new ConfigError(what, $"cannot read '{path}': {e.Message}")]);
        }

        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(bytes, new System.Text.Json.JsonDocumentOptions
            {
                CommentHandling = System.Text.Json.JsonCommentHandling.Skip,
                AllowTrailingCommas = true,
            });
            if (document.RootElement.ValueKind != System.Text.Json.JsonValueKind.Object)
            {
                throw new ConfigException([new ConfigError(what, $"'{path}' must hold a JSON object ({{ \"Acd\": {{ … }} }}), not {document.RootElement.ValueKind.ToString().ToLowerInvariant()}")]);
            }
        }
        catch (System.Text.Json.JsonException e)
        {
            var problem = bytes.Length == 0 || bytes.All(b => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') ? "the file is empty" : FirstSentence(e.Message);
            throw new ConfigException([new ConfigError(what, $"'{path}' is not valid JSON at line {e.LineNumber + 1}, column {e.BytePositionInLine + 1}: {problem}")]);
        }

        try
        {
            configuration.AddJsonStream(new MemoryStream(bytes));
        }
        catch (Exception e) when (e is FormatException or InvalidDataException)
        {
            // Valid JSON the configuration reader still refuses: a key given twice (keys ignore case).
            throw new ConfigException([new ConfigError(what, $"'{path}': {FirstSentence(e.Message)}")]);
        }
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return (end < 0 ? message : message[..end]).TrimEnd('.');
    }

    /// <summary>Binds the <c>Acd</c> section and checks everything; throws <see cref="ConfigException"/> naming each bad key.</summary>
    public static AcdSettings Load(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var errors = new List<ConfigError>();
        var options = new AcdOptions();
        var section = configuration.GetSection("Acd");
        KnownKeys.Check(section, typeof(AcdOptions), errors, "ConfigFile");
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
        CheckRange(errors, "Acd:Memory:CompactWhenQuietMiB", options.Memory.CompactWhenQuietMiB, 0, 1 << 20);
        CheckRange(errors, "Acd:Journal:SegmentMegabytes", options.Journal.SegmentMegabytes, 1, 4096);
        CheckRange(errors, "Acd:Journal:SnapshotEveryRecords", options.Journal.SnapshotEveryRecords, 1000, 100_000_000);
        CheckRange(errors, "Acd:Journal:SnapshotIntervalSeconds", options.Journal.SnapshotIntervalSeconds, 1, 86_400);
        CheckRange(errors, "Acd:Journal:SnapshotProcessTimeoutSeconds", options.Journal.SnapshotProcessTimeoutSeconds, 10, 86_400);
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
        CheckRange(errors, "Acd:Sip:MaxConnectionsPerSource", sipOptions.MaxConnectionsPerSource, 1, 1_000_000);
        CheckRange(errors, "Acd:Sip:MessageTimeoutSeconds", sipOptions.MessageTimeoutSeconds, 1, 3600);
        CheckRange(errors, "Acd:Sip:MaxPendingBytes", sipOptions.MaxPendingBytes, 64 * 1024, 1L << 32);
        CheckRange(errors, "Acd:Sip:MaxPendingBytesTotal", sipOptions.MaxPendingBytesTotal, 1 << 20, 1L << 36);
        CheckRange(errors, "Acd:Sip:RetryAfterNoAgentsSeconds", sipOptions.RetryAfterNoAgentsSeconds, 0, 86_400);
        CheckRange(errors, "Acd:Sip:RetryAfterBusySeconds", sipOptions.RetryAfterBusySeconds, 0, 86_400);
        if (!string.IsNullOrWhiteSpace(options.Cluster.ConnectionString))
        {
            try
            {
                _ = new Npgsql.NpgsqlConnectionStringBuilder(options.Cluster.ConnectionString);
            }
            catch (ArgumentException e)
            {
                errors.Add(new ConfigError("Acd:Cluster:ConnectionString", $"not a PostgreSQL connection string ({e.Message})"));
            }

            if (!options.Journal.Enabled)
            {
                errors.Add(new ConfigError("Acd:Journal:Enabled", "cluster mode replicates the journal; it cannot be off"));
            }
        }

        CheckRange(errors, "Acd:Cluster:LeaseMilliseconds", options.Cluster.LeaseMilliseconds, 500, 60_000);
        CheckRange(errors, "Acd:Cluster:RenewMilliseconds", options.Cluster.RenewMilliseconds, 50, Math.Max(50, options.Cluster.LeaseMilliseconds / 3));
        CheckRange(errors, "Acd:Cluster:StandbyPollMilliseconds", options.Cluster.StandbyPollMilliseconds, 20, 10_000);
        CheckRange(errors, "Acd:Sip:AnswerConnectTimeoutSeconds", sipOptions.AnswerConnectTimeoutSeconds, 1, 60);
        CheckRange(errors, "Acd:Sip:AnswerRetrySeconds", sipOptions.AnswerRetrySeconds, 0, 3600);
        CheckRange(errors, "Acd:Grpc:MaxReceiveMessageBytes", options.Grpc.MaxReceiveMessageBytes, 1024, 64 * 1024 * 1024);
        CheckRange(errors, "Acd:Grpc:MaxSendMessageBytes", options.Grpc.MaxSendMessageBytes, 1024, 256 * 1024 * 1024);
        CheckRange(errors, "Acd:Grpc:MaxStreamsPerConnection", options.Grpc.MaxStreamsPerConnection, 1, 10_000);
        CheckRange(errors, "Acd:Grpc:MaxConnections", options.Grpc.MaxConnections, 1, 1_000_000);
        CheckRange(errors, "Acd:Grpc:WatchBuffer", options.Grpc.WatchBuffer, 16, 10_000_000);
        CheckRange(errors, "Acd:Grpc:MaxWatchers", options.Grpc.MaxWatchers, 1, 100_000);
        CheckRange(errors, "Acd:Grpc:MaxWatchersPerConnection", options.Grpc.MaxWatchersPerConnection, 1, 100_000);
        CheckRange(errors, "Acd:Grpc:WatchWriteTimeoutSeconds", options.Grpc.WatchWriteTimeoutSeconds, 1, 3600);
        CheckRange(errors, "Acd:Http:MaxConnections", options.Http.MaxConnections, 1, 1_000_000);
        if (options.Grpc.ResponseCompression is { Length: > 0 } compression && !string.Equals(compression, "gzip", StringComparison.Ordinal))
        {
            errors.Add(new ConfigError("Acd:Grpc:ResponseCompression", $"must be empty (no compression) or gzip, not '{compression}'"));
        }

        var grpcCertificate = LoadCertificate(options.Grpc.CertificatePath, options.Grpc.CertificatePassword, "Acd:Grpc:CertificatePath", errors);

        var token = options.Api.Token;
        if (!string.IsNullOrEmpty(options.Api.TokenFile))
        {
            try
            {
                token = File.ReadLines(options.Api.TokenFile).FirstOrDefault()?.Trim();
                if (string.IsNullOrEmpty(token))
                {
                    errors.Add(new ConfigError("Acd:Api:TokenFile", $"file '{options.Api.TokenFile}' holds no token (its first line is empty)"));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                errors.Add(new ConfigError("Acd:Api:TokenFile", $"file '{options.Api.TokenFile}' cannot be read: {e.Message}"));
            }
        }

        if (token is { Length: > 0 and < 16 })
        {
            errors.Add(new ConfigError(string.IsNullOrEmpty(options.Api.TokenFile) ? "Acd:Api:Token" : "Acd:Api:TokenFile", "an API token must be at least 16 characters"));
        }

        var httpCertificate = LoadCertificate(options.Http.CertificatePath, options.Http.CertificatePassword, "Acd:Http:CertificatePath", errors);

        CheckRange(errors, "Acd:Http:StateCacheSeconds", options.Http.StateCacheSeconds, 0, 3600);
        CheckRange(errors, "Acd:Http:Wallboard:MaxViewers", options.Http.Wallboard.MaxViewers, 0, 10_000);
        CheckRange(errors, "Acd:Http:Wallboard:RefreshMilliseconds", options.Http.Wallboard.RefreshMilliseconds, 50, 60_000);
        CheckRange(errors, "Acd:Http:Wallboard:WriteTimeoutSeconds", options.Http.Wallboard.WriteTimeoutSeconds, 1, 3600);
        if (options.Http.Wallboard.Language is not ("zh" or "en"))
        {
            errors.Add(new ConfigError("Acd:Http:Wallboard:Language", $"'{options.Http.Wallboard.Language}' is not a language of the wallboard (zh, en)"));
        }
        var peers = new Acd.Host.Sip.SipPeers(
            Acd.Host.Sip.SipPeers.Parse(sipOptions.TrustedPeers ?? [.. Acd.Host.Sip.SipPeers.Loopback], "Acd:Sip:TrustedPeers", errors),
            Acd.Host.Sip.SipPeers.Parse(sipOptions.CallPeers ?? [], "Acd:Sip:CallPeers", errors),
            Acd.Host.Sip.SipPeers.Parse(sipOptions.RegistrarPeers ?? [.. Acd.Host.Sip.SipPeers.Loopback], "Acd:Sip:RegistrarPeers", errors));
        var credentials = new Dictionary<string, (string? Sha256, string? Md5)>(StringComparer.Ordinal);
        if (!string.IsNullOrEmpty(sipOptions.CredentialsFile))
        {
            try
            {
                credentials = Acd.Host.Sip.SipDigest.ReadCredentials(File.ReadLines(sipOptions.CredentialsFile), sipOptions.CredentialsFile, errors);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                errors.Add(new ConfigError("Acd:Sip:CredentialsFile", $"file '{sipOptions.CredentialsFile}' cannot be read: {e.Message}"));
            }
        }

        if (sipOptions.ContactChange is not ("authenticated" or "registrar" or "any"))
        {
            errors.Add(new ConfigError("Acd:Sip:ContactChange", $"must be authenticated, registrar or any, not '{sipOptions.ContactChange}'"));
        }

        if (string.IsNullOrWhiteSpace(sipOptions.Realm) || sipOptions.Realm.Any(c => c is '"' or '\\' || char.IsControl(c)))
        {
            errors.Add(new ConfigError("Acd:Sip:Realm", "must be a name without quotes, backslashes or control characters"));
        }

        CheckRange(errors, "Acd:Sip:NonceLifetimeSeconds", sipOptions.NonceLifetimeSeconds, 10, 86_400);
        CheckRange(errors, "Acd:Sip:RateLimits:TrustedPerSource", sipOptions.RateLimits.TrustedPerSource, 0, 10_000_000);
        CheckRange(errors, "Acd:Sip:RateLimits:CallPeerPerSource", sipOptions.RateLimits.CallPeerPerSource, 0, 10_000_000);
        CheckRange(errors, "Acd:Sip:RateLimits:PerCaller", sipOptions.RateLimits.PerCaller, 0, 1_000_000);
        if (errors.Count > 0)
        {
            throw new ConfigException(errors);
        }

        var source = configuration["Acd:ConfigFile"] is { Length: > 0 } f ? Path.GetFullPath(f)
            : configuration[AppSettingsUsed] is { Length: > 0 } local ? $"embedded demo centre with {local}"
            : "embedded demo centre";
        var sipLimits = new SipLimits
        {
            MaxStartLineBytes = sipOptions.MaxStartLineBytes,
            MaxHeaderBytes = sipOptions.MaxHeaderBytes,
            MaxHeaders = sipOptions.MaxHeaders,
            MaxBodyBytes = sipOptions.MaxBodyBytes,
            IdleTimeoutSeconds = sipOptions.IdleTimeoutSeconds,
            MaxPendingResponses = sipOptions.MaxPendingResponses,
            MaxConnections = sipOptions.MaxConnections,
            MaxConnectionsPerSource = sipOptions.MaxConnectionsPerSource,
            MessageTimeoutSeconds = sipOptions.MessageTimeoutSeconds,
            MaxPendingBytes = sipOptions.MaxPendingBytes,
            MaxPendingBytesTotal = sipOptions.MaxPendingBytesTotal,
        };
        var warnings = new List<string>();
        if (!string.IsNullOrEmpty(options.Api.Token) && string.IsNullOrEmpty(options.Api.TokenFile) && string.Equals(configuration[TokenOnCommandLine], "true", StringComparison.Ordinal))
        {
            warnings.Add("the API token was given on the command line, where any local user can read it (/proc/PID/cmdline); give it in a file with --api-token-file (or a systemd credential) instead");
        }

        foreach (var (name, endpoint, tls) in new[] { ("gRPC", grpc, !string.IsNullOrEmpty(options.Grpc.CertificatePath)), ("HTTP", http, !string.IsNullOrEmpty(options.Http.CertificatePath)) })
        {
            if (endpoint is not null && !IPAddress.IsLoopback(endpoint.Address) && (string.IsNullOrEmpty(token) || !tls))
            {
                warnings.Add($"the {name} port listens on {endpoint}, beyond this machine, {(string.IsNullOrEmpty(token) ? "without an API token" : string.Empty)}{(string.IsNullOrEmpty(token) && !tls ? " and " : string.Empty)}{(tls ? string.Empty : "without TLS")}: anyone who reaches it {(string.IsNullOrEmpty(token) ? "may use it" : "may read the token off the network")}");
            }
        }

        if (sip is not null && !IPAddress.IsLoopback(sip.Address) && !peers.TrustsRemotePeers)
        {
            warnings.Add($"the SIP port listens on {sip} but trusts only loopback peers: every proxy or PBX elsewhere is answered 403 until it is listed in Acd:Sip:TrustedPeers (or CallPeers, RegistrarPeers)");
        }

        return new AcdSettings(options, domains, sip, grpc, http, source, sipLimits)
        {
            UsesDemoCentre = string.IsNullOrEmpty(configuration["Acd:ConfigFile"]),
            ApiToken = string.IsNullOrEmpty(token) ? null : token,
            SipPeers = peers,
            SipCredentials = credentials,
            Warnings = warnings,
            GrpcCertificate = grpcCertificate,
            HttpCertificate = httpCertificate,
        };
    }

    /// <summary>Loads a PFX at start, so a missing file, a wrong password or a file that is no PFX is a configuration error and not a failure of the listener.</summary>
    private static System.Security.Cryptography.X509Certificates.X509Certificate2? LoadCertificate(string? path, string? password, string key, List<ConfigError> errors)
    {
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }

        if (!File.Exists(path))
        {
            errors.Add(new ConfigError(key, $"file '{path}' not found"));
            return null;
        }

        try
        {
            var certificate = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12FromFile(path, password);
            if (!certificate.HasPrivateKey)
            {
                errors.Add(new ConfigError(key, $"'{path}' holds no private key: a listener needs the certificate with its key"));
            }

            return certificate;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            errors.Add(new ConfigError(key, $"file '{path}' cannot be read: {e.Message}"));
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            errors.Add(new ConfigError(key, $"'{path}' cannot be read as a PFX (PKCS#12) with the password given ({key.Replace("Path", "Password", StringComparison.Ordinal)}): {FirstSentence(e.Message)}"));
        }

        return null;
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
