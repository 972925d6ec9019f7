using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Acd.Core.Configuration;
using Acd.Core.Durability;
using Acd.Core.Routing;
using Acd.Host.Configuration;
using Microsoft.Win32.SafeHandles;

namespace Acd.Host.Durability;

/// <summary>The state on disk cannot be used: damage that would have to be guessed over, or another configuration.</summary>
public sealed class DurableStateException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The disk took no more writes (full, or failing): a restart may succeed once it is fixed.</summary>
    public bool DiskFailure { get; init; }
}

/// <summary>What recovery found and did.</summary>
/// <param name="Router">The router in the recovered state.</param>
/// <param name="LastIndex">Index of the last journal record applied (0: none ever written).</param>
/// <param name="SnapshotIndex">Index of the snapshot it started from (0: none).</param>
/// <param name="Replayed">Journal records replayed after the snapshot.</param>
/// <param name="Elapsed">How long it took.</param>
/// <param name="CutTail">What was cut from a torn tail, if anything.</param>
public sealed record RecoveredState(Router Router, long LastIndex, long SnapshotIndex, long Replayed, TimeSpan Elapsed, string? CutTail)
{
    /// <summary>Nothing was on disk: a first start.</summary>
    public bool Fresh => LastIndex == 0 && SnapshotIndex == 0;
}

/// <summary>
/// One domain's durable state in <c>DATA/DOMAIN/</c>: journal segments <c>journal-FIRSTINDEX.log</c> (records of
/// <see cref="JournalFormat"/>, appended and flushed by group commit) and snapshots <c>snapshot-INDEX.snap</c> (the
/// router's state after record INDEX, written to a temporary file, flushed, then renamed). Recovery loads the newest
/// readable snapshot and replays the journal after it through the same router code; snapshots are made the same
/// way in the background, so routing never stops for one.
/// </summary>
public sealed partial class DomainStore : IDomainStore
{
    private const string JournalPrefix = "journal-";
    private const string JournalSuffix = ".log";
    private const string SnapshotPrefix = "snapshot-";
    private const string SnapshotSuffix = ".snap";
    private const string ManifestName = "journal.manifest";
    private const string TrustFilesName = "journal.manifest.trust-files";
    private static readonly byte[] SnapshotMagic = "ACD-SNAP"u8.ToArray();

    private readonly DomainConfig _config;
    private readonly JournalSettings _settings;
    private readonly ILogger _logger;
    private readonly Lock _files = new();
    private readonly Lock _manifest = new();
    private readonly List<string> _unreadableSnapshots = [];
    private SafeFileHandle? _segment;
    private long _segmentLength;
    private long _recordsStart;
    private bool _disposed;
    private (string Path, int Format, long Start, long End)? _recoveredEnd;
    private Task<string?>? _spare;

    public DomainStore(string dataDirectory, DomainConfig config, JournalSettings settings, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(config);
        Directory = Path.Combine(dataDirectory, config.Name);
        _config = config;
        _settings = settings;
        _logger = logger;
    }

    /// <summary>The domain's directory.</summary>
    public string Directory { get; }

    /// <inheritdoc/>
    public string Location => Directory;

    /// <summary>Index of the last record written (and flushed, with fsync on).</summary>
    public long LastIndex { get; private set; }

    /// <summary>Index of the newest snapshot on disk.</summary>
    public long SnapshotIndex { get; private set; }

    // ---- recovery ------------------------------------------------------------------------------------------

    /// <summary>Loads the newest readable snapshot and replays the journal after it; cuts a torn tail; refuses damage.</summary>
    public RecoveredState Recover()
    {
        try
        {
            return RecoverFiles();
        }
        catch (IOException e) when (e is not NewerFormatException && IsDiskFull(e))
        {
            throw new DurableStateException($"the data directory {Directory} of domain '{_config.Name}' takes no more writes ({e.Message}): free space on its disk, then start again", e) { DiskFailure = true };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DurableStateException($"the data directory {Directory} of domain '{_config.Name}' cannot be written or read: {e.Message}", e);
        }
    }

    /// <summary>ENOSPC or EDQUOT: the disk (or the quota) is full.</summary>
    internal static bool IsDiskFull(IOException e) => (e.HResult & 0xFFFF) is 28 or 122 || e.HResult == unchecked((int)0x80070070);

