namespace Acd.Host.Wallboard;

/// <summary>The wallboard page (one HTML file with its style and script, embedded: no build step, nothing from the internet).</summary>
public static class WallboardPage
{
    /// <summary>The page, as served.</summary>
    public static readonly byte[] Html = Read();

    private static byte[] Read()
    {
        using var stream = typeof(WallboardPage).Assembly.GetManifestResourceStream("Acd.Host.wallboard.html")
            ?? throw new InvalidOperationException("the wallboard page is not embedded");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
