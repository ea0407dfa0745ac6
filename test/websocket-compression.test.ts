// permessage-deflate (RFC 7692) on the Worker's WebSockets: browsers offer it on every connection, and
// the bundle `wrangler deploy` uploads must decline it (wrangler.jsonc: no_web_socket_compression).
// Checked on `workerd serve` with the dry-run bundle, the runtime a deployment runs: under `wrangler
// dev`, wrangler's own ProxyWorker (its own compatibility date) answers the WebSocket handshake.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import WebSocket from 'ws';
import { BENCH_VARS, buildBundle, removeBundle, startWorkerd, type Bundle, type RunningWorkerd } from '../bench/lib/workerd.ts';

let bundle: Bundle;
let echo: net.Server;
let echoPort: number;

before(async () => {
  bundle = buildBundle();
  echo = net.createServer((s) => s.on('error', () => {}).pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  echoPort = (echo.address() as net.AddressInfo).port;
});

after(() => {
  echo?.close();
  if (bundle) removeBundle(bundle);
});

/** What the server answered to a client offering permessage-deflate, as `ws` (like a browser) offers it. */
function negotiated(url: string): Promise<{ header: string | null; extensions: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: true });
    let header: string | null = null;
    ws.on('upgrade', (res) => (header = (res.headers['sec-websocket-extensions'] as string | undefined) ?? null));
    ws.on('open', () => {
      resolve({ header, extensions: ws.extensions });
      ws.terminate();
    });
    ws.on('error', reject);
  });
}

/** The tunnel and every interactive session the API declares. */
async function webSocketPaths(w: RunningWorkerd): Promise<string[]> {
  const listing = (await (await fetch(`${w.url}/api/protocols`)).json()) as { protocols: { id: string; operations: { name: string; kind: string }[] }[] };
  const sessions = listing.protocols.flatMap((p) => p.operations.filter((op) => op.kind === 'session').map((op) => `/api/${p.id}/${op.name}?host=127.0.0.1&port=${echoPort}`));
  assert.ok(sessions.length >= 2, `interactive sessions in /api/protocols: ${sessions.join(', ')}`);
  return [`/api/tunnel?host=127.0.0.1&port=${echoPort}`, ...sessions];
}

test('the deployed Worker declines permessage-deflate on the tunnel and on every session WebSocket', async () => {
  assert.ok(bundle.compatibilityFlags.includes('no_web_socket_compression'), `wrangler.jsonc flags: ${bundle.compatibilityFlags}`);
  const w = await startWorkerd(bundle, { vars: BENCH_VARS });
  try {
    for (const path of await webSocketPaths(w)) {
      const got = await negotiated(w.url.replace('http', 'ws') + path);
      assert.deepEqual(got, { header: null, extensions: '' }, path);
    }
  } finally {
    await w.stop();
  }
});

test('without the flag the same runtime accepts the offer (the check above can see compression)', async () => {
  const w = await startWorkerd({ ...bundle, compatibilityFlags: bundle.compatibilityFlags.filter((f) => f !== 'no_web_socket_compression') }, { vars: BENCH_VARS });
  try {
    const got = await negotiated(`${w.url.replace('http', 'ws')}/api/tunnel?host=127.0.0.1&port=${echoPort}`);
    assert.match(got.header ?? '', /^permessage-deflate/);
    assert.match(got.extensions, /permessage-deflate/);
  } finally {
    await w.stop();
  }
});
