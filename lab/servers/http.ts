// HTTP family lab servers: nginx (HTTP/1.1 RFC 9112, h2c with prior knowledge and h2 over TLS with ALPN,
// RFC 9113), an HTTP + WebSocket echo backend (node:http and the `ws` package, RFC 6455), a gRPC server
// (@grpc/grpc-js with reflection and health, h2c and TLS), and xrdp (RDP, MS-RDPBCGR) for negotiation.
//
// How it works: nginx runs in the foreground with its own prefix and config under the lab dir and
// serves known files (a small text file, a chunked-by-sub_filter file with a trailer, a large binary),
// redirect chains, a page that prints nginx's connection serial and request count (so keep-alive is
// visible to a user), and proxies /echo and /ws to the Node echo backend (nginx itself cannot echo a
// body or a WebSocket). The same locations are served on three listeners: HTTP/1.1, h2c, and TLS with
// ALPN h2 and http/1.1. xrdp runs with `--nodaemon` and its own xrdp.ini (TLS with the lab certificate);
// the sessions manager is not needed for negotiation, TLS and the server certificate.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ports } from '../ports.ts';
import { exchange, expectIncludes } from '../probe.ts';
import type { LabServer } from '../server.ts';
import { nginxConfig } from '../nginx.ts';
import { apacheH2cConf } from '../apache.ts';
import { grpcFacts } from '../grpc/facts.ts';

const p = ports.http;
const MiB = 1024 * 1024;

/** Byte i of the large file: a pattern tests can recompute (not periodic at any power of two). */
export function largeByte(i: number): number {
  return (i * 131 + Math.floor(i / 4099)) & 0xff;
}

export function largeFileBytes(size = httpFacts.large.bytes): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = largeByte(i);
  return out;
}

/** What the HTTP lab serves, for tests to assert against. */
export const httpFacts = {
  nginxVersion: '1.22.1',
  hello: { path: '/hello.txt', text: 'Hello from the Portolan lab.\n' },
  /** Served through sub_filter, so nginx sends it chunked, with "Portolan" upper-cased and a trailer. */
  chunked: { path: '/chunked.txt', source: 'Portolan line one.\nPortolan line two.\n'.repeat(200), trailer: ['x-lab-trailer', 'chunked-done'] as const },
  large: { path: '/large.bin', bytes: 3 * MiB + 17 },
  redirects: { chain: '/redirect/3', chainEnd: '/hello.txt', loop: '/redirect/loop', toTls: '/to-tls', seeOther: '/see-other', temporary: '/temporary', permanent: '/permanent' },
  conn: '/conn',
  /** Requests on one nginxH2cLimited connection before nginx sends GOAWAY. */
  limitedRequests: 3,
  /** nginx refuses bodies over 1 KiB here (413). */
  uploadLimit: '/upload-limit',
  apache: { hello: '/hello.txt' },
  noContent: '/no-content',
  echo: '/echo',
  ws: '/ws',
  /** Text the echo backend's /stream sends: n pieces of `size` letters, then trailer x-pieces: n. */
  stream: '/stream',
  /** The echo backend's /cut?length=&send=[&chunked=1]: a body announced, cut after `send` bytes (byte i is i & 0xff). */
  cut: '/cut',
  /** nginx serves the lab's transfer dir (test/files.ts) here. */
  transfers: '/transfers/',
  wsHeader: ['x-lab', 'portolan-ws-echo'] as const,
  /** nginx gzips this text when the request says Accept-Encoding: gzip. */
  gzip: { path: '/gzip', body: `${'Portolan compresses well. '.repeat(40)}\n` },
  grpc: grpcFacts,
} as const;

export function largeSha256(): string {
  return createHash('sha256').update(largeFileBytes()).digest('hex');
}

