// A JDWP session over a Conn: handshake, then one command at a time; event packets the VM sends in between
// are skipped (no event requests are made, so only VM_START/VM_DEATH can arrive).
import type { Conn } from '../../core/conn.ts';
import { equalBytes, fromLatin1 } from '../../core/bytes.ts';
import { ProtocolError, ServerError } from '../../core/errors.ts';
import { Commands, ERRORS, HANDSHAKE, encodeCommand, packetFrame } from './codec.ts';

const NAMES = Object.fromEntries(Object.entries(Commands).map(([name, [set, cmd]]) => [`${set}.${cmd}`, name]));

export class JdwpClient {
  private nextId = 1;
  constructor(readonly conn: Conn) {}

  async handshake(): Promise<void> {
    await this.conn.write(HANDSHAKE, { decode: 'JDWP-Handshake' });
    const answer = await this.conn.readExact(HANDSHAKE.length, 'JDWP handshake');
    if (!equalBytes(answer, HANDSHAKE)) throw new ProtocolError(`the peer answered ${JSON.stringify(fromLatin1(answer))} instead of JDWP-Handshake`);
  }

  async command(cmd: readonly [number, number], data?: Uint8Array): Promise<Uint8Array> {
    const id = this.nextId++;
    const name = NAMES[`${cmd[0]}.${cmd[1]}`] ?? `${cmd[0]}.${cmd[1]}`;
    await this.conn.write(encodeCommand(id, cmd, data), { decode: `command ${id} ${name}` });
    for (;;) {
      const p = await this.conn.readFrame(packetFrame, `${name} reply`, (x) => (x.kind === 'reply' ? `reply ${x.id}${x.errorCode ? ` error ${x.errorCode}` : ''}, ${x.data.length} bytes` : `event packet ${x.commandSet}.${x.command}`));
      if (p.kind === 'command') continue;
      if (p.id !== id) throw new ProtocolError(`reply for packet ${p.id}, expected ${id}`);
      if (p.errorCode !== 0) throw new ServerError(`JDWP ${name}: error ${p.errorCode} ${ERRORS[p.errorCode] ?? ''}`.trim(), { errorCode: p.errorCode });
      return p.data;
    }
  }

  /** VirtualMachine.Dispose: the VM forgets this debugger and resumes what it suspended. */
  async dispose(): Promise<void> {
    await this.command(Commands.Dispose).catch(() => undefined);
  }
}
