// git:// client (gitprotocol-pack.txt "Git Transport", gitprotocol-v2.txt): the request line asking for
// protocol v2, capability advertisement, ls-refs and fetch; and protocol v0 (the ref advertisement, want /
// deepen / done, NAK, side-band-64k) when the server does not speak v2.
import { concat, fromUtf8 } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import { ProtocolError, ServerError } from '../../core/errors.ts';
import { DELIM, FLUSH, parseAdvertisement, parseLsRef, pktFrame, pktLine, pktText, requestLine, type Pkt, type Ref } from './codec.ts';

const AGENT = 'agent=portolan/0.1';

function describePkt(p: Pkt): string {
  if (p.kind !== 'data') return p.kind === 'flush' ? 'flush-pkt' : p.kind === 'delim' ? 'delim-pkt' : 'response-end-pkt';
  if (p.data[0] === 1 || p.data[0] === 2 || p.data[0] === 3) return `side-band ${p.data[0]}, ${p.data.length - 1} bytes`;
  return JSON.stringify(fromUtf8(p.data.subarray(0, 120)));
}

export class GitClient {
  version: 0 | 2 = 2;
  capabilities: string[] = [];
  /** v0: the refs came with the greeting. */
  advertised: Ref[] = [];

  constructor(readonly conn: Conn) {}

  private async pkt(): Promise<Pkt> {
    const p = await this.conn.readFrame(pktFrame, 'pkt-line', describePkt);
    // "ERR <message>" is how a server refuses (gitprotocol-pack: "ERR" pkt-line).
    if (p.kind === 'data' && p.data.length >= 4 && p.data[0] === 0x45 && p.data[1] === 0x52 && p.data[2] === 0x52 && p.data[3] === 0x20) {
      throw new ServerError(`git server: ${pktText(p.data).slice(4)}`);
    }
    return p;
  }

  /** Lines up to a flush (or delimiter); text without the LF. */
  private async lines(max = 100_000): Promise<{ lines: string[]; end: Pkt['kind'] }> {
    const out: string[] = [];
    for (;;) {
      const p = await this.pkt();
      if (p.kind !== 'data') return { lines: out, end: p.kind };
      if (out.length >= max) throw new ProtocolError(`more than ${max} lines`);
      out.push(pktText(p.data));
    }
  }

  /** Sends the request line; reads v2's capability advertisement or v0's ref advertisement. */
  async open(path: string, host: string, want: 'auto' | 'v2' | 'v0'): Promise<void> {
    await this.conn.write(requestLine(path, host, want === 'v0' ? [] : ['version=2']), { decode: `git-upload-pack ${path}${want === 'v0' ? '' : ' (version=2)'}` });
    const first = await this.pkt();
    if (first.kind === 'flush') {
      // v0 with no refs at all: an empty repository.
      this.version = 0;
      return;
    }
    if (first.kind !== 'data') throw new ProtocolError(`the server began with a ${first.kind} packet`);
    const text = pktText(first.data);
    if (text === 'version 2') {
      this.version = 2;
      this.capabilities = (await this.lines()).lines;
      return;
    }
    if (want === 'v2') throw new ProtocolError(`the server answered in protocol v0 (${JSON.stringify(text.slice(0, 60))}) though v2 was required`);
    this.version = 0;
    // "version 1" may precede a v0 advertisement.
    const rest = (await this.lines()).lines;
    const adv = parseAdvertisement(text === 'version 1' ? rest : [text, ...rest]);
    this.advertised = adv.refs;
    this.capabilities = adv.capabilities;
  }

  async lsRefs(prefixes: string[]): Promise<Ref[]> {
    if (this.version === 0) return prefixes.length ? this.advertised.filter((r) => prefixes.some((p) => r.name.startsWith(p))) : this.advertised;
    const args = ['peel', 'symrefs', 'unborn', ...prefixes.map((p) => `ref-prefix ${p}`)].filter((a) => a !== 'unborn' || this.capabilities.some((c) => c.startsWith('ls-refs') && c.includes('unborn')));
    await this.conn.write(concat([pktLine('command=ls-refs\n'), pktLine(`${AGENT}\n`), DELIM, ...args.map((a) => pktLine(`${a}\n`)), FLUSH]), { decode: `ls-refs ${args.join(', ')}` });
    return (await this.lines()).lines.map(parseLsRef);
  }

