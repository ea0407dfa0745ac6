import { fromLatin1 } from '../../core/bytes.ts';
import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  // The Initial Handshake v10 (sequence 0): the server version is a C string after the protocol byte.
  greeting(b) {
    if (b.length < 6 || b[3] !== 0 || b[4] !== 0x0a) return null;
    const len = b[0] | (b[1] << 8) | (b[2] << 16);
    if (len < 20 || len > 1024) return null;
    const end = b.indexOf(0, 5);
    if (end < 0 || end - 5 > 120) return null;
    const v = fromLatin1(b.subarray(5, end));
    if (!/^[\x20-\x7e]+$/.test(v)) return null;
    const maria = /^(?:5\.5\.5-)?([\d.]+)-(.*MariaDB.*)$/.exec(v);
    return high('mysql', maria ? { product: 'MariaDB', version: maria[1], info: v } : { product: 'MySQL', version: v });
  },
};
