#!/usr/bin/python3
# A private stand-in for rpcbind on a Unix socket (RFC 1833 over RFC 5531 record marking): NFS-Ganesha must
# register its programs at start or it exits, and the lab keeps them out of every real rpcbind. SET and UNSET
# answer TRUE, GETADDR an empty address, anything else an empty SUCCESS. Exits when its parent does.
import os, socket, struct, sys, threading, time

path = sys.argv[1]
parent = os.getppid()

def watch():
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)

def serve(conn):
    buf = b''
    with conn:
        while True:
            while len(buf) < 4 or len(buf) < 4 + (struct.unpack('>I', buf[:4])[0] & 0x7fffffff):
                got = conn.recv(65536)
                if not got:
                    return
                buf += got
            n = struct.unpack('>I', buf[:4])[0] & 0x7fffffff
            msg, buf = buf[4:4 + n], buf[4 + n:]
            xid, _, _, _, _, proc = struct.unpack('>6I', msg[:24])
            result = struct.pack('>I', 1) if proc in (1, 2) else struct.pack('>I', 0) if proc == 3 else b''
            body = struct.pack('>6I', xid, 1, 0, 0, 0, 0) + result
            conn.sendall(struct.pack('>I', 0x80000000 | len(body)) + body)

threading.Thread(target=watch, daemon=True).start()
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(16)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
