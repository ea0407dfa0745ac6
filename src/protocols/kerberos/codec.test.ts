import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, toHex, utf8 } from '../../core/bytes.ts';
import { webCrypto } from '../../core/crypto.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { decodeEncKdcRepPart, decodeEtypeInfo2, decodeMethodData, decodeReply, flagBits, flagsToNames, kdcReq, kerberosTime, MsgType, reqBody, tcpFrame, tcpMessage } from './codec.ts';
import { ctsDecrypt, ctsEncrypt, decrypt, encrypt, ENCTYPES, nfold, stringToKey } from './crypto.ts';

const crypto = webCrypto();

test('n-fold: the RFC 3961 Appendix A.1 vectors', () => {
  assert.equal(toHex(nfold(utf8('012345'), 8)), 'be072631276b1955');
  assert.equal(toHex(nfold(utf8('password'), 7)), '78a07b6caf85fa');
  assert.equal(toHex(nfold(utf8('Rough Consensus, and Running Code'), 8)), 'bb6ed30870b7f0e0');
  assert.equal(toHex(nfold(utf8('password'), 21)), '59e4a8ca7c0385c3c37b3f6d2000247cb6e6bd5b3e');
  assert.equal(toHex(nfold(utf8('kerberos'), 16)), '6b65726265726f737b9b5b2b93132b93');
  assert.equal(toHex(nfold(utf8('kerberos'), 32)), '6b65726265726f737b9b5b2b93132b935c9bdcdad95c9899c4cae4dee6d6cae4');
});

test('string-to-key: RFC 3962 Appendix B and RFC 8009 Appendix A', async () => {
  const athena = utf8('ATHENA.MIT.EDUraeburn');
  assert.equal(toHex(await stringToKey(crypto, ENCTYPES[17], 'password', athena, 1)), '42263c6e89f4fc28b8df68ee09799f15');
  assert.equal(toHex(await stringToKey(crypto, ENCTYPES[18], 'password', athena, 1)), 'fe697b52bc0d3ce14432ba036a92e65bbb52280990a2fa27883998d72af30161');
  assert.equal(toHex(await stringToKey(crypto, ENCTYPES[18], 'password', athena, 1200)), '55a6ac740ad17b4846941051e1e8b0a7548d93b0ab30a8bc3ff16280382b8c2a');
  const salt = new Uint8Array([...fromHex('10df9dd783e5bc8acea1730e74355f61'), ...athena]);
  assert.equal(toHex(await stringToKey(crypto, ENCTYPES[19], 'password', salt, 32768)), '089bca48b105ea6ea77ca5d2f39dc5e7');
  assert.equal(toHex(await stringToKey(crypto, ENCTYPES[20], 'password', salt, 32768)), '45bd806dbf6a833a9cffc1c94589a222367a79bc21c413718906e9f578a78467');
});

test('AES-CTS: the RFC 3962 Appendix B vectors, and round trips at every length', () => {
  const key = utf8('chicken teriyaki');
  assert.equal(toHex(ctsEncrypt(key, fromHex('4920776f756c64206c696b652074686520'))), 'c6353568f2bf8cb4d8a580362da7ff7f97');
  assert.equal(toHex(ctsEncrypt(key, fromHex('4920776f756c64206c696b65207468652047656e6572616c20476175277320'))), 'fc00783e0efdb2c1d445d4c8eff7ed2297687268d6ecccc0c07b25e25ecfe5');
  assert.equal(toHex(ctsEncrypt(key, fromHex('4920776f756c64206c696b65207468652047656e6572616c2047617527732043'))), '39312523a78662d5be7fcbcc98ebf5a897687268d6ecccc0c07b25e25ecfe584');
  for (let n = 16; n <= 80; n++) {
    const p = crypto.randomBytes(n);
    assert.equal(toHex(ctsDecrypt(key, ctsEncrypt(key, p))), toHex(p), `length ${n}`);
  }
});

