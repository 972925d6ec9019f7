using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using Acd.Core.Domain;
using Acd.Core.Durability;
using Acd.Core.Routing;
using Acd.Host.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Acd.Host.Tests.Durability;

/// <summary>
/// Data directories of other releases: one written by the first release (journal files without a header, cut off by
/// kill -9 after its first periodic snapshot; <c>Data/make-first-release-datadir.py</c> made it) is recovered whole
/// and written on in the current format; journal files and snapshots of a newer format are refused by name.
/// </summary>
public sealed class DataDirectoryFormatTests
{
    private static string DataFile(string name) => Path.Combine(AppContext.BaseDirectory, "Data", name);

    /// <summary>Unpacks the first release's data directory; returns it and the moment it was written (the clock the test runs on).</summary>
    private static async Task<(string Directory, FakeTimeProvider Clock)> FirstReleaseAsync()
    {
        var directory = Directory.CreateTempSubdirectory("acd-v1-").FullName;
        await using (var file = File.OpenRead(DataFile("first-release-datadir.tar.gz")))
        await using (var gzip = new GZipStream(file, CompressionMode.Decompress))
        {
            await TarFile.ExtractToDirectoryAsync(gzip, directory, overwriteFiles: false);
        }

        var written = long.Parse(await File.ReadAllTextAsync(Path.Combine(directory, "created-unix-ms")), CultureInfo.InvariantCulture);

        // A minute after it was written: time has moved on a little, as after a restart, but no call waited out its limit.
        return (directory, new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(written + 60_000)));
    }

    [Fact]
    public async Task A_data_directory_of_the_first_release_is_recovered_whole_and_written_on_in_the_current_format()
    {
        var (directory, clock) = await FirstReleaseAsync();
        var centre = await File.ReadAllTextAsync(DataFile("first-release-centre.json"));
        var domain = Path.Combine(directory, "data", "v1");
        var oldJournal = Directory.GetFiles(domain, "journal-*.log").Order(StringComparer.Ordinal).ToList();
        Assert.All(oldJournal, f => Assert.Equal(1, JournalSegment.ReadHeader(File.ReadAllBytes(f)).Version));
        Assert.Contains(Directory.GetFiles(domain, "snapshot-*.snap"), f => !f.EndsWith("00000000000000000000.snap", StringComparison.Ordinal));

        await using (var d = await TestDaemon.StartInAsync(directory, centre, clock))
        {
            var recovered = d.Services.GetRequiredService<Acd.Host.Routing.EngineHost>().Recovered["v1"];
            Assert.True(recovered.SnapshotIndex >= 1000 && recovered.Replayed > 0, $"snapshot {recovered.SnapshotIndex}, {recovered.Replayed} replayed");

            // 1,200 offered, every 100th abandoned: 1,188 waiting, in order, and a callback owed for each hang-up.
            var queue = await d.QueueAsync();
            Assert.Equal((1188, 1200L, 12L), (queue.Waiting, queue.Offered, queue.Abandoned));
            Assert.Equal(1, (await d.CallAsync("v1-0001"))!.Position);
            Assert.Equal(100, (await d.CallAsync("v1-0101"))!.Position);
            Assert.Equal(1188, (await d.CallAsync("v1-1199"))!.Position);
            Assert.Null(await d.CallAsync("v1-0100"));
            var callbacks = (await d.Domains.Default.Engine.AskAsync(new CallbacksQuery()))!;
            Assert.Equal(Enumerable.Range(1, 12).Select(i => $"138{i * 100:D8}"), callbacks.Select(c => c.Caller));
            var a2 = await d.AgentAsync("A2");
            Assert.Equal((AgentState.NotReady, "lunch"), (a2.State, a2.Reason));

            // Written on in the current format.
            Assert.True((await d.ExecuteAsync(new OfferCall { CallId = "v2-0001", Caller = "13999999999" })).IsOk);
        }

        var newJournal = Directory.GetFiles(domain, "journal-*.log").Except(oldJournal).ToList();
        Assert.All(newJournal, f => Assert.Equal(JournalSegment.CurrentVersion, JournalSegment.ReadHeader(File.ReadAllBytes(f)).Version));

        // And read again, old and new together.
        await using (var again = await TestDaemon.StartInAsync(directory, centre, clock))
        {
            Assert.Equal(1189, (await again.QueueAsync()).Waiting);
            Assert.Equal(1189, (await again.CallAsync("v2-0001"))!.Position);
        }

        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task A_journal_file_of_a_newer_format_is_refused_by_name()
    {
        var (directory, clock) = await FirstReleaseAsync();
        var newest = Directory.GetFiles(Path.Combine(directory, "data", "v1"), "journal-*.log").Order(StringComparer.Ordinal).Last();
        var header = new byte[JournalSegment.HeaderBytes];
        JournalSegment.WriteHeader(header);
        header[8] = 9; // format 9
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), Crc32C.Compute(header.AsSpan(0, 12)));
        await using (var file = new FileStream(newest, FileMode.Create))
        {
            await file.WriteAsync(header);
            await file.WriteAsync(new byte[1 << 20]);
        }

        var error = await Assert.ThrowsAsync<Acd.Host.Durability.DurableStateException>(async () => await TestDaemon.StartInAsync(directory, await File.ReadAllTextAsync(DataFile("first-release-centre.json")), clock));
        Assert.Contains("is of format 9, written by a newer release", error.Message, StringComparison.Ordinal);
        Assert.Contains(Path.GetFileName(newest), error.Message, StringComparison.Ordinal);
        Directory.Delete(directory, recursive: true);
    }
}
