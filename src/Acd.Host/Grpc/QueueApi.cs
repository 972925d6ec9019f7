using Acd.Api.V1;
using Acd.Core.Routing;
using Acd.Host.Routing;

namespace Acd.Host.Grpc;

/// <summary>acd.v1.QueueService: live statistics per skill and Erlang C staffing forecasts (SPEC 4.5).</summary>
public sealed class QueueApi(DomainDirectory domains)
{
    public void Register(GrpcEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        const string Service = "acd.v1.QueueService";
        endpoint.Unary<ListQueuesRequest, ListQueuesResponse>(Service, "ListQueues", ListQueuesRequest.Parser, ListAsync);
        endpoint.Unary<QueueRequest, QueueStats>(Service, "GetQueue", QueueRequest.Parser, GetAsync);
        endpoint.Unary<ForecastRequest, ForecastResponse>(Service, "Forecast", ForecastRequest.Parser, ForecastAsync);
    }

    /// <summary>The largest offered load a forecast is computed for (a national centre is a few tens of thousands).</summary>
    public const double MaxErlangs = 1_000_000;

    /// <summary>
    /// Erlang C for one skill: the arrival rate and handle time given, or measured (arrivals over the last five minutes,
    /// the average handle time since the day boundary, else the domain's default); the skill's threshold and target
    /// unless given. Computed here, off the routing thread.
    /// </summary>
    private async Task<ForecastResponse> ForecastAsync(ForecastRequest r, GrpcContext context)
    {
        if (string.IsNullOrEmpty(r.Skill))
        {
            throw new GrpcException(GrpcStatus.InvalidArgument, "skill is required");
        }

        if (!(r.ArrivalRatePerS >= 0) || double.IsInfinity(r.ArrivalRatePerS) || r.AhtMs < 0 || r.ThresholdMs < 0 || !(r.Target >= 0 && r.Target < 1))
        {
            throw new GrpcException(GrpcStatus.InvalidArgument, "arrival_rate_per_s, aht_ms and threshold_ms are 0 (measured) or positive; target is 0 (the skill's) or a fraction below 1");
        }

        var domain = EngineCalls.Domain(domains, r.Domain);
        var result = await EngineCalls.RunAsync(domain, new QueryCommand(QueryKind.Queues, r.Skill), context.Cancelled).ConfigureAwait(false);
        var q = ((IReadOnlyList<QueueSnapshot>)result.Data!)[0];
        var rate = r.ArrivalRatePerS > 0 ? r.ArrivalRatePerS : q.ArrivalRatePerSecond;
        var aht = r.AhtMs > 0 ? r.AhtMs : q.AhtMs > 0 ? q.AhtMs : domain.Config.DefaultHandleTimeMs;
        var threshold = r.ThresholdMs > 0 ? r.ThresholdMs : q.ThresholdMs;
        var target = r.Target > 0 ? r.Target : q.ServiceLevelTarget;
        if (rate * aht / 1000.0 > MaxErlangs)
        {
            throw new GrpcException(GrpcStatus.InvalidArgument, $"an offered load of {rate * aht / 1000.0:0} Erlangs is beyond the {MaxErlangs:0} this forecast computes");
        }

        var forecast = Forecast(rate, aht, threshold, target);
        return new ForecastResponse
        {
            Skill = q.Skill,
            AgentsRequired = forecast.Agents,
            PredictedServiceLevel = forecast.ServiceLevel,
            AsaMs = forecast.AverageSpeedOfAnswerSeconds * 1000,
            Occupancy = forecast.Occupancy,
            ArrivalRatePerS = rate,
            AhtMs = aht,
            TrafficErlangs = forecast.TrafficErlangs,
            ThresholdMs = threshold,
            Target = target,
            ProbabilityOfWaiting = forecast.ProbabilityOfWaiting,
            AgentsNow = q.AgentsReady + q.AgentsBusy,
        };
    }

    /// <summary>
    /// Erlang C staffing for a rate (per second), handle time and threshold (ms) and a target fraction. A target of 100 %
    /// is never met by a queue with random arrivals; it is read as 99.99 %.
    /// </summary>
    public static Acd.Core.Statistics.ErlangCResult Forecast(double ratePerSecond, long ahtMs, long thresholdMs, double target)
        => Acd.Core.Statistics.ErlangC.Required(ratePerSecond, ahtMs / 1000.0, thresholdMs / 1000.0, Math.Min(target, 0.9999));

    private async Task<ListQueuesResponse> ListAsync(ListQueuesRequest r, GrpcContext context)
    {
        var response = new ListQueuesResponse();
        foreach (var domain in string.IsNullOrEmpty(r.Domain) ? domains.All : [EngineCalls.Domain(domains, r.Domain)])
        {
            var result = await EngineCalls.RunAsync(domain, new QueryCommand(QueryKind.Queues), context.Cancelled).ConfigureAwait(false);
            foreach (var q in (IReadOnlyList<QueueSnapshot>)result.Data!)
            {
                response.Queues.Add(ApiMapping.ToApi(q, domain.Name));
            }
        }

        return response;
    }

    private async Task<QueueStats> GetAsync(QueueRequest r, GrpcContext context)
    {
        if (string.IsNullOrEmpty(r.Skill))
        {
            throw new GrpcException(GrpcStatus.InvalidArgument, "skill is required");
        }

        var domain = EngineCalls.Domain(domains, r.Domain);
        var result = await EngineCalls.RunAsync(domain, new QueryCommand(QueryKind.Queues, r.Skill), context.Cancelled).ConfigureAwait(false);
        return ApiMapping.ToApi(((IReadOnlyList<QueueSnapshot>)result.Data!)[0], domain.Name);
    }
}
