using System.Text.Json;
using Acd.LoadGen;

try
{
    var options = Options.Parse(args);
    using var stopping = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        stopping.Cancel();
    };

    Dictionary<string, object?> result = options.Mode switch
    {
        "max" => await new MaxRun(options).RunAsync(stopping.Token),
        "day" => await new DayRun(options).RunAsync(stopping.Token),
        _ => await new FillRun(options).RunAsync(stopping.Token),
    };

    if (options.Json is { } path)
    {
        var json = JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true });
        if (string.Equals(path, "-", StringComparison.Ordinal))
        {
            Console.WriteLine(json);
        }
        else
        {
            await File.WriteAllTextAsync(path, json);
        }
    }

    var errors = Convert.ToInt64(result["protocolErrors"], System.Globalization.CultureInfo.InvariantCulture);
    return errors == 0 && result["completed"] is true ? 0 : 1;
}
catch (UsageException e)
{
    if (!string.Equals(e.Message, "usage", StringComparison.Ordinal))
    {
        await Console.Error.WriteLineAsync("acd-loadgen: " + e.Message);
    }

    await Console.Error.WriteLineAsync(Options.Usage);
    return 2;
}
catch (Exception e) when (e is System.Net.Sockets.SocketException or HttpRequestException or Grpc.Core.RpcException)
{
    await Console.Error.WriteLineAsync("acd-loadgen: the daemon could not be driven: " + e.Message);
    return 3;
}
