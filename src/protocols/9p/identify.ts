import { ByteWriter, fromLatin1, utf8 } from '../../core/bytes.ts';
import { type Identification, high, medium } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      // 9P (version(5)): Tversion with NOTAG asking for 9P2000.L; a server answers Rversion, or an error reply.
      name: '9p-version',
      cost: 2,
      ports: [564],
      payload: () => {
        const version = utf8('9P2000.L');
        const w = new ByteWriter();
        w.u32le(4 + 1 + 2 + 4 + 2 + version.length).u8(100).u16le(0xffff).u32le(8192).u16le(version.length).bytes(version);
        return w.finish();
      },
      recognize(reply) {
        if (reply.length < 7) return null;
        const size = reply[0] | (reply[1] << 8) | (reply[2] << 16) | (reply[3] << 24);
        if (size < 7 || size > 1 << 20 || reply[5] !== 0xff || reply[6] !== 0xff) return null;
        if (reply[4] === 101 && reply.length >= 13) {
          const n = reply[11] | (reply[12] << 8);
          return high('9p', { version: fromLatin1(reply.subarray(13, 13 + Math.min(n, 32))) });
        }
        // Rlerror (9P2000.L) or Rerror: a 9P server that does not take this version.
        if (reply[4] === 7 || reply[4] === 107) return medium('9p', { info: 'an error reply to Tversion 9P2000.L' });
        return null;
      },
    },
  ],
};
