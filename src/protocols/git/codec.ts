// Git wire protocol framing (Documentation/gitprotocol-common.txt, gitprotocol-pack.txt, gitprotocol-v2.txt):
// pkt-lines, the git:// request line, the v0 ref advertisement and v2 ls-refs lines.
//
// How it works: a pkt-line is four hex digits giving its length (the four included), then the payload;
// "0000" is a flush, "0001" a delimiter (v2), "0002" a response end (v2). Payloads are at most 65516 bytes.
import { ByteWriter, fromLatin1, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export const MAX_PKT = 65520;

export type Pkt = { kind: 'data'; data: Uint8Array } | { kind: 'flush' } | { kind: 'delim' } | { kind: 'end' };

export function pktLine(data: Uint8Array | string): Uint8Array {
  const bytes = typeof data === 'string' ? utf8(data) : data;
  if (bytes.length + 4 > MAX_PKT) throw new ProtocolError(`a pkt-line carries at most ${MAX_PKT - 4} bytes`);
  return new ByteWriter(bytes.length + 4).text((bytes.length + 4).toString(16).padStart(4, '0')).bytes(bytes).finish();
}

export const FLUSH = utf8('0000');
export const DELIM = utf8('0001');

export const pktFrame: Frame<Pkt> = (buf) => {
  if (buf.length < 4) {
    for (const b of buf) if (!isHex(b)) throw notPkt(buf);
    return undefined;
  }
  const head = fromLatin1(buf.subarray(0, 4));
  if (!/^[0-9a-f]{4}$/.test(head)) throw notPkt(buf);
  const n = parseInt(head, 16);
  if (n === 0) return { value: { kind: 'flush' }, size: 4 };
  if (n === 1) return { value: { kind: 'delim' }, size: 4 };
  if (n === 2) return { value: { kind: 'end' }, size: 4 };
  if (n < 4) throw new ProtocolError(`pkt-line length ${n} is reserved`);
  if (n > MAX_PKT) throw new ProtocolError(`pkt-line length ${n} exceeds ${MAX_PKT}`);
  if (buf.length < n) return undefined;
  return { value: { kind: 'data', data: buf.slice(4, n) }, size: n };
};

function isHex(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66);
}

function notPkt(buf: Uint8Array): ProtocolError {
  const text = fromLatin1(buf.subarray(0, 40)).replace(/[^\x20-\x7e]/g, '.');
  return new ProtocolError(`not a git pkt-line: ${JSON.stringify(text)}`);
}

/** A pkt-line's text without its trailing LF. */
export function pktText(data: Uint8Array): string {
  const t = fromLatin1(data);
  return t.endsWith('\n') ? t.slice(0, -1) : t;
}

/** The git:// request (gitprotocol-pack "Git Transport"): service, path, host, and extra parameters after a second NUL. */
export function requestLine(path: string, host: string, extra: string[]): Uint8Array {
  let s = `git-upload-pack ${path}\0host=${host}\0`;
  if (extra.length) s += `\0${extra.map((e) => `${e}\0`).join('')}`;
  return pktLine(s);
}

export interface Ref {
  name: string;
  oid: string;
  symref?: string;
  peeled?: string;
}

const OID = /^[0-9a-f]{40}$|^[0-9a-f]{64}$/;

/** v0 advertisement lines: "<oid> <ref>\0<caps>" first, then "<oid> <ref>", with "^{}" lines giving peeled tags. */
export function parseAdvertisement(lines: string[]): { refs: Ref[]; capabilities: string[] } {
  const refs: Ref[] = [];
  let capabilities: string[] = [];
  lines.forEach((line, i) => {
    let text = line;
    if (i === 0) {
      const nul = line.indexOf('\0');
      if (nul >= 0) {
        capabilities = line.slice(nul + 1).split(' ').filter(Boolean);
        text = line.slice(0, nul);
      }
    }
    const m = /^([0-9a-f]+) (.+)$/.exec(text);
    if (!m || !OID.test(m[1])) throw new ProtocolError(`malformed ref advertisement line ${JSON.stringify(line.slice(0, 80))}`);
    // An empty repository advertises "0{40} capabilities^{}".
    if (m[2] === 'capabilities^{}') return;
    if (m[2].endsWith('^{}')) {
      const target = refs.find((r) => r.name === m[2].slice(0, -3));
      if (target) target.peeled = m[1];
      return;
    }
    refs.push({ name: m[2], oid: m[1] });
  });
  for (const cap of capabilities) {
    const m = /^symref=([^:]+):(.+)$/.exec(cap);
    if (m) {
      const r = refs.find((x) => x.name === m[1]);
      if (r) r.symref = m[2];
    }
  }
  return { refs, capabilities };
}

/** v2 ls-refs lines: "<oid> <name> [symref-target:<t>] [peeled:<oid>]" (gitprotocol-v2 "ls-refs"). */
export function parseLsRef(line: string): Ref {
  const [oid, name, ...attrs] = line.split(' ');
  if (!oid || !name || !(OID.test(oid) || oid === 'unborn')) throw new ProtocolError(`malformed ls-refs line ${JSON.stringify(line.slice(0, 80))}`);
  const ref: Ref = { name, oid };
  for (const a of attrs) {
    if (a.startsWith('symref-target:')) ref.symref = a.slice(14);
    else if (a.startsWith('peeled:')) ref.peeled = a.slice(7);
  }
  return ref;
}
