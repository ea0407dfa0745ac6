import { ByteReader, ByteWriter, fromLatin1, utf8 } from '../../core/bytes.ts';
import { type Identification, high } from '../../core/identify.ts';

/**
 * A ClientHello (RFC 8446 4.1.2) offering TLS 1.3 and 1.2 (`tls13` false: 1.2 alone, so a TLS 1.2 ServerHello
 * shows the ALPN choice in clear) with ALPN h2 and http/1.1. Its X25519 key share is random: the probe reads the
 * ServerHello and hangs up.
 */
export function clientHello(host: string, random: (n: number) => Uint8Array, tls13 = true): Uint8Array {
  const ext = new ByteWriter();
  const extension = (type: number, body: Uint8Array) => ext.u16(type).u16(body.length).bytes(body);
  if (/[a-z]/i.test(host) && !host.includes(':')) {
    const name = utf8(host);
    extension(0, new ByteWriter().u16(name.length + 3).u8(0).u16(name.length).bytes(name).finish());
  }
  extension(10, new ByteWriter().u16(6).u16(0x001d).u16(0x0017).u16(0x0018).finish());
  extension(11, Uint8Array.of(1, 0));
  const sigs = [0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0201, 0x0203];
  const s = new ByteWriter().u16(sigs.length * 2);
  sigs.forEach((x) => s.u16(x));
  extension(13, s.finish());
  const alpn = new ByteWriter();
  for (const p of ['h2', 'http/1.1']) alpn.lengthPrefixed('u8', p);
  const alpnList = alpn.finish();
  extension(16, new ByteWriter().u16(alpnList.length).bytes(alpnList).finish());
  if (tls13) {
    extension(43, Uint8Array.of(4, 0x03, 0x04, 0x03, 0x03));
    extension(45, Uint8Array.of(1, 1));
    extension(51, new ByteWriter().u16(36).u16(0x001d).u16(32).bytes(random(32)).finish());
  }
  const suites = [0x1301, 0x1302, 0x1303, 0xc02f, 0xc030, 0xc02b, 0xc02c, 0xcca8, 0xcca9, 0x009c, 0x009d, 0x002f, 0x0035];
  const body = new ByteWriter().u16(0x0303).bytes(random(32)).u8(32).bytes(random(32)).u16(suites.length * 2);
  suites.forEach((x) => body.u16(x));
  const extensions = ext.finish();
  body.u8(1).u8(0).u16(extensions.length).bytes(extensions);
  const hello = body.finish();
  const handshake = new ByteWriter().u8(1).u24(hello.length).bytes(hello).finish();
  return new ByteWriter().u8(0x16).u16(0x0301).u16(handshake.length).bytes(handshake).finish();
}

const TLS_NAMES: Record<number, string> = { 0x0300: 'SSLv3', 0x0301: 'TLSv1', 0x0302: 'TLSv1.1', 0x0303: 'TLSv1.2', 0x0304: 'TLSv1.3' };

export interface TlsAnswer {
  /** A ServerHello, or an alert (the server speaks TLS and refused this hello). */
  kind: 'hello' | 'alert';
  version?: string;
  alpn?: string;
  alert?: number;
}

/** Reads the first TLS record of a server's answer (RFC 8446 5.1, 4.1.3); null when it is not TLS. */
export function readTlsAnswer(b: Uint8Array): TlsAnswer | null {
  if (b.length < 5 || (b[0] !== 0x16 && b[0] !== 0x15) || b[1] !== 0x03 || b[2] > 0x04) return null;
  const recordLen = (b[3] << 8) | b[4];
  if (recordLen === 0 || recordLen > 0x4800) return null;
  if (b[0] === 0x15) return b.length >= 7 ? { kind: 'alert', alert: b[6] } : { kind: 'alert' };
  const r = new ByteReader(b.subarray(5, Math.min(b.length, 5 + recordLen)));
  try {
    if (r.u8('handshake type') !== 2) return { kind: 'hello' };
    r.u24('handshake length');
    const legacy = r.u16('server_version');
    r.skip(32, 'random');
    r.skip(r.u8('session id length'), 'session id');
    r.skip(3, 'cipher suite and compression');
    const out: TlsAnswer = { kind: 'hello', version: TLS_NAMES[legacy] };
    if (r.remaining < 2) return out;
    const exts = new ByteReader(r.bytesN(r.u16('extensions length'), 'extensions'));
    while (exts.remaining >= 4) {
      const type = exts.u16('extension type');
      const data = new ByteReader(exts.bytesN(exts.u16('extension length'), 'extension'));
      if (type === 43 && data.remaining >= 2) out.version = TLS_NAMES[data.u16('selected_version')] ?? out.version;
      if (type === 16 && data.remaining >= 3) {
        data.u16('ALPN list length');
        out.alpn = fromLatin1(data.lengthPrefixed('u8', 'ALPN protocol', 255));
      }
    }
    return out;
  } catch {
    // A ServerHello cut short by the read: still TLS.
    return { kind: 'hello' };
  }
}

export const identification: Identification = {
  probes: [
    {
      name: 'tls-client-hello',
      // A TLS alert answers many probes' bytes: only an answer to this ClientHello says TLS.
      ownRepliesOnly: true,
      // A ClientHello costs a server least: no request is processed, the handshake is dropped after its answer.
      cost: 0.5,
      ports: [443, 465, 636, 853, 990, 993, 995, 5349, 6380, 8883, 5671, 2376],
      payload: (host, random) => clientHello(host, random),
      recognize(reply) {
        const t = readTlsAnswer(reply);
        if (!t) return null;
        return high('tls', { info: t.kind === 'alert' ? `alert ${t.alert ?? '?'} to the ClientHello` : `ServerHello ${t.version ?? ''}`.trim() });
      },
    },
  ],
};
