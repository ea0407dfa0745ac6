// Packet protection checked against an independent implementation (node:crypto): RFC 4344 (CTR), RFC 6668 and
// OpenSSH PROTOCOL 1.6 (HMAC, EtM), RFC 5647 / PROTOCOL (AES-GCM), PROTOCOL.chacha20poly1305; split feed and tampering.
import assert from 'node:assert/strict';
import { createCipheriv, createHmac } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { concat } from '../../core/bytes.ts';
import { webCrypto, type CryptoPort } from '../../core/crypto.ts';
import { ProtocolError } from '../../core/errors.ts';
import { CIPHERS, createOpener, createSealer, MACS, type PacketOpener } from './ciphers.ts';

/** WebCrypto with predictable padding bytes, so node:crypto can rebuild the same packets. */
const crypto: CryptoPort = { ...webCrypto(), randomBytes: (n) => new Uint8Array(n).fill(0x5a) };

const keys = { key: new Uint8Array(64).map((_, i) => i + 1), iv: new Uint8Array(16).map((_, i) => 0xf0 + i), macKey: new Uint8Array(64).map((_, i) => 0x80 + i) };

const suites: Array<[string, string | null]> = [
  ['chacha20-poly1305@openssh.com', null],
  ['aes128-gcm@openssh.com', null],
  ['aes256-gcm@openssh.com', null],
  ...['aes128-ctr', 'aes192-ctr', 'aes256-ctr'].flatMap((c) => Object.keys(MACS).map((m): [string, string] => [c, m])),
];

/** The sans-I/O receive loop: buffer chunks, cut packets with wireSize, open them in order. */
async function decodeStream(opener: PacketOpener, chunks: Uint8Array[], firstSeq = 0): Promise<Uint8Array[]> {
  let buf: Uint8Array = new Uint8Array(0);
  let seq = firstSeq;
  const out: Uint8Array[] = [];
  for (const chunk of chunks) {
    buf = concat([buf, chunk]);
    for (;;) {
      if (buf.length < opener.headerSize) break;
      const size = opener.wireSize(buf, seq);
      if (buf.length < size) break;
      out.push(await opener.open(buf.slice(0, size), seq));
      buf = buf.subarray(size);
      seq = (seq + 1) >>> 0;
    }
  }
  assert.equal(buf.length, 0, 'bytes left over');
  return out;
}

const payloads = [new Uint8Array([94, 0, 0, 0, 0, 0, 0, 0, 3, 0x61, 0x62, 0x63]), new Uint8Array(1000).fill(7), new Uint8Array([2, 0, 0, 0, 0])];

for (const [cipher, mac] of suites) {
  test(`${cipher}${mac ? ` + ${mac}` : ''}: sealed packets open again, fed whole, byte by byte and at random points`, async () => {
    const sealer = await createSealer(crypto, cipher, mac, keys);
    const wire: Uint8Array[] = [];
    for (const [i, p] of payloads.entries()) wire.push(await sealer.seal(p, 7 + i));
    const all = concat(wire);
    assert.deepEqual(await decodeStream(await createOpener(crypto, cipher, mac, keys), [all], 7), payloads);
    const bytes = Array.from(all, (b) => new Uint8Array([b]));
    assert.deepEqual(await decodeStream(await createOpener(crypto, cipher, mac, keys), bytes, 7), payloads);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: all.length }), { maxLength: 6 }), async (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const parts: Uint8Array[] = [];
        let at = 0;
        for (const p of [...points, all.length]) {
          parts.push(all.subarray(at, p));
          at = p;
        }
        assert.deepEqual(await decodeStream(await createOpener(crypto, cipher, mac, keys), parts, 7), payloads);
      }),
      { numRuns: 15 },
    );
  });

  test(`${cipher}${mac ? ` + ${mac}` : ''}: a flipped bit is a protocol error, and random headers never throw anything else`, async () => {
    const sealer = await createSealer(crypto, cipher, mac, keys);
    const wire = await sealer.seal(payloads[0], 0);
    for (const at of [wire.length - 1, Math.floor(wire.length / 2)]) {
      const bad = wire.slice();
      bad[at] ^= 1;
      await assert.rejects(decodeStream(await createOpener(crypto, cipher, mac, keys), [bad]), ProtocolError);
    }
    const opener = await createOpener(crypto, cipher, mac, keys);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: opener.headerSize, maxLength: 64 }), fc.nat(), (head, seq) => {
        try {
          const size = opener.wireSize(head, seq >>> 0);
          assert.ok(size <= 256 * 1024 + 4 + 64);
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
        }
      }),
      { numRuns: 300 },
    );
  });
}

