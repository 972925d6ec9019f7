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
        await TestCertificates.WritePfxAsync(pfx, "pw");

        await using var d = await TestDaemon.StartAsync(TestDaemon.Centre(), $"--Acd:Grpc:CertificatePath={pfx}", "--Acd:Grpc:CertificatePassword=pw");
        using var client = new GrpcTestClient(d.Grpc!, tls: true);
        var agent = (await GrpcTestClient.Try(client.Agents.GetAgentAsync(new AgentRequest { AgentId = "A0001" }))).Ok;
        Assert.Equal("A0001", agent.AgentId);

        // Plain HTTP/2 (h2c) is not spoken on a TLS port.
        using var plain = new GrpcTestClient(d.Grpc!);
        Assert.NotEqual(global::Grpc.Core.StatusCode.OK, await GrpcTestClient.StatusOf(plain.Agents.GetAgentAsync(new AgentRequest { AgentId = "A0001" })));
        Directory.Delete(directory, recursive: true);
    }
}
