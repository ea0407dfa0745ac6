# The lab's SOAP service (soap lab test): spyne over SOAP 1.1 at /soap11 and SOAP 1.2 at /soap12, on wsgiref.
import sys
from wsgiref.simple_server import make_server, WSGIRequestHandler
from spyne import Application, ServiceBase, rpc, Unicode, Integer, Iterable, Fault, ComplexModel
from spyne.protocol.soap import Soap11, Soap12
from spyne.server.wsgi import WsgiApplication
from spyne.util.wsgi_wrapper import WsgiMounter

class Point(ComplexModel):
    __namespace__ = 'urn:portolan:lab'
    x = Integer
    y = Integer

class LabService(ServiceBase):
    @rpc(Unicode, Integer, _returns=Iterable(Unicode))
    def say_hello(ctx, name, times):
        for i in range(times or 1):
            yield 'Hello, %s' % name

    @rpc(Integer, Integer, _returns=Integer)
    def add(ctx, a, b):
        return a + b

    @rpc(Integer, Integer, _returns=Point)
    def make_point(ctx, x, y):
        return Point(x=x, y=y)

    @rpc(Unicode, _returns=Unicode)
    def fail(ctx, message):
        raise Fault(faultcode='Client.LabFault', faultstring=message, detail={'hint': 'asked to fail'})

def app(proto):
    return WsgiApplication(Application([LabService], tns='urn:portolan:lab', name='PortolanLab', in_protocol=proto(validator='lxml'), out_protocol=proto()))

class Quiet(WSGIRequestHandler):
    def log_message(self, *a): pass

mounter = WsgiMounter({'soap11': app(Soap11), 'soap12': app(Soap12)})
make_server('127.0.0.1', int(sys.argv[1]), mounter, handler_class=Quiet).serve_forever()
