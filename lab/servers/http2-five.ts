// HTTP/2 lab server for server push (RFC 9113 §8.4): Apache httpd with mod_http2, `H2Push on`, serving a page
// whose response carries `Link: <...>; rel=preload` headers, which mod_http2 turns into PUSH_PROMISE frames
// when the client's SETTINGS_ENABLE_PUSH is 1. h2c with prior knowledge (`H2Direct on`) and via Upgrade.
import { apacheH2cConf } from '../apache.ts';
import { ports } from '../ports.ts';
import { exchange, expectIncludes } from '../probe.ts';
import type { LabServer } from '../server.ts';

const p = ports['http2-five'];

/** Byte i of a pushed asset: a pattern tests can recompute. */
function assetText(name: string, bytes: number): string {
  let s = '';
  for (let i = 0; s.length < bytes; i++) s += `/* ${name} line ${i} */ .c${i} { margin: ${i % 97}px; }\n`;
  return s.slice(0, bytes);
}

/** What the push server holds: tests assert against these. */
export const http2FiveFacts = {
  /** A page whose response links two assets for preload: Apache pushes both. */
  page: { path: '/index.html', text: '<!doctype html><title>Portolan push</title><link rel="stylesheet" href="/style.css"><script src="/app.js"></script>\n' },
  pushed: [
    { path: '/style.css', type: 'text/css', text: assetText('style', 3000) },
    { path: '/app.js', type: 'text/javascript', text: assetText('app', 1500) },
  ],
  /** A page without Link headers: nothing is pushed. */
  plain: { path: '/plain.txt', text: 'No links here.\n' },
};

const F = http2FiveFacts;

const apachePush: LabServer = {
  name: 'apache-h2-push',
  area: 'http2-five',
  packages: ['apache2'],
  ports: [p.apachePush],
  async start(ctx) {
    ctx.writeFile(`html${F.page.path}`, F.page.text);
    ctx.writeFile(`html${F.plain.path}`, F.plain.text);
    for (const a of F.pushed) ctx.writeFile(`html${a.path}`, a.text);
    const conf = apacheH2cConf(ctx, p.apachePush, {
      modules: ['headers'],
      directives: `AddType text/javascript .js
H2Push on
<Location ${F.page.path}>
  Header add Link "<${F.pushed[0].path}>; rel=preload; as=style"
  Header add Link "<${F.pushed[1].path}>; rel=preload; as=script"
</Location>
`,
    });
    await ctx.spawnDaemon({ command: '/usr/sbin/apache2', args: ['-f', conf, '-DFOREGROUND'] });
  },
  async health() {
    const answer = await exchange(p.apachePush, { send: `GET ${F.plain.path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`, until: (b) => b.includes(F.plain.text) });
    expectIncludes('apache push server', answer, F.plain.text);
  },
};

export const servers: LabServer[] = [apachePush];
