import { ByteWriter, fromLatin1 } from '../../core/bytes.ts';
import { type Finding, type Identification, high, productVersion } from '../../core/identify.ts';

function dnsVersionQuery(random: (n: number) => Uint8Array): Uint8Array {
  const id = random(2);
  const name = new ByteWriter();
  for (const label of ['version', 'bind']) name.lengthPrefixed('u8', label);
  const q = new ByteWriter().bytes(id).u16(0x0000).u16(1).u16(0).u16(0).u16(0).bytes(name.finish()).u8(0).u16(16).u16(3).finish();
  return new ByteWriter().u16(q.length).bytes(q).finish();
}

/** A DNS response over TCP (RFC 1035 4.2.2): QR set, one question; the TXT answer is version.bind's. */
function recognizeDns(b: Uint8Array): Finding | null {
  if (b.length < 14) return null;
  const len = (b[0] << 8) | b[1];
  if (len < 12 || (b[4] & 0x80) === 0 || ((b[6] << 8) | b[7]) !== 1) return null;
  const rcode = b[5] & 0x0f;
  const answers = (b[8] << 8) | b[9];
  let version: string | undefined;
  if (answers > 0 && rcode === 0) {
    // The TXT RDATA is the last record's character-strings; read the first.
    const msg = b.subarray(2, 2 + len);
    const i = msg.length - 1;
    for (let start = 12; start < i; start++) {
      // type TXT (16), class CH (3), then TTL, RDLENGTH, and the string length.
      if (msg[start] === 0 && msg[start + 1] === 16 && msg[start + 2] === 0 && msg[start + 3] === 3 && start > 20) {
        const rdlen = (msg[start + 8] << 8) | msg[start + 9];
        const slen = msg[start + 10];
        if (rdlen >= 1 && slen + 1 <= rdlen && start + 11 + slen <= msg.length) version = fromLatin1(msg.subarray(start + 11, start + 11 + slen));
      }
    }
  }
  const pv = version ? productVersion(version) : {};
  if (version && /^\d/.test(version)) return high('dns', { product: 'BIND', version });
  return high('dns', { ...pv, info: version ? `version.bind "${version}"` : `version.bind refused (rcode ${rcode})` });
}

export const identification: Identification = {
  probes: [
    {
      name: 'dns-version-bind',
      cost: 2,
      ports: [53],
      payload: (_h, random) => dnsVersionQuery(random),
      recognize: (b) => recognizeDns(b),
    },
  ],
};