function locations(labDir: string): string {
  return `
    root html;
    # Files transfer tests make under the lab dir (test/files.ts), served as they are.
    location /transfers/ {
      alias ${join(labDir, 'transfers')}/;
    }
    add_header X-Connection $connection always;
    add_header X-Connection-Requests $connection_requests always;
    location = /conn {
      default_type text/plain;
      return 200 "connection=$connection requests=$connection_requests protocol=$server_protocol http2=$http2\\n";
    }
    location = ${httpFacts.chunked.path} {
      sub_filter 'Portolan' 'PORTOLAN';
      sub_filter_once off;
      sub_filter_types text/plain;
      add_trailer ${httpFacts.chunked.trailer[0]} ${httpFacts.chunked.trailer[1]};
    }
    location = /redirect/3 { return 302 /redirect/2; }
    location = /redirect/2 { return 301 /redirect/1; }
    location = /redirect/1 { return 302 ${httpFacts.redirects.chainEnd}; }
    location = /redirect/loop { return 302 /redirect/loop; }
    location = /to-tls { return 301 https://127.0.0.1:${p.nginxTls}${httpFacts.hello.path}; }
    location = /see-other { return 303 /echo; }
    location = /temporary { return 307 /echo; }
    location = /permanent { return 308 /echo; }
    location = /no-content { return 204; }
    # Cookies across redirects: set on the 302, shown by the page it leads to.
    location = /cookie/set {
      add_header Set-Cookie "portolan=chart; Path=/cookie" always;
      add_header Set-Cookie "elsewhere=no; Path=/other" always;
      return 302 /cookie/show;
    }
    location = /cookie/show {
      default_type text/plain;
      return 200 "cookie=$http_cookie\n";
    }
    # Content coding (RFC 9110 8.4): gzip when the request accepts it.
    location = ${httpFacts.gzip.path} {
      gzip on;
      gzip_min_length 1;
      gzip_types text/plain;
      default_type text/plain;
      return 200 "${httpFacts.gzip.body}";
    }
    location /echo {
      proxy_pass http://127.0.0.1:${p.echoBackend};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
    location = /upload-limit {
      client_max_body_size 1k;
      proxy_pass http://127.0.0.1:${p.echoBackend}/echo;
    }
    location = /stream {
      proxy_pass http://127.0.0.1:${p.echoBackend};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
    location = /ws {
      proxy_pass http://127.0.0.1:${p.echoBackend};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
    }
`;
}

function nginxConf(dir: string, labDir: string, certPath: string, keyPath: string): string {
  return nginxConfig(dir, {
    generatedBy: 'lab/servers/http.ts',
    workerConnections: 1024,
    http: `  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log ${join(dir, 'access.log')};
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  client_max_body_size 16m;
  http2_max_concurrent_streams 128;
  server_tokens on;
  server {
    listen 127.0.0.1:${p.nginx};
    server_name localhost;
${locations(labDir)}
  }
  server {
    # h2c: HTTP/2 over cleartext, prior knowledge only (nginx does not implement the Upgrade: h2c dance).
    listen 127.0.0.1:${p.nginxH2c} http2;
    server_name localhost;
${locations(labDir)}
  }
  server {
    # h2c that closes after 3 requests: nginx then sends GOAWAY (keepalive_requests counts HTTP/2 streams).
    listen 127.0.0.1:${p.nginxH2cLimited} http2;
    server_name localhost;
    keepalive_requests 3;
${locations(labDir)}
  }
  server {
    listen 127.0.0.1:${p.nginxTls} ssl http2;
    server_name localhost;
    ssl_certificate ${certPath};
    ssl_certificate_key ${keyPath};
    ssl_protocols TLSv1.2 TLSv1.3;
${locations(labDir)}
  }
`,
  });
}

function httpGet(port: number, path: string): Promise<Buffer> {
  return exchange(port, { send: `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`, timeoutMs: 3000 });
}

const echoBackend: LabServer = {
  name: 'http-echo',
  area: 'http',
  packages: [],
  ports: [p.echoBackend],
  async start(ctx) {
    await ctx.spawnDaemon({ command: process.execPath, args: ['--import', 'tsx', join(ctx.repoRoot, 'lab', 'http', 'echo-server.ts'), String(p.echoBackend)], cwd: ctx.repoRoot });
  },
  async health() {
    expectIncludes('echo backend', await httpGet(p.echoBackend, '/echo'), '"method":"GET"');
  },
};

/** ws echo servers with permessage-deflate (RFC 7692): one that takes what the client offers, one that imposes its terms. */
export const wsDeflateServers = {
  open: { port: p.wsDeflate, options: {} },
  fixed: { port: p.wsDeflateFixed, options: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10 } },
} as const;

function wsDeflateServer(name: string, port: number, options: object): LabServer {
  return {
    name,
    area: 'http',
    packages: [],
    ports: [port],
    async start(ctx) {
      await ctx.spawnDaemon({ command: process.execPath, args: ['--import', 'tsx', join(ctx.repoRoot, 'lab', 'http', 'echo-server.ts'), String(port), JSON.stringify(options)], cwd: ctx.repoRoot });
    },
    async health() {
      const answer = await exchange(port, {
        send: 'GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n',
        until: (b) => b.includes('\r\n\r\n'),
      });
      expectIncludes(name, answer, 'Sec-WebSocket-Extensions: permessage-deflate');
    },
  };
}

