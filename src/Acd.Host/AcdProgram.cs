using Acd.Core.Configuration;
using Microsoft.AspNetCore.Connections;
using Acd.Host.Configuration;
using Acd.Host.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Prometheus;

namespace Acd.Host;

/// <summary>Builds and runs the daemon.</summary>
public static partial class AcdProgram
{
    /// <summary>Exit code for a configuration that cannot be used.</summary>
    public const int ConfigErrorExit = 2;

    /// <summary>Exit code for durable state that cannot be used (damage in the middle of the journal, another configuration, an unwritable data directory).</summary>
    public const int StateErrorExit = 3;

    /// <summary>Exit code after a journal write failed (disk full, I/O error), or when the data directory takes no writes at start: restarting may succeed once the disk is fixed.</summary>
    public const int JournalFailedExit = 4;

    /// <summary>Exit code when a listener cannot be opened (the address is in use, or not this machine's, or the port needs privileges).</summary>
    public const int ListenFailedExit = 5;

    /// <summary>Exit code in cluster mode when a domain's lease passed to another daemon: nothing more was acknowledged; started again, the daemon waits as standby.</summary>
    public const int OwnershipLostExit = 6;

    /// <summary>Exit code of a failure nothing above names (a bug: the log has the details).</summary>
    public const int UnexpectedExit = 70;

    /// <summary>Runs until stopped (Ctrl+C, SIGTERM); returns the process exit code. Every failure to start is one line on stderr and a documented code.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args is [Acd.Host.Durability.SnapshotHelper.Verb, ..])
        {
            return Acd.Host.Durability.SnapshotHelper.Run(args[1..]);
        }

        WebApplication app;
        try
        {
            app = Build(args);
        }
        catch (ConfigException e)
        {
            foreach (var error in e.Errors)
            {
                await Console.Error.WriteLineAsync("acd: " + error).ConfigureAwait(false); // one line per problem, naming its key
            }

            return ConfigErrorExit;
        }

        await using (app.ConfigureAwait(false))
        {
            var settings = app.Services.GetRequiredService<AcdSettings>();
            try
            {
                var engines = app.Services.GetRequiredService<Acd.Host.Routing.EngineHost>();
                await app.RunAsync().ConfigureAwait(false);
                if (engines.StartFailure is Acd.Host.Durability.DurableStateException state)
                {
                    await Console.Error.WriteLineAsync("acd: " + state.Message).ConfigureAwait(false);
                    return state.DiskFailure ? JournalFailedExit : StateErrorExit;
                }

                if (engines.StartFailure is { } failure)
                {
                    await Console.Error.WriteLineAsync($"acd: a domain could not start after its lease was taken: {failure.GetType().Name}: {failure.Message}").ConfigureAwait(false);
                    return UnexpectedExit;
                }

                if (engines.OwnershipLost)
                {
                    await Console.Error.WriteLineAsync("acd: a routing domain's lease passed to another daemon; stopped without acknowledging anything more (start again to wait as standby)").ConfigureAwait(false);
                    return OwnershipLostExit;
                }

                if (engines.JournalFailed)
                {
                    await Console.Error.WriteLineAsync("acd: a journal could not be written; stopped rather than acknowledge what is not durable (see the log)").ConfigureAwait(false);
                    return JournalFailedExit;
                }
            }
            catch (Acd.Host.Durability.DurableStateException e)
            {
                await Console.Error.WriteLineAsync("acd: " + e.Message).ConfigureAwait(false);
                return e.DiskFailure ? JournalFailedExit : StateErrorExit;
            }
            catch (IOException e) when (ListenerOf(e, settings) is { } listener)
            {
                await Console.Error.WriteLineAsync($"acd: cannot listen on {listener.Endpoint} ({listener.Key}): {Reason(e)}").ConfigureAwait(false);
                return ListenFailedExit;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                app.Logger.LogDebug(e, "Start failed");
                await Console.Error.WriteLineAsync($"acd: failed unexpectedly: {e.GetType().Name}: {e.Message} (run with --Logging:LogLevel:Default=Debug for the details, and please report it)").ConfigureAwait(false);
                return UnexpectedExit;
            }
        }