    private RecoveredState RecoverFiles()
    {
        var started = Stopwatch.GetTimestamp();
        System.IO.Directory.CreateDirectory(Directory);
        ProbeWritable();

        CheckJournalFiles();
        foreach (var stale in System.IO.Directory.EnumerateFiles(Directory, SnapshotPrefix + "*" + SnapshotSuffix + ".tmp"))
        {
            File.Delete(stale); // a snapshot not finished when the daemon (or its helper) stopped
        }

        var (router, snapshotIndex) = LoadNewestSnapshot();
        if (!Files(SnapshotPrefix, SnapshotSuffix).Any() && !Files(JournalPrefix, JournalSuffix).Any())
        {
            // A first start writes the empty state as snapshot 0, so that even a journal that never reached its first
            // periodic snapshot is bound to this configuration (its fingerprint) and refused under another one.
            WriteSnapshot(router, 0);
        }

        var (last, replayed, cut) = Replay(router, snapshotIndex, long.MaxValue, truncateTornTail: true);
        LastIndex = last;
        SnapshotIndex = snapshotIndex;
        lock (_manifest)
        {
            WriteManifest(); // the files as recovery found them whole: a first release's directory gets its manifest here
        }

        return new RecoveredState(router, last, snapshotIndex, replayed, Stopwatch.GetElapsedTime(started), cut);
    }

    /// <summary>
    /// Compares the journal files with the manifest (<see cref="JournalManifest"/>) before anything is read: a listed
    /// file that is gone or shorter than it was, a journal of another configuration, files no manifest accounts for —
    /// each stops the start by name. What a crash between two steps of the store's own bookkeeping leaves is set right:
    /// a file a prune had delisted but not yet deleted is deleted, a file begun but not yet listed (it holds no record) is
    /// taken in.
    /// </summary>
    private void CheckJournalFiles()
    {
        var manifestPath = Path.Combine(Directory, ManifestName);
        var trustPath = Path.Combine(Directory, TrustFilesName);
        var present = Files(JournalPrefix, JournalSuffix).ToDictionary(f => f.Index, f => f.Path);
        if (File.Exists(trustPath))
        {
            LogTrustingFiles(_logger, _config.Name, trustPath);
            File.Delete(trustPath);
            return;
        }

        if (!File.Exists(manifestPath))
        {
            if (present.Values.FirstOrDefault(p => FormatOf(p) >= 2) is { } written)
            {
                throw new DurableStateException(
                    $"the journal manifest {manifestPath} of domain '{_config.Name}' is missing, so it cannot be told whether journal files were deleted or cut short ({Path.GetFileName(written)} was written by this release, which always keeps one). " +
                    $"Restore it from the copy the journal files came with; or, if you know every journal file is whole, create an empty file {TrustFilesName} beside them to have it rebuilt from the files.");
            }

            return; // a first release's directory (it had no manifest), or a first start
        }

        JournalManifest manifest;
        try
        {
            manifest = JournalManifest.Parse(File.ReadAllBytes(manifestPath));
        }
        catch (NewerFormatException e)
        {
            throw new DurableStateException($"the journal manifest {manifestPath} of domain '{_config.Name}' was written by a newer release ({e.Message}). Run the release that wrote it (or a newer one); nothing was changed.", e);
        }
        catch (InvalidDataException e)
        {
            throw new DurableStateException(
                $"the journal manifest {manifestPath} of domain '{_config.Name}' is damaged ({e.Message}). Restore it from a copy; or, if you know every journal file is whole, create an empty file {TrustFilesName} beside it to have it rebuilt from the files.", e);
        }

        if (!string.Equals(manifest.Fingerprint, _config.Fingerprint, StringComparison.Ordinal) || !string.Equals(manifest.Domain, _config.Name, StringComparison.Ordinal))
        {
            throw AnotherConfiguration(null);
        }

        foreach (var listed in manifest.Segments)
        {
            var name = $"{JournalPrefix}{listed.FirstIndex:D20}{JournalSuffix}";
            if (!present.TryGetValue(listed.FirstIndex, out var path))
            {
                throw new DurableStateException(
                    $"the journal file {name} of domain '{_config.Name}' is missing from {Directory} (the manifest lists it: records from {listed.FirstIndex} on). The records in it were acknowledged; " +
                    "restore the file from a copy. Starting without it would lose them.");
            }

            var length = new FileInfo(path).Length;
            if (length < listed.Bytes)
            {
                throw new DurableStateException(
                    $"the journal file {path} of domain '{_config.Name}' was cut short: {length} bytes, where it held {listed.Bytes} (its records may have been acknowledged). " +
                    "Restore the file from a copy. Starting from what is left would lose them.");
            }
        }

        var first = manifest.Segments.Count > 0 ? manifest.Segments[0].FirstIndex : long.MaxValue;
        var last = manifest.Segments.Count > 0 ? manifest.Segments[^1].FirstIndex : 0;
        var listedIndexes = manifest.Segments.Select(l => l.FirstIndex).ToHashSet();
        foreach (var (index, path) in present.Where(p => !listedIndexes.Contains(p.Key)).OrderBy(p => p.Key))
        {
            if (index < first && manifest.Segments.Count > 0)
            {
                LogPruneFinished(_logger, path);
                File.Delete(path); // delisted by a prune a crash interrupted before it deleted the file
            }
            else if (index > last && HoldsNoRecord(path))
            {
                // Begun (renamed into place) by a journal a crash stopped before it listed the file: nothing in it yet.
            }
            else
            {
                throw new DurableStateException(
                    $"the journal file {path} of domain '{_config.Name}' is not in the manifest {manifestPath}, which this release keeps up to date: it was not written here. " +
                    "Move it away (or restore the manifest that lists it) and start again.");
            }
        }
    }

