// Redis Cluster pieces: CRC16 key slots, redirects, CLUSTER SLOTS / SHARDS / NODES parsing (bytes as redis-server 7.0 sent them), fuzz.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertSplitFeed } from '../../../test/codec.ts';
import { replyFrame, type RespValue } from './codec.ts';
import { crc16, endpointHost, keySlot, parseNodes, parseRedirect, parseShards, parseSlots } from './cluster.ts';

const one = (s: string): RespValue => assertSplitFeed(replyFrame(), utf8(s))[0];
const err = (s: string): RespValue => ({ kind: 'error', bytes: utf8(s) });

const SLOTS_EDGE =
  '*3\r\n*3\r\n:0\r\n:5460\r\n*4\r\n$1\r\n?\r\n:22201\r\n$40\r\n70b8055d41cb779d8d4ba5d39bd01c884504f9d0\r\n*2\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n' +
  '*3\r\n:5461\r\n:10922\r\n*4\r\n$1\r\n?\r\n:22202\r\n$40\r\neb2284bb4c714b98b5c7ce412ff7f42fd2fe93cf\r\n*2\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n' +
  '*3\r\n:10923\r\n:16383\r\n*4\r\n$11\r\n10.255.25.3\r\n:22203\r\n$40\r\n7d112d75b89668251856f57e3815a4601480af65\r\n*2\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n';

const SHARDS_RESP3 =
  '*2\r\n%2\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n*1\r\n%7\r\n$2\r\nid\r\n$40\r\n16dc19f6b097760c37d26bcedb4c8626403d8bdc\r\n$4\r\nport\r\n:22204\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n' +
  '%2\r\n$5\r\nslots\r\n*4\r\n:10923\r\n:16383\r\n:100\r\n:100\r\n$5\r\nnodes\r\n*1\r\n%8\r\n$2\r\nid\r\n$40\r\n7d112d75b89668251856f57e3815a4601480af65\r\n$4\r\nport\r\n:22203\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$8\r\nhostname\r\n$11\r\n10.255.25.3\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n';

const NODES =
  '16dc19f6b097760c37d26bcedb4c8626403d8bdc 127.0.0.1:22204@22214 master - 0 1796431822000 0 connected\n' +
  '7d112d75b89668251856f57e3815a4601480af65 127.0.0.1:22203@22213,10.255.25.3 master - 0 1796431822656 3 connected 10923-16383\n' +
  '70b8055d41cb779d8d4ba5d39bd01c884504f9d0 127.0.0.1:22201@22211 myself,master - 0 1796431822000 1 connected 0-5460 7000 [100->-eb2284bb4c714b98b5c7ce412ff7f42fd2fe93cf] [200-<-eb2284bb4c714b98b5c7ce412ff7f42fd2fe93cf]\n';

describe('redis cluster: key slots', () => {
  it('CRC16-XMODEM check value and slots redis-server answers for CLUSTER KEYSLOT', () => {
    assert.equal(crc16(utf8('123456789')), 0x31c3);
    assert.equal(keySlot(utf8('foo')), 12182);
    assert.equal(keySlot(utf8('{mig203}:anything')), 100);
    assert.equal(keySlot(new Uint8Array(0)), 0);
  });

  it('hash tags: only the first {...} with something inside counts', () => {
    assert.equal(keySlot(utf8('{user1000}.following')), keySlot(utf8('{user1000}.followers')));
    assert.equal(keySlot(utf8('{user1000}.following')), keySlot(utf8('user1000')));
    assert.equal(keySlot(utf8('foo{}{bar}')), crc16(utf8('foo{}{bar}')) % 16384, 'empty tag: the whole key');
    assert.notEqual(keySlot(utf8('foo{}{bar}')), keySlot(utf8('bar')));
    assert.equal(keySlot(utf8('foo{{bar}}zap')), keySlot(utf8('{bar')));
    assert.equal(keySlot(utf8('foo{bar}{zap}')), keySlot(utf8('bar')));
  });
});

describe('redis cluster: redirects', () => {
  it('MOVED and ASK with an address, a hostname, IPv6 and the unknown endpoint', () => {
    assert.deepEqual(parseRedirect(err('MOVED 3999 127.0.0.1:6381')), { kind: 'MOVED', slot: 3999, host: '127.0.0.1', port: 6381 });
    assert.deepEqual(parseRedirect(err('ASK 100 redis-b.example:7000')), { kind: 'ASK', slot: 100, host: 'redis-b.example', port: 7000 });
    assert.deepEqual(parseRedirect(err('MOVED 1 ::1:7000')), { kind: 'MOVED', slot: 1, host: '::1', port: 7000 });
    const unknown = parseRedirect(err('MOVED 5 :7001'))!;
    assert.equal(endpointHost(unknown.host, '192.0.2.1'), '192.0.2.1');
    assert.equal(endpointHost('?', 'h'), 'h');
    assert.equal(parseRedirect(err('ERR MOVED elsewhere')), undefined);
    assert.equal(parseRedirect({ kind: 'simple', bytes: utf8('MOVED 1 a:1') }), undefined);
    assert.throws(() => parseRedirect(err('MOVED 16384 a:1')), ProtocolError);
    assert.throws(() => parseRedirect(err('ASK 1 a:0')), ProtocolError);
  });
});

