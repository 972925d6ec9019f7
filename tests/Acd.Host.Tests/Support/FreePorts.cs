using System.Net;
using System.Net.Sockets;

namespace Acd.Host.Tests.Support;

/// <summary>Free loopback ports.</summary>
public static class FreePorts
{
    /// <summary>A port free for both UDP and TCP on loopback (a SIP listener takes both).</summary>
    public static int UdpAndTcp()
    {
        for (var attempt = 0; ; attempt++)
        {
            var tcp = new TcpListener(IPAddress.Loopback, 0);
            tcp.Start();
            var port = ((IPEndPoint)tcp.LocalEndpoint).Port;
            try
            {
                using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException) when (attempt < 50)
            {
                // Taken for UDP: another one.
            }
            finally
            {
                tcp.Stop();
            }
        }
    }
}
