using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Acd.Host.Tests.Support;

/// <summary>Self-signed certificates for TLS tests.</summary>
public static class TestCertificates
{
    /// <summary>Writes a PFX of a self-signed certificate for 127.0.0.1 (with its key) to <paramref name="path"/>.</summary>
    public static async Task WritePfxAsync(string path, string? password)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        await File.WriteAllBytesAsync(path, certificate.Export(X509ContentType.Pfx, password));
    }
}
