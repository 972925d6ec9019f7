using System.Net;
using System.Net.Sockets;
using Acd.Host.Tests.Support;

namespace Acd.Host.Tests.Operations;

/// <summary>
/// Every way a start can fail, as a careless operator meets it: one line saying what and where, and a documented exit
/// code (2 configuration, 3 durable state, 4 the disk takes no writes, 5 a listener cannot be opened) — never a stack
/// trace, never the 134 of an unhandled exception that systemd would restart in a loop.
/// </summary>
public sealed class StartupFailureTests
{
    private const string Minimal = """{ "Acd": { "Name": "x", "Skills": [ { "Name": "general" } ], "Agents": [ { "Id": "A1", "Skills": { "general": 5 } } ] } }""";

    private static string NewDirectory() => Directory.CreateTempSubdirectory("acd-start-").FullName;

    /// <summary>Runs the daemon to its exit; returns the lines it wrote starting "acd: " after asserting the code and that no stack trace came.</summary>
    private static async Task<List<string>> FailsAsync(int code, string? workingDirectory, params string[] args)
    {
        await using var daemon = DaemonProcess.StartIn(workingDirectory, args);
        Assert.Equal(code, await daemon.WaitForExitAsync());
        Assert.DoesNotContain("   at ", daemon.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", daemon.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("ACD listening", daemon.Output, StringComparison.Ordinal);
        return [.. daemon.Lines.Where(l => l.StartsWith("acd: ", StringComparison.Ordinal))];
    }

    private static async Task<string> ConfigAsync(string directory, string text)
    {
        var file = Path.Combine(directory, "centre.json");
        await File.WriteAllTextAsync(file, text);
        return file;
    }

    [Theory]
    [InlineData("truncated", "{ \"Acd\": { \"Name\": \"x\",\n  \"Skills\": [ { \"Name\": ", "is not valid JSON at line 2, column")]
    [InlineData("empty", "", "is not valid JSON at line 1, column 1: the file is empty")]
    [InlineData("blank", "  \n\n", "the file is empty")]
    [InlineData("array", "[ { \"Acd\": {} } ]", "must hold a JSON object")]
    [InlineData("twice", "{ \"Acd\": { \"Name\": \"x\", \"name\": \"y\" } }", "A duplicate key")]
    public async Task A_configuration_file_that_is_not_a_json_object_is_one_line_naming_the_file_and_where(string what, string text, string expected)
    {
        var directory = NewDirectory();
        var file = await ConfigAsync(directory, text);
        var said = await FailsAsync(2, null, "--config", file);
        Assert.True(said.Count == 1, what + ": " + string.Join(" | ", said));
        Assert.StartsWith($"acd: --config: '{file}'", said[0], StringComparison.Ordinal);
        Assert.Contains(expected, said[0], StringComparison.Ordinal);
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task A_configuration_file_that_cannot_be_read_is_one_line()
    {
        var said = await FailsAsync(2, null, "--config", "/nonexistent/dir/centre.json");
        Assert.Equal("acd: --config: cannot read '/nonexistent/dir/centre.json': Could not find a part of the path '/nonexistent/dir/centre.json'.", Assert.Single(said));
    }

    [Fact]
    public async Task Misspelled_keys_are_errors_naming_the_key_and_the_nearest_known_one()
    {
        var directory = NewDirectory();
        var file = await ConfigAsync(directory, """
            { "Acd": { "Name": "x", "RingTimeoutSecond": 30,
              "Skills": [ { "Name": "general", "MaxQueueLenght": 100 } ],
              "Agents": [ { "Id": "A1", "Skills": { "general": 5 } } ],
              "Sip": { "TrustedPeer": [ "10.0.0.1" ] },
              "Nonsense": { "Deep": 1 } } }
            """);
        var said = await FailsAsync(2, null, "--config", file);
        Assert.Contains("acd: Acd:RingTimeoutSecond: unknown setting (did you mean 'RingTimeoutSeconds'?)", said);
        Assert.Contains("acd: Acd:Skills:0:MaxQueueLenght: unknown setting (did you mean 'MaxQueueLength'?)", said);
        Assert.Contains("acd: Acd:Sip:TrustedPeer: unknown setting (did you mean 'TrustedPeers'?)", said);
        Assert.Contains("acd: Acd:Nonsense: unknown setting", said);
        Assert.Equal(4, said.Count);

        // Also from the environment and the command line; a skill map (a dictionary) takes any key.
        var env = await FailsAsync(2, null, "--config", await ConfigAsync(directory, Minimal), "--Acd:Engine:QueueCapacty=1000");
        Assert.Equal("acd: Acd:Engine:QueueCapacty: unknown setting (did you mean 'QueueCapacity'?)", Assert.Single(env));
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task The_working_directorys_appsettings_json_is_not_read_with_a_configuration_file_and_is_named_without_one()
    {
        var directory = NewDirectory();
        var file = await ConfigAsync(directory, Minimal);
        var stray = NewDirectory();
        await File.WriteAllTextAsync(Path.Combine(stray, "appsettings.json"), """{ "Acd": { "Listen": { "Grpc": "0.0.0.0:1" }, "Agents": [ { "Id": "ZZ", "Skills": { "general": 1 } } ] } }""");

        // With --config: the stray file changes nothing (it would bind gRPC to 0.0.0.0:1 and add an agent).
        await using (var daemon = DaemonProcess.StartIn(stray, "--config", file, "--data", Path.Combine(directory, "data"), "--sip", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"))
        {
            var line = await daemon.WaitListeningAsync();
            Assert.Contains($"configuration from {file}", line, StringComparison.Ordinal);
            Assert.Contains("1 agents", line, StringComparison.Ordinal);
            daemon.Terminate();
            Assert.Equal(0, await daemon.WaitForExitAsync());
        }

        // Without: it adjusts the demo centre, and the start line says so.
        await File.WriteAllTextAsync(Path.Combine(stray, "appsettings.json"), """{ "Acd": { "RingTimeoutSeconds": 17 } }""");
        await using (var daemon = DaemonProcess.StartIn(stray, "--data", Path.Combine(directory, "demo"), "--sip", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"))
        {
            var line = await daemon.WaitListeningAsync();
            Assert.Contains($"configuration from embedded demo centre with {Path.Combine(stray, "appsettings.json")}", line, StringComparison.Ordinal);
            daemon.Terminate();
            Assert.Equal(0, await daemon.WaitForExitAsync());
        }

        Directory.Delete(directory, recursive: true);
        Directory.Delete(stray, recursive: true);
    }

    [Theory]
    [InlineData("wrong password", "cannot be read as a PFX (PKCS#12) with the password given (Acd:Grpc:CertificatePassword)")]
    [InlineData("not a pfx", "cannot be read as a PFX (PKCS#12) with the password given (Acd:Grpc:CertificatePassword)")]
    [InlineData("missing", "not found")]
    public async Task A_certificate_that_cannot_be_loaded_is_a_configuration_error(string what, string expected)
    {
        var directory = NewDirectory();
        var pfx = Path.Combine(directory, "grpc.pfx");
        if (what == "wrong password")
        {
            await TestCertificates.WritePfxAsync(pfx, "right");
        }
        else if (what == "not a pfx")
        {
            await File.WriteAllTextAsync(pfx, "-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n");
        }

        var said = await FailsAsync(2, null, "--config", await ConfigAsync(directory, Minimal), "--data", Path.Combine(directory, "data"), $"--Acd:Grpc:CertificatePath={pfx}", "--Acd:Grpc:CertificatePassword=wrong");
        var line = Assert.Single(said);
        Assert.StartsWith($"acd: Acd:Grpc:CertificatePath: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Directory.Delete(directory, recursive: true);
    }

    [Theory]
    [InlineData("--Acd:Memory:CompactWhenQuietMiB=-1", "Acd:Memory:CompactWhenQuietMiB: must be between 0 and 1048576, not -1")]
    [InlineData("--Acd:Memory:CompactWhenQuietMiB=lots", "Acd:Memory:CompactWhenQuietMiB")]
    public async Task A_memory_setting_out_of_range_is_exit_2_naming_it(string setting, string expected)
    {
        var directory = NewDirectory();
        var said = await FailsAsync(2, null, "--config", await ConfigAsync(directory, Minimal), "--data", Path.Combine(directory, "data"), "--sip", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", setting);
        Assert.Contains(said, l => l.Contains(expected, StringComparison.Ordinal));
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task A_port_in_use_is_exit_5_naming_the_listener()
    {
        var directory = NewDirectory();
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        var said = await FailsAsync(5, null, "--config", await ConfigAsync(directory, Minimal), "--data", Path.Combine(directory, "data"), "--sip", $"127.0.0.1:{port}", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0");
        Assert.Equal($"acd: cannot listen on 127.0.0.1:{port} (Acd:Listen:Sip): the address is in use (another acd, or another program, holds it)", Assert.Single(said));
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task A_full_disk_at_start_is_exit_4_naming_the_data_directory()
    {
        // A real file system that is full: a small tmpfs (the tests run as root, as the test command does).
        var directory = NewDirectory();
        var disk = Path.Combine(directory, "disk");
        Directory.CreateDirectory(disk);
        Assert.Equal(0, await RunAsync("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", disk));
        try
        {
            await using (var filler = new FileStream(Path.Combine(disk, "filler"), FileMode.Create))
            {
                var block = new byte[4096];
                try
                {
                    while (true)
                    {
                        filler.Write(block);
                        filler.Flush();
                    }
                }
                catch (IOException)
                {
                    // full
                }
            }

            var said = await FailsAsync(4, null, "--config", await ConfigAsync(directory, Minimal), "--data", Path.Combine(disk, "data"), "--sip", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0");
            var line = Assert.Single(said);
            Assert.StartsWith($"acd: the data directory {Path.Combine(disk, "data", "x")} of domain 'x' takes no more writes", line, StringComparison.Ordinal);
            Assert.Contains("free space on its disk", line, StringComparison.Ordinal);
        }
        finally
        {
            Assert.Equal(0, await RunAsync("umount", disk));
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<int> RunAsync(string file, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = System.Diagnostics.Process.Start(psi)!;
        await process.WaitForExitAsync();
        return process.ExitCode;
    }
}
