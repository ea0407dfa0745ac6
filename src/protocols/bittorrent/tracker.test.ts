import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { concat, fromHex, toHex, utf8 } from '../../core/bytes.ts';
import { PortolanError, ProtocolError } from '../../core/errors.ts';
import { toBase32 } from '../nats/nkeys.ts';
import { bencode } from './codec.ts';
import {
  announceTarget,
  compactPeers,
  decodeAnnounce,
  decodeScrape,
  decodeUdpReply,
  encodeUdpAnnounce,
  encodeUdpConnect,
  encodeUdpScrape,
  infoHashOf,
  parseInfoHash,
  percentBytes,
  scrapeTarget,
} from './tracker.ts';

const HEX = '9886910cb96ef08712c1e5997b4d808fff017017';
const HASH = fromHex(HEX);

test('info hashes: hex, base32, magnet links with trackers and a name; anything else is refused naming the field', () => {
  assert.equal(toHex(parseInfoHash(HEX.toUpperCase())!.bytes), HEX);
  const b32 = toBase32(HASH);
  assert.equal(b32.length, 32);
  assert.equal(toHex(parseInfoHash(b32.toLowerCase())!.bytes), HEX);
  const m = parseInfoHash(`magnet:?xt=urn:btih:${HEX}&dn=harbour+charts&tr=http%3A%2F%2F127.0.0.1%3A6969%2Fannounce&tr=udp%3A%2F%2Ftracker.example%3A1337`)!;
  assert.deepEqual([toHex(m.bytes), m.name, m.trackers], [HEX, 'harbour charts', ['http://127.0.0.1:6969/announce', 'udp://tracker.example:1337']]);
  assert.equal(toHex(parseInfoHash(`magnet:?xt=urn:btih:${b32}`)!.bytes), HEX);
  for (const bad of ['', HEX.slice(1), `${HEX}0`, 'magnet:?dn=x', `magnet:?xt=urn:btih:${HEX.slice(2)}`, 'magnet:?xt=%E0%A4%A']) assert.equal(parseInfoHash(bad), null, bad);
  assert.throws(
    () => infoHashOf('xyz', 'infoHashes.1'),
    (e: unknown) => e instanceof PortolanError && e.code === 'invalid_input' && JSON.stringify(e).includes('infoHashes.1'),
  );
});

test('announce and scrape targets: bytes percent-encoded, the event only when there is one', () => {
  assert.equal(percentBytes(fromHex('00417a2d7e2f25ff')), '%00Az-~%2F%25%FF');
  const t = announceTarget('/announce', { infoHash: HASH, peerId: utf8('-PO0100-abcdefabcdef'), port: 6881, uploaded: 0, downloaded: 1, left: 2, event: 'none', numwant: 50, compact: true, key: 0xdeadbeef });
  assert.equal(t, `/announce?info_hash=${percentBytes(HASH)}&peer_id=-PO0100-abcdefabcdef&port=6881&uploaded=0&downloaded=1&left=2&compact=1&numwant=50&key=deadbeef`);
  assert.match(announceTarget('/a?passkey=x', { infoHash: HASH, peerId: utf8('-PO0100-abcdefabcdef'), port: 1, uploaded: 0, downloaded: 0, left: 0, event: 'stopped', numwant: 0, compact: false, trackerId: 'id 1' }), /^\/a\?passkey=x&info_hash=.*&compact=0&numwant=0&event=stopped&trackerid=id%201$/);
  assert.equal(scrapeTarget('/scrape', [HASH, HASH]), `/scrape?info_hash=${percentBytes(HASH)}&info_hash=${percentBytes(HASH)}`);
});

test('announce answers: compact IPv4 and IPv6 peers, the dictionary list with peer ids, warnings, the failure reason in its words', () => {
  const compact = bencode({ complete: 1, incomplete: 2, interval: 1769, 'min interval': 884, peers: fromHex('7f0000015a6d0a000001c8d5'), peers6: fromHex('00000000000000000000000000000001' + '1ae1'), 'tracker id': utf8('t-1'), 'warning message': utf8('slow down') });
  const a = decodeAnnounce(compact);
  assert.deepEqual(a.peers, [
    { ip: '127.0.0.1', port: 23149, peerId: null },
    { ip: '10.0.0.1', port: 51413, peerId: null },
    { ip: '::1', port: 6881, peerId: null },
  ]);
  assert.deepEqual([a.complete, a.incomplete, a.interval, a.minInterval, a.trackerId, a.warning, a.peersForm, a.failure], [1, 2, 1769, 884, 't-1', 'slow down', 'compact', null]);
  const dict = decodeAnnounce(bencode({ interval: 60, peers: [{ ip: utf8('192.0.2.7'), port: 6881, 'peer id': utf8('-TR3000-wf9bife1lo4g') }, { ip: utf8('2001:db8::1'), port: 1, 'peer id': fromHex('00ff'.repeat(10)) }] }));
  assert.deepEqual(dict.peers, [
    { ip: '192.0.2.7', port: 6881, peerId: '-TR3000-wf9bife1lo4g' },
    { ip: '2001:db8::1', port: 1, peerId: '00ff'.repeat(10) },
  ]);
  assert.equal(dict.peersForm, 'dictionary');
  const refused = decodeAnnounce(utf8('d14:failure reason63:Requested download is not authorized for use with this tracker.e'));
  assert.equal(refused.failure, 'Requested download is not authorized for use with this tracker.');
  assert.deepEqual(decodeAnnounce(bencode({ interval: 5 })).peers, []);
  assert.throws(() => decodeAnnounce(bencode({ peers: fromHex('7f000001') })), /peers: 4 bytes is not a whole number of 6-byte peers/);
  assert.throws(() => decodeAnnounce(bencode({ peers: [{ ip: utf8('1.2.3.4'), port: 70000 }] })), /peers\[0\]/);
  assert.throws(() => decodeAnnounce(bencode([1])), ProtocolError);
  assert.throws(() => compactPeers(new Uint8Array(6 * 10_001), 4), /more than 10000 peers/);
});

