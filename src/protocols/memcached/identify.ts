import { concat, fromLatin1 } from '../../core/bytes.ts';
import { type Identification, high, textPayload } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'memcached-version',
      cost: 2,
      ports: [11211],
      payload: textPayload('version\r\n'),
      recognize(_b, t) {
        const m = /^VERSION (\S+)\r?\n/.exec(t);
        if (m) return high('memcached', { product: 'memcached', version: m[1] });
        // memcached with ASCII authentication (-Y) refuses every command until the auth line (its proto_text.c).
        return /^CLIENT_ERROR unauthenticated\r\n/.test(t) ? high('memcached', { product: 'memcached', info: 'ASCII authentication required' }) : null;
      },
    },
    {
      name: 'memcached-binary-version',
      cost: 3,
      ports: [11211],
      // Binary protocol request header (magic 0x80) for Version (0x0b); the answer has magic 0x81.
      payload: () => concat([Uint8Array.of(0x80, 0x0b), new Uint8Array(22)]),
      recognize(b) {
        if (b.length < 24 || b[0] !== 0x81 || b[1] !== 0x0b) return null;
        const len = (b[8] << 24) | (b[9] << 16) | (b[10] << 8) | b[11];
        const status = (b[6] << 8) | b[7];
        return high('memcached', { product: 'memcached', version: status === 0 && len > 0 && len < 64 && b.length >= 24 + len ? fromLatin1(b.subarray(24, 24 + len)) : undefined, info: 'binary protocol' });
      },
    },
  ],
};