const nginx: LabServer = {
  name: 'nginx',
  area: 'http',
  packages: ['nginx'],
  ports: [p.nginx, p.nginxH2c, p.nginxH2cLimited, p.nginxTls],
  async start(ctx) {
    ctx.writeFile('html/index.html', '<!doctype html><title>Portolan lab</title><p>Portolan lab nginx</p>\n');
    ctx.writeFile(`html${httpFacts.hello.path}`, httpFacts.hello.text);
    ctx.writeFile(`html${httpFacts.chunked.path}`, httpFacts.chunked.source);
    ctx.writeFile(`html${httpFacts.large.path}`, largeFileBytes());
    const conf = ctx.writeFile('nginx.conf', nginxConf(ctx.dir, ctx.labDir, ctx.tls.certPath, ctx.tls.keyPath));
    await ctx.exec('/usr/sbin/nginx', ['-t', '-p', ctx.dir, '-c', conf]);
    await ctx.spawnDaemon({ command: '/usr/sbin/nginx', args: ['-p', ctx.dir, '-c', conf] });
  },
  async health() {
    expectIncludes('nginx HTTP/1.1', await httpGet(p.nginx, httpFacts.hello.path), httpFacts.hello.text.trim());
    // h2c prior knowledge: the connection preface, then nginx's SETTINGS frame (type 4).
    const preface = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);
    const h2 = await exchange(p.nginxH2c, { send: preface, until: (b) => b.length >= 9 });
    if (h2[3] !== 4) throw new Error(`nginx h2c: expected a SETTINGS frame, got ${h2.subarray(0, 9).toString('hex')}`);
    const alpn = await new Promise<string | false | null>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: p.nginxTls, ALPNProtocols: ['h2', 'http/1.1'], rejectUnauthorized: false }, () => {
        resolve(s.alpnProtocol);
        s.destroy();
      });
      s.on('error', reject);
    });
    if (alpn !== 'h2') throw new Error(`nginx TLS: ALPN chose ${alpn}, expected h2`);
  },
};

const grpcServer: LabServer = {
  name: 'grpc',
  area: 'http',
  packages: [],
  ports: [p.grpc, p.grpcTls],
  async start(ctx) {
    await ctx.spawnDaemon({
      command: process.execPath,
      args: ['--import', 'tsx', join(ctx.repoRoot, 'lab', 'grpc', 'server.ts'), String(p.grpc), String(p.grpcTls), ctx.tls.certPath, ctx.tls.keyPath],
      cwd: ctx.repoRoot,
    });
  },
  async health(ctx) {
    const definition = protoLoader.loadSync('grpc/health/v1/health.proto', { includeDirs: [join(ctx.repoRoot, 'lab', 'grpc', 'protos')], enums: String });
    const Health = (grpc.loadPackageDefinition(definition) as any).grpc.health.v1.Health;
    const client = new Health(`127.0.0.1:${p.grpc}`, grpc.credentials.createInsecure());
    try {
      const status = await new Promise<string>((resolve, reject) =>
        client.check({ service: '' }, { deadline: Date.now() + 2000 }, (err: Error | null, res: { status: string }) => (err ? reject(err) : resolve(res.status))),
      );
      if (status !== 'SERVING') throw new Error(`gRPC health: ${status}`);
    } finally {
      client.close();
    }
  },
};

/** Raw bytes through grpc-js's generic client: the health probe of the reflection-less server. */
function rawEcho(port: number, payload: Buffer): Promise<Buffer> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const bytes = (b: Buffer) => b;
  return new Promise<Buffer>((resolve, reject) =>
    client.makeUnaryRequest('/portolan.lab.v1.Raw/Echo', bytes, bytes, payload, { deadline: Date.now() + 2000 }, (err, res) => (err ? reject(err) : resolve(res!))),
  ).finally(() => client.close());
}

