# ZMTP peers for the zmtp lab tests, on libzmq through python3-zmq: a REP socket with the NULL
# mechanism and one with PLAIN (a ZAP handler checks the user name and password).
# Each REP answers a request of frames [f1, f2, ...] with [b"echo", f1, f2, ...].
# Each request, each reply and each connection event (libzmq's socket monitor) goes to the log with its time.
# Usage: python3 lab/zmq-rep.py <null-port> <plain-port> <user> <password>
import sys
import threading
import time
import zmq
from zmq.utils.monitor import recv_monitor_message

null_port, plain_port, user, password = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4].encode()
ctx = zmq.Context()


def zap_handler():
    # RFC 27 (ZAP): request [version, request id, domain, address, identity, mechanism, credentials...].
    zap = ctx.socket(zmq.REP)
    zap.bind("inproc://zeromq.zap.01")
    while True:
        msg = zap.recv_multipart()
        version, request_id, _domain, _address, _identity, mechanism = msg[:6]
        creds = msg[6:]
        ok = mechanism == b"PLAIN" and len(creds) == 2 and creds[0] == user and creds[1] == password
        zap.send_multipart([version, request_id, b"200" if ok else b"400", b"OK" if ok else b"Invalid user name or password", creds[0] if ok else b"", b""])


threading.Thread(target=zap_handler, daemon=True).start()


def log(port, what):
    print(f"{time.strftime('%H:%M:%S')}.{int(time.time() * 1000) % 1000:03d} {port} {what}", flush=True)


def watch(monitor, port):
    names = {getattr(zmq, n): n for n in dir(zmq) if n.startswith("EVENT_") and n != "EVENT_ALL"}
    while True:
        event = recv_monitor_message(monitor)
        log(port, f"{names.get(event['event'], event['event'])} fd/value {event['value']}")


def serve(port, plain):
    sock = ctx.socket(zmq.REP)
    sock.setsockopt(zmq.LINGER, 0)
    if plain:
        sock.setsockopt(zmq.PLAIN_SERVER, 1)
        sock.setsockopt(zmq.ZAP_DOMAIN, b"portolan")
    sock.bind(f"tcp://127.0.0.1:{port}")
    # The monitor is made by the socket's own thread (a socket is not thread-safe), then read by another.
    threading.Thread(target=watch, args=(sock.get_monitor_socket(), port), daemon=True).start()
    while True:
        frames = sock.recv_multipart()
        log(port, f"request of {len(frames)} frame(s): {[len(f) for f in frames]} bytes")
        sock.send_multipart([b"echo"] + frames)
        log(port, "reply sent")


threading.Thread(target=serve, args=(plain_port, True), daemon=True).start()
serve(null_port, False)
