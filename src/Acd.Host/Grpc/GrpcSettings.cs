namespace Acd.Host.Grpc;

/// <summary>Settings of the gRPC port (<c>Acd:Grpc</c>).</summary>
public sealed class GrpcSettings
{
    /// <summary>Largest message accepted or sent, in bytes. Default 4 MiB, as gRPC's own default.</summary>
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Events buffered per Watch stream before a slow watcher is dropped. Default 10,000.</summary>
    public int WatchBuffer { get; set; } = 10_000;

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
