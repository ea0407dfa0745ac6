// Zone transfers: AXFR, RFC 5936 §2.2 (the response: SOA, the zone, SOA again, over one or more messages),
// and IXFR, RFC 1995 §4 (SOA new, then for each change SOA old, deletions, SOA next, additions, then SOA
// new; a single SOA when the client is current; an AXFR-shaped answer when the server cannot do better).
// Serial comparison per RFC 1982.
//
// How it works: `ZoneTransfer` is sans-I/O. It is handed each response message in turn and answers whether
// it needs more; it checks the framing rules the RFCs give (first record an SOA of the zone, nothing after
// the closing SOA, every message NOERROR) and caps the records it keeps. The driver reads messages from a
// stream session until the transfer says it is done.
import { ProtocolError } from '../../core/errors.ts';
import type { DnsMessage, DnsRecord } from './codec.ts';
import { sameName } from './names.ts';

/** RFC 1982 §3.2: s1 < s2 in 32-bit serial number arithmetic. */
export function serialLess(s1: number, s2: number): boolean {
  return s1 !== s2 && ((s1 < s2 && s2 - s1 < 0x80000000) || (s1 > s2 && s1 - s2 > 0x80000000));
}

export interface Diff {
  fromSerial: number;
  toSerial: number;
  deleted: DnsRecord[];
  added: DnsRecord[];
}

export type TransferStyle = 'axfr' | 'incremental' | 'up-to-date' | 'refused';

export interface TransferState {
  style: TransferStyle;
  rcode: string;
  /** The zone's serial on the server (from the first SOA). */
  serial: number | null;
  /** The whole zone (AXFR, or an IXFR answered AXFR-style), closing SOA excluded. */
  records: DnsRecord[];
  diffs: Diff[];
  messages: number;
  /** Records counted (including those past the cap). */
  recordCount: number;
  /** True when more records came than the cap let us keep. */
  truncated: boolean;
}

const isSoa = (rr: DnsRecord) => rr.type === 'SOA';
const serialOf = (rr: DnsRecord) => rr.data.serial as number;

export class ZoneTransfer {
  private readonly state: TransferState = { style: 'axfr', rcode: 'NOERROR', serial: null, records: [], diffs: [], messages: 0, recordCount: 0, truncated: false };
  private phase: 'start' | 'second' | 'zone' | 'deleting' | 'adding' | 'done' = 'start';
  private current: Diff | undefined;
  private kept = 0;

  constructor(
    private readonly kind: 'AXFR' | 'IXFR',
    private readonly zone: string,
    private readonly limits: { maxRecords: number; maxMessages: number },
    private readonly clientSerial?: number,
  ) {}

  get done(): boolean {
    return this.phase === 'done';
  }

  result(): TransferState {
    return this.state;
  }

  private keep(list: DnsRecord[], rr: DnsRecord): void {
    this.state.recordCount++;
    if (this.kept >= this.limits.maxRecords) {
      this.state.truncated = true;
      return;
    }
    this.kept++;
    list.push(rr);
  }

  /** Takes one response message; returns true when the transfer is complete. */
  accept(msg: DnsMessage): boolean {
    if (this.phase === 'done') throw new ProtocolError(`${this.kind}: a message arrived after the transfer ended`);
    this.state.messages++;
    if (this.state.messages > this.limits.maxMessages) throw new ProtocolError(`${this.kind}: more than ${this.limits.maxMessages} messages`);
    if (msg.rcode !== 'NOERROR') {
      // RFC 5936 §2.2: an error code ends the transfer. Before any record it is the server's answer.
      if (this.state.messages === 1) {
        this.state.rcode = msg.rcode;
        this.state.style = 'refused';
        this.phase = 'done';
        return true;
      }
      throw new ProtocolError(`${this.kind}: server answered ${msg.rcode} in message ${this.state.messages}, after the transfer began`);
    }
    for (const [i, rr] of msg.answers.entries()) {
      if (this.done) throw new ProtocolError(`${this.kind}: ${msg.answers.length - i} record(s) after the closing SOA (RFC 5936 §2.2)`);
      this.step(rr);
    }
    // IXFR: a lone SOA whose serial is not newer than the client's means "you are current" (RFC 1995 §4).
    if (this.kind === 'IXFR' && this.phase === 'second' && this.clientSerial !== undefined && !serialLess(this.clientSerial, this.state.serial!)) {
      this.state.style = 'up-to-date';
      this.phase = 'done';
    }
    if (this.state.messages === 1 && msg.answers.length === 0) throw new ProtocolError(`${this.kind}: first message holds no records`);
    return this.phase === 'done';
  }

  private step(rr: DnsRecord): void {
    switch (this.phase) {
      case 'start':
        // RFC 5936 §2.2: the first record is the SOA of the zone.
        if (!isSoa(rr) || !sameName(rr.name, this.zone)) throw new ProtocolError(`${this.kind}: first record is ${rr.name} ${rr.type}, not the SOA of ${this.zone} (RFC 5936 §2.2)`);
        this.state.serial = serialOf(rr);
        this.keep(this.state.records, rr);
        this.phase = 'second';
        return;
      case 'second':
        if (this.kind === 'IXFR' && isSoa(rr)) {
          // RFC 1995 §4: a second SOA starts the first difference (the old version's SOA).
          if (serialOf(rr) === this.state.serial) {
            // SOA new, SOA new: an empty zone transferred AXFR-style, or nothing changed.
            this.phase = 'done';
            return;
          }
          this.state.style = 'incremental';
          this.state.records = [];
          this.kept = 0;
          this.state.recordCount = 0;
          this.current = { fromSerial: serialOf(rr), toSerial: 0, deleted: [], added: [] };
          this.keep(this.current.deleted, rr);
          this.phase = 'deleting';
          return;
        }
        this.phase = 'zone';
        this.step(rr);
        return;
      case 'zone':
        if (isSoa(rr)) {
          if (serialOf(rr) !== this.state.serial) throw new ProtocolError(`${this.kind}: closing SOA has serial ${serialOf(rr)}, the opening one ${this.state.serial} (RFC 5936 §2.2)`);
          this.phase = 'done';
          return;
        }
        this.keep(this.state.records, rr);
        return;
      case 'deleting':
        if (isSoa(rr)) {
          this.current!.toSerial = serialOf(rr);
          this.keep(this.current!.added, rr);
          this.phase = 'adding';
          return;
        }
        this.keep(this.current!.deleted, rr);
        return;
      case 'adding':
        if (isSoa(rr)) {
          this.state.diffs.push(this.current!);
          if (serialOf(rr) === this.state.serial && this.current!.toSerial === this.state.serial) {
            this.phase = 'done';
            return;
          }
          this.current = { fromSerial: serialOf(rr), toSerial: 0, deleted: [], added: [] };
          this.keep(this.current.deleted, rr);
          this.phase = 'deleting';
          return;
        }
        this.keep(this.current!.added, rr);
        return;
      case 'done':
        return;
    }
  }
}

/** Records per type, for the summary of a transfer. */
export function countByType(records: DnsRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const rr of records) out[rr.type] = (out[rr.type] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}
