// Transmission 3.00's transmission-daemon (lab area blocks) seeding a torrent the lab makes, through workerd's API:
// the handshake, the extension handshake with the client's name, HAVE_ALL with the fast extension and a bitfield
// without it, and an info hash the peer does not serve.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureLab, ports } from '../../../lab/index.ts';
import { labTorrent } from '../../../lab/servers/blocks.ts';
import { call } from '../../../test/harness.ts';

const peer = { host: '127.0.0.1', port: ports.blocks.bittorrent };

/**
 * Transmission takes one peer per address: until it drops the previous connection from 127.0.0.1 (the lab's health
 * check, the test before) it closes a new one right after the handshake. A handshake for the seeded torrent waits
 * that out, and is tried again (a few times, seconds apart) only while Transmission answers that way.
 */
async function handshake(input: Record<string, unknown>, seeded = true) {
  for (let attempt = 1; ; attempt++) {
    await sleep(1500);
    const r = await call('bittorrent', 'handshake', { ...peer, ...input });
    if (!seeded || r.body.error?.code !== 'closed' || attempt >= 6) return r;
  }
}

before(() => ensureLab(['blocks']));

test('bittorrent handshake with Transmission: peer id, reserved bits, the extension handshake, HAVE_ALL', async () => {
  const t = labTorrent();
  const r = await handshake({ infoHash: t.infoHash });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const x = r.body.result;
  assert.match(x.peerId.text, /^-TR3000-/);
  assert.deepEqual([x.peerId.client, x.peerId.version], ['Transmission', '3000']);
  assert.deepEqual(x.reserved.known, ['extensionProtocol', 'fast']);
  assert.equal(x.extension.client, 'Transmission 3.00');
  assert.equal(x.extension.metadataSize, t.info.length);
  assert.ok(x.extension.extensions.ut_metadata > 0);
  assert.deepEqual([x.extension.listenPort, x.extension.requestQueue, x.extension.yourIp], [ports.blocks.bittorrent, 512, null]);
  assert.equal(x.pieces.haveAll, true);
  assert.ok(x.messages.includes('have all'));
});

test('bittorrent handshake without the fast extension gets a full bitfield; without extensions no extension handshake; an unknown torrent is closed', async () => {
  const t = labTorrent();
  const plain = await handshake({ infoHash: t.infoHash, fast: false, extensions: false });
  assert.equal(plain.status, 200, JSON.stringify(plain.body));
  assert.deepEqual([plain.body.result.pieces.count, plain.body.result.pieces.bitfieldBytes], [t.pieces, Math.ceil(t.pieces / 8)]);
  assert.equal(plain.body.result.extension, null);
  const unknown = await handshake({ infoHash: '00'.repeat(20) }, false);
  assert.equal(unknown.body.error.code, 'closed');
  assert.match(unknown.body.error.message, /serves no torrent with info hash 0{40}/);
  const bad = await handshake({ infoHash: 'xyz' }, false);
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /^infoHash: /);
});