describe('redis cluster: topology', () => {
  it('CLUSTER SLOTS (RESP2): a shard per master, endpoint "?" kept, metadata ip', () => {
    const shards = parseSlots(one(SLOTS_EDGE));
    assert.equal(shards.length, 3);
    assert.deepEqual(shards[0].slots, [{ start: 0, end: 5460 }]);
    assert.deepEqual(shards[0].nodes[0], { id: '70b8055d41cb779d8d4ba5d39bd01c884504f9d0', endpoint: '?', ip: '127.0.0.1', hostname: null, port: 22201, tlsPort: null, role: 'master', health: null, replicationOffset: null });
    assert.equal(shards[2].nodes[0].endpoint, '10.255.25.3');
    assert.equal(shards[2].nodes[0].ip, '127.0.0.1');
  });

  it('CLUSTER SLOTS: two ranges of one master are one shard', () => {
    const s = parseSlots(one('*2\r\n*3\r\n:0\r\n:9\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$2\r\nid\r\n*3\r\n:20\r\n:29\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$2\r\nid\r\n'));
    assert.deepEqual(s, [{ slots: [{ start: 0, end: 9 }, { start: 20, end: 29 }], nodes: [{ id: 'id', endpoint: '127.0.0.1', ip: '127.0.0.1', hostname: null, port: 7000, tlsPort: null, role: 'master', health: null, replicationOffset: null }] }]);
    assert.throws(() => parseSlots(one('*1\r\n*3\r\n:9\r\n:0\r\n*2\r\n$1\r\na\r\n:1\r\n')), ProtocolError);
    assert.throws(() => parseSlots(one(':1\r\n')), ProtocolError);
  });

  it('CLUSTER SHARDS (RESP3 maps): slot pairs, hostname, role and health', () => {
    const shards = parseShards(one(SHARDS_RESP3));
    assert.deepEqual(shards[0].slots, []);
    assert.deepEqual(shards[1].slots, [{ start: 10923, end: 16383 }, { start: 100, end: 100 }]);
    assert.deepEqual(shards[1].nodes[0], { id: '7d112d75b89668251856f57e3815a4601480af65', endpoint: '127.0.0.1', ip: '127.0.0.1', hostname: '10.255.25.3', port: 22203, tlsPort: null, role: 'master', health: 'online', replicationOffset: 0 });
    assert.throws(() => parseShards(one('*1\r\n%1\r\n$5\r\nslots\r\n*1\r\n:1\r\n')), ProtocolError);
  });

  it('CLUSTER NODES: flags, hostname, ranges, single slots, migrating and importing', () => {
    const nodes = parseNodes(NODES);
    assert.equal(nodes.length, 3);
    assert.equal(nodes[0].slots.length, 0);
    assert.equal(nodes[1].hostname, '10.255.25.3');
    assert.equal(nodes[1].busPort, 22213);
    const self = nodes[2];
    assert.deepEqual(self.flags, ['myself', 'master']);
    assert.equal(self.masterId, null);
    assert.deepEqual(self.slots, [{ start: 0, end: 5460 }, { start: 7000, end: 7000 }]);
    assert.deepEqual(self.migrating, [{ slot: 100, to: 'eb2284bb4c714b98b5c7ce412ff7f42fd2fe93cf' }]);
    assert.deepEqual(self.importing, [{ slot: 200, from: 'eb2284bb4c714b98b5c7ce412ff7f42fd2fe93cf' }]);
    assert.throws(() => parseNodes('id 127.0.0.1:1@2 master - 0 0 1 connected 99999'), ProtocolError);
    assert.throws(() => parseNodes('id nohost master - 0 0 1 connected'), ProtocolError);
  });

  it('fuzz: the parsers end in a result or a ProtocolError', () => {
    const onlyProtocolErrors = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 0, max: 400 }), (noise, at) => {
        for (const base of [SLOTS_EDGE, SHARDS_RESP3]) {
          const bytes = utf8(base).slice();
          bytes.set(noise.subarray(0, Math.max(0, bytes.length - at)), Math.min(at, bytes.length));
          let v: RespValue | undefined;
          onlyProtocolErrors(() => (v = assertSplitFeed(replyFrame(), bytes)[0]));
          if (v) {
            onlyProtocolErrors(() => parseSlots(v!));
            onlyProtocolErrors(() => parseShards(v!));
          }
        }
      }),
      { numRuns: 200 },
    );
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => onlyProtocolErrors(() => parseNodes(s))), { numRuns: 500 });
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (s) => onlyProtocolErrors(() => parseRedirect(err(s)))), { numRuns: 500 });
  });
});
