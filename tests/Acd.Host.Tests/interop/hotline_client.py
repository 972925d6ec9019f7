"""The hotline operations seen by an independent gRPC client (Debian's python3-grpcio, messages from Debian's protoc).

Usage: /usr/bin/python3 hotline_client.py GENERATED_DIR HOST:PORT
The daemon runs a centre with G1 (general, not ready), O1 (outbound, logged out), S1 (supervisor in standby),
callbacks retried after 1 s, and deflection above a 1 s predicted wait.
Prints PASS/FAIL per check and exits 0 only if every check passed.
"""
import queue
import sys
import threading
import time

sys.path.append(sys.argv[1])  # after grpcio's own 'grpc' package

import grpc  # noqa: E402
from acd.v1 import agents_pb2, calls_pb2, common_pb2, events_pb2, operations_pb2, queues_pb2  # noqa: E402

channel = grpc.insecure_channel(sys.argv[2])
results = []


def check(name, condition, detail=""):
    print(("PASS " if condition else "FAIL ") + name + ("" if condition else f": {detail}"), flush=True)
    results.append(condition)


def unary(path, request, response_type, timeout=10):
    call = channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString(), response_deserializer=response_type.FromString)
    return call(request, timeout=timeout)


def status_of(path, request, response_type):
    try:
        unary(path, request, response_type)
        return grpc.StatusCode.OK
    except grpc.RpcError as error:
        return error.code()


watched = [events_pb2.EVENT_KIND_SURGE_TIER_CHANGED, events_pb2.EVENT_KIND_CALL_DEFLECTED, events_pb2.EVENT_KIND_CALLBACK_CREATED,
           events_pb2.EVENT_KIND_CALLBACK_ASSIGNED, events_pb2.EVENT_KIND_CALLBACK_RESCHEDULED, events_pb2.EVENT_KIND_CALLBACK_COMPLETED]
watch = channel.unary_stream("/acd.v1.EventService/Watch", request_serializer=lambda m: m.SerializeToString(), response_deserializer=events_pb2.Event.FromString)(
    events_pb2.WatchRequest(kinds=watched), timeout=60)
watch.initial_metadata()
seen = queue.Queue()


def pump():
    try:
        for event in watch:
            seen.put(event)
    except grpc.RpcError as error:
        seen.put(error)


threading.Thread(target=pump, daemon=True).start()
events = []


def wait_for(predicate, seconds=10):
    """Collects events until one satisfies the predicate; returns it or None."""
    deadline = time.time() + seconds
    for e in events:
        if predicate(e):
            return e
    while time.time() < deadline:
        try:
            item = seen.get(timeout=max(0.01, deadline - time.time()))
        except queue.Empty:
            return None
        if isinstance(item, grpc.RpcError):
            return None
        events.append(item)
        if predicate(item):
            return item
    return None


surge = unary("/acd.v1.SurgeService/GetSurge", operations_pb2.SurgeRequest(), operations_pb2.SurgeStatus)
check("GetSurge reads tier 0 at rest", surge.tier == 0 and not surge.forced and surge.effective_tiers["general"] == 0, surge)

queued = unary("/acd.v1.CallService/Offer", calls_pb2.OfferRequest(call_id="py-q1", caller="13900000001"), calls_pb2.OfferResponse)
check("with the only seat not ready a call waits", queued.outcome == calls_pb2.OfferResponse.QUEUED, queued)

forced = unary("/acd.v1.SurgeService/ForceTier", operations_pb2.ForceTierRequest(tier=3, duration_seconds=600, reason="drill"), operations_pb2.SurgeStatus)
check("ForceTier sets tier 3, forced, for its time",
      forced.tier == 3 and forced.forced and forced.reason == "forced: drill" and forced.forced_until_unix_ms - forced.since_unix_ms == 600_000, forced)
call = unary("/acd.v1.CallService/GetCall", calls_pb2.CallRequest(call_id="py-q1"), calls_pb2.Call)
check("tier 3 brings the supervisor in from standby", call.agent_id == "S1", call)
check("ForceTier refuses tier 5", status_of("/acd.v1.SurgeService/ForceTier", operations_pb2.ForceTierRequest(tier=5, duration_seconds=60), operations_pb2.SurgeStatus)
      == grpc.StatusCode.INVALID_ARGUMENT)

deflected = unary("/acd.v1.CallService/Offer", calls_pb2.OfferRequest(call_id="py-d1", caller="13900000002"), calls_pb2.OfferResponse)
check("in tier 3 a call that would wait too long is DEFLECTED to the IVR",
      deflected.outcome == calls_pb2.OfferResponse.DEFLECTED and deflected.contact == "sip:1008611@ivr.test" and deflected.reason == "deflect", deflected)

cleared = unary("/acd.v1.SurgeService/ClearOverride", operations_pb2.SurgeRequest(), operations_pb2.SurgeStatus)
check("ClearOverride lets the load decide again", cleared.tier == 0 and not cleared.forced, cleared)

