// Gearman client driver (gearman.org "Protocol"): submit and follow a job, ask its status, and the text admin commands.
import type { Conn } from '../../core/conn.ts';
import { fromLatin1 } from '../../core/bytes.ts';
import { ProtocolError, ServerError } from '../../core/errors.ts';
import { describePacket, encodeRequest, packetFrame, packetName, PACKET, type Packet } from './codec.ts';

/** At most this many WORK_DATA / WARNING / STATUS packets are kept for one job. */
const MAX_UPDATES = 10_000;

export class GearmanClient {
  private readonly frame;

  constructor(
    readonly conn: Conn,
    maxSize?: number,
  ) {
    this.frame = packetFrame(maxSize);
  }

  async send(type: number, args: readonly (Uint8Array | string)[]): Promise<void> {
    const shown = args.map((a) => (typeof a === 'string' ? JSON.stringify(a) : `${a.length} bytes`)).join(' ');
    await this.conn.write(encodeRequest(type, args), { decode: `${packetName(type)} ${shown}` });
  }

  /** The next packet; ERROR is thrown with the server's code and text. */
  async next(): Promise<Packet> {
    const p = await this.conn.readFrame(this.frame, 'Gearman packet', describePacket);
    if (p.type === PACKET.ERROR) {
      const [code, text] = p.args.map(fromLatin1);
      throw new ServerError(`${code}: ${text}`, { code });
    }
    return p;
  }

  async expect(type: number): Promise<Packet> {
    const p = await this.next();
    if (p.type !== type) throw new ProtocolError(`expected ${packetName(type)}, got ${p.name}`);
    return p;
  }
}

export type JobEnd = 'complete' | 'fail' | 'exception';

export interface JobResult {
  handle: string;
  end: JobEnd;
  data: Uint8Array[];
  warnings: Uint8Array[];
  status: { numerator: number; denominator: number }[];
  result: Uint8Array | null;
  exception: Uint8Array | null;
}

/** Reads a foreground job's packets until WORK_COMPLETE, WORK_FAIL or WORK_EXCEPTION. */
export async function followJob(c: GearmanClient, handle: string): Promise<JobResult> {
  const out: JobResult = { handle, end: 'complete', data: [], warnings: [], status: [], result: null, exception: null };
  for (let n = 0; ; n++) {
    const p = await c.next();
    if (fromLatin1(p.args[0]) !== handle) continue;
    const keep = n < MAX_UPDATES;
    switch (p.type) {
      case PACKET.WORK_DATA:
        if (keep) out.data.push(p.args[1]);
        break;
      case PACKET.WORK_WARNING:
        if (keep) out.warnings.push(p.args[1]);
        break;
      case PACKET.WORK_STATUS:
        if (keep) out.status.push({ numerator: Number(fromLatin1(p.args[1])), denominator: Number(fromLatin1(p.args[2])) });
        break;
      case PACKET.WORK_COMPLETE:
        out.result = p.args[1];
        return out;
      case PACKET.WORK_FAIL:
        out.end = 'fail';
        return out;
      case PACKET.WORK_EXCEPTION:
        out.end = 'exception';
        out.exception = p.args[1];
        return out;
      default:
        throw new ProtocolError(`unexpected ${p.name} while waiting for the job's end`);
    }
  }
}

/** Sends an admin command and reads its "."-terminated list, each line parsed as it arrives (a peer that is not gearmand fails at its first line). */
export async function adminList<T>(conn: Conn, command: string, parseLine: (line: string) => T, maxLines = 10_000): Promise<T[]> {
  await conn.write(`${command}\n`, { decode: command });
  const items: T[] = [];
  for (;;) {
    const line = await conn.readLine({ max: 64 * 1024 });
    if (line === '.') return items;
    if (items.length === 0 && line.startsWith('ERR ')) throw new ServerError(line.slice(4));
    if (items.length >= maxLines) throw new ProtocolError(`${command} answered more than ${maxLines} lines`);
    items.push(parseLine(line));
  }
}

/** Sends an admin command answered by one line ("OK ..." or "ERR ..."). */
export async function adminLine(conn: Conn, command: string): Promise<string> {
  await conn.write(`${command}\n`, { decode: command });
  const line = await conn.readLine({ max: 64 * 1024 });
  if (line.startsWith('ERR ')) throw new ServerError(line.slice(4));
  return line;
}
