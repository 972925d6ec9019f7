using System.Text;
using Acd.Core.Sip;

namespace Acd.Core.Routing;

/// <summary>
/// A waiting SIP call's identity kept in its answer route. An INVITE that arrives while calls wait carries a route in
/// format 4 (<see cref="SipTransactionEcho"/>), which holds the call's id and caller as well as the lines to answer with;
/// while the call waits, the record then keeps neither as a string of its own (about 80 bytes a call less: two string
/// objects, ~112 bytes, against ~33 more bytes of route). The router checks that the route's id and caller are exactly the call's before
/// it lets the route keep them, so a route from elsewhere (a gRPC client's bytes) changes nothing. When the call leaves
/// its queue the strings are made again, once; until then every reader goes through <see cref="IdOf"/> and
/// <see cref="CallerOf"/>, which make them for the moment.
/// </summary>
public sealed partial class Router
{
    /// <summary>The call's id.</summary>
    private static string IdOf(in CallRecord c) =>
        ReferenceEquals(c.StoredId, CallRecord.IdInRoute) ? IdentityText(c.AnswerRoute, caller: false) : c.StoredId;

    /// <summary>The call's caller, or null.</summary>
    private static string? CallerOf(in CallRecord c) =>
        c.Has(CallFlags.CallerInRoute) ? IdentityText(c.AnswerRoute, caller: true) : c.StoredCaller;

    /// <summary>For tests: whether a live call's route keeps its id, and its caller.</summary>
    internal (bool Id, bool Caller) IdentityKeptInRoute(string callId)
    {
        var slot = _callIndex.Find(callId);
        return slot < 0 ? default : (ReferenceEquals(_calls.Records[slot].StoredId, CallRecord.IdInRoute), _calls.Records[slot].Has(CallFlags.CallerInRoute));
    }

    /// <summary>Whether the call's id is <paramref name="id"/> (no string made).</summary>
    internal static bool HasId(in CallRecord c, string id)
    {
        if (ReferenceEquals(c.StoredId, id))
        {
            return true;
        }

        if (!ReferenceEquals(c.StoredId, CallRecord.IdInRoute))
        {
            return string.Equals(c.StoredId, id, StringComparison.Ordinal);
        }

        SipTransactionEcho.TryGetIdentity(c.AnswerRoute, out var kept, out _);
        return Ascii.Equals(kept, id);
    }

    /// <summary>Lets a waiting call's route keep its id and caller when it carries exactly them (see the class remarks).</summary>
    private static void KeepIdentityInRoute(ref CallRecord c)
    {
        if (ReferenceEquals(c.StoredId, CallRecord.IdInRoute) || !SipTransactionEcho.TryGetIdentity(c.AnswerRoute, out var id, out var caller)
            || !Ascii.Equals(id, c.StoredId))
        {
            return;
        }

        if (c.StoredCaller is not null && !caller.IsEmpty && Ascii.Equals(caller, c.StoredCaller))
        {
            c.StoredCaller = null;
            c.Flags |= CallFlags.CallerInRoute;
        }

        c.StoredId = CallRecord.IdInRoute;
    }

    /// <summary>Makes the strings of a call whose route keeps them again (it leaves its queue, or its route changes).</summary>
    private static void TakeIdentityBack(ref CallRecord c)
    {
        if (c.Has(CallFlags.CallerInRoute))
        {
            c.StoredCaller = IdentityText(c.AnswerRoute, caller: true);
            c.Flags &= ~CallFlags.CallerInRoute;
        }

        if (ReferenceEquals(c.StoredId, CallRecord.IdInRoute))
        {
            c.StoredId = IdentityText(c.AnswerRoute, caller: false);
        }
    }

    /// <summary>Replaces a call's answer route; a route that kept the call's identity gives it back first.</summary>
    private static void SetRoute(ref CallRecord c, byte[]? route)
    {
        if (!ReferenceEquals(route, c.AnswerRoute))
        {
            TakeIdentityBack(ref c);
            c.AnswerRoute = route;
        }
    }

    /// <summary>The call's id and caller as a snapshot keeps them (strings), written from the route while it keeps them: no strings made.</summary>
    private static void WriteIdentity(Durability.StateWriter w, in CallRecord c)
    {
        SipTransactionEcho.TryGetIdentity(c.AnswerRoute, out var id, out var caller);
        if (ReferenceEquals(c.StoredId, CallRecord.IdInRoute))
        {
            w.WriteUtf8String(id);
        }
        else
        {
            w.WriteString(c.StoredId);
        }

        if (c.Has(CallFlags.CallerInRoute))
        {
            w.WriteUtf8String(caller);
        }
        else
        {
            w.WriteString(c.StoredCaller);
        }
    }

    private static string IdentityText(byte[]? route, bool caller)
    {
        // Only a route that was checked to carry them is ever asked (KeepIdentityInRoute), and a call's route changes only
        // through SetRoute, which gives the identity back first.
        SipTransactionEcho.TryGetIdentity(route, out var id, out var from);
        return Encoding.ASCII.GetString(caller ? from : id);
    }
}