        return 0;
    }

    /// <summary>The listener Kestrel could not bind ("Failed to bind to address http://127.0.0.1:5060: address already in use.").</summary>
    private static (string Key, System.Net.IPEndPoint Endpoint)? ListenerOf(IOException e, AcdSettings settings)
    {
        foreach (var (key, endpoint) in new[] { ("Acd:Listen:Sip", settings.Sip), ("Acd:Listen:Grpc", settings.Grpc), ("Acd:Listen:Http", settings.Http) })
        {
            if (endpoint is not null && e.Message.Contains("Failed to bind", StringComparison.Ordinal) && e.Message.Contains($"//{endpoint}:", StringComparison.Ordinal))
            {
                return (key, endpoint);
            }
        }

        return null;
    }

    private static string Reason(IOException e) => e.InnerException switch
    {
        System.Net.Sockets.SocketException s => s.SocketErrorCode switch
        {
            System.Net.Sockets.SocketError.AddressAlreadyInUse => "the address is in use (another acd, or another program, holds it)",
            System.Net.Sockets.SocketError.AddressNotAvailable => "the address is not one of this machine's",
            System.Net.Sockets.SocketError.AccessDenied => "permission denied (a port below 1024 needs CAP_NET_BIND_SERVICE)",
            _ => s.Message,
        },
        { } inner when string.Equals(inner.GetType().Name, "AddressInUseException", StringComparison.Ordinal) => "the address is in use (another acd, or another program, holds it)",
        { } inner => inner.Message,
        null => e.Message,
    };

    /// <summary>Builds the daemon: configuration, services, endpoints. Throws <see cref="ConfigException"/> for a bad configuration.</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? customize = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = Directory.GetCurrentDirectory() });
        builder.Configuration.Sources.Clear();
        ConfigLoader.AddSources(builder.Configuration, args);
        customize?.Invoke(builder);

        var settings = ConfigLoader.Load(builder.Configuration);
        builder.Logging.ClearProviders();
        builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
        builder.Logging.AddConsole();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff ";
            o.UseUtcTimestamp = true;
        });
        builder.Logging.AddJsonConsole(o =>
        {
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            o.UseUtcTimestamp = true;
        });
        var formatter = builder.Configuration["Logging:Console:FormatterName"] is { Length: > 0 } name ? name : "simple";
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.FormatterName = formatter);
        if (builder.Configuration["Logging:LogLevel:Default"] is null)
        {
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
            builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);

            // A service that fails to start is reported once, as one line with its exit code (RunAsync), not also as
            // the host's error with a stack trace; a failure while running is still logged (critical) with its trace.
            builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        }

        builder.Services.AddSingleton(settings);
        builder.Services.TryAddSingleton(TimeProvider.System); // a test may give its own clock first (customize)
        builder.Services.AddSingleton<DomainDirectory>();
        builder.Services.AddSingleton<IBatchListener>(sp => sp.GetRequiredService<DomainDirectory>());
        builder.Services.AddSingleton<IBatchListener, SurgeWarnings>();
        if (!string.IsNullOrWhiteSpace(settings.Options.Cluster.ConnectionString))
        {
            builder.Services.AddSingleton(new Acd.Host.Cluster.ClusterDatabase(settings.Options.Cluster));
        }

        builder.Services.AddSingleton<EngineHost>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<EngineHost>());
        builder.Services.AddSingleton<ListenerRegistry>();
        builder.Services.AddSingleton<Acd.Host.Sip.SipRegistrations>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Acd.Host.Sip.SipRegistrations>());
        builder.Services.AddHostedService<TalkWatchdog>();
        builder.Services.AddSingleton<MemoryReliever>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<MemoryReliever>());
        builder.Services.AddSingleton(sp => new StateEndpoint(sp.GetRequiredService<DomainDirectory>(), sp.GetRequiredService<EngineHost>(), TimeSpan.FromSeconds(settings.Options.Http.StateCacheSeconds)));
        builder.Services.AddSingleton(settings.Options.Grpc);
        builder.Services.AddSingleton<Acd.Host.Grpc.EventHub>();
        builder.Services.AddSingleton<IBatchListener>(sp => sp.GetRequiredService<Acd.Host.Grpc.EventHub>());
        builder.Services.AddSingleton<BearerToken>();
        builder.Services.AddSingleton<Acd.Host.Grpc.ApiTokenInterceptor>();
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = settings.Options.Grpc.MaxReceiveMessageBytes;
            o.MaxSendMessageSize = settings.Options.Grpc.MaxSendMessageBytes;
            o.ResponseCompressionAlgorithm = string.IsNullOrEmpty(settings.Options.Grpc.ResponseCompression) ? null : settings.Options.Grpc.ResponseCompression;
            if (settings.ApiToken is not null)
            {
                o.Interceptors.Add<Acd.Host.Grpc.ApiTokenInterceptor>();
            }
        });
        builder.Services.AddGrpcReflection();
        builder.Services.AddSingleton<Acd.Host.Grpc.HealthReporter>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Acd.Host.Grpc.HealthReporter>());
        builder.Services.AddSingleton<Acd.Host.Sip.SipServer>();
        builder.Services.AddSingleton<Acd.Host.Metrics.AcdMetrics>();
        builder.Services.AddSingleton<IBatchListener>(sp => sp.GetRequiredService<Acd.Host.Metrics.AcdMetrics>());
        builder.Services.AddSingleton<IBatchListener>(sp => sp.GetRequiredService<Acd.Host.Sip.SipServer>());
        builder.Services.AddSingleton<Acd.Host.Wallboard.WallboardFeed>();
        builder.Services.AddSingleton<IBatchListener>(sp => sp.GetRequiredService<Acd.Host.Wallboard.WallboardFeed>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Acd.Host.Wallboard.WallboardFeed>());
        builder.Services.AddHostedService<StartupReporter>();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(15));

        builder.WebHost.UseSockets(o =>
        {
            // Bounded transport buffers: a peer that does not read (or floods) is held back, not buffered without end.
            o.MaxReadBufferSize = Acd.Host.Sip.SipTransportFactory.BufferBytes;
            o.MaxWriteBufferSize = Acd.Host.Sip.SipTransportFactory.BufferBytes;
        });
        builder.Services.AddSingleton<Microsoft.AspNetCore.Connections.IConnectionListenerFactory, Acd.Host.Sip.SipTransportFactory>();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;

            // HTTP/2 (the gRPC port): what one connection may have in flight; the connections per port are capped below.
            kestrel.Limits.Http2.MaxStreamsPerConnection = settings.Options.Grpc.MaxStreamsPerConnection;

            // Flow control bounds what a client may send before the server reads it: a stream's window a little over
            // the largest message, a connection's a few of them (Kestrel's defaults, 768 KiB and 1 MiB, would let 512
            // connections park half a gigabyte of unfinished request bodies).
            var streamWindow = Math.Max(65_535, settings.Options.Grpc.MaxReceiveMessageBytes + 1024);
            kestrel.Limits.Http2.InitialStreamWindowSize = streamWindow;
            kestrel.Limits.Http2.InitialConnectionWindowSize = Math.Max(streamWindow, 256 * 1024);
            var listeners = kestrel.ApplicationServices.GetRequiredService<ListenerRegistry>();
            if (settings.Sip is { } sip)
            {
                kestrel.Listen(new Acd.Host.Sip.SipEndPoint(sip), listen =>
                {
                    listen.UseConnectionHandler<Acd.Host.Sip.SipConnectionHandler>();
                    listeners.Add("sip", listen);
                });
            }

            if (settings.Grpc is { } grpc)
            {
                kestrel.Listen(grpc, listen =>
                {
                    listen.Protocols = HttpProtocols.Http2;
                    listen.Use(ConnectionCap.Middleware(settings.Options.Grpc.MaxConnections));
                    if (settings.GrpcCertificate is { } certificate)
                    {
                        listen.UseHttps(certificate);
                    }

                    listeners.Add("grpc", listen);
                });
            }

            if (settings.Http is { } http)
            {
                kestrel.Listen(http, listen =>
                {
                    listen.Protocols = HttpProtocols.Http1;
                    listen.Use(ConnectionCap.Middleware(settings.Options.Http.MaxConnections));
                    if (settings.HttpCertificate is { } certificate)
                    {
                        listen.UseHttps(certificate);
                    }

                    listeners.Add("http", listen);
                });
            }
        });

        var app = builder.Build();
        var engines = app.Services.GetRequiredService<EngineHost>();

        var metrics = app.Services.GetRequiredService<Acd.Host.Metrics.AcdMetrics>();
        var registry = app.Services.GetRequiredService<ListenerRegistry>();
        app.Use(Endpoints.SeparatePorts(registry, metrics, app.Services.GetRequiredService<BearerToken>()));
        app.MapGrpcService<Acd.Host.Grpc.AgentApi>();
        app.MapGrpcService<Acd.Host.Grpc.CallApi>();
        app.MapGrpcService<Acd.Host.Grpc.QueueApi>();
        app.MapGrpcService<Acd.Host.Grpc.EventApi>();
        app.MapGrpcService<Acd.Host.Grpc.SurgeApi>();
        app.MapGrpcService<Acd.Host.Grpc.CallbackApi>();
        app.MapGrpcService<Acd.Host.Grpc.HealthReporter>();
        app.MapGrpcReflectionService();
        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        app.MapGet("/healthz", () => Results.Text("ok\n")).WithMetadata(Endpoints.HttpPort);
        var routing = app.Services.GetRequiredService<DomainDirectory>();
        app.MapGet("/readyz", () => engines.Ready && routing.All.All(d => d.Serving) && lifetime.ApplicationStarted.IsCancellationRequested && !lifetime.ApplicationStopping.IsCancellationRequested
            ? Results.Text(engines.Clustered ? "ready: active\n" : "ready\n")
            : Results.Text(engines.Clustered && !lifetime.ApplicationStopping.IsCancellationRequested ? "not ready: standby\n" : "not ready\n", statusCode: StatusCodes.Status503ServiceUnavailable)).WithMetadata(Endpoints.HttpPort);
        app.MapGet("/state", (Delegate)app.Services.GetRequiredService<StateEndpoint>().GetAsync).WithMetadata(Endpoints.HttpPort, Endpoints.Protected);
        app.MapMetrics(o => o.Registry = metrics.Registry).WithMetadata(Endpoints.HttpPort, Endpoints.Protected);

        // The floor's wallboard: the page is open (it holds no data; docs/wallboard.md), its stream needs the API token.
        var page = Acd.Host.Wallboard.WallboardPage.Html;
        app.MapGet("/", () => Results.Redirect("/wallboard")).WithMetadata(Endpoints.HttpPort);
        app.MapGet("/wallboard", () => Results.Bytes(page, "text/html; charset=utf-8")).WithMetadata(Endpoints.HttpPort);
        app.MapGet("/wallboard/stream", (Delegate)app.Services.GetRequiredService<Acd.Host.Wallboard.WallboardFeed>().StreamAsync).WithMetadata(Endpoints.HttpPort, Endpoints.Protected);
        return app;
    }
}
