import { ByteWriter } from '../../core/bytes.ts';
import { type Identification, high, medium } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'postgres-sslrequest',
      cost: 2,
      ports: [5432],
      // SSLRequest (PostgreSQL protocol 53.2.10): length 8, code 80877103; the answer is one byte, S or N.
      payload: () => Uint8Array.of(0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f),
      recognize: (b) => (b.length === 1 && (b[0] === 0x53 || b[0] === 0x4e) ? medium('postgres', { info: b[0] === 0x53 ? 'offers TLS (SSLRequest: S)' : 'no TLS (SSLRequest: N)' }) : null),
    },
    {
      name: 'postgres-startup',
      cost: 4,
      ports: [5432],
      // StartupMessage 3.0 for a user that names the probe; the server answers with an authentication request or an error.
      payload() {
        const w = new ByteWriter();
        const done = w.lengthAt('u32', true);
        w.u32(196608).cstring('user').cstring('portolan-identify').cstring('database').cstring('portolan-identify').u8(0);
        done();
        return w.finish();
      },
      recognize(b, t) {
        if (b.length >= 9 && b[0] === 0x52 && b[1] === 0 && b[2] === 0 && b[4] >= 8) return high('postgres', { product: 'PostgreSQL', info: 'asks for authentication' });
        if (b.length >= 9 && b[0] === 0x45 && b[1] === 0 && /^E[^]{4}S(FATAL|ERROR|PANIC)\x00/.test(t)) return high('postgres', { product: 'PostgreSQL', info: /\x00M([^\x00]{1,160})/.exec(t)?.[1] });
        return null;
      },
    },
  ],
};
