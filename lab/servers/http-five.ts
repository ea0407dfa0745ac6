// HTTP/1.1 content codings, proxy hops and HTTP/1.0 peers: an nginx of its own (plain and TLS) with Debian's
// brotli filter module (`brotli on`, compressing on the fly) that also serves a file compressed at setup by
// Debian's zstd CLI with Content-Encoding: zstd, decompression bombs (br and zstd) for the expansion cap, and a
// small file the proxy tests fetch through the edge area's proxies; and an HTTP/1.0-only server on Python's
// http.server, whose bodies may end at the connection's end.
import { brotliCompressSync } from 'node:zlib';
import { join } from 'node:path';
import { ports } from '../ports.ts';
import { exchange, expectIncludes } from '../probe.ts';
import type { LabServer } from '../server.ts';
import { nginxConfig } from '../nginx.ts';

const p = ports['http-five'];
const MiB = 1024 * 1024;

/** The text every coding here is of: numbered lines, about 400 kB (brotli sends several meta-blocks). */
export function codedText(): string {
  let s = '';
  for (let i = 0; i < 12000; i++) s += `Portolan coded line ${i}: ${(i * 7919) % 10007}\n`;
  return s;
}

/** What the area serves, for tests to assert against. */
export const httpFiveFacts = {
  nginxVersion: '1.22.1',
  coded: { port: p.nginxCoded, tlsPort: p.nginxCodedTls, hello: '/hello.txt', helloText: 'Hello through the proxies.\n', text: '/text.txt', zstd: '/zstd/text.txt', brBomb: '/bomb/br', zstdBomb: '/bomb/zstd', bombBytes: 32 * MiB },
  http10: { port: p.http10, file: '/hello.txt', fileText: 'Hello from an HTTP/1.0 server.\n', eof: '/eof', server: 'PortolanHTTP10/1.0' },
};

function nginxConf(dir: string, certPath: string, keyPath: string): string {
  const html = join(dir, 'html');
  return `load_module /usr/lib/nginx/modules/ngx_http_brotli_filter_module.so;
${nginxConfig(dir, {
  generatedBy: 'lab/servers/http-five.ts',
  workerConnections: 256,
  http: `  default_type text/plain;
  access_log ${join(dir, 'access.log')};
  server_tokens on;
  server {
    listen 127.0.0.1:${p.nginxCoded};
    listen 127.0.0.1:${p.nginxCodedTls} ssl;
    ssl_certificate ${certPath};
    ssl_certificate_key ${keyPath};
    server_name localhost;
    root ${html};
    brotli on;
    brotli_types text/plain;
    brotli_min_length 0;
    # Files compressed at setup, sent as they are with the coding named.
    location /zstd/ { brotli off; add_header Content-Encoding zstd always; }
    location = /bomb/br { brotli off; add_header Content-Encoding br always; }
    location = /bomb/zstd { brotli off; add_header Content-Encoding zstd always; }
  }
`,
})}`;
}

const nginxCoded: LabServer = {
  name: 'nginx-coded',
  area: 'http-five',
  packages: ['nginx', 'libnginx-mod-http-brotli-filter', 'zstd'],
  ports: [p.nginxCoded, p.nginxCodedTls],
  async start(ctx) {
    const text = ctx.writeFile('html/text.txt', codedText());
    ctx.writeFile(`html${httpFiveFacts.coded.hello}`, httpFiveFacts.coded.helloText);
    ctx.writeFile('html/zstd/.keep', '');
    await ctx.exec('/usr/bin/zstd', ['-q', '-f', '-19', text, '-o', join(ctx.dir, 'html', 'zstd', 'text.txt')]);
    ctx.writeFile('html/bomb/br', brotliCompressSync(new Uint8Array(httpFiveFacts.coded.bombBytes)));
    const zeros = ctx.writeFile('zeros.bin', new Uint8Array(httpFiveFacts.coded.bombBytes));
    await ctx.exec('/usr/bin/zstd', ['-q', '-f', '-19', zeros, '-o', join(ctx.dir, 'html', 'bomb', 'zstd')]);
    const conf = ctx.writeFile('nginx.conf', nginxConf(ctx.dir, ctx.tls.certPath, ctx.tls.keyPath));
    await ctx.exec('/usr/sbin/nginx', ['-t', '-p', ctx.dir, '-c', conf]);
    await ctx.spawnDaemon({ command: '/usr/sbin/nginx', args: ['-p', ctx.dir, '-c', conf] });
  },
  async health(ctx) {
    const br = await exchange(p.nginxCoded, { send: `GET /text.txt HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: br\r\nConnection: close\r\n\r\n`, timeoutMs: 3000 });
    expectIncludes('nginx brotli filter', br, 'Content-Encoding: br');
    const zstd = await exchange(p.nginxCoded, { send: `GET /zstd/text.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`, timeoutMs: 3000 });
    expectIncludes('nginx zstd file', zstd, 'Content-Encoding: zstd');
    const hello = await exchange(p.nginxCodedTls, { send: `GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`, timeoutMs: 3000, tlsCa: ctx.tls.caPath });
    expectIncludes('nginx TLS', hello, httpFiveFacts.coded.helloText.trim());
  },
};

const http10: LabServer = {
  name: 'http10',
  area: 'http-five',
  packages: ['python3'],
  ports: [p.http10],
  async start(ctx) {
    ctx.writeFile(`html${httpFiveFacts.http10.file}`, httpFiveFacts.http10.fileText);
    await ctx.spawnDaemon({ command: '/usr/bin/python3', args: [join(ctx.repoRoot, 'lab', 'http-five', 'http10.py'), String(p.http10), join(ctx.dir, 'html')], cwd: ctx.repoRoot });
  },
  async health() {
    const r = await exchange(p.http10, { send: `GET /eof?lines=2 HTTP/1.0\r\n\r\n`, timeoutMs: 3000 });
    expectIncludes('python3 http.server', r, 'HTTP/1.0 line 1');
  },
};

export const servers: LabServer[] = [nginxCoded, http10];
