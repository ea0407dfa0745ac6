# An HTTP/1.0-only peer on Python's http.server (protocol_version HTTP/1.0, its default): every response ends
# its connection. Files under the given directory are served as SimpleHTTPRequestHandler serves them (with
# Content-Length); /eof?lines=N sends N numbered lines with no Content-Length, so the body ends where the
# connection does (RFC 9112 §6.3, rule 8).
# Usage: python3 lab/http-five/http10.py PORT DIRECTORY
import sys
from functools import partial
from http.server import HTTPServer, SimpleHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit


class Handler(SimpleHTTPRequestHandler):
    server_version = "PortolanHTTP10/1.0"

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path != "/eof":
            return super().do_GET()
        lines = int(parse_qs(url.query).get("lines", ["100"])[0])
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        for i in range(lines):
            self.wfile.write(b"HTTP/1.0 line %d\n" % i)

    def log_message(self, format, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), format % args))


port, directory = int(sys.argv[1]), sys.argv[2]
HTTPServer(("127.0.0.1", port), partial(Handler, directory=directory)).serve_forever()
