using Acd.Core.Statistics;

namespace Acd.Core.Tests.Hotline;

/// <summary>
/// Erlang C against independently published figures, to 4 significant digits.
/// <list type="bullet">
/// <item>[R] the CRAN package ErlangC 0.1.0 by Damonsoul, README worked example: 100 calls per 30 minutes, AHT 180 s
/// (A = 10 Erlangs), T = 20 s. Its table: N = 11: P(wait) 0.6821182, SL 0.3896138, ASA 122.78127684408 s;
/// N = 12: 0.4493882, 0.640158, 40.4449401868444; N = 13: 0.2852705, 0.7955948, 17.1162271821896;
/// N = 14: 0.1741319, 0.88835, 7.83593701177724; 80 % in 20 s needs 14 agents.</item>
/// <item>[P] the Python package pyErlang README (the "Mitan" examples): 360 calls per 1800 s, AHT 240 s, 55 agents,
/// T = 15 s: P(wait) 23.87 %, SL 84.59 %, 70 % needs 53 agents; 300 calls per 900 s, AHT 180 s, 65 agents, T = 45 s:
/// 42.01 %, 87.96 %, 95 % needs 67; 650 calls per 3600 s, AHT 150 s, 34 agents, T = 30 s: 14.30 %, 96.41 %,
/// 50 % needs 29; 20 calls per 3600 s, AHT 1800 s, 11 agents, T = 3600 s: 68.21 %, 90.77 %, 80 % needs 11.</item>
/// </list>
/// </summary>
public sealed class ErlangCTests
{
    private static void Significant(double expected, double actual, int digits = 4)
    {
        var scale = Math.Pow(10, digits - 1 - Math.Floor(Math.Log10(Math.Abs(expected))));
        Assert.True(Math.Round(expected * scale) == Math.Round(actual * scale), $"expected {expected}, got {actual} (to {digits} significant digits)");
    }

    [Theory]
    [InlineData(11, 0.6821182, 0.3896138, 122.78127684408)]
    [InlineData(12, 0.4493882, 0.640158, 40.4449401868444)]
    [InlineData(13, 0.2852705, 0.7955948, 17.1162271821896)]
    [InlineData(14, 0.1741319, 0.88835, 7.83593701177724)]
    public void Matches_the_cran_erlangc_worked_example(int agents, double probabilityOfWaiting, double serviceLevel, double asaSeconds)
    {
        var r = ErlangC.Evaluate(100 / 1800.0, 180, agents, 20);
        Significant(10, r.TrafficErlangs);
        Significant(probabilityOfWaiting, r.ProbabilityOfWaiting);
        Significant(serviceLevel, r.ServiceLevel);
        Significant(asaSeconds, r.AverageSpeedOfAnswerSeconds);
        Significant(10.0 / agents, r.Occupancy);
    }

    [Fact]
    public void Finds_the_cran_example_staffing_for_eighty_percent_in_twenty_seconds()
    {
        var r = ErlangC.Required(100 / 1800.0, 180, 20, 0.8);
        Assert.Equal(14, r.Agents);
        Significant(0.88835, r.ServiceLevel);
    }

    [Theory]
    [InlineData(360, 1800, 240, 55, 15, 0.2387, 0.8459, 0.70, 53)]
    [InlineData(300, 900, 180, 65, 45, 0.4201, 0.8796, 0.95, 67)]
    [InlineData(650, 3600, 150, 34, 30, 0.1430, 0.9641, 0.50, 29)]
    [InlineData(20, 3600, 1800, 11, 3600, 0.6821, 0.9077, 0.80, 11)]
    public void Matches_the_pyerlang_examples(int calls, int periodSeconds, int ahtSeconds, int agents, int thresholdSeconds, double probabilityOfWaiting, double serviceLevel, double target, int required)
    {
        var rate = (double)calls / periodSeconds;
        var r = ErlangC.Evaluate(rate, ahtSeconds, agents, thresholdSeconds);
        Significant(probabilityOfWaiting, r.ProbabilityOfWaiting);
        Significant(serviceLevel, r.ServiceLevel);
        Assert.Equal(required, ErlangC.Required(rate, ahtSeconds, thresholdSeconds, target).Agents);
    }

    [Theory]
    [InlineData(1_000.0)]
    [InlineData(20_000.0)]
    [InlineData(100_000.0)]
    public void Stays_finite_and_monotone_at_national_loads(double erlangs)
    {
        // AHT 200 s: the arrival rate that offers this many Erlangs.
        var rate = erlangs / 200;
        var r = ErlangC.Required(rate, 200, 20, 0.8);
        Assert.True(r.Agents > erlangs && r.Agents < erlangs * 1.05, $"{r.Agents} agents for {erlangs} Erlangs");
        Assert.True(r.ServiceLevel >= 0.8 && r.ServiceLevel <= 1);
        Assert.True(double.IsFinite(r.AverageSpeedOfAnswerSeconds) && r.AverageSpeedOfAnswerSeconds >= 0);
        var fewer = ErlangC.Evaluate(rate, 200, r.Agents - 1, 20);
        Assert.True(fewer.ServiceLevel < 0.8);
        Assert.True(fewer.ProbabilityOfWaiting > r.ProbabilityOfWaiting);
        var saturated = ErlangC.Evaluate(rate, 200, (int)erlangs, 20);
        Assert.Equal((1.0, 0.0), (saturated.ProbabilityOfWaiting, saturated.ServiceLevel));
        Assert.True(double.IsPositiveInfinity(saturated.AverageSpeedOfAnswerSeconds));
    }

    [Fact]
    public void Refuses_what_has_no_meaning()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ErlangC.Evaluate(-1, 180, 10, 20));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErlangC.Evaluate(1, 0, 10, 20));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErlangC.Required(1, 180, 20, 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ErlangC.Required(1, 180, 20, 0));
        Assert.Equal(0, ErlangC.Required(0, 180, 20, 0.8).Agents);
    }
}
