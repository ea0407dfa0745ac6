// Transmission 3.00's transmission-daemon (lab area blocks) seeding a torrent the lab makes, through workerd's API:
// the handshake, the extension handshake with the client's name, HAVE_ALL with the fast extension and a bitfield
// without it, and an info hash the peer does not serve. opentracker, to which Transmission announces the torrent:
// announce and scrape over HTTP through workerd, over UDP through the Node host.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureLab, ports } from '../../../lab/index.ts';
import { blocksFacts, labTorrent } from '../../../lab/servers/blocks.ts';
import { toBase32 } from '../nats/nkeys.ts';
import { call } from '../../../test/harness.ts';
import { callNode, useNodeHost } from '../../../test/node-host.ts';

const node = useNodeHost();

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

const tracker = { host: '127.0.0.1', port: ports.blocks.tracker };
const udpTracker = { host: '127.0.0.1', port: ports.blocks.trackerUdp };
const quiet = blocksFacts.bittorrent.tracker.quietInfoHash;
/** Transmission's listing: 127.0.0.1 and its peer port. */
const seed = { ip: '127.0.0.1', port: ports.blocks.bittorrent };

test('bittorrent announce to opentracker over HTTP lists Transmission; leave takes our peer off again; scrape counts the seeder', async () => {
  const t = labTorrent();
  const a = await call('bittorrent', 'announce', { ...tracker, infoHash: t.infoHash, peerPort: 23189 });
  assert.equal(a.status, 200, JSON.stringify(a.body));
  const x = a.body.result;
  assert.equal(x.infoHash, t.infoHash);
  assert.ok(x.peers.some((p: { ip: string; port: number }) => p.ip === seed.ip && p.port === seed.port), JSON.stringify(x.peers));
  assert.equal(x.seeders, 1);
  assert.equal(x.peersForm, 'compact');
  assert.ok(x.interval > 0 && x.minInterval > 0);
  assert.equal(x.left, true);
  // The stopped announce took our peer off: the scrape counts Transmission alone, as a seeder.
  const s = await call('bittorrent', 'scrape', { ...tracker, infoHashes: [t.infoHash, quiet] });
  assert.equal(s.status, 200, JSON.stringify(s.body));
  assert.deepEqual(
    s.body.result.torrents.map((e: { infoHash: string; seeders: number; leechers: number }) => [e.infoHash, e.seeders, e.leechers]),
    [
      [t.infoHash, 1, 0],
      [quiet, 0, 0],
    ],
  );
});

test('bittorrent announce by magnet link and base32; a torrent nobody seeds lists no other peer; the tracker refuses one off its whitelist in its words', async () => {
  const t = labTorrent();
  const magnet = `magnet:?xt=urn:btih:${toBase32(Buffer.from(t.infoHash, 'hex'))}&dn=harbour-charts.bin&tr=${encodeURIComponent(`http://127.0.0.1:${tracker.port}/announce`)}`;
  const m = await call('bittorrent', 'announce', { ...tracker, infoHash: magnet, peerPort: 23188 });
  assert.equal(m.status, 200, JSON.stringify(m.body));
  assert.equal(m.body.result.infoHash, t.infoHash);
  assert.deepEqual(m.body.result.magnet, { name: 'harbour-charts.bin', trackers: [`http://127.0.0.1:${tracker.port}/announce`] });
  assert.ok(m.body.result.peers.some((p: { ip: string; port: number }) => p.port === seed.port));
  // opentracker lists the asking peer too: on the quiet torrent that is all it lists, and nobody seeds.
  const q = await call('bittorrent', 'announce', { ...tracker, infoHash: quiet, peerPort: 23187 });
  assert.equal(q.status, 200, JSON.stringify(q.body));
  assert.deepEqual(
    q.body.result.peers.filter((p: { port: number }) => p.port !== 23187),
    [],
  );
  assert.equal(q.body.result.seeders, 0);
  const off = await call('bittorrent', 'announce', { ...tracker, infoHash: '01'.repeat(20) });
  assert.equal(off.body.error.code, 'server_error');
  assert.match(off.body.error.message, /the tracker refused: Requested download is not authorized for use with this tracker\./);
  // opentracker serves compact peers only: asked for the dictionary list, it answers with an error page.
  const dict = await call('bittorrent', 'announce', { ...tracker, infoHash: t.infoHash, compact: false, peerPort: 23187 });
  assert.equal(dict.body.error.code, 'server_error');
  assert.match(dict.body.error.message, /^announce: HTTP 400 Invalid Request: Invalid Request$/);
  const bad = await call('bittorrent', 'announce', { ...tracker, infoHash: 'abc' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /^infoHash: /);
  const badScrape = await call('bittorrent', 'scrape', { ...tracker, infoHashes: [t.infoHash, 'magnet:?dn=x'] });
  assert.equal(badScrape.status, 400);
  assert.match(badScrape.body.error.message, /^infoHashes\.1: /);
});

test('bittorrent UDP tracker (BEP 15) through the Node host gives the same peers and counts; workerd answers 501', async () => {
  const t = labTorrent();
  const a = await callNode(node, 'bittorrent', 'announceUdp', { ...udpTracker, infoHash: t.infoHash, peerPort: 23186 });
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.ok(a.body.result.peers.some((p: { ip: string; port: number }) => p.ip === seed.ip && p.port === seed.port), JSON.stringify(a.body.result.peers));
  assert.equal(a.body.result.seeders, 1);
  assert.equal(a.body.result.left, true);
  const s = await callNode(node, 'bittorrent', 'scrapeUdp', { ...udpTracker, infoHashes: [t.infoHash, quiet] });
  assert.equal(s.status, 200, JSON.stringify(s.body));
  assert.deepEqual(
    s.body.result.torrents.map((e: { seeders: number; leechers: number; known: boolean }) => [e.seeders, e.leechers, e.known]),
    [
      [1, 0, true],
      [0, 0, false],
    ],
  );
  const refused = await call('bittorrent', 'announceUdp', { ...udpTracker, infoHash: t.infoHash });
  assert.equal(refused.status, 501, 'workerd has no UDP');
});

test('bittorrent UDP tracker that never answers: the connect is sent again per try, then io_timeout', async () => {
  const silent = createSocket('udp4');
  const got: Buffer[] = [];
  silent.on('message', (m) => got.push(m));
  silent.bind(0, '127.0.0.1');
  await once(silent, 'listening');
  try {
    const r = await callNode(node, 'bittorrent', 'scrapeUdp', { host: '127.0.0.1', port: silent.address().port, infoHashes: [labTorrent().infoHash], retries: 1, waitMs: 500 });
    assert.equal(r.body.error?.code, 'io_timeout', JSON.stringify(r.body));
    assert.match(r.body.error.message, /after 2 tries/);
    assert.equal(got.length, 2);
    assert.ok(got.every((m) => m.length === 16 && m.readBigUInt64BE(0) === 0x41727101980n && m.readUInt32BE(8) === 0));
    assert.equal(got[0].readUInt32BE(12), got[1].readUInt32BE(12), 'the same transaction id on both tries');
  } finally {
    silent.close();
  }
});