test('RFC 8009 Appendix A: aes128-cts-hmac-sha256-128 encryption with a known confounder', async () => {
  // Plaintext empty, key usage 2, base key 3705d96080c17728a0e800eab6e0d23c, confounder 7e5895eaf2672435bad817f545a37148.
  const key = fromHex('3705d96080c17728a0e800eab6e0d23c');
  const ct = await encrypt(crypto, ENCTYPES[19], key, 2, new Uint8Array(0), fromHex('7e5895eaf2672435bad817f545a37148'));
  assert.equal(toHex(ct), 'ef85fb890bb8472f4dab20394dca781dad877eda39d50c870c0d5a0a8e48c718');
  assert.equal(toHex(await decrypt(crypto, ENCTYPES[19], key, 2, ct)), '');
  await assert.rejects(() => decrypt(crypto, ENCTYPES[19], fromHex('00'.repeat(16)), 2, ct), /integrity check failed/);
});

test('messages: AS-REQ layout, flags, times; TCP framing split anywhere; fuzzed replies', () => {
  assert.equal(toHex(kerberosTime(new Date('2026-01-02T03:04:05.678Z'))), '180f' + toHex(utf8('20260102030405Z')));
  assert.equal(flagBits(['forwardable', 'renewable', 'canonicalize', 'renewable-ok']), 0x40810010);
  assert.deepEqual(flagsToNames(0x40e10000), ['forwardable', 'renewable', 'initial', 'pre-authent', 'enc-pa-rep']);
  const req = kdcReq(MsgType.AS_REQ, [], reqBody({ options: 0x40810010, cname: { type: 1, parts: ['alice'] }, realm: 'R', sname: { type: 2, parts: ['krbtgt', 'R'] }, till: new Date('2037-09-13T02:48:05Z'), nonce: 7, etypes: [18, 17] }));
  // [APPLICATION 10] { SEQUENCE { pvno [1] 5, msg-type [2] 10, req-body [4] ... } }
  assert.equal(toHex(req.subarray(0, 2)), '6a' + (req.length - 2).toString(16));
  assert.ok(toHex(req).includes('a103020105' + 'a20302010a'));
  assert.ok(toHex(req).includes('a00703050040810010'), 'KDCOptions as a 32-bit BIT STRING');
  const framed = tcpMessage(req);
  assert.deepEqual(assertSplitFeed(tcpFrame(), new Uint8Array([...framed, ...framed])).map((b) => toHex(b)), [toHex(req), toHex(req)]);
  assert.throws(() => tcpFrame()(fromHex('80000000')), /reserved high bit/);
  assert.throws(() => tcpFrame()(fromHex('7fffffff')), (e: unknown) => e instanceof ProtocolError && /exceeds/.test(e.message));
  // A KRB-ERROR as MIT krb5kdc 1.20 sent it (PREAUTH_REQUIRED with METHOD-DATA carrying ETYPE-INFO2), decoded.
  const err = fromHex('7e81ee3081eba003020105a10302011ea411180f32303236313230343232303433315aa505020301ada1a603020119a70f1b0d504f52544f4c414e2e54455354a8123010a003020101a10930071b05616c696365a90f1b0d504f52544f4c414e2e54455354aa223020a003020102a11930171b066b72627467741b0d504f52544f4c414e2e54455354ab101b0e4e45454445445f50524541555448ac5404523050300aa10402020088a20204003028a103020113a221041f301d301ba003020112a1141b12504f52544f4c414e2e54455354616c6963653009a103020102a2020400300da10402020085a20504034d4954');
  const e = decodeReply(err);
  assert.ok(e.type === 'KRB-ERROR');
  assert.deepEqual([e.errorCode, e.errorName, e.realm, e.sname, e.cname, e.eText, e.stime], [25, 'KDC_ERR_PREAUTH_REQUIRED', 'PORTOLAN.TEST', 'krbtgt/PORTOLAN.TEST', 'alice', 'NEEDED_PREAUTH', '2026-12-04T22:04:31Z']);
  const info = decodeEtypeInfo2(decodeMethodData(e.eData!).find((p) => p.type === 19)!.value);
  assert.deepEqual(info, [{ etype: 18, salt: 'PORTOLAN.TESTalice', s2kparams: null }]);
  assertFuzzSafe((b) => {
    const f = tcpFrame(1 << 16)(b);
    if (f) decodeReply(f.value);
    return f;
  }, { seeds: [tcpMessage(err), framed] });
  assertFuzzSafe((b) => {
    decodeReply(b);
    return undefined;
  }, { seeds: [err] });
  assertFuzzSafe((b) => {
    decodeEncKdcRepPart(b);
    return undefined;
  }, { seeds: [err] });
});
