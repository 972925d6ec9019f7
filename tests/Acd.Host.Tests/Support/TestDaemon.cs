using System.Net;
using Acd.Core.Routing;
using Acd.Host.Routing;
using Microsoft.Extensions.Time.Testing;

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
    public async Task<string> DigestAsync() => (await Domains.Default.Engine.AskAsync(DigestQuery.Instance))!;

    /// <summary>Starts a daemon; <paramref name="configJson"/> replaces the demo centre; extra switches follow.</summary>
    public static Task<TestDaemon> StartAsync(string? configJson = null, params string[] extra)
        => StartInAsync(Directory.CreateTempSubdirectory("acd-test-").FullName, configJson, ownsDirectory: true, extra);

    /// <summary>Starts a daemon on a clock the test moves (<see cref="FakeTimeProvider.Advance"/>): timers fire when it says.</summary>
    public static Task<TestDaemon> StartWithClockAsync(FakeTimeProvider clock, string? configJson = null, params string[] extra)
        => StartInAsync(Directory.CreateTempSubdirectory("acd-test-").FullName, configJson, ownsDirectory: true, clock, extra);

    /// <summary>Starts a daemon whose data directory is <c>DIRECTORY/data</c>; the directory outlives it (a restart finds its state there).</summary>
    public static Task<TestDaemon> StartInAsync(string directory, string? configJson, bool ownsDirectory = false, params string[] extra)
        => StartInAsync(directory, configJson, ownsDirectory, null, extra);

    /// <summary>Starts a daemon on <c>DIRECTORY/data</c> on a clock the test moves; the directory outlives it.</summary>
    public static Task<TestDaemon> StartInAsync(string directory, string? configJson, FakeTimeProvider clock, params string[] extra)
        => StartInAsync(directory, configJson, false, clock, extra);

    private static async Task<TestDaemon> StartInAsync(string directory, string? configJson, bool ownsDirectory, TimeProvider? clock, string[] extra)
    {
        // The quiet-time compaction off: it watches the process's heap, and this process is the test run's, shared by many
        // daemons (DaemonProcess tests keep it as shipped; MemoryRelieverTests drive it directly).
        var args = new List<string> { "--sip", "127.0.0.1:0", "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--data", Path.Combine(directory, "data"), "--Logging:LogLevel:Default=Warning", "--Acd:Journal:SegmentMegabytes=2", "--Acd:Memory:CompactWhenQuietMiB=0" };
        if (configJson is not null)
        {
            var file = Path.Combine(directory, "centre.json");
            await File.WriteAllTextAsync(file, configJson);
            args.Add("--config");
            args.Add(file);
        }

        args.AddRange(extra);
        var app = AcdProgram.Build([.. args], clock is null ? null : builder => builder.Services.AddSingleton(clock));
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

    public async Task<AgentView> AgentAsync(string id)
    {
        return (await Domains.Default.Engine.AskAsync(new AgentQuery(id)))!;
    }

    public async Task<CallView?> CallAsync(string id)
    {
        return await Domains.Default.Engine.AskAsync(new CallQuery(id));
    }

    public async Task<QueueView> QueueAsync(string skill = "general")
    {
        return (await Domains.Default.Engine.AskAsync(new QueueQuery(skill)))!;
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