test('scrape answers keyed by raw info hashes (binary keys keep their bytes)', () => {
  const other = fromHex('ff'.repeat(20));
  const body = concat([utf8('d5:filesd20:'), HASH, utf8('d8:completei1e10:downloadedi3e10:incompletei2e4:name3:mape20:'), other, utf8('d8:completei0e10:downloadedi0e10:incompletei0eeee')]);
  assert.deepEqual(decodeScrape(body).files, [
    { infoHash: HEX, complete: 1, downloaded: 3, incomplete: 2, name: 'map' },
    { infoHash: 'ff'.repeat(20), complete: 0, downloaded: 0, incomplete: 0, name: null },
  ]);
  assert.equal(decodeScrape(utf8('d14:failure reason4:nopee')).failure, 'nope');
  assert.throws(() => decodeScrape(utf8('d5:filesd3:abcdeee')), /a key of 3 bytes/);
  assert.throws(() => decodeScrape(utf8('de')), /no files dictionary/);
});

test('UDP tracker packets (BEP 15) byte for byte: connect, announce, scrape, error', () => {
  assert.equal(toHex(encodeUdpConnect(0x01020304)), '0000041727101980' + '00000000' + '01020304');
  const ann = encodeUdpAnnounce(0x1122334455667788n, 7, { infoHash: HASH, peerId: utf8('-PO0100-abcdefabcdef'), port: 6881, uploaded: 3, downloaded: 1, left: 2, event: 'stopped', numwant: 50, compact: true, key: 9 });
  assert.equal(ann.length, 98);
  assert.equal(toHex(ann), '1122334455667788' + '00000001' + '00000007' + HEX + toHex(utf8('-PO0100-abcdefabcdef')) + '0000000000000001' + '0000000000000002' + '0000000000000003' + '00000003' + '00000000' + '00000009' + '00000032' + '1ae1');
  assert.equal(toHex(encodeUdpScrape(5n, 8, [HASH])), '0000000000000005' + '00000002' + '00000008' + HEX);
  assert.deepEqual(decodeUdpReply(fromHex('00000000' + '01020304' + '1122334455667788')), { action: 'connect', transactionId: 0x01020304, connectionId: 0x1122334455667788n });
  assert.deepEqual(decodeUdpReply(fromHex('00000001' + '00000007' + '00000708' + '00000002' + '00000001' + '7f0000015a6d')), { action: 'announce', transactionId: 7, interval: 1800, leechers: 2, seeders: 1, peers: [{ ip: '127.0.0.1', port: 23149, peerId: null }] });
  const six = decodeUdpReply(fromHex('00000001' + '00000007' + '00000708' + '00000000' + '00000001' + '00000000000000000000000000000001' + '1ae1'), 6);
  assert.deepEqual(six.action === 'announce' ? six.peers : null, [{ ip: '::1', port: 6881, peerId: null }]);
  assert.deepEqual(decodeUdpReply(fromHex('00000002' + '00000008' + '00000001' + '00000004' + '00000002')), { action: 'scrape', transactionId: 8, entries: [{ seeders: 1, completed: 4, leechers: 2 }] });
  assert.deepEqual(decodeUdpReply(concat([fromHex('00000003' + '00000009'), utf8('Connection ID missmatch.')])), { action: 'error', transactionId: 9, message: 'Connection ID missmatch.' });
  assert.throws(() => decodeUdpReply(fromHex('00000000' + '01020304')), /connection id/);
  assert.throws(() => decodeUdpReply(fromHex('00000002' + '00000008' + '0000')), /12-byte entries/);
  assert.throws(() => decodeUdpReply(fromHex('00000009' + '00000008')), /not a UDP tracker action/);
});

test('tracker decoders fuzzed: bounded, and nothing but ProtocolError', () => {
  const seeds = [bencode({ interval: 1, peers: fromHex('7f0000015a6d'), complete: 1 }), concat([utf8('d5:filesd20:'), HASH, utf8('d8:completei1eeee')]), fromHex('00000001000000070000070800000002000000017f0000015a6d')];
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 256 }),
        fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([s, at, b]) => {
          const c = s.slice();
          c[at % c.length] = b;
          return c;
        }),
      ),
      (bytes) => {
        for (const decode of [decodeAnnounce, decodeScrape, (b: Uint8Array) => decodeUdpReply(b, 4), (b: Uint8Array) => decodeUdpReply(b, 6)]) {
          try {
            decode(bytes);
          } catch (e) {
            if (!(e instanceof ProtocolError)) throw e;
          }
        }
      },
    ),
    { numRuns: 2000 },
  );
});
