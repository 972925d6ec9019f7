using Acd.Api.V1;
using Acd.Core.Routing;
using Acd.Core.Statistics;
using Acd.Host.Routing;
using Grpc.Core;
using static Acd.Host.Grpc.EngineCalls;

namespace Acd.Host.Grpc;

/// <summary>acd.v1.QueueService: live statistics per skill and Erlang C staffing forecasts (SPEC 4.5).</summary>
public sealed class QueueApi(DomainDirectory domains) : QueueService.QueueServiceBase
{
    /// <summary>
    /// Erlang C for one skill: the arrival rate and handle time given, or measured (arrivals over the last five minutes,
    /// the average handle time since the day boundary, else the domain's default); the skill's threshold and target
    /// unless given. Computed here, off the routing thread.
    /// </summary>
    public override async Task<ForecastResponse> Forecast(ForecastRequest request, ServerCallContext context)
    {
        Require(request.Skill, "skill");
        if (!(request.ArrivalRatePerS >= 0) || double.IsInfinity(request.ArrivalRatePerS) || request.AhtMs < 0 || request.ThresholdMs < 0 || !(request.Target >= 0 && request.Target < 1))
        {
            throw Fail(StatusCode.InvalidArgument, "arrival_rate_per_s, aht_ms and threshold_ms are 0 (measured) or positive; target is 0 (the skill's) or a fraction below 1");
        }

        var domain = Domain(domains, request.Domain);
        var q = await QueueAsync(domain, request.Skill, context).ConfigureAwait(false);
        var rate = request.ArrivalRatePerS > 0 ? request.ArrivalRatePerS : q.ArrivalRatePerSecond;
        var aht = request.AhtMs > 0 ? request.AhtMs : q.AhtMs > 0 ? q.AhtMs : domain.Config.DefaultHandleTimeMs;
        var threshold = request.ThresholdMs > 0 ? request.ThresholdMs : q.ThresholdMs;
        var target = request.Target > 0 ? request.Target : q.ServiceLevelTarget;
        if (rate * aht / 1000.0 > ErlangC.MaxErlangs)
        {
            throw Fail(StatusCode.InvalidArgument, $"an offered load of {rate * aht / 1000.0:0} Erlangs is beyond the {ErlangC.MaxErlangs:0} this forecast computes");
        }

        var forecast = ErlangC.Staffing(rate, aht, threshold, target);
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

    public override async Task<ListQueuesResponse> ListQueues(ListQueuesRequest request, ServerCallContext context)
    {
        var response = new ListQueuesResponse();
        foreach (var domain in string.IsNullOrEmpty(request.Domain) ? domains.All : [Domain(domains, request.Domain)])
        {
            foreach (var q in await AskAsync(domain, QueuesQuery.Instance, context.CancellationToken).ConfigureAwait(false))
            {
                response.Queues.Add(ApiMapping.ToApi(q, domain.Name));
            }
        }

        return response;
    }

    public override async Task<QueueStats> GetQueue(QueueRequest request, ServerCallContext context)
    {
        Require(request.Skill, "skill");
        var domain = Domain(domains, request.Domain);
        return ApiMapping.ToApi(await QueueAsync(domain, request.Skill, context).ConfigureAwait(false), domain.Name);
    }

    private static Task<QueueView> QueueAsync(DomainRuntime domain, string skill, ServerCallContext context) =>
        AskAsync(domain, new QueueQuery(skill), context.CancellationToken);
}
