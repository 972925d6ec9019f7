"""Server reflection and compression, as a standard client uses them: Debian's python3-grpcio.

Lists the services through grpc.reflection.v1alpha (as grpcurl, grpcui and Postman do), resolves acd.v1.CallService to
its file descriptor and reads the Offer method from it, then sends a gzip-compressed Offer.

Usage: /usr/bin/python3 reflection_client.py GENERATED_DIR HOST:PORT TOKEN
Prints PASS/FAIL per check and exits 0 only if every check passed.
"""
import sys

sys.path.append(sys.argv[1])  # after grpcio's own 'grpc' package

import grpc  # noqa: E402
from google.protobuf import descriptor_pb2  # noqa: E402
import reflection_pb2  # noqa: E402
from acd.v1 import calls_pb2  # noqa: E402

target, token = sys.argv[2], sys.argv[3]
channel = grpc.insecure_channel(target)
auth = [("authorization", "Bearer " + token)]
results = []


def check(name, condition, detail=""):
    print(("PASS " if condition else "FAIL ") + name + ("" if condition else f": {detail}"), flush=True)
    results.append(condition)


def reflect(requests, metadata=auth):
    call = channel.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                 request_serializer=lambda m: m.SerializeToString(),
                                 response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
    return list(call(iter(requests), metadata=metadata, timeout=10))


# Every service is listed, with no .proto at hand.
listed = reflect([reflection_pb2.ServerReflectionRequest(list_services="")])
names = sorted(s.name for s in listed[0].list_services_response.service)
wanted = ["acd.v1.AgentService", "acd.v1.CallService", "acd.v1.CallbackService", "acd.v1.EventService", "acd.v1.QueueService",
          "acd.v1.SurgeService", "grpc.health.v1.Health"]
check("reflection lists every service", all(w in names for w in wanted), names)

# A symbol resolves to the file that defines it, with its methods and their types.
files = reflect([reflection_pb2.ServerReflectionRequest(file_containing_symbol="acd.v1.CallService")])
methods = {}
for raw in files[0].file_descriptor_response.file_descriptor_proto:
    proto = descriptor_pb2.FileDescriptorProto.FromString(raw)
    for service in proto.service:
        if proto.package + "." + service.name == "acd.v1.CallService":
            methods = {m.name: (m.input_type, m.output_type) for m in service.method}
check("reflection describes CallService.Offer", methods.get("Offer") == (".acd.v1.OfferRequest", ".acd.v1.OfferResponse"), methods)

# Reflection is part of the API: with a token set it needs the token.
try:
    reflect([reflection_pb2.ServerReflectionRequest(list_services="")], metadata=None)
    code = grpc.StatusCode.OK
except grpc.RpcError as error:
    code = error.code()
check("reflection without the token is UNAUTHENTICATED", code == grpc.StatusCode.UNAUTHENTICATED, code)

# A gzip-compressed request is read and answered.
offer = channel.unary_unary("/acd.v1.CallService/Offer", request_serializer=lambda m: m.SerializeToString(), response_deserializer=calls_pb2.OfferResponse.FromString)
answer = offer(calls_pb2.OfferRequest(call_id="gz-1", caller="13800000000"), metadata=auth, timeout=10, compression=grpc.Compression.Gzip)
check("a gzip-compressed Offer is answered", answer.outcome == calls_pb2.OfferResponse.QUEUED and answer.position == 1, answer)

sys.exit(0 if all(results) else 1)