/** Debian's gRPC C core through python3-grpcio: no reflection, every answer gzip-compressed (see lab/grpc/raw_server.py). */
const grpcRawServer: LabServer = {
  name: 'grpc-raw',
  area: 'http',
  packages: ['python3-grpcio'],
  ports: [p.grpcRaw],
  async start(ctx) {
    await ctx.spawnDaemon({ command: '/usr/bin/python3', args: [join(ctx.repoRoot, 'lab', 'grpc', 'raw_server.py'), String(p.grpcRaw)], cwd: ctx.repoRoot });
  },
  async health() {
    const answer = await rawEcho(p.grpcRaw, Buffer.from('portolan'));
    if (answer.toString() !== 'portolan') throw new Error(`raw gRPC echo answered ${answer.toString('hex')}`);
  },
};

/**
 * Apache httpd with mod_http2: the lab's server for the h2c Upgrade (RFC 7540 §3.2), which nginx does not
 * implement. `Protocols h2c http/1.1` with `H2Upgrade on` answers a GET carrying Upgrade: h2c with 101.
 */
const apache: LabServer = {
  name: 'apache-h2c',
  area: 'http',
  packages: ['apache2'],
  ports: [p.apacheH2c],
  async start(ctx) {
    ctx.writeFile(`html${httpFacts.hello.path}`, httpFacts.hello.text);
    const conf = apacheH2cConf(ctx, p.apacheH2c);
    await ctx.spawnDaemon({ command: '/usr/sbin/apache2', args: ['-f', conf, '-DFOREGROUND'] });
  },
  async health() {
    const answer = await exchange(p.apacheH2c, {
      send: `GET ${httpFacts.hello.path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n`,
      until: (b) => b.includes('\r\n\r\n'),
    });
    expectIncludes('apache h2c upgrade', answer, 'HTTP/1.1 101 Switching Protocols');
  },
};

/** X.224 Connection Request with RDP_NEG_REQ asking for TLS (MS-RDPBCGR 2.2.1.1): the health probe. */
const RDP_PROBE = Buffer.from('030000130ee000000000000100080001000000', 'hex');

/** xrdp with a given security_layer: negotiate (the default), tls only, or standard RDP security only. */
function xrdpServer(name: string, port: number, securityLayer: 'negotiate' | 'tls' | 'rdp'): LabServer {
  return {
    name,
    area: 'http',
    packages: ['xrdp'],
    ports: [port],
    async start(ctx) {
      const ini = ctx.writeFile(
        'xrdp.ini',
        `[Globals]
ini_version=1
fork=false
port=tcp://127.0.0.1:${port}
use_vsock=false
tcp_nodelay=true
security_layer=${securityLayer}
crypt_level=high
certificate=${ctx.tls.certPath}
key_file=${ctx.tls.keyPath}
ssl_protocols=TLSv1.2, TLSv1.3
autorun=
allow_channels=true
max_bpp=32

[Logging]
LogFile=${join(ctx.dir, 'xrdp-file.log')}
LogLevel=INFO
EnableSyslog=false
EnableConsole=true
ConsoleLevel=INFO

[Channels]
rdpdr=false
rdpsnd=false
drdynvc=false
cliprdr=false
rail=false
xrdpvr=false

[Xorg]
name=Xorg
lib=libxup.so
username=ask
password=ask
ip=127.0.0.1
port=-1
code=20
`,
      );
      await ctx.spawnDaemon({ command: '/usr/sbin/xrdp', args: ['--nodaemon', '--config', ini] });
    },
    async health() {
      const cc = await exchange(port, { send: RDP_PROBE, until: (b) => b.length >= 4 && b.length >= b.readUInt16BE(2) });
      // TPKT version 3, then an X.224 Connection Confirm (0xd0).
      if (cc[0] !== 3 || (cc[5] & 0xf0) !== 0xd0) throw new Error(`${name}: expected an X.224 Connection Confirm, got ${cc.subarray(0, 24).toString('hex')}`);
    },
  };
}

const xrdp = xrdpServer('xrdp', p.xrdp, 'negotiate');
const xrdpTlsOnly = xrdpServer('xrdp-tls-only', p.xrdpTlsOnly, 'tls');
const xrdpRdpOnly = xrdpServer('xrdp-rdp-only', p.xrdpRdpOnly, 'rdp');

export const servers: LabServer[] = [
  echoBackend,
  wsDeflateServer('ws-deflate', wsDeflateServers.open.port, wsDeflateServers.open.options),
  wsDeflateServer('ws-deflate-fixed', wsDeflateServers.fixed.port, wsDeflateServers.fixed.options),
  nginx,
  apache,
  grpcServer,
  grpcRawServer,
  xrdp,
  xrdpTlsOnly,
  xrdpRdpOnly,
];