// ---------------------------------------------------------------- independent reconstructions

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** RFC 4253 6 packet with 0x5a padding, as our sealer builds it. */
function plainPacket(payload: Uint8Array, block: number, lengthInBlock: boolean): Buffer {
  const head = lengthInBlock ? 5 : 1;
  let padding = block - ((head + payload.length) % block);
  if (padding < 4) padding += block;
  return Buffer.concat([u32(1 + payload.length + padding), Buffer.from([padding]), payload, Buffer.alloc(padding, 0x5a)]);
}

test('aes128-ctr + hmac-sha2-256: the wire bytes match node:crypto (one CTR stream across packets, MAC over seq || plaintext)', async () => {
  const sealer = await createSealer(crypto, 'aes128-ctr', 'hmac-sha2-256', keys);
  const ctr = createCipheriv('aes-128-ctr', keys.key.subarray(0, 16), keys.iv);
  for (const [i, p] of payloads.entries()) {
    const packet = plainPacket(p, 16, true);
    const expected = Buffer.concat([ctr.update(packet), createHmac('sha256', keys.macKey.subarray(0, 32)).update(Buffer.concat([u32(i), packet])).digest()]);
    assert.equal(Buffer.from(await sealer.seal(p, i)).toString('hex'), expected.toString('hex'));
  }
});

test('aes256-ctr + hmac-sha2-512-etm: clear length, MAC over seq || length || ciphertext (PROTOCOL 1.6)', async () => {
  const sealer = await createSealer(crypto, 'aes256-ctr', 'hmac-sha2-512-etm@openssh.com', keys);
  const ctr = createCipheriv('aes-256-ctr', keys.key.subarray(0, 32), keys.iv);
  for (const [i, p] of payloads.entries()) {
    const packet = plainPacket(p, 16, false);
    const sealed = Buffer.concat([packet.subarray(0, 4), ctr.update(packet.subarray(4))]);
    const expected = Buffer.concat([sealed, createHmac('sha512', keys.macKey.subarray(0, 64)).update(Buffer.concat([u32(i), sealed])).digest()]);
    assert.equal(Buffer.from(await sealer.seal(p, i)).toString('hex'), expected.toString('hex'));
  }
});

test('aes128-gcm@openssh.com: length as AAD, 64-bit invocation counter incremented per packet (RFC 5647 7.1)', async () => {
  const sealer = await createSealer(crypto, 'aes128-gcm@openssh.com', null, keys);
  const iv = Buffer.from(keys.iv.subarray(0, 12));
  for (const p of payloads) {
    const packet = plainPacket(p, 16, false);
    const gcm = createCipheriv('aes-128-gcm', keys.key.subarray(0, 16), iv);
    gcm.setAAD(packet.subarray(0, 4));
    const expected = Buffer.concat([packet.subarray(0, 4), gcm.update(packet.subarray(4)), gcm.final(), gcm.getAuthTag()]);
    assert.equal(Buffer.from(await sealer.seal(p, 0)).toString('hex'), expected.toString('hex'));
    iv.writeBigUInt64BE(iv.readBigUInt64BE(4) + 1n, 4);
  }
});

test('chacha20-poly1305@openssh.com: K_1 encrypts the length, K_2 the payload from block 1, nonce = sequence number', async () => {
  const sealer = await createSealer(crypto, 'chacha20-poly1305@openssh.com', null, keys);
  const k2 = keys.key.subarray(0, 32);
  const k1 = keys.key.subarray(32, 64);
  // node's chacha20 takes a 16-byte IV = 32-bit little-endian block counter || 96-bit nonce; the original
  // ChaCha20's 64-bit counter and 64-bit nonce map onto it as counter (8 bytes LE) || nonce.
  const iv = (counter: number, seq: number) => Buffer.concat([Buffer.from([counter, 0, 0, 0, 0, 0, 0, 0]), Buffer.alloc(4), u32(seq)]);
  for (const [i, p] of payloads.entries()) {
    const seq = 1000 + i;
    const packet = plainPacket(p, 8, false);
    const wire = await sealer.seal(p, seq);
    const len = createCipheriv('chacha20', k1, iv(0, seq)).update(packet.subarray(0, 4));
    const body = createCipheriv('chacha20', k2, iv(1, seq)).update(packet.subarray(4));
    assert.equal(Buffer.from(wire.subarray(0, wire.length - 16)).toString('hex'), Buffer.concat([len, body]).toString('hex'));
  }
});

test('every cipher in the table has consistent sizes', () => {
  for (const [name, c] of Object.entries(CIPHERS)) {
    assert.ok([16, 24, 32, 64].includes(c.keyLen), name);
    assert.ok([8, 16].includes(c.block), name);
  }
});
