using System.Globalization;
using Acd.Core.Routing;
using Acd.Core.Tests.Support;

namespace Acd.Core.Tests.Hotline;

/// <summary>
/// Drives a harness second by second like a small call centre: calls arrive evenly at a rate that may change over
/// time, agents answer at once, talk for a fixed time and hang up; a dialer may report callback outcomes.
/// Everything runs on the harness's clock, so the scenario is exact and repeatable.
/// </summary>
public sealed class Traffic(Harness harness, double talkSeconds)
{
    private readonly Dictionary<string, double> _endAt = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> _dialedAt = new(StringComparer.Ordinal);
    private double _owed;
    private int _next;
    private int _cursor = harness.Events.Count;

    /// <summary>Answers a callback after this many seconds: reached (true), not reached (false), or left alone (null).</summary>
    public Func<string, bool?>? Dialer { get; set; }

    public double DialSeconds { get; set; } = 20;

    public string? Skill { get; set; }

    /// <summary>Caller numbers: by default every call a different caller.</summary>
    public Func<int, string> Caller { get; set; } = i => "1390000" + i.ToString("D4", CultureInfo.InvariantCulture);

    public int Offered => _next;

    /// <summary>Runs from the harness's current second up to <paramref name="untilSecond"/> with <paramref name="perSecond"/> arrivals.</summary>
    public void Run(double untilSecond, double perSecond)
    {
        while (harness.Seconds < untilSecond)
        {
            harness.Wait(1);
            Drain();
            _owed += perSecond;
            while (_owed >= 1)
            {
                _owed -= 1;
                var id = "t" + _next.ToString(CultureInfo.InvariantCulture);
                harness.Run(new OfferCall { CallId = id, Caller = Caller(_next), Skill = Skill });
                _next++;
                Drain();
            }

            foreach (var (id, _) in _endAt.Where(x => x.Value <= harness.Seconds).OrderBy(x => x.Value).ThenBy(x => x.Key, StringComparer.Ordinal).ToList())
            {
                _endAt.Remove(id);
                Assert.True(harness.End(id).IsOk, harness.Last.Message);
                Drain();
            }

            foreach (var (id, _) in _dialedAt.Where(x => x.Value <= harness.Seconds).OrderBy(x => x.Value).ThenBy(x => x.Key, StringComparer.Ordinal).ToList())
            {
                _dialedAt.Remove(id);
                if (Dialer!(id) is { } reached)
                {
                    Assert.True(harness.Run(new ReportCallbackOutcome(id, reached)).IsOk, harness.Last.Message);
                    Drain();
                }
            }
        }
    }

    /// <summary>Reacts to every event not seen yet: routed calls are answered, assigned callbacks dialed.</summary>
    private void Drain()
    {
        while (_cursor < harness.Events.Count)
        {
            var e = harness.Events[_cursor++];
            if (e.Kind == EventKind.CallRouted && !e.Handoff)
            {
                Assert.True(harness.Answered(e.CallId!).IsOk, harness.Last.Message);
                _endAt[e.CallId!] = harness.Seconds + talkSeconds;
            }
            else if (e.Kind == EventKind.CallbackAssigned && Dialer is not null)
            {
                _dialedAt[e.CallbackId!] = harness.Seconds + DialSeconds;
            }
        }
    }
}
