// The lab's HTTP echo and WebSocket echo backend (node:http + the `ws` package, a real RFC 6455
// implementation). nginx proxies /echo and /ws to it; tests also reach it directly.
//   /echo      any method: answers JSON {method, url, httpVersion, headers (raw pairs), body, bodyBase64, bodyBytes}
//   /stream    ?n=&size=: a chunked response of n pieces with a trailer (x-pieces)
//   /cut       ?length=&send=[&chunked=1]: announces a body of `length` bytes (or chunked), sends `send` bytes
//              (byte i is i & 0xff), then drops the connection: a download cut in the middle
//   /ws        WebSocket echo: text and binary messages come back as sent (fragmented messages reassembled).
//              Text commands: "close:CODE:REASON" closes with that code; "ping:DATA" sends a ping;
//              "fragments:N" sends one text message in N frames; "binary:N" sends N bytes 0..255 repeating.
//              With DEFLATE (a JSON object of ws's perMessageDeflate options), permessage-deflate (RFC 7692) is
//              offered and every message is compressed (threshold 0).
// Usage: node --import tsx lab/http/echo-server.ts PORT [DEFLATE]
import http from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2]);
if (!Number.isInteger(port)) throw new Error('usage: echo-server.ts PORT [DEFLATE]');
const perMessageDeflate = process.argv[3] ? { threshold: 0, ...JSON.parse(process.argv[3]) } : false;

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://lab');
  if (url.pathname === '/stream') {
    const n = Math.min(Number(url.searchParams.get('n') ?? '5'), 1000);
    const size = Math.min(Number(url.searchParams.get('size') ?? '10'), 65536);
    res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-pieces' });
    for (let i = 0; i < n; i++) res.write(String.fromCharCode(97 + (i % 26)).repeat(size));
    res.addTrailers({ 'x-pieces': String(n) });
    res.end();
    return;
  }
  if (url.pathname === '/cut') {
    const length = Math.min(Number(url.searchParams.get('length') ?? '1048576'), 1 << 30);
    const send = Math.min(Number(url.searchParams.get('send') ?? '0'), length);
    const chunked = url.searchParams.get('chunked') === '1';
    res.writeHead(200, { 'content-type': 'application/octet-stream', ...(chunked ? {} : { 'content-length': String(length) }) });
    const body = Buffer.alloc(send);
    for (let i = 0; i < send; i++) body[i] = i & 0xff;
    res.write(body, () => setTimeout(() => res.socket?.destroy(), 50));
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (d: Buffer) => chunks.push(d));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const headers: [string, string][] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
    const answer = JSON.stringify({
      method: req.method,
      url: req.url,
      httpVersion: req.httpVersion,
      headers,
      body: body.toString('utf8'),
      bodyBase64: body.toString('base64'),
      bodyBytes: body.length,
      trailers: req.trailers,
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
    res.end(answer);
  });
});

const wss = new WebSocketServer({ server, path: '/ws', maxPayload: 16 * 1024 * 1024, perMessageDeflate });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (!isBinary) {
      const text = bytes.toString('utf8');
      let m = /^close:(\d+):(.*)$/s.exec(text);
      if (m) return ws.close(Number(m[1]), m[2]);
      m = /^ping:(.*)$/s.exec(text);
      if (m) return ws.ping(Buffer.from(m[1]));
      m = /^fragments:(\d+)$/.exec(text);
      if (m) {
        const n = Math.max(1, Math.min(Number(m[1]), 100));
        for (let i = 0; i < n; i++) ws.send(`part${i};`, { fin: i === n - 1, binary: false });
        return;
      }
      m = /^binary:(\d+)$/.exec(text);
      if (m) {
        const n = Math.min(Number(m[1]), 16 * 1024 * 1024);
        const out = Buffer.alloc(n);
        for (let i = 0; i < n; i++) out[i] = i & 0xff;
        return ws.send(out, { binary: true });
      }
    }
    ws.send(bytes, { binary: isBinary });
  });
});
wss.on('headers', (headers) => headers.push('X-Lab: portolan-ws-echo'));

server.listen(port, '127.0.0.1', () => console.log(`echo server on 127.0.0.1:${port}`));
