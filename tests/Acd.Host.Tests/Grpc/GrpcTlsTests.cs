using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Acd.Api.V1;
using Acd.Host.Tests.Support;

namespace Acd.Host.Tests.Grpc;

public sealed class GrpcTlsTests
{
    [Fact]
    public async Task With_a_certificate_the_grpc_port_speaks_http2_over_tls()
    {
        var directory = Directory.CreateTempSubdirectory("acd-tls-").FullName;
        var pfx = Path.Combine(directory, "grpc.pfx");
        using (var key = RSA.Create(2048))
        {
            var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
            await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pfx, "pw"));
        }

        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(), $"--Acd:Grpc:CertificatePath={pfx}", "--Acd:Grpc:CertificatePassword=pw");
        using var http = new HttpClient(new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } });
        var message = new HttpRequestMessage(HttpMethod.Post, $"https://{d.Grpc}/acd.v1.AgentService/GetAgent")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(GrpcTestClient.Frame(new AgentRequest { AgentId = "A0001" })),
        };
        message.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
        using var response = await http.SendAsync(message);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(new Version(2, 0), response.Version);
        Assert.Equal("0", response.TrailingHeaders.GetValues("grpc-status").Single());
        Assert.Equal("A0001", Agent.Parser.ParseFrom(body.AsSpan(5).ToArray()).AgentId);
        Directory.Delete(directory, recursive: true);
    }
}
