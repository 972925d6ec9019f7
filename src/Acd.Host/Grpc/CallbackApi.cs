using System.Globalization;
using Acd.Api.V1;
using Acd.Core.Routing;
using Acd.Host.Routing;
using Grpc.Core;
using static Acd.Host.Grpc.EngineCalls;
using CallbackState = Acd.Api.V1.CallbackState;

namespace Acd.Host.Grpc;

/// <summary>acd.v1.CallbackService: what the dialer and duty managers use for the callbacks owed (SPEC 4.2).</summary>
public sealed class CallbackApi(DomainDirectory domains) : CallbackService.CallbackServiceBase
{
    /// <summary>Most callbacks one ListCallbacks answers with (per domain), so that neither the engine nor the reply grows without bound.</summary>
    public const int MaxListed = 10_000;

    public override async Task<ListCallbacksResponse> ListCallbacks(ListCallbacksRequest request, ServerCallContext context)
    {
        var closed = request.State is CallbackState.Completed or CallbackState.Exhausted or CallbackState.Cancelled;
        var response = new ListCallbacksResponse { Totals = new Acd.Api.V1.CallbackTotals() };
        var limit = request.Limit is > 0 and <= MaxListed ? request.Limit : MaxListed;
        var resume = ParsePageToken(request.PageToken);
        var next = new List<string>();
        foreach (var domain in string.IsNullOrEmpty(request.Domain) ? domains.All : [Domain(domains, request.Domain)])
        {
            var totals = ApiMapping.ToApi(await AskAsync(domain, CallbackTotalsQuery.Instance, context.CancellationToken).ConfigureAwait(false));
            Add(response.Totals, totals);
            long after = 0;
            if (resume is not null && !resume.TryGetValue(domain.Name, out after))
            {
                continue; // this domain was listed to its end on an earlier page
            }

            // One more than asked, to know whether another page follows.
            var query = new CallbacksQuery { ClosedToo = closed, Limit = closed ? limit : limit + 1, After = after };
            var list = await AskAsync(domain, query, context.CancellationToken).ConfigureAwait(false);
            if (!closed && list.Count > limit)
            {
                list = [.. list.Take(limit)];
                next.Add(string.Create(CultureInfo.InvariantCulture, $"{domain.Name}={SeqOf(list[^1].CallbackId)}"));
            }

            foreach (var c in list)
            {
                var api = ApiMapping.ToApi(c, domain.Name);
                if (request.State == CallbackState.Unspecified || api.State == request.State)
                {
                    response.Callbacks.Add(api);
                }
            }
        }

        response.NextPageToken = string.Join(';', next);
        var t = response.Totals;
        t.CompletionRatio = t.Created - t.Cancelled == 0 ? 1.0 : (double)(t.Reached + t.Exhausted) / (t.Created - t.Cancelled);
        return response;

        static void Add(Acd.Api.V1.CallbackTotals sum, Acd.Api.V1.CallbackTotals x)
        {
            sum.Created += x.Created;
            sum.Merged += x.Merged;
            sum.Reached += x.Reached;
            sum.Exhausted += x.Exhausted;
            sum.Cancelled += x.Cancelled;
            sum.Dropped += x.Dropped;
            sum.Owed += x.Owed;
        }
    }

    public override Task<Callback> CompleteCallback(CompleteCallbackRequest request, ServerCallContext context)
    {
        var reached = request.Outcome switch
        {
            CallbackOutcome.Reached => true,
            CallbackOutcome.NotReached => false,
            _ => throw Fail(StatusCode.InvalidArgument, "outcome must be REACHED or NOT_REACHED"),
        };
        return CloseAsync(request.CallbackId, request.Domain, new ReportCallbackOutcome(request.CallbackId, reached), context);
    }

    public override Task<Callback> CancelCallback(CallbackRequest request, ServerCallContext context) =>
        CloseAsync(request.CallbackId, request.Domain, new CancelCallback(request.CallbackId), context);

    /// <summary>"domain=N;domain=N": where each domain with more open callbacks resumes; null for a first page.</summary>
    private static Dictionary<string, long>? ParsePageToken(string token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return null;
        }

        var resume = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var part in token.Split(';'))
        {
            var eq = part.LastIndexOf('=');
            if (eq <= 0 || !long.TryParse(part.AsSpan(eq + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
            {
                throw Fail(StatusCode.InvalidArgument, $"page_token '{token}' is not one this server gave");
            }

            resume[part[..eq]] = seq;
        }

        return resume;
    }

    private static long SeqOf(string callbackId) =>
        long.Parse(callbackId.AsSpan(3, callbackId.IndexOf('@', StringComparison.Ordinal) - 3), CultureInfo.InvariantCulture);

    /// <summary>Reports an outcome or cancels, then answers with the callback as it now is (open again, or closed).</summary>
    private async Task<Callback> CloseAsync(string callbackId, string domainName, Command command, ServerCallContext context)
    {
        Require(callbackId, "callback_id");
        var domain = Domain(domains, domainName, domains.ForCallback(callbackId));
        var snapshot = await RunThenQueryAsync(domain, command, new CallbackQuery(callbackId), context.CancellationToken).ConfigureAwait(false);
        return ApiMapping.ToApi(snapshot, domain.Name);
    }
}
