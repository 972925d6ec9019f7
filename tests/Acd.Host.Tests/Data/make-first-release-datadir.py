"""Makes tests/Acd.Host.Tests/Data/first-release-datadir.tar.gz: a data directory written by the first release's formats.

Run once with the first release (commit 1cdb0aa or any before the journal got its header), from the repository root:
  dotnet src/Acd.Host/bin/Release/net10.0/acd.dll --config tests/Acd.Host.Tests/Data/first-release-centre.json \
      --data /tmp/v1/data --sip "" --http 127.0.0.1:0 --grpc 127.0.0.1:25999 &
  /usr/bin/python3 tests/Acd.Host.Tests/Data/make-first-release-datadir.py GENERATED_PYTHON_DIR 127.0.0.1:25999
  kill -9 %1; tar -C /tmp/v1 -czf tests/Acd.Host.Tests/Data/first-release-datadir.tar.gz data

What it leaves (checked by DataDirectoryFormatTests): 1,200 calls offered, every 100th abandoned (12 callbacks owed),
1,188 waiting in order; agent A2 not ready for "lunch"; caller 13900000001 a VIP of class 3; a journal past its first
periodic snapshot (every 1,000 records), with records after it, cut off by kill -9.
"""
import sys

sys.path.append(sys.argv[1])
import grpc  # noqa: E402
from acd.v1 import agents_pb2, calls_pb2, common_pb2  # noqa: E402

channel = grpc.insecure_channel(sys.argv[2])


def unary(path, request, response_type):
    return channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString(), response_deserializer=response_type.FromString)(request, timeout=10)


unary("/acd.v1.AgentService/SetState", agents_pb2.SetStateRequest(agent_id="A2", state=common_pb2.AGENT_STATE_NOT_READY, reason="lunch"), agents_pb2.Agent)
unary("/acd.v1.CallService/SetVip", calls_pb2.SetVipRequest(caller="13900000001", vip=3), common_pb2.Ack)
for i in range(1, 1201):
    unary("/acd.v1.CallService/Offer", calls_pb2.OfferRequest(call_id=f"v1-{i:04d}", caller=f"138{i:08d}"), calls_pb2.OfferResponse)
    if i % 100 == 0:
        unary("/acd.v1.CallService/Abandon", calls_pb2.CallRequest(call_id=f"v1-{i:04d}"), common_pb2.Ack)
print("done")
