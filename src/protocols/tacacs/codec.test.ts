import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { fromHex, toHex, utf8 } from '../../core/bytes.ts';
import { webCrypto } from '../../core/crypto.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { acctRequestBody, authorRequestBody, clearBody, continueBody, decodeAcctReply, decodeAuthenReply, decodeAuthorResponse, encodePacket, FLAGS, obfuscate, packetFrame, pad, startBody, TYPE, VERSION } from './codec.ts';

const md5 = webCrypto().md5;
const nodeMd5 = (b: Uint8Array) => new Uint8Array(createHash('md5').update(b).digest());
const key = utf8('tac_plus_key');
const h = { sessionId: 0x01020304, version: VERSION.default, seq: 1 };

test('RFC 8907 §4.5: the pad is MD5(session_id, key, version, seq_no) chained over the previous block, cut to the body', () => {
  const seed = Buffer.concat([Buffer.from('01020304', 'hex'), Buffer.from(key), Buffer.from([0xc0, 1])]);
  const b1 = nodeMd5(seed);
  const b2 = nodeMd5(Buffer.concat([seed, b1]));
  const b3 = nodeMd5(Buffer.concat([seed, b2]));
  assert.equal(toHex(pad(md5, h, key, 40)), toHex(Buffer.concat([b1, b2, b3]).subarray(0, 40)));
  const body = utf8('a body long enough for three MD5 blocks of pad');
  const hidden = obfuscate(md5, h, key, body);
  assert.notEqual(toHex(hidden), toHex(body));
  assert.equal(toHex(obfuscate(md5, h, key, hidden)), toHex(body));
  // Another sequence number, another pad.
  assert.notEqual(toHex(obfuscate(md5, { ...h, seq: 3 }, key, body)), toHex(hidden));
});

test('header (§4.1): version, type, seq, flags, session id, length; no key sets TAC_PLUS_UNENCRYPTED_FLAG', () => {
  const body = startBody({ action: 1, privLvl: 1, authenType: 2, service: 1, user: 'op', port: 'tty0', remAddr: '192.0.2.9', data: utf8('pw') });
  assert.equal(toHex(body), '0101020102040902' + toHex(utf8('op')) + toHex(utf8('tty0')) + toHex(utf8('192.0.2.9')) + toHex(utf8('pw')));
  const clear = encodePacket(md5, { version: VERSION.one, type: TYPE.authentication, seq: 1, sessionId: 0xdeadbeef }, body, new Uint8Array(0));
  assert.equal(toHex(clear.subarray(0, 12)), 'c1010101deadbeef' + body.length.toString(16).padStart(8, '0'));
  const hidden = encodePacket(md5, { version: VERSION.one, type: TYPE.authentication, seq: 1, sessionId: 0xdeadbeef }, body, key);
  assert.equal(hidden[3] & FLAGS.unencrypted, 0);
  assert.ok(!toHex(hidden).includes(toHex(utf8('pw'))), 'password obfuscated');
  const [p] = assertSplitFeed(packetFrame(), hidden);
  assert.equal(toHex(clearBody(md5, p, key)), toHex(body));
});

test('REPLY, CONTINUE, authorization and accounting bodies (§5.2, §5.3, §6, §7)', () => {
  assert.deepEqual(decodeAuthenReply(fromHex('0501000900' + '00' + toHex(utf8('Password:')))), { status: 5, statusName: 'GETPASS', noEcho: true, serverMsg: 'Password:', data: new Uint8Array(0) });
  assert.equal(toHex(continueBody(utf8('secret'))), '0006000000' + toHex(utf8('secret')));
  assert.equal(toHex(continueBody(new Uint8Array(0), new Uint8Array(0), true)), '0000000001');
  const q = { method: 6, privLvl: 15, authenType: 1, service: 1, user: 'op', port: 'vty0', remAddr: '', args: ['service=shell', 'cmd=show'] };
  assert.equal(toHex(authorRequestBody(q)), '060f01010204' + '00' + '02' + '0d08' + toHex(utf8('op')) + toHex(utf8('vty0')) + toHex(utf8('service=shell')) + toHex(utf8('cmd=show')));
  assert.equal(toHex(acctRequestBody(0x02, q).subarray(0, 1)), '02');
  const resp = decodeAuthorResponse(fromHex('01' + '01' + '0000' + '0000' + '0b' + toHex(utf8('priv-lvl=15'))));
  assert.deepEqual([resp.statusName, resp.args], ['PASS_ADD', ['priv-lvl=15']]);
  assert.deepEqual(decodeAcctReply(fromHex('0002' + '0000' + '01' + toHex(utf8('ok')))), { status: 1, statusName: 'SUCCESS', serverMsg: 'ok', data: '' });
});

test('a reply read with the wrong key is a protocol error, not garbage; bad headers are refused', () => {
  const reply = encodePacket(md5, { ...h, seq: 2, type: TYPE.authentication }, fromHex('0100000000' + '00'), key);
  const [p] = assertSplitFeed(packetFrame(), reply);
  assert.equal(decodeAuthenReply(clearBody(md5, p, key)).statusName, 'PASS');
  assert.throws(() => decodeAuthenReply(clearBody(md5, p, utf8('wrong key'))), (e: unknown) => e instanceof ProtocolError && /wrong key/.test((e as Error).message));
  assert.throws(() => clearBody(md5, p, new Uint8Array(0)), /no key was given/);
  assert.throws(() => packetFrame()(fromHex('d0')), /major version/);
  assert.throws(() => packetFrame()(fromHex('c0090101000000010000000a')), /packet type 9/);
  assert.throws(() => packetFrame()(fromHex('c0010201000000017fffffff')), /exceeds/);
  assert.throws(() => startBody({ action: 1, privLvl: 1, authenType: 1, service: 1, user: 'x'.repeat(256), port: '', remAddr: '', data: new Uint8Array(0) }), /user longer than 255/);
});

test('decoders take random and mutated bytes without crashing or looping', () => {
  const seed = encodePacket(md5, { ...h, seq: 2, type: TYPE.authentication }, fromHex('0501000900' + '00' + toHex(utf8('Password:'))), key);
  const frame = (buf: Uint8Array) => {
    const got = packetFrame()(buf);
    if (got) {
      const body = clearBody(md5, got.value, key);
      for (const d of [decodeAuthenReply, decodeAuthorResponse, decodeAcctReply]) {
        try {
          d(body);
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
        }
      }
    }
    return got;
  };
  assertFuzzSafe(frame, { seeds: [seed] });
});
