namespace Acd.Host.Grpc;

/// <summary>Settings of the gRPC port (<c>Acd:Grpc</c>).</summary>
public sealed class GrpcSettings
{
    /// <summary>
    /// Largest request message accepted, in bytes. Default 64 KiB: the largest request (a login with 32 skills) is under
    /// 2 KiB, and every byte of a message being received is held until it is whole.
    /// </summary>
    public int MaxReceiveMessageBytes { get; set; } = 64 * 1024;

    /// <summary>Largest response message sent, in bytes. Default 16 MiB (a page of 10,000 callbacks is about 1 MiB).</summary>
    public int MaxSendMessageBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Concurrent streams (calls) on one HTTP/2 connection. Default 100, Kestrel's own.</summary>
    public int MaxStreamsPerConnection { get; set; } = 100;

    /// <summary>Open connections to the gRPC port. Default 512. With the two limits above this bounds what the port can be made to buffer.</summary>
    public int MaxConnections { get; set; } = 512;

    /// <summary>Events buffered per Watch stream before a slow watcher is dropped. Default 4,096.</summary>
    public int WatchBuffer { get; set; } = 4096;

    /// <summary>Watch streams open at once. Default 128.</summary>
    public int MaxWatchers { get; set; } = 128;

    /// <summary>Watch streams open at once on one connection. Default 16.</summary>
    public int MaxWatchersPerConnection { get; set; } = 16;

    /// <summary>A Watch write that cannot complete for this long (the watcher does not read) resets the stream. Default 30.</summary>
    public int WatchWriteTimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// Compression of responses for clients that accept it: empty (default) sends them uncompressed, the fastest on a
    /// LAN; <c>gzip</c> compresses them. Compressed requests (gzip) are accepted either way.
    /// </summary>
    public string? ResponseCompression { get; set; }

    /// <summary>PFX certificate file for TLS; empty: HTTP/2 without TLS.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>Password of the PFX file.</summary>
    public string? CertificatePassword { get; set; }
}
