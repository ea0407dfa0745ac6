// File digests: the plan from FEAT, the server's replies (as ProFTPD mod_digest sends them), the running digests;
// the PORT argument; the MLSD listing as a table.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { ProtocolError } from '../../core/errors.ts';
import { encodePort } from './codec.ts';
import { digester, digestPlan, parseDigestReply } from './digest.ts';
import ftp from './index.ts';
import { parseMlsd } from './listing.ts';

const reply = (code: number, ...lines: string[]) => ({ code, lines, text: lines.join('\n') });

test('plan: HASH with SHA-256 chosen over the selected SHA-1; else the strongest X command', () => {
  assert.deepEqual(digestPlan([' HASH CRC32;MD5;SHA-1*;SHA-256;SHA-512;'.trim(), 'XCRC', 'XSHA256']), { command: 'HASH', algorithm: 'SHA-256', select: true });
  assert.deepEqual(digestPlan(['HASH SHA-256*;MD5']), { command: 'HASH', algorithm: 'SHA-256', select: false });
  assert.deepEqual(digestPlan(['HASH MD5*;CRC32']), { command: 'HASH', algorithm: 'MD5', select: false });
  assert.deepEqual(digestPlan(['XCRC', 'XMD5', 'XSHA1']), { command: 'XSHA1', algorithm: 'SHA-1', select: false });
  assert.deepEqual(digestPlan(['XCRC']), { command: 'XCRC', algorithm: 'CRC32', select: false });
  assert.equal(digestPlan(['MDTM', 'SIZE', 'UTF8']), null);
});

test("replies, as ProFTPD's mod_digest words them", () => {
  const sha256 = 'b8c4ee80f917ee8144d32982e85a416b1efd731515ebb88b462ee7b8cafa312e';
  assert.deepEqual(parseDigestReply({ command: 'HASH', algorithm: 'SHA-256', select: true }, reply(213, 'Computing SHA-256 digest', `SHA-256 0-11 ${sha256} hashme.txt`)), { hex: sha256, range: '0-11' });
  assert.deepEqual(parseDigestReply({ command: 'XMD5', algorithm: 'MD5', select: false }, reply(250, 'Computing MD5 digest', 'AA5F06BEDDE5BAF311C4EC943357678D')), { hex: 'aa5f06bedde5baf311c4ec943357678d', range: null });
  assert.equal(parseDigestReply({ command: 'XCRC', algorithm: 'CRC32', select: false }, reply(250, 'Computing CRC32 digest', 'C0818589')).hex, 'c0818589');
  assert.equal(parseDigestReply({ command: 'XCRC', algorithm: 'CRC32', select: false }, reply(250, '818589')).hex, '00818589');
  assert.throws(() => parseDigestReply({ command: 'HASH', algorithm: 'SHA-256', select: false }, reply(213, `SHA-1 0-11 ${'a'.repeat(40)} x`)), /HASH answered with SHA-1/);
  assert.throws(() => parseDigestReply({ command: 'XSHA256', algorithm: 'SHA-256', select: false }, reply(250, 'abc')), ProtocolError);
});

test('running digests over chunks equal the whole-file digest', () => {
  const data = Buffer.from('hello hash\n');
  for (const [alg, node] of [['SHA-256', 'sha256'], ['SHA-512', 'sha512'], ['SHA-1', 'sha1'], ['MD5', 'md5']] as const) {
    const d = digester(alg);
    d.update(data.subarray(0, 3));
    d.update(data.subarray(3));
    assert.equal(d.hex(), createHash(node).update(data).digest('hex'));
  }
  const crc = digester('CRC32');
  crc.update(data.subarray(0, 5));
  crc.update(data.subarray(5));
  assert.equal(crc.hex(), 'c0818589');
});

test('fuzz: digest replies never crash other than ProtocolError', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ maxLength: 200 }), { minLength: 1, maxLength: 3 }), fc.constantFrom('HASH', 'XSHA256', 'XCRC', 'XMD5'), (lines, command) => {
      const plan = { command: command as 'HASH', algorithm: (command === 'XCRC' ? 'CRC32' : command === 'XMD5' ? 'MD5' : 'SHA-256') as 'SHA-256', select: false };
      try {
        parseDigestReply(plan, reply(250, ...lines));
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
    }),
  );
});

test('PORT argument (RFC 959 §4.1.2)', () => {
  assert.equal(encodePort('127.0.0.1', 40123), '127,0,0,1,156,187');
  assert.throws(() => encodePort('::1', 21), /IPv4/);
});

test('an MLSD listing is shown as a table of type, size, modify, perm, unique and name', () => {
  const listing = parseMlsd(
    Buffer.from(
      'modify=20261205042534;perm=adfr;size=11;type=file;unique=FE00U178905;UNIX.mode=0644; hashme.txt\r\n' +
        'modify=20261205042000;perm=flcdmpe;type=dir;unique=FE00U17890A;UNIX.mode=0755; sub dir\r\n',
    ),
  );
  const text = ftp.operations.list.text!({ cwd: '/home/ftplab', method: 'MLSD', ...listing, transfer: { via: 'EPSV', dataHost: '127.0.0.1', dataPort: 1, dataTls: false, wireBytes: 1, ms: 1, mibPerSecond: null, reply: '226' } } as never, {} as never);
  assert.equal(
    text,
    [
      '/home/ftplab (MLSD, mlsd)',
      'type  size  modify                perm     unique       name',
      'file    11  2026-12-05T04:25:34Z  adfr     FE00U178905  hashme.txt',
      'dir         2026-12-05T04:20:00Z  flcdmpe  FE00U17890A  sub dir',
    ].join('\n'),
  );
});
