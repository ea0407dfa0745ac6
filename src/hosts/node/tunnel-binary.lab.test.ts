// The tunnel's `binary` subprotocol on the Node host, where `ws` has true backpressure: the handshake, 256 MiB each way
// byte-identical, and a client that stops reading (reads stop at the WebSocket's bufferedAmount).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ports } from '../../../lab/index.ts';
import { rssKiB } from '../../../bench/lib/proc.ts';
import { startNodeHost, type RunningNodeHost } from '../../../test/node-host.ts';
import { assertChargenLines, collect, echoBinary, MiB, rawTunnel, tunnelUrl } from '../../../test/tunnel-clients.ts';

const lab = ports.foundation;
const IDLE_MS = 3000;
let host: RunningNodeHost;

before(async () => {
  host = await startNodeHost({ env: { TUNNEL_IDLE_MS: String(IDLE_MS) } });
});
after(() => host?.stop());

test('node host, binary: `binary` answered in the handshake, none for a list without it; 1000 at the end of the stream, 1011 refused', async () => {
  const t = collect(tunnelUrl(host.url, lab.daytime), ['base64', 'binary']);
  assert.equal(await t.opened, 'binary');
  const day = await t.ended;
  assert.equal(day.code, 1000);
  assert.deepEqual(day.text, []);
  assert.match(day.data.toString(), /\d{2}:\d{2}:\d{2}/);
  const none = await rawTunnel(tunnelUrl(host.url, lab.daytime), 'base64');
  assert.match(none.head, /^HTTP\/1\.1 101 /);
  assert.doesNotMatch(none.head, /sec-websocket-protocol/i);
  const credit = await none.drain();
  assert.equal(credit.messages[0].kind === 'text' && JSON.parse(credit.messages[0].text).type, 'open');
  const refused = await collect(tunnelUrl(host.url, lab.closedPort), ['binary']).ended;
  assert.equal(refused.code, 1011);
  assert.match(refused.reason, /^refused: /);
});

test('node host, binary: 256 MiB each way through the echo server arrive byte-identical', { timeout: 900_000 }, async () => {
  const r = await echoBinary(tunnelUrl(host.url, lab.echo), 256 * MiB);
  assert.equal(r.received, 256 * MiB);
  assert.equal(r.back, r.sent);
  assert.equal(r.textFrames, 0);
});

test('node host, binary: a client that stops reading holds reads at the bufferedAmount; memory stays flat; 4004 after the idle time', async () => {
  const pid = host.child.pid!;
  const rss0 = rssKiB(pid);
  const client = await rawTunnel(tunnelUrl(host.url, lab.chargen), 'binary');
  assert.match(client.head, /\r\nsec-websocket-protocol: binary/i);
  // Past the idle time: the host gives up on the client and says so, after what it had sent.
  await new Promise((r) => setTimeout(r, IDLE_MS + 2000));
  const grownMiB = (rssKiB(pid) - rss0) / 1024;
  const end = await client.drain();
  assert.ok(grownMiB < 16, `the Node host grew by ${grownMiB.toFixed(1)} MiB`);
  assert.equal(end.close?.code, 4004);
  assert.match(end.close!.reason, /^the client read nothing for 3 s \([\d.]+ MiB waiting\)$/);
  // A window (4 MiB) past what the two kernels' socket buffers hold.
  assert.ok(end.bytes < 32 * MiB, `${end.bytes} bytes`);
  assertChargenLines(end.messages);
});
