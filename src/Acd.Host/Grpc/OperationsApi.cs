using Acd.Api.V1;
using Acd.Core.Routing;
using Acd.Host.Routing;
using CallbackState = Acd.Api.V1.CallbackState;

namespace Acd.Host.Grpc;

/// <summary>acd.v1.SurgeService and acd.v1.CallbackService: what duty managers and the dialer use (SPEC 4.1, 4.2).</summary>
public sealed class OperationsApi(DomainDirectory domains)
{
    /// <summary>Most callbacks one ListCallbacks answers with (per domain), so that neither the engine nor the reply grows without bound.</summary>
    public const int MaxListed = 10_000;

    public void Register(GrpcEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        const string Surge = "acd.v1.SurgeService";
        endpoint.Unary<SurgeRequest, SurgeStatus>(Surge, "GetSurge", SurgeRequest.Parser, (r, c) => SurgeAsync(r.Domain, r.Skill, null, c));
        endpoint.Unary<ForceTierRequest, SurgeStatus>(Surge, "ForceTier", ForceTierRequest.Parser, ForceAsync);
        endpoint.Unary<SurgeRequest, SurgeStatus>(Surge, "ClearOverride", SurgeRequest.Parser, (r, c) => SurgeAsync(r.Domain, r.Skill, new ClearSurgeCommand { Skill = Empty(r.Skill) }, c));

        const string Callbacks = "acd.v1.CallbackService";
        endpoint.Unary<ListCallbacksRequest, ListCallbacksResponse>(Callbacks, "ListCallbacks", ListCallbacksRequest.Parser, ListAsync);
        endpoint.Unary<CompleteCallbackRequest, Callback>(Callbacks, "CompleteCallback", CompleteCallbackRequest.Parser, CompleteAsync);
        endpoint.Unary<CallbackRequest, Callback>(Callbacks, "CancelCallback", CallbackRequest.Parser, (r, c) => CloseAsync(r.CallbackId, r.Domain, new CancelCallbackCommand(r.CallbackId), c));
    }

    private static string? Empty(string value) => string.IsNullOrEmpty(value) ? null : value;

    private Task<SurgeStatus> ForceAsync(ForceTierRequest r, GrpcContext context)
    {
        if (r.Tier is < 0 or > 3)
        {
            throw new GrpcException(GrpcStatus.InvalidArgument, $"a surge tier is 0 to 3, not {r.Tier}");
        }

        var command = new ForceTierCommand { Skill = Empty(r.Skill), Tier = r.Tier, DurationSeconds = r.DurationSeconds, Reason = Empty(r.Reason) };
        return SurgeAsync(r.Domain, r.Skill, command, context);
    }

    /// <summary>Runs a surge command (if any), then reads the status it left.</summary>
    private async Task<SurgeStatus> SurgeAsync(string domainName, string skill, Command? command, GrpcContext context)
    {
        var domain = EngineCalls.Domain(domains, domainName);
        var query = new QueryCommand(QueryKind.Surge, Empty(skill));
        var status = command is null
            ? (SurgeSnapshot)(await EngineCalls.RunAsync(domain, query, context.Cancelled).ConfigureAwait(false)).Data!
            : await EngineCalls.RunThenQueryAsync<SurgeSnapshot>(domain, command, query, context.Cancelled).ConfigureAwait(false);
        return ApiMapping.ToApi(status, domain.Name);
    }

    private async Task<ListCallbacksResponse> ListAsync(ListCallbacksRequest r, GrpcContext context)
    {
        var closed = r.State is CallbackState.Completed or CallbackState.Exhausted or CallbackState.Cancelled;
        var response = new ListCallbacksResponse { Totals = new Acd.Api.V1.CallbackTotals() };
        var limit = r.Limit is > 0 and <= MaxListed ? r.Limit : MaxListed;
        var resume = ParsePageToken(r.PageToken);
        var next = new List<string>();
        foreach (var domain in string.IsNullOrEmpty(r.Domain) ? domains.All : [EngineCalls.Domain(domains, r.Domain)])
        {
            var totals = ApiMapping.ToApi((Acd.Core.Routing.CallbackTotals)(await EngineCalls.RunAsync(domain, new QueryCommand(QueryKind.CallbackTotals), context.Cancelled).ConfigureAwait(false)).Data!);
            Add(response.Totals, totals);
            long after = 0;
            if (resume is not null && !resume.TryGetValue(domain.Name, out after))
            {
                continue; // this domain was listed to its end on an earlier page
            }

            // One more than asked, to know whether another page follows.
            var query = new QueryCommand(QueryKind.Callbacks, closed ? "all" : null) { Limit = closed ? limit : limit + 1, After = after };
            var list = (IReadOnlyList<CallbackSnapshot>)(await EngineCalls.RunAsync(domain, query, context.Cancelled).ConfigureAwait(false)).Data!;
            if (!closed && list.Count > limit)
            {
                list = [.. list.Take(limit)];
                next.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{domain.Name}={SeqOf(list[^1].CallbackId)}"));
            }

            foreach (var c in list)
            {
                var api = ApiMapping.ToApi(c, domain.Name);
                if (r.State == CallbackState.Unspecified || api.State == r.State)
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
            if (eq <= 0 || !long.TryParse(part.AsSpan(eq + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seq))
            {
                throw new GrpcException(GrpcStatus.InvalidArgument, $"page_token '{token}' is not one this server gave");
            }

            resume[part[..eq]] = seq;
        }

        return resume;
    }

    private static long SeqOf(string callbackId) =>
        long.Parse(callbackId.AsSpan(3, callbackId.IndexOf('@', StringComparison.Ordinal) - 3), System.Globalization.CultureInfo.InvariantCulture);

    private Task<Callback> CompleteAsync(CompleteCallbackRequest r, GrpcContext context)
    {
        var reached = r.Outcome switch
        {
            CallbackOutcome.Reached => true,
            CallbackOutcome.NotReached => false,
            _ => throw new GrpcException(GrpcStatus.InvalidArgument, "outcome must be REACHED or NOT_REACHED"),
        };
        return CloseAsync(r.CallbackId, r.Domain, new CompleteCallbackCommand(r.CallbackId, reached), context);
    }

    /// <summary>Reports an outcome or cancels, then answers with the callback as it now is (open again, or closed).</summary>
    private async Task<Callback> CloseAsync(string callbackId, string domainName, Command command, GrpcContext context)
    {
        if (string.IsNullOrEmpty(callbackId))
        {
            throw new GrpcException(GrpcStatus.InvalidArgument, "callback_id is required");
        }

        var domain = EngineCalls.Domain(domains, domainName, domains.ForCallback(callbackId));
        var snapshot = await EngineCalls.RunThenQueryAsync<CallbackSnapshot>(domain, command, new QueryCommand(QueryKind.Callback, callbackId), context.Cancelled).ConfigureAwait(false);
        return ApiMapping.ToApi(snapshot, domain.Name);
    }
}
