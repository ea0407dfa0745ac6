// BGP codec: OPEN round trip with capabilities, an UPDATE with every decoded attribute (annotated bytes),
// MP_REACH for IPv6, End-of-RIB, NOTIFICATION with a shutdown communication, split feed, fuzz.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHex } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { KEEPALIVE, decodeNotification, decodeOpen, decodeUpdate, encodeMessage, encodeNotification, encodeOpen, messageFrame } from './codec.ts';

const none = { fourOctet: true, addPath: new Set<string>() };

// UPDATE: no withdrawn; attributes ORIGIN IGP, AS_PATH sequence [65001, 4200000001] (4-byte ASNs), NEXT_HOP 192.0.2.1,
// MED 10, LOCAL_PREF 150, COMMUNITIES 65001:100 and NO_EXPORT, LARGE_COMMUNITY 65001:1:2; NLRI 198.51.100.0/24, 10.0.0.0/8.
const UPDATE_BODY = fromHex(
  '0000' + // withdrawn routes length
    '0040' + // path attributes length (64)
    '40010100' + // ORIGIN: IGP
    '4002 0a 02 02 0000fde9 fa56ea01'.replace(/ /g, '') + // AS_PATH: AS_SEQUENCE of 2
    '400304c0000201' + // NEXT_HOP
    '8004040000000a' + // MED 10
    '40050400000096' + // LOCAL_PREF 150
    'c00808fde90064ffffff01' + // COMMUNITIES
    'c0200c0000fde90000000100000002' + // LARGE_COMMUNITY
    '18c63364' + // 198.51.100.0/24
    '080a', // 10.0.0.0/8
);

describe('BGP codec', () => {
  it('OPEN: ours decodes to what we asked for; a 4-octet AS goes as AS_TRANS in the header', () => {
    const bytes = encodeOpen({ as: 4200000001, holdTime: 90, bgpId: '192.0.2.254', families: ['ipv4-unicast', 'ipv6-unicast'], routeRefresh: true, fourOctetAs: true, addPath: true, gracefulRestart: true, hostname: 'portolan' });
    const [m] = assertSplitFeed(messageFrame, bytes);
    assert.equal(m.type, 1);
    const o = decodeOpen(m.body);
    assert.deepEqual([o.version, o.myAs, o.as, o.holdTime, o.bgpId], [4, 23456, 4200000001, 90, '192.0.2.254']);
    assert.deepEqual(
      o.capabilities.map((c) => c.name),
      ['multiprotocol', 'multiprotocol', 'route-refresh', '4-octet-as', 'add-path', 'graceful-restart', 'hostname'],
    );
    assert.deepEqual(o.capabilities[4], { code: 69, name: 'add-path', families: [{ family: 'ipv4-unicast', mode: 'receive' }, { family: 'ipv6-unicast', mode: 'receive' }] });
  });

  it('UPDATE attributes and NLRI', () => {
    const [m] = assertSplitFeed(messageFrame, encodeMessage(2, UPDATE_BODY));
    const u = decodeUpdate(m.body, none);
    assert.deepEqual(u.announced, [
      { family: 'ipv4-unicast', prefix: '198.51.100.0/24' },
      { family: 'ipv4-unicast', prefix: '10.0.0.0/8' },
    ]);
    assert.deepEqual(u.attributes, {
      origin: 'IGP',
      asPath: [{ type: 'sequence', asns: [65001, 4200000001] }],
      nextHop: ['192.0.2.1'],
      med: 10,
      localPref: 150,
      communities: ['65001:100', 'NO_EXPORT'],
      largeCommunities: ['65001:1:2'],
    });
  });

  it('MP_REACH_NLRI for IPv6, ADD-PATH ids, and End-of-RIB markers', () => {
    // MP_REACH: AFI 2 SAFI 1, next hop 2001:db8::1, reserved, 2001:db8:100::/48 with path id 7.
    const mp = fromHex('0000' + '0024' + '900e0020' + '000201' + '10' + '20010db8000000000000000000000001' + '00' + '00000007' + '3020010db80100');
    const u = decodeUpdate(mp, { fourOctet: true, addPath: new Set(['ipv6-unicast']) });
    assert.deepEqual(u.announced, [{ family: 'ipv6-unicast', prefix: '2001:db8:100::/48', pathId: 7 }]);
    assert.deepEqual(u.attributes.nextHop, ['2001:db8::1']);
    assert.equal(decodeUpdate(fromHex('00000000'), none).endOfRib, 'ipv4-unicast');
    assert.equal(decodeUpdate(fromHex('00000006' + '800f03000201'), none).endOfRib, 'ipv6-unicast');
  });

  it('NOTIFICATION with a shutdown communication (RFC 8203); KEEPALIVE is a bare header', () => {
    const [m] = assertSplitFeed(messageFrame, encodeNotification(6, 2, 'maintenance'));
    assert.deepEqual({ ...decodeNotification(m.body), dataHex: undefined }, { code: 6, subcode: 2, codeName: 'Cease', subcodeName: 'Administrative Shutdown', message: 'maintenance', dataHex: undefined });
    assert.equal(decodeNotification(fromHex('0202fde9')).subcodeName, 'Bad Peer AS');
    assert.equal(KEEPALIVE.length, 19);
    assert.throws(() => messageFrame(fromHex('00112233')), /not a BGP speaker/);
  });

  it('fuzz: frames and their decoders take any bytes', () => {
    const decodeAll: Frame<unknown> = (buf) => {
      const got = messageFrame(buf);
      if (!got) return undefined;
      const m = got.value;
      return { value: m.type === 1 ? decodeOpen(m.body) : m.type === 2 ? decodeUpdate(m.body, none) : m.type === 3 ? decodeNotification(m.body) : m, size: got.size };
    };
    assertFuzzSafe(decodeAll, { seeds: [encodeMessage(2, UPDATE_BODY), encodeOpen({ as: 65001, holdTime: 90, bgpId: '192.0.2.1', families: ['ipv4-unicast'], routeRefresh: true, fourOctetAs: true, addPath: false })] });
  });
});
