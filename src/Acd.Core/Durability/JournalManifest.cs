using System.Globalization;
using System.Text;

namespace Acd.Core.Durability;

/// <summary>One journal file as the manifest lists it: the index of its first record and the bytes it held when listed.</summary>
public readonly record struct ManifestSegment(long FirstIndex, long Bytes);

/// <summary>
/// The list of a domain's journal files, kept beside them (<c>journal.manifest</c>) and replaced whole — written to a
/// temporary file, flushed, renamed — each time a file is begun or removed. With it, recovery can tell a journal file
/// that was deleted or cut short (an operator's mistake, a bad copy, a restore gone wrong) from one that never
/// existed, and the configuration the journal was written under (its fingerprint) even when every snapshot is gone.
/// A small text file an operator can read:
/// <code>
/// ACD journal manifest 1
/// domain 10086
/// fingerprint 3f1c…
/// segment 1 67108864
/// segment 412907 67108864
/// crc32c 1a2b3c4d
/// </code>
/// The last line is the CRC-32C of every byte before it.
/// </summary>
public sealed record JournalManifest(string Domain, string Fingerprint, IReadOnlyList<ManifestSegment> Segments)
{
    /// <summary>The format this release writes.</summary>
    public const int CurrentVersion = 1;

    private const string Title = "ACD journal manifest ";

    /// <summary>The manifest as bytes.</summary>
    public byte[] ToBytes()
    {
        var text = new StringBuilder();
        text.Append(Title).Append(CurrentVersion).Append('\n');
        text.Append("domain ").Append(Domain).Append('\n');
        text.Append("fingerprint ").Append(Fingerprint).Append('\n');
        foreach (var segment in Segments.OrderBy(s => s.FirstIndex))
        {
            text.Append(CultureInfo.InvariantCulture, $"segment {segment.FirstIndex} {segment.Bytes}\n");
        }

        var body = Encoding.UTF8.GetBytes(text.ToString());
        return [.. body, .. Encoding.ASCII.GetBytes($"crc32c {Crc32C.Compute(body):x8}\n")];
    }

    /// <summary>Reads a manifest; <see cref="InvalidDataException"/> when it is damaged, <see cref="NewerFormatException"/> when it is of a later release.</summary>
    public static JournalManifest Parse(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty || bytes[^1] != (byte)'\n' || bytes[..^1].LastIndexOf((byte)'\n') < 0)
        {
            throw new InvalidDataException("the journal manifest is cut short");
        }

        var crcLine = bytes[..^1].LastIndexOf((byte)'\n') + 1;

        var body = bytes[..crcLine];
        var crc = Encoding.ASCII.GetString(bytes[crcLine..^1]);
        if (!crc.StartsWith("crc32c ", StringComparison.Ordinal)
            || !uint.TryParse(crc.AsSpan(7), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var expected))
        {
            throw new InvalidDataException("the journal manifest has no checksum line");
        }

        if (Crc32C.Compute(body) != expected)
        {
            throw new InvalidDataException("the journal manifest fails its checksum");
        }

        var lines = Encoding.UTF8.GetString(body).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length < 3 || !lines[0].StartsWith(Title, StringComparison.Ordinal)
            || !int.TryParse(lines[0].AsSpan(Title.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            throw new InvalidDataException("not a journal manifest");
        }

        if (version > CurrentVersion)
        {
            throw new NewerFormatException($"journal manifest format {version}; this release reads format {CurrentVersion}");
        }

        var domain = Field(lines[1], "domain ");
        var fingerprint = Field(lines[2], "fingerprint ");
        var segments = new List<ManifestSegment>();
        foreach (var line in lines.AsSpan(3))
        {
            var parts = Field(line, "segment ").Split(' ');
            if (parts.Length != 2
                || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var first) || first < 1
                || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var size))
            {
                throw new InvalidDataException($"the journal manifest line '{line}' is no segment");
            }

            if (segments.Count > 0 && segments[^1].FirstIndex >= first)
            {
                throw new InvalidDataException("the journal manifest lists its segments out of order");
            }

            segments.Add(new ManifestSegment(first, size));
        }

        return new JournalManifest(domain, fingerprint, segments);
    }

    private static string Field(string line, string name) =>
        line.StartsWith(name, StringComparison.Ordinal) ? line[name.Length..] : throw new InvalidDataException($"the journal manifest line '{line}' should begin '{name.TrimEnd()}'");
}
