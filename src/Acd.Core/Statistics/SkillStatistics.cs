namespace Acd.Core.Statistics;

/// <summary>
/// The live statistics of one skill (SPEC 4.5): counters since the day boundary and a rolling five-minute
/// window of 30 ten-second buckets. Updated by the router's single writer; time is passed in.
/// Service level = answered within T ÷ (answered + abandoned after T), timed-out calls counting as abandoned after T;
/// abandons within T do not count against it. With no such calls it reads 1.
/// </summary>
public sealed class SkillStatistics
{
    /// <summary>Width of one rolling bucket.</summary>
    public const long BucketMs = 10_000;

    /// <summary>Buckets in the rolling window (30 × 10 s = 5 min).</summary>
    public const int BucketCount = 30;

    private readonly long _thresholdMs;
    private readonly Bucket[] _buckets = new Bucket[BucketCount];

    /// <summary>Creates statistics for a skill with service level threshold <paramref name="thresholdMs"/>.</summary>
    public SkillStatistics(long thresholdMs)
    {
        _thresholdMs = thresholdMs;
    }

    /// <summary>Calls that arrived (including rejected ones and transfers in), since the day boundary.</summary>
    public long Offered { get; private set; }

    /// <summary>Calls connected to an agent.</summary>
    public long Answered { get; private set; }

    /// <summary>Calls connected within the threshold.</summary>
    public long AnsweredWithinThreshold { get; private set; }

    /// <summary>Callers who hung up while waiting.</summary>
    public long Abandoned { get; private set; }

    /// <summary>Of those, within the threshold (short abandons).</summary>
    public long AbandonedWithinThreshold { get; private set; }

    /// <summary>Calls ended by the maximum wait.</summary>
    public long TimedOut { get; private set; }

    /// <summary>Calls refused at arrival.</summary>
    public long Rejected { get; private set; }

    /// <summary>Calls that came into this skill by transfer.</summary>
    public long TransferredIn { get; private set; }

    /// <summary>Offers the agent did not answer.</summary>
    public long RingNoAnswer { get; private set; }

    /// <summary>Arrivals sent to self-service (surge tier 3).</summary>
    public long Deflected { get; private set; }

    /// <summary>Calls whose handling ended (talk over; wrap-up counted as it ends).</summary>
    public long Handled { get; private set; }

    /// <summary>Sum of waits of answered calls, in milliseconds.</summary>
    public long TotalAnswerWaitMs { get; private set; }

    /// <summary>Sum of talk time, in milliseconds.</summary>
    public long TotalTalkMs { get; private set; }

    /// <summary>Sum of wrap-up time, in milliseconds.</summary>
    public long TotalWrapMs { get; private set; }

    /// <summary>Average speed of answer in milliseconds (0 with no answers).</summary>
    public long AverageSpeedOfAnswerMs => Answered == 0 ? 0 : TotalAnswerWaitMs / Answered;

    /// <summary>Average handle time (talk + wrap-up) in milliseconds (0 with no handled call).</summary>
    public long AverageHandleTimeMs => Handled == 0 ? 0 : (TotalTalkMs + TotalWrapMs) / Handled;

    /// <summary>Service level since the day boundary.</summary>
    public double ServiceLevelToday => Ratio(AnsweredWithinThreshold, Answered + (Abandoned - AbandonedWithinThreshold) + TimedOut);

    /// <summary>Service level over the last five minutes at <paramref name="nowMs"/>.</summary>
    public double ServiceLevelRolling(long nowMs)
    {
        var (answered, within, lateLost) = Rolling(nowMs);
        return Ratio(within, answered + lateLost);
    }

    /// <summary>Answered, answered within T and abandoned/timed out after T over the last five minutes.</summary>
    public (long Answered, long WithinThreshold, long LostAfterThreshold) Rolling(long nowMs)
    {
        long answered = 0, within = 0, lost = 0;
        var current = nowMs / BucketMs;
        foreach (ref readonly var b in _buckets.AsSpan())
        {
            if (b.Epoch > current - BucketCount && b.Epoch <= current)
            {
                answered += b.Answered;
                within += b.Within;
                lost += b.LostAfterThreshold;
            }
        }

        return (answered, within, lost);
    }

    /// <summary>Clears the day counters (the rolling window keeps its own time).</summary>
    public void ResetDay()
    {
        Offered = Answered = AnsweredWithinThreshold = Abandoned = AbandonedWithinThreshold = 0;
        TimedOut = Rejected = TransferredIn = RingNoAnswer = Handled = Deflected = 0;
        TotalAnswerWaitMs = TotalTalkMs = TotalWrapMs = 0;
    }