    private bool HoldsNoRecord(string path)
    {
        var data = ReadShared(path);
        var (format, start) = RecordsStart(path, data);
        var scanner = new JournalScanner(data, start, format);
        return !scanner.TryNext(out _) && scanner.End == JournalScanEnd.Clean;
    }

    private int FormatOf(string path)
    {
        var head = new byte[JournalSegment.HeaderBytes];
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            head = head[..stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false)];
        }

        return RecordsStart(path, head).Format;
    }

    private DurableStateException AnotherConfiguration(Exception? inner) => new(
        $"the state in {Directory} was written under another configuration of domain '{_config.Name}' (skills, roster or settings changed). " +
        "Start with the configuration it was written with to drain it, or move the directory away to start afresh.", inner);

    /// <summary>Replaces the manifest with the journal files now on disk, less those about to be removed (the caller holds <see cref="_manifest"/>).</summary>
    private void WriteManifest(IReadOnlySet<long>? removing = null)
    {
        var segments = Files(JournalPrefix, JournalSuffix)
            .Where(f => removing is null || !removing.Contains(f.Index))
            .Select(f => new ManifestSegment(f.Index, new FileInfo(f.Path).Length))
            .ToList();
        var bytes = new JournalManifest(_config.Name, _config.Fingerprint, segments).ToBytes();
        var path = Path.Combine(Directory, ManifestName);
        var temporary = path + ".tmp";
        using (var handle = File.OpenHandle(temporary, FileMode.Create, FileAccess.Write))
        {
            RandomAccess.Write(handle, bytes, 0);
            RandomAccess.FlushToDisk(handle);
        }

        File.Move(temporary, path, overwrite: true);
        SyncDirectory();
    }

    /// <summary>The newest snapshot that reads back (an unreadable one is skipped with a warning); a fresh router if none.</summary>
    private (Router Router, long Index) LoadNewestSnapshot()
    {
        _unreadableSnapshots.Clear();
        foreach (var (index, path) in Files(SnapshotPrefix, SnapshotSuffix).OrderByDescending(f => f.Index))
        {
            try
            {
                return (ReadSnapshot(path, index), index);
            }
            catch (NewerFormatException e)
            {
                throw new DurableStateException($"the snapshot {path} of domain '{_config.Name}' was written by a newer release ({e.Message}). Run the release that wrote it (or a newer one); nothing was changed.", e);
            }
            catch (InvalidDataException e) when (!e.Message.Contains("another configuration", StringComparison.Ordinal))
            {
                LogBadSnapshot(_logger, path, e.Message);
                _unreadableSnapshots.Add($"{Path.GetFileName(path)} ({e.Message})");
            }
            catch (InvalidDataException e)
            {
                throw AnotherConfiguration(e);
            }
        }

        return (new Router(_config), 0);
    }

    private Router ReadSnapshot(string path, long index)
    {
        var bytes = File.ReadAllBytes(path);
        const int Header = SnapshotHeaderBytes;
        if (bytes.Length < Header || !bytes.AsSpan(0, 8).SequenceEqual(SnapshotMagic))
        {
            throw new InvalidDataException("not a snapshot file");
        }

        var version = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
        var written = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(12));
        var length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(20));
        var crc = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(24));
        if (version > 1)
        {
            throw new NewerFormatException($"snapshot file format {version}; this release reads format 1");
        }

        if (version != 1 || written != index || length != bytes.Length - Header || Crc32C.Compute(bytes.AsSpan(Header)) != crc)
        {
            throw new InvalidDataException("the snapshot file is damaged (header or checksum)");
        }

        return Router.ReadState(_config, new StateReader(bytes.AsMemory(Header)));
    }

    /// <summary>
    /// Applies the journal's records after <paramref name="after"/> up to <paramref name="upTo"/> to a router.
    /// A torn tail of the newest segment is cut (when asked) and reported; anything else damaged stops with a
    /// <see cref="DurableStateException"/>.
    /// </summary>
    private (long Last, long Replayed, string? Cut) Replay(Router router, long after, long upTo, bool truncateTornTail)
    {
        var segments = Files(JournalPrefix, JournalSuffix).OrderBy(f => f.Index).ToList();
        var events = new EventBuffer(256);
        var expected = after + 1;
        long replayed = 0;
        string? cut = null;
        for (var s = 0; s < segments.Count && expected <= upTo; s++)
        {
            var (first, path) = segments[s];
            var next = s + 1 < segments.Count ? segments[s + 1].Index : long.MaxValue;
            if (next <= expected)
            {
                continue; // every record of this segment is before what is needed
            }

            if (first > expected)
            {
                throw Gap(after, expected, first, path);
            }

            var data = ReadShared(path);
            var (format, start) = RecordsStart(path, data);
            var scanner = new JournalScanner(data, start, format);
            var index = first - 1;
            while (expected <= upTo && scanner.TryNext(out var payload))
            {
                long time;
                Command command;
                try
                {
                    (index, time, command) = JournalFormat.Decode(payload);
                }
                catch (InvalidDataException e)
                {
                    throw Damaged(path, scanner.GoodLength, $"a record that passes its checksum does not decode ({e.Message})");
                }

                if (index < expected)
                {
                    continue;
                }

                if (index != expected)
                {
                    throw Damaged(path, scanner.GoodLength, $"record {index} follows record {expected - 1}");
                }

                events.Clear();
                router.Execute(command, time, events);
                expected++;
                replayed++;
            }

            if (expected > upTo)
            {
                break;
            }

            if (s + 1 == segments.Count && truncateTornTail)
            {
                _recoveredEnd = (path, format, start, scanner.GoodLength);
            }

            switch (scanner.End)
            {
                case JournalScanEnd.Corrupt:
                    throw Damaged(path, scanner.GoodLength, scanner.Problem!);
                case JournalScanEnd.TornTail when s + 1 < segments.Count:
                    throw Damaged(path, scanner.GoodLength, $"{scanner.Problem}, in a journal file that is not the newest");
                case JournalScanEnd.TornTail when truncateTornTail:
                    // The cut-short write is zeroed, so the file keeps its prepared space and scans clean again.
                    cut = $"{Path.GetFileName(path)}: {scanner.UsedLength - scanner.GoodLength} bytes after offset {scanner.GoodLength} ({scanner.Problem})";
                    using (var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Write))
                    {
                        RandomAccess.Write(handle, new byte[scanner.UsedLength - scanner.GoodLength], scanner.GoodLength);
                        RandomAccess.FlushToDisk(handle);
                    }

                    LogTornTail(_logger, _config.Name, cut);
                    break;
            }
        }

        return (expected - 1, replayed, cut);
    }

    /// <summary>Records <paramref name="expected"/> to <paramref name="first"/> − 1 are in no journal file: say what is missing and what to do.</summary>
    private DurableStateException Gap(long after, long expected, long first, string path)
    {
        var why = expected == after + 1
            ? (after == 0 ? "no snapshot could be read" : $"the newest snapshot that could be read is of record {after}") +
              (_unreadableSnapshots.Count > 0 ? $" (unreadable: {string.Join(", ", _unreadableSnapshots)})" : "") +
              $", and the journal before record {first} was trimmed behind a newer snapshot. Restore the snapshot files from a copy"
            : "a journal file between them is missing. Restore it from a copy";
        return new DurableStateException(
            $"journal records {expected} to {first - 1} of domain '{_config.Name}' are missing before {Path.GetFileName(path)}: {why}; starting without them would lose acknowledged calls and callbacks.");
    }

    /// <summary>A journal file's format and where its records begin; a file of a format this release does not read is refused.</summary>
    private (int Format, int Start) RecordsStart(string path, ReadOnlySpan<byte> data)
    {
        int version, start;
        try
        {
            (version, start) = JournalSegment.ReadHeader(data);
        }
        catch (InvalidDataException e)
        {
            throw Damaged(path, 0, e.Message);
        }

        if (version > JournalSegment.CurrentVersion)
        {
            throw new DurableStateException(
                $"the journal file {path} of domain '{_config.Name}' is of format {version}, written by a newer release; this release reads formats 1 to {JournalSegment.CurrentVersion}. " +
                "Run the release that wrote it (or a newer one); nothing was changed.");
        }

        return (version, start);
    }

    private DurableStateException Damaged(string path, int offset, string problem) => new(
        $"the journal of domain '{_config.Name}' is damaged in {path} after offset {offset}: {problem}. The records after it cannot be trusted and are not guessed at; " +
        "restore the file from a copy, or move it (and the files after it) away to start from the state before the damage.");

    private static byte[] ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    private void ProbeWritable()
    {
        var probe = Path.Combine(Directory, ".probe");
        File.WriteAllBytes(probe, []);
        File.Delete(probe);
    }

    private IEnumerable<(long Index, string Path)> Files(string prefix, string suffix)
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            yield break;
        }

        foreach (var path in System.IO.Directory.EnumerateFiles(Directory, prefix + "*" + suffix))
        {
            var name = Path.GetFileName(path);
            if (long.TryParse(name.AsSpan(prefix.Length, name.Length - prefix.Length - suffix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                yield return (index, path);
            }
        }
    }

    // ---- the journal ---------------------------------------------------------------------------------------

    /// <summary>Bytes a journal file holds (prepared with zeros when it is begun).</summary>
    private long SegmentBytes => _settings.SegmentMegabytes * (1L << 20);

    /// <summary>Appends records <c>LastIndex + 1 … lastIndex</c> (already framed) and, with fsync on, flushes them to the disk.</summary>
    public void Append(ReadOnlySpan<byte> records, long lastIndex)
    {
        lock (_files)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_segment is null)
            {
                OpenNewest();
            }

            if (_segment is null || (_segmentLength > _recordsStart && _segmentLength + records.Length > SegmentBytes))
            {
                BeginSegment(LastIndex + 1);
            }

            RandomAccess.Write(_segment!, records, _segmentLength);
            _segmentLength += records.Length;
            if (_settings.Fsync)
            {
                RandomAccess.FlushToDisk(_segment!);
            }

            LastIndex = lastIndex;
            if (_spare is null && _segmentLength > SegmentBytes / 2)
            {
                PrepareSpare();
            }
        }
    }

    /// <summary>After recovery: continues the newest journal file where its records end.</summary>
    private void OpenNewest()
    {
        if (_recoveredEnd is not { } end || end.Format != JournalSegment.CurrentVersion || !File.Exists(end.Path))
        {
            return; // nothing to continue, or a first release's file: a new file of this format is begun
        }

        _segment = File.OpenHandle(end.Path, FileMode.Open, FileAccess.Write, FileShare.Read | FileShare.Delete);
        _recordsStart = end.Start;
        _segmentLength = end.End;
    }

    /// <summary>
    /// Begins the journal file whose first record is <paramref name="firstIndex"/>: a file of zeros prepared ahead of
    /// time, renamed. Overwriting prepared space, a flush only has the data to write — about half the cost of
    /// extending the file with each write.
    /// </summary>
    private void BeginSegment(long firstIndex)
    {
        _segment?.Dispose();
        var path = Path.Combine(Directory, $"{JournalPrefix}{firstIndex:D20}{JournalSuffix}");
        var spare = _spare is { IsCompletedSuccessfully: true } ready ? ready.Result : null;
        _spare = null;
        if (spare is null)
        {
            // Prepared whole under another name first, as the spare is: a journal file is never seen half made.
            spare = Path.Combine(Directory, "journal-new.tmp");
            using var handle = File.OpenHandle(spare, FileMode.Create, FileAccess.Write);
            Prepare(handle, SegmentBytes);
        }

        File.Move(spare, path);
        SyncDirectory();
        lock (_manifest)
        {
            WriteManifest(); // listed before any record is written to it
        }

        _segment = File.OpenHandle(path, FileMode.Open, FileAccess.Write, FileShare.Read | FileShare.Delete);
        _recordsStart = JournalSegment.HeaderBytes;
        _segmentLength = JournalSegment.HeaderBytes;
    }

    /// <summary>Prepares the next journal file in the background while the current one fills.</summary>
    private void PrepareSpare()
    {
        var path = Path.Combine(Directory, "journal-spare.tmp");
        var size = SegmentBytes;
        _spare = Task.Run(() =>
        {
            try
            {
                using var handle = File.OpenHandle(path, FileMode.Create, FileAccess.Write);
                Prepare(handle, size);
                return path;
            }
            catch (IOException)
            {
                return null;
            }
        });
    }

    /// <summary>A journal file of the current format: its header, then zeros to its size.</summary>
    private static void Prepare(SafeFileHandle handle, long size)
    {
        var zeros = new byte[1 << 20];
        for (long offset = 0; offset < size; offset += zeros.Length)
        {
            RandomAccess.Write(handle, zeros.AsSpan(0, (int)Math.Min(zeros.Length, size - offset)), offset);
        }

        Span<byte> header = stackalloc byte[JournalSegment.HeaderBytes];
        JournalSegment.WriteHeader(header);
        RandomAccess.Write(handle, header, 0);
        RandomAccess.FlushToDisk(handle);
    }

    // ---- snapshots -----------------------------------------------------------------------------------------

    /// <summary>
    /// Makes a snapshot of the state after record <paramref name="upTo"/> without touching the live router: the newest
    /// snapshot is loaded and the journal replayed to that record, on the calling thread. Then old snapshots and the
    /// journal files before the oldest kept snapshot are removed.
    /// </summary>
    public string TakeSnapshot(long upTo)
    {
        if (Helper is { } helper && helper.TryReplay(_config, upTo))
        {
            return AdoptSnapshot(upTo);
        }

        return WriteSnapshot(ReplayTo(upTo), upTo);
    }

    /// <summary>
    /// Another process that makes the snapshots by replay (<see cref="SnapshotHelper"/>): the replayed state — as large
    /// as the live one — then lives and dies there, instead of doubling this process's memory until a full collection.
    /// </summary>
    public SnapshotHelper? Helper { get; set; }

    /// <summary>In a snapshot helper: the state after record <paramref name="upTo"/> (newest snapshot and the journal), written as that snapshot's temporary file, flushed.</summary>
    internal string WritePendingSnapshot(long upTo)
    {
        var body = new StateWriter(1 << 20);
        ReplayTo(upTo).WriteState(body);
        var pending = PendingPath(upTo);
        WriteSnapshotFile(pending, body.Written, upTo);
        return pending;
    }

    /// <summary>Installs the snapshot a helper wrote (its temporary file, checked to be whole): renamed into place, old files pruned.</summary>
    private string AdoptSnapshot(long index)
    {
        var pending = PendingPath(index);
        using (var file = File.OpenHandle(pending, FileMode.Open, FileAccess.Read))
        {
            var header = new byte[SnapshotHeaderBytes];
            if (RandomAccess.Read(file, header, 0) != header.Length || !header.AsSpan(0, 8).SequenceEqual(SnapshotMagic)
                || BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(12)) != index
                || BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(20)) != RandomAccess.GetLength(file) - header.Length)
            {
                throw new InvalidDataException($"the snapshot helper's {pending} is not a whole snapshot after record {index}");
            }
        }

        return Install(pending, index);
    }

    private Router ReplayTo(long upTo)
    {
        var (router, index) = LoadNewestSnapshot();
        if (index < upTo)
        {
            var (last, _, _) = Replay(router, index, upTo, truncateTornTail: false);
            if (last != upTo)
            {
                throw new InvalidOperationException($"the journal of domain '{_config.Name}' ends at record {last}, not {upTo}");
            }
        }

        return router;
    }

    private string SnapshotPath(long index) => Path.Combine(Directory, $"{SnapshotPrefix}{index:D20}{SnapshotSuffix}");

    private string PendingPath(long index) => SnapshotPath(index) + ".tmp";

    /// <summary>Writes a snapshot of a router that has applied every record up to <paramref name="index"/>.</summary>
    public string WriteSnapshot(Router router, long index)
    {
        ArgumentNullException.ThrowIfNull(router);
        var body = new StateWriter(1 << 20);
        router.WriteState(body);
        return WriteSnapshot(body.Written, index);
    }

    /// <summary>Writes a snapshot body (<see cref="Router.WriteState"/>) of the state after record <paramref name="index"/>, which must be durable.</summary>
    public string WriteSnapshot(ReadOnlySpan<byte> body, long index)
    {
        if (index > LastIndex)
        {
            throw new InvalidOperationException($"a snapshot after record {index} while the journal is durable only to {LastIndex}");
        }
        var temporary = PendingPath(index);
        WriteSnapshotFile(temporary, body, index);
        return Install(temporary, index);
    }

    private const int SnapshotHeaderBytes = 28;

    /// <summary>Writes a snapshot file (header, body) and flushes it.</summary>
    private static void WriteSnapshotFile(string path, ReadOnlySpan<byte> body, long index)
    {
        var header = new byte[SnapshotHeaderBytes];
        SnapshotMagic.CopyTo(header, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), 1);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(12), index);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(20), body.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(24), Crc32C.Compute(body));
        using var handle = File.OpenHandle(path, FileMode.Create, FileAccess.Write);
        RandomAccess.Write(handle, header, 0);
        RandomAccess.Write(handle, body, header.Length);
        RandomAccess.FlushToDisk(handle);
    }

    /// <summary>Renames a flushed snapshot file into place, makes that durable, and prunes what it makes unneeded.</summary>
    private string Install(string temporary, long index)
    {
        var path = SnapshotPath(index);
        File.Move(temporary, path, overwrite: true);
        SyncDirectory();
        lock (_files)
        {
            SnapshotIndex = Math.Max(SnapshotIndex, index);
        }

        Prune();
        return path;
    }

    /// <summary>Keeps the newest snapshots; removes journal files whose every record is before the oldest of them.</summary>
    private void Prune()
    {
        var snapshots = Files(SnapshotPrefix, SnapshotSuffix).OrderByDescending(f => f.Index).ToList();
        foreach (var (_, path) in snapshots.Skip(_settings.KeepSnapshots))
        {
            File.Delete(path);
        }

        var kept = snapshots.Take(_settings.KeepSnapshots).Select(s => s.Index).DefaultIfEmpty(0).Min();
        lock (_manifest)
        {
            // A segment's last record is the next segment's first minus one; the newest segment is never removed. The
            // manifest stops listing them before they go, so a crash in between leaves files it knows to delete.
            var segments = Files(JournalPrefix, JournalSuffix).OrderBy(f => f.Index).ToList();
            var removing = segments.Zip(segments.Skip(1)).Where(p => p.Second.Index - 1 <= kept).Select(p => p.First).ToList();
            if (removing.Count == 0)
            {
                return;
            }

            WriteManifest(removing.Select(r => r.Index).ToHashSet());
            foreach (var (_, path) in removing)
            {
                File.Delete(path);
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_files)
        {
            _disposed = true;
            _segment?.Dispose();
            _segment = null;
            try
            {
                _spare?.Wait();
            }
            catch (AggregateException)
            {
            }
        }
    }

    /// <summary>Makes a new or renamed file's directory entry durable.</summary>
    private void SyncDirectory()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return;
        }

        var fd = Open(Directory, 0 /* O_RDONLY */);
        if (fd >= 0)
        {
            _ = Fsync(fd);
            _ = Close(fd);
        }
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPStr)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int Fsync(int fd);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Journal of domain {Domain}: a torn tail was cut at the last good record ({What}); it was never acknowledged")]
    private static partial void LogTornTail(ILogger logger, string domain, string what);

    [LoggerMessage(Level = LogLevel.Information, Message = "Journal file {Path} was delisted by a snapshot's prune that a stop interrupted: deleted now")]
    private static partial void LogPruneFinished(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Journal of domain {Domain}: {Path} found, so the journal files are trusted as they are and the manifest is rebuilt from them")]
    private static partial void LogTrustingFiles(ILogger logger, string domain, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Snapshot {Path} cannot be read ({Problem}); trying an older one")]
    private static partial void LogBadSnapshot(ILogger logger, string path, string problem);
}
