using System.Diagnostics;
using Acd.Api.V1;
using Grpc.Core;
using Acd.Host.Tests.Support;

namespace Acd.Host.Tests.Durability;

/// <summary>
/// A journal that can no longer be written (here: its directory made immutable with chattr, which binds root too, so
/// the next journal file cannot be created): the daemon stops acknowledging at once, exits with code 4, and a restart
/// on the same directory finds every call it did acknowledge.
/// </summary>
public sealed class JournalFailureTests
{
    [Fact]
    public async Task A_journal_that_cannot_be_written_stops_acknowledgements_exits_4_and_loses_nothing_acknowledged()
    {
        var directory = Directory.CreateTempSubdirectory("acd-journal-fail-").FullName;
        var config = Path.Combine(directory, "centre.json");
        await File.WriteAllTextAsync(config, TestDaemon.Centre(agents: 1, state: "not-ready", maxQueue: 100_000));
        string[] args = ["--config", config, "--data", Path.Combine(directory, "data"), "--sip", "", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--Acd:Journal:SegmentMegabytes=1"];
        var domain = Path.Combine(directory, "data", "test");
        var acknowledged = 0;
        try
        {
            await using (var daemon = DaemonProcess.Start(args))
            {
                await daemon.WaitListeningAsync();
                using var grpc = new GrpcTestClient(daemon.Grpc!);
                Assert.Equal(0, Chattr("+i", domain));

                // Offers are acknowledged while the current journal file has room; the one that needs a new file fails,
                // and so does everything after it.
                var status = StatusCode.OK;
                var watch = Stopwatch.StartNew();
                while (watch.Elapsed < TimeSpan.FromSeconds(60) && acknowledged < 100_000)
                {
                    var offer = new OfferRequest { CallId = $"c{acknowledged}-{new string('x', 100)}", Caller = $"1380000{acknowledged:D5}" };
                    var result = await GrpcTestClient.Try(grpc.Calls.OfferAsync(offer));
                    status = result.Status;
                    if (status != StatusCode.OK)
                    {
                        break; // refused, or the daemon went away between two offers
                    }

                    Assert.Equal(OfferResponse.Types.Outcome.Queued, result.Ok.Outcome);
                    acknowledged++;
                }

                Assert.True(acknowledged > 1000, $"only {acknowledged} offers were acknowledged before the failure");
                Assert.True(acknowledged < 100_000, "the journal never failed");
                Assert.Equal(4, await daemon.WaitForExitAsync(30));
                Assert.Contains("cannot be written: nothing more is acknowledged", daemon.Output, StringComparison.Ordinal);
            }

            Assert.Equal(0, Chattr("-i", domain));
            await using (var restarted = DaemonProcess.Start(args))
            {
                await restarted.WaitListeningAsync();
                using var grpc = new GrpcTestClient(restarted.Grpc!);
                var queue = (await GrpcTestClient.Try(grpc.Queues.GetQueueAsync(new QueueRequest { Skill = "general" }))).Ok;

                // Every acknowledged offer is there; the one refused may have been written before the failure or not.
                Assert.InRange(queue.Waiting, acknowledged, acknowledged + 1);
                var last = (await GrpcTestClient.Try(grpc.Calls.GetCallAsync(new CallRequest { CallId = $"c{acknowledged - 1}-{new string('x', 100)}" }))).Ok;
                Assert.Equal(acknowledged, last.Position);
            }
        }
        finally
        {
            Chattr("-i", domain);
            Directory.Delete(directory, recursive: true);
        }
    }

    private static int Chattr(string flag, string path)
    {
        if (!Directory.Exists(path))
        {
            return -1;
        }

        using var process = Process.Start(new ProcessStartInfo("chattr", [flag, path]) { UseShellExecute = false, RedirectStandardError = true })!;
        process.WaitForExit();
        return process.ExitCode;
    }
}