  /** Fetches a pack for `wants` (with a depth); returns the pack bytes (capped) and the shallow boundary. */
  async fetch(wants: string[], depth: number | undefined, maxPackBytes: number): Promise<{ pack: Uint8Array; shallow: string[] }> {
    return this.version === 2 ? this.fetchV2(wants, depth, maxPackBytes) : this.fetchV0(wants, depth, maxPackBytes);
  }

  private async fetchV2(wants: string[], depth: number | undefined, max: number): Promise<{ pack: Uint8Array; shallow: string[] }> {
    const args = ['no-progress', 'ofs-delta', ...(depth ? [`deepen ${depth}`] : []), ...wants.map((w) => `want ${w}`), 'done'];
    await this.conn.write(concat([pktLine('command=fetch\n'), pktLine(`${AGENT}\n`), DELIM, ...args.map((a) => pktLine(`${a}\n`)), FLUSH]), { decode: `fetch ${args.join(', ')}` });
    const shallow: string[] = [];
    // Sections (gitprotocol-v2 "fetch"): shallow-info, wanted-refs, packfile-uris, then packfile.
    for (;;) {
      const head = await this.pkt();
      if (head.kind !== 'data') throw new ProtocolError(`fetch response: a ${head.kind} packet where a section header belongs`);
      const section = pktText(head.data);
      if (section === 'packfile') return { pack: await this.sideband(max), shallow };
      const { lines, end } = await this.lines();
      if (section === 'shallow-info') for (const l of lines) if (l.startsWith('shallow ')) shallow.push(l.slice(8));
      if (end !== 'delim') throw new ProtocolError(`fetch response: the ${section} section is not followed by a packfile`);
    }
  }

  private async fetchV0(wants: string[], depth: number | undefined, max: number): Promise<{ pack: Uint8Array; shallow: string[] }> {
    const caps = ['side-band-64k', 'ofs-delta', 'no-progress', ...(depth ? ['shallow'] : []), AGENT].filter((c) => c === AGENT || this.capabilities.includes(c));
    if (!caps.includes('side-band-64k')) throw new ProtocolError('the server does not offer side-band-64k');
    const out = wants.map((w, i) => pktLine(`want ${w}${i === 0 ? ` ${caps.join(' ')}` : ''}\n`));
    if (depth) out.push(pktLine(`deepen ${depth}\n`));
    out.push(FLUSH);
    await this.conn.write(concat(out), { decode: `want ${wants.join(', ')}${depth ? `, deepen ${depth}` : ''}` });
    const shallow: string[] = [];
    if (depth) for (const l of (await this.lines()).lines) if (l.startsWith('shallow ')) shallow.push(l.slice(8));
    await this.conn.write(pktLine('done\n'), { decode: 'done' });
    const ack = await this.pkt();
    if (ack.kind !== 'data' || !/^(NAK|ACK )/.test(pktText(ack.data))) throw new ProtocolError('expected NAK or ACK before the pack');
    return { pack: await this.sideband(max), shallow };
  }

  /** Side-band-64k: band 1 is pack data, 2 progress, 3 a fatal error in the server's words. */
  private async sideband(max: number): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const p = await this.pkt();
      if (p.kind === 'flush') break;
      if (p.kind !== 'data' || p.data.length === 0) throw new ProtocolError('malformed side-band packet');
      const band = p.data[0];
      if (band === 1) {
        size += p.data.length - 1;
        if (size > max) throw new ProtocolError(`the pack is larger than the ${max}-byte limit (fetch less history: a smaller depth)`);
        parts.push(p.data.subarray(1));
      } else if (band === 3) throw new ServerError(`git server: ${pktText(p.data.subarray(1)).trim()}`);
      else if (band !== 2) throw new ProtocolError(`side-band ${band} is not 1, 2 or 3`);
    }
    return concat(parts);
  }
}
