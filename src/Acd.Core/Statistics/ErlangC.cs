namespace Acd.Core.Statistics;

/// <summary>What Erlang C predicts for a number of agents.</summary>
/// <param name="Agents">Agents staffed.</param>
/// <param name="TrafficErlangs">Offered load A = arrival rate × handle time.</param>
/// <param name="ProbabilityOfWaiting">Erlang C: the probability a call has to wait.</param>
/// <param name="ServiceLevel">Fraction answered within the threshold.</param>
/// <param name="AverageSpeedOfAnswerSeconds">Mean wait over all calls.</param>
/// <param name="Occupancy">A ÷ agents.</param>
public readonly record struct ErlangCResult(int Agents, double TrafficErlangs, double ProbabilityOfWaiting, double ServiceLevel, double AverageSpeedOfAnswerSeconds, double Occupancy);

/// <summary>
/// Erlang C staffing (M/M/N): numerically stable for any load — no factorials and no powers, only the Erlang B
/// recursion B(n) = A·B(n−1) / (n + A·B(n−1)), whose terms stay in [0, 1]; then
/// C = N·B / (N − A·(1 − B)), service level = 1 − C·e^(−(N−A)·T/AHT), ASA = C·AHT / (N − A).
/// Finding the agents required continues the recursion upward, so 20,000 Erlangs cost about 20,000 steps.
/// </summary>
public static class ErlangC
{
    /// <summary>The largest offered load a staffing forecast is computed for (a national centre is a few tens of thousands).</summary>
    public const double MaxErlangs = 1_000_000;

    /// <summary>
    /// Staffing as the daemon reports it: a rate (per second), handle time and threshold (ms) and a target fraction. A
    /// target of 100 % is never met by a queue with random arrivals; it is read as 99.99 %.
    /// </summary>
    public static ErlangCResult Staffing(double ratePerSecond, long ahtMs, long thresholdMs, double target)
        => Required(ratePerSecond, ahtMs / 1000.0, thresholdMs / 1000.0, Math.Min(target, 0.9999));

    /// <summary>Agents a skill needs at a measured load: 0 with no arrivals, or with a load beyond <see cref="MaxErlangs"/>.</summary>
    public static int RequiredAgents(double ratePerSecond, long ahtMs, long thresholdMs, double target)
        => ratePerSecond <= 0 || ratePerSecond * ahtMs / 1000.0 > MaxErlangs ? 0 : Staffing(ratePerSecond, ahtMs, thresholdMs, target).Agents;

    /// <summary>The prediction for <paramref name="agents"/> agents (with N ≤ A the queue grows without end: C = 1, SL = 0, ASA = ∞).</summary>
    public static ErlangCResult Evaluate(double arrivalsPerSecond, double handleTimeSeconds, int agents, double thresholdSeconds)
    {
        Check(arrivalsPerSecond, handleTimeSeconds, thresholdSeconds);
        ArgumentOutOfRangeException.ThrowIfNegative(agents);
        var a = arrivalsPerSecond * handleTimeSeconds;
        var b = 1.0;
        for (var n = 1; n <= agents; n++)
        {
            b = a * b / (n + (a * b));
        }

        return Predict(a, agents, b, handleTimeSeconds, thresholdSeconds);
    }

    /// <summary>The fewest agents whose predicted service level reaches <paramref name="target"/>, with their prediction.</summary>
    public static ErlangCResult Required(double arrivalsPerSecond, double handleTimeSeconds, double thresholdSeconds, double target, int maxAgents = 10_000_000)
    {
        Check(arrivalsPerSecond, handleTimeSeconds, thresholdSeconds);
        if (!(target > 0 && target < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(target), target, "the target is a fraction above 0 and below 1");
        }

        var a = arrivalsPerSecond * handleTimeSeconds;
        if (a == 0)
        {
            return new ErlangCResult(0, 0, 0, 1, 0, 0);
        }

        var b = 1.0;
        for (var n = 1; n <= maxAgents; n++)
        {
            b = a * b / (n + (a * b));
            if (n > a)
            {
                var result = Predict(a, n, b, handleTimeSeconds, thresholdSeconds);
                if (result.ServiceLevel >= target)
                {
                    return result;
                }
            }
        }

        throw new ArgumentOutOfRangeException(nameof(maxAgents), maxAgents, "no staffing up to this many agents reaches the target");
    }

    private static ErlangCResult Predict(double a, int n, double erlangB, double handleTime, double threshold)
    {
        if (n <= a)
        {
            return new ErlangCResult(n, a, 1.0, 0.0, double.PositiveInfinity, 1.0);
        }

        var c = n * erlangB / (n - (a * (1 - erlangB)));
        var serviceLevel = 1 - (c * Math.Exp(-(n - a) * threshold / handleTime));
        var asa = c * handleTime / (n - a);
        return new ErlangCResult(n, a, c, Math.Max(0, serviceLevel), asa, a / n);
    }

    private static void Check(double arrivals, double handleTime, double threshold)
    {
        if (!(arrivals >= 0) || double.IsInfinity(arrivals))
        {
            throw new ArgumentOutOfRangeException(nameof(arrivals), arrivals, "the arrival rate is a finite number ≥ 0");
        }

        if (!(handleTime > 0) || double.IsInfinity(handleTime))
        {
            throw new ArgumentOutOfRangeException(nameof(handleTime), handleTime, "the handle time is a finite number > 0");
        }

        if (!(threshold >= 0) || double.IsInfinity(threshold))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "the threshold is a finite number ≥ 0");
        }
    }
}
