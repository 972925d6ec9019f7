using System.Net;
using Acd.Core.Routing;
using Acd.Host.Routing;

namespace Acd.Host.Tests.Support;

/// <summary>The daemon, in process, on free loopback ports, with a configuration of the test's own.</summary>
public sealed class TestDaemon : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _directory;
    private readonly bool _ownsDirectory;
    private int _disposed;

    private TestDaemon(WebApplication app, string directory, bool ownsDirectory)
    {
        _app = app;
        _directory = directory;
        _ownsDirectory = ownsDirectory;
        var listeners = app.Services.GetRequiredService<ListenerRegistry>();
        Sip = listeners.Address("sip");
        Http = listeners.Address("http");
        Grpc = listeners.Address("grpc");
        Domains = app.Services.GetRequiredService<DomainDirectory>();
    }

    public IPEndPoint? Sip { get; }

    public IPEndPoint? Http { get; }

    public IPEndPoint? Grpc { get; }

    public DomainDirectory Domains { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>The data directory.</summary>
    public string DataDirectory => Path.Combine(_directory, "data");

    /// <summary>The live state digest of the default domain (taken on its engine).</summary>
    public async Task<string> DigestAsync() => (string)(await ExecuteAsync(new QueryCommand(QueryKind.Digest))).Data!;

    /// <summary>Starts a daemon; <paramref name="configJson"/> replaces the demo centre; extra switches follow.</summary>
    public static Task<TestDaemon> StartAsync(string? configJson = null, params string[] extra)
        => StartInAsync(Directory.CreateTempSubdirectory("acd-test-").FullName, configJson, ownsDirectory: true, extra);

    /// <summary>Starts a daemon whose data directory is <c>DIRECTORY/data</c>; the directory outlives it (a restart finds its state there).</summary>
    public static async Task<TestDaemon> StartInAsync(string directory, string? configJson, bool ownsDirectory = false, params string[] extra)
    {
        var args = new List<string> { "--sip", "127.0.0.1:0", "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--data", Path.Combine(directory, "data"), "--Logging:LogLevel:Default=Warning", "--Acd:Journal:SegmentMegabytes=2" };
        if (configJson is not null)
        {
            var file = Path.Combine(directory, "centre.json");
            await File.WriteAllTextAsync(file, configJson);
            args.Add("--config");
            args.Add(file);
        }

        args.AddRange(extra);
        var app = AcdProgram.Build([.. args]);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return new TestDaemon(app, directory, ownsDirectory);
    }

    /// <summary>A centre of one skill, <paramref name="agents"/> agents, all starting in <paramref name="state"/>.</summary>
    /// <summary>A small centre; the hotline's caller features (repeat, ownership, callbacks) are off unless <paramref name="hotline"/>.</summary>
    public static string Centre(int agents = 4, string state = "ready", int wrapUp = 0, int maxQueue = 1000, string extraSkills = "", string domainExtras = "", bool hotline = false)
        => $$"""
        { "Acd": { "Name": "test", {{domainExtras}} {{(hotline ? string.Empty : "\"Repeat\": { \"Enabled\": false }, \"Ownership\": { \"Enabled\": false }, \"Callbacks\": { \"Enabled\": false },")}}
          "Skills": [ { "Name": "general", "WrapUpSeconds": {{wrapUp}}, "MaxQueueLength": {{maxQueue}} } {{extraSkills}} ],
          "AgentGroups": [ { "IdPrefix": "A", "Count": {{agents}}, "Skills": { "general": 5 }, "InitialState": "{{state}}", "ContactTemplate": "sip:{id}@agents.test" } ] } }
        """;

    public Task<CommandResult> ExecuteAsync(Command command) => Domains.Default.Engine.ExecuteAsync(command);

    public async Task<AgentSnapshot> AgentAsync(string id)
    {
        var r = await ExecuteAsync(new QueryCommand(QueryKind.Agent, id));
        return (AgentSnapshot)r.Data!;
    }

    public async Task<CallSnapshot?> CallAsync(string id)
    {
        var r = await ExecuteAsync(new QueryCommand(QueryKind.Call, id));
        return r.Data as CallSnapshot;
    }

    public async Task<QueueSnapshot> QueueAsync(string skill = "general")
    {
        var r = await ExecuteAsync(new QueryCommand(QueryKind.Queues, skill));
        return ((IReadOnlyList<QueueSnapshot>)r.Data!)[0];
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
        if (!_ownsDirectory)
        {
            return;
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
