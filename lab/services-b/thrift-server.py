import sys, threading
sys.path.insert(0, sys.argv[1])
from thrift.transport import TSocket, TTransport
from thrift.protocol import TBinaryProtocol, TCompactProtocol
from thrift.server import TServer
from portolan_lab import Lab
from portolan_lab.ttypes import Point, Place, Kind, NotFound

class Handler:
    def ping(self): return 'pong'
    def add(self, a, b): return a + b
    def move(self, p, dx, dy): return Point(x=p.x + dx, y=p.y + dy, label=p.label)
    def lengths(self, words):
        out = {}
        for w in words: out.setdefault(w[:1], []).append(len(w))
        return out
    def lookup(self, name):
        if name != 'Portolan Light':
            raise NotFound(message='no place named %s' % name, code=404)
        return Place(name=name, kind=Kind.LIGHTHOUSE, where=Point(x=3, y=-7, label='north pier'), tags=['light', 'harbour'],
                     depths={'low': 2.5, 'high': 6.25}, lit=True, visitors=2**40, flag=b'\x00\xffPL')
    def evens(self, below): return set(range(0, below, 2))
    def forget(self, name): return None

def serve(port, transport, protocol):
    sock = TSocket.TServerSocket(host='127.0.0.1', port=port)
    server = TServer.TThreadedServer(Lab.Processor(Handler()), sock, transport, protocol, daemon=True)
    server.serve()

binary_port, compact_port = int(sys.argv[2]), int(sys.argv[3])
threading.Thread(target=serve, args=(compact_port, TTransport.TFramedTransportFactory(), TCompactProtocol.TCompactProtocolFactory()), daemon=True).start()
print('thrift lab server: binary/buffered on %d, compact/framed on %d' % (binary_port, compact_port), flush=True)
serve(binary_port, TTransport.TBufferedTransportFactory(), TBinaryProtocol.TBinaryProtocolFactory())
