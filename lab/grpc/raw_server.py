# A second gRPC lab server, on Debian's python3-grpcio (the C core): a service with no reflection whose
# messages are raw bytes, and gzip compression of every answer (grpc.Compression.Gzip), which the
# @grpc/grpc-js server cannot do. Methods of portolan.lab.v1.Raw:
#   Echo     unary: the request bytes back
#   Repeat   server streaming: the request bytes three times
#   Collect  client streaming: every request's bytes joined
# Usage: python3 lab/grpc/raw_server.py PORT
import sys
from concurrent import futures

import grpc


def echo(request, context):
    return request


def repeat(request, context):
    for _ in range(3):
        yield request


def collect(requests, context):
    return b"".join(requests)


handler = grpc.method_handlers_generic_handler(
    "portolan.lab.v1.Raw",
    {
        "Echo": grpc.unary_unary_rpc_method_handler(echo),
        "Repeat": grpc.unary_stream_rpc_method_handler(repeat),
        "Collect": grpc.stream_unary_rpc_method_handler(collect),
    },
)
server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), handlers=[handler], compression=grpc.Compression.Gzip)
server.add_insecure_port(f"127.0.0.1:{int(sys.argv[1])}")
server.start()
print(f"raw gRPC lab server on 127.0.0.1:{sys.argv[1]}", flush=True)
server.wait_for_termination()