owed = unary("/acd.v1.CallbackService/ListCallbacks", operations_pb2.ListCallbacksRequest(), operations_pb2.ListCallbacksResponse)
check("the deflected caller is owed a callback",
      len(owed.callbacks) == 1 and owed.callbacks[0].caller == "13900000002" and owed.callbacks[0].reason == "deflected"
      and owed.callbacks[0].state == operations_pb2.CALLBACK_STATE_OPEN and owed.totals.owed == 1, owed)
callback_id = owed.callbacks[0].callback_id if owed.callbacks else "none"

unary("/acd.v1.AgentService/Login", agents_pb2.LoginRequest(agent_id="O1", initial_state=common_pb2.AGENT_STATE_READY), agents_pb2.Agent)
assigned = wait_for(lambda e: e.WhichOneof("payload") == "callback_assigned")
check("the outbound agent is given the callback, seen on Watch",
      assigned is not None and assigned.callback_assigned.callback_id == callback_id and assigned.callback_assigned.agent_id == "O1"
      and assigned.callback_assigned.attempts == 1, assigned)

again = unary("/acd.v1.CallbackService/CompleteCallback",
              operations_pb2.CompleteCallbackRequest(callback_id=callback_id, outcome=operations_pb2.CALLBACK_OUTCOME_NOT_REACHED), operations_pb2.Callback)
check("not reached: the callback is open again for a retry", again.state == operations_pb2.CALLBACK_STATE_OPEN and again.attempts == 1, again)
retry = wait_for(lambda e: e.WhichOneof("payload") == "callback_assigned" and e.callback_assigned.attempts == 2)
check("the retry comes after the back-off", retry is not None, events)

done = unary("/acd.v1.CallbackService/CompleteCallback",
             operations_pb2.CompleteCallbackRequest(callback_id=callback_id, outcome=operations_pb2.CALLBACK_OUTCOME_REACHED), operations_pb2.Callback)
check("reached: the callback is completed", done.state == operations_pb2.CALLBACK_STATE_COMPLETED and done.attempts == 2, done)
closed = unary("/acd.v1.CallbackService/ListCallbacks",
               operations_pb2.ListCallbacksRequest(state=operations_pb2.CALLBACK_STATE_COMPLETED), operations_pb2.ListCallbacksResponse)
check("ListCallbacks shows it completed, and the completion ratio is 100 %",
      [c.callback_id for c in closed.callbacks] == [callback_id] and closed.totals.completion_ratio == 1.0 and closed.totals.owed == 0, closed)
check("a completed callback cannot be completed again",
      status_of("/acd.v1.CallbackService/CompleteCallback", operations_pb2.CompleteCallbackRequest(callback_id=callback_id, outcome=operations_pb2.CALLBACK_OUTCOME_REACHED),
                operations_pb2.Callback) == grpc.StatusCode.FAILED_PRECONDITION)
check("an unknown callback is NOT_FOUND",
      status_of("/acd.v1.CallbackService/CancelCallback", operations_pb2.CallbackRequest(callback_id="cb-999@hot"), operations_pb2.Callback) == grpc.StatusCode.NOT_FOUND)

forecast = unary("/acd.v1.QueueService/Forecast", queues_pb2.ForecastRequest(skill="general", arrival_rate_per_s=100 / 1800, aht_ms=180_000, threshold_ms=20_000, target=0.8),
                 queues_pb2.ForecastResponse)
check("Forecast: 10 Erlangs need 14 agents for 80 % in 20 s (SL 0.8884)",
      forecast.agents_required == 14 and abs(forecast.predicted_service_level - 0.88835) < 5e-5 and abs(forecast.traffic_erlangs - 10.0) < 1e-9, forecast)

unary("/acd.v1.CallService/SetVip", calls_pb2.SetVipRequest(caller="13900000009", vip=2), common_pb2.Ack)
vip = unary("/acd.v1.CallService/Offer", calls_pb2.OfferRequest(call_id="py-v1", caller="13900000009"), calls_pb2.OfferResponse)
vip_call = unary("/acd.v1.CallService/GetCall", calls_pb2.CallRequest(call_id="py-v1"), calls_pb2.Call)
check("SetVip makes the caller VIP at top priority", vip_call.vip == 2 and vip_call.priority == 9, (vip, vip_call))

wait_for(lambda e: e.WhichOneof("payload") == "callback_completed", seconds=5)
kinds = {e.WhichOneof("payload") for e in events}
tiers = [(e.surge_tier_changed.from_tier, e.surge_tier_changed.to_tier, e.surge_tier_changed.forced) for e in events if e.WhichOneof("payload") == "surge_tier_changed"]
check("Watch carried the tier changes", tiers[:2] == [(0, 3, True), (3, 0, False)], tiers)
check("Watch carried deflection and every callback step",
      {"call_deflected", "callback_created", "callback_assigned", "callback_rescheduled", "callback_completed"} <= kinds, kinds)
watch.cancel()

sys.exit(0 if all(results) else 1)