    /// <summary>Writes every counter and the rolling window (snapshots).</summary>
    internal void Write(Durability.StateWriter w)
    {
        foreach (var v in (ReadOnlySpan<long>)[Offered, Answered, AnsweredWithinThreshold, Abandoned, AbandonedWithinThreshold, TimedOut, Rejected, TransferredIn, RingNoAnswer, Deflected, Handled, TotalAnswerWaitMs, TotalTalkMs, TotalWrapMs])
        {
            w.WriteVarInt(v);
        }

        foreach (ref readonly var b in _buckets.AsSpan())
        {
            w.WriteVarInt(b.Epoch);
            w.WriteVarInt(b.Answered);
            w.WriteVarInt(b.Within);
            w.WriteVarInt(b.LostAfterThreshold);
            w.WriteVarInt(b.Offered);
        }
    }

    /// <summary>Reads what <see cref="Write"/> wrote.</summary>
    internal void Read(Durability.StateReader r)
    {
        Offered = r.ReadVarInt();
        Answered = r.ReadVarInt();
        AnsweredWithinThreshold = r.ReadVarInt();
        Abandoned = r.ReadVarInt();
        AbandonedWithinThreshold = r.ReadVarInt();
        TimedOut = r.ReadVarInt();
        Rejected = r.ReadVarInt();
        TransferredIn = r.ReadVarInt();
        RingNoAnswer = r.ReadVarInt();
        Deflected = r.ReadVarInt();
        Handled = r.ReadVarInt();
        TotalAnswerWaitMs = r.ReadVarInt();
        TotalTalkMs = r.ReadVarInt();
        TotalWrapMs = r.ReadVarInt();
        for (var i = 0; i < _buckets.Length; i++)
        {
            _buckets[i] = new Bucket { Epoch = r.ReadVarInt(), Answered = r.ReadVarInt(), Within = r.ReadVarInt(), LostAfterThreshold = r.ReadVarInt(), Offered = r.ReadVarInt() };
        }
    }

    internal void OnOffered(long nowMs, bool transfer)
    {
        Offered++;
        BucketAt(nowMs).Offered++;
        if (transfer)
        {
            TransferredIn++;
        }
    }

    internal void OnDeflected() => Deflected++;

    /// <summary>Arrivals per second over the last five minutes.</summary>
    public double ArrivalRate(long nowMs)
    {
        long offered = 0;
        var current = nowMs / BucketMs;
        foreach (ref readonly var b in _buckets.AsSpan())
        {
            if (b.Epoch > current - BucketCount && b.Epoch <= current)
            {
                offered += b.Offered;
            }
        }

        return offered / (BucketCount * BucketMs / 1000.0);
    }

    internal void OnRejected() => Rejected++;

    internal void OnAnswered(long nowMs, long waitMs)
    {
        Answered++;
        TotalAnswerWaitMs += waitMs;
        ref var b = ref BucketAt(nowMs);
        b.Answered++;
        if (waitMs <= _thresholdMs)
        {
            AnsweredWithinThreshold++;
            b.Within++;
        }
    }

    internal void OnAbandoned(long nowMs, long waitMs)
    {
        Abandoned++;
        if (waitMs <= _thresholdMs)
        {
            AbandonedWithinThreshold++;
        }
        else
        {
            BucketAt(nowMs).LostAfterThreshold++;
        }
    }

    internal void OnTimedOut(long nowMs)
    {
        TimedOut++;
        BucketAt(nowMs).LostAfterThreshold++;
    }

    internal void OnRingNoAnswer() => RingNoAnswer++;

    internal void OnTalkEnded(long talkMs)
    {
        Handled++;
        TotalTalkMs += talkMs;
    }

    internal void OnWrapEnded(long wrapMs) => TotalWrapMs += wrapMs;

    private static double Ratio(long numerator, long denominator) => denominator == 0 ? 1.0 : (double)numerator / denominator;

    private ref Bucket BucketAt(long nowMs)
    {
        var epoch = nowMs / BucketMs;
        ref var b = ref _buckets[(int)(epoch % BucketCount)];
        if (b.Epoch != epoch)
        {
            b = new Bucket { Epoch = epoch };
        }

        return ref b;
    }

    private struct Bucket
    {
        public long Epoch;
        public long Answered;
        public long Within;
        public long LostAfterThreshold;
        public long Offered;
    }
}
