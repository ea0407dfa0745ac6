// ZMTP session driver (23/ZMTP, 37/ZMTP, 24/ZMTP-PLAIN): greeting, the NULL or PLAIN handshake, and multipart messages.
//
// How it works: both greetings cross; the mechanisms must match. NULL: each side sends READY with
// its metadata (Socket-Type, Identity). PLAIN: the client sends HELLO with the credentials, the
// server answers WELCOME (or ERROR when its ZAP handler refuses them), the client sends INITIATE
// with its metadata and the server READY with its own. Messages are runs of frames with MORE;
// PING commands that arrive meanwhile (ZMTP 3.1 heartbeats) are answered with PONG.
import type { Conn } from '../../core/conn.ts';
import { fromLatin1 } from '../../core/bytes.ts';
import { AuthError, ProtocolError, ServerError } from '../../core/errors.ts';
import { ByteReader, ByteWriter } from '../../core/bytes.ts';
import {
  COMPATIBLE,
  GREETING_SIZE,
  decodeGreeting,
  decodeMetadata,
  describeFrame,
  encodeCommand,
  encodeGreeting,
  encodeMessage,
  encodeMetadata,
  encodePlainHello,
  errorReason,
  frameFrame,
  type Greeting,
  type ZmtpFrame,
} from './codec.ts';

export interface HandshakeOptions {
  socketType: 'REQ' | 'DEALER';
  identity?: Uint8Array;
  username?: string;
  password?: string;
  maxFrameBytes?: number;
}

export interface Peer {
  greeting: Greeting;
  metadata: [string, Uint8Array][];
  socketType: string | null;
}

const MAX_FRAMES = 10_000;

export class ZmtpClient {
  private readonly frame;
  peer!: Peer;

  constructor(
    readonly conn: Conn,
    maxFrameBytes?: number,
  ) {
    this.frame = frameFrame(maxFrameBytes);
  }

  private async read(): Promise<ZmtpFrame> {
    return this.conn.readFrame(this.frame, 'ZMTP frame', describeFrame);
  }

  /** The next command of the handshake; ERROR is thrown with the peer's reason. */
  private async command(expected: string): Promise<Uint8Array> {
    const f = await this.read();
    if (!f.command) throw new ProtocolError(`expected the ${expected} command, got a message frame`);
    if (f.name === 'ERROR') {
      const reason = errorReason(f.data);
      throw this.peer?.greeting.mechanism === 'PLAIN' || expected === 'WELCOME' ? new AuthError(`the peer refused the handshake: ${reason || '(no reason given)'}`, { reason }) : new ServerError(`the peer refused the handshake: ${reason}`, { reason });
    }
    if (f.name !== expected) throw new ProtocolError(`expected the ${expected} command, got ${f.name}`);
    return f.data;
  }

  async handshake(opts: HandshakeOptions): Promise<Peer> {
    const mechanism = opts.username !== undefined ? 'PLAIN' : 'NULL';
    // The greeting goes in steps, as 23/ZMTP's version detection has it (and libzmq answers it): the
    // 10-byte signature, the peer's back; our major version, the rest of the peer's greeting back; then
    // the rest of ours. The peer has so sent its mechanism before it reads ours, and a mismatch is named
    // from its greeting rather than guessed from a closed socket.
    const ours = encodeGreeting({ major: 3, minor: 1, mechanism, asServer: false });
    await this.conn.write(ours.subarray(0, 10), { decode: 'greeting signature' });
    const signature = await this.conn.readExact(10, 'ZMTP signature');
    if (signature[0] !== 0xff || signature[9] !== 0x7f) decodeGreeting(new Uint8Array([...signature, ...new Uint8Array(54)]));
    await this.conn.write(ours.subarray(10, 11), { decode: 'greeting major version 3' });
    const greetingBytes = new Uint8Array([...signature, ...(await this.conn.readExact(GREETING_SIZE - 10, 'ZMTP greeting'))]);
    await this.conn.write(ours.subarray(11), { decode: `greeting ZMTP 3.1 ${mechanism} as client` });
    const greeting = decodeGreeting(greetingBytes);
    this.peer = { greeting, metadata: [], socketType: null };
    if (greeting.mechanism !== mechanism) {
      const hint = greeting.mechanism === 'PLAIN' ? ': give username and password' : greeting.mechanism === 'CURVE' ? ': CURVE is not supported here' : '';
      throw new AuthError(`the peer uses the ${greeting.mechanism} mechanism, this side ${mechanism}${hint}`, { mechanism: greeting.mechanism });
    }
    const props: [string, Uint8Array | string][] = [['Socket-Type', opts.socketType]];
    if (opts.identity) props.push(['Identity', opts.identity]);
    const metadata = encodeMetadata(props);
    if (mechanism === 'PLAIN') {
      await this.conn.write(encodeCommand('HELLO', encodePlainHello(opts.username!, opts.password ?? '')), { secret: true, decode: `HELLO PLAIN ${opts.username} ****` });
      await this.command('WELCOME');
      await this.conn.write(encodeCommand('INITIATE', metadata), { decode: `INITIATE Socket-Type=${opts.socketType}` });
    } else {
      await this.conn.write(encodeCommand('READY', metadata), { decode: `READY Socket-Type=${opts.socketType}` });
    }
    this.peer.metadata = decodeMetadata(await this.command('READY'));
    const st = this.peer.metadata.find(([k]) => k.toLowerCase() === 'socket-type');
    this.peer.socketType = st ? fromLatin1(st[1]) : null;
    if (this.peer.socketType && !COMPATIBLE[opts.socketType].includes(this.peer.socketType)) {
      throw new ServerError(`a ${opts.socketType} socket cannot talk to the peer's ${this.peer.socketType} socket (it accepts ${COMPATIBLE[opts.socketType].join(', ')})`);
    }
    return this.peer;
  }

  async send(frames: readonly Uint8Array[]): Promise<void> {
    await this.conn.write(encodeMessage(frames), { decode: `message of ${frames.length} frame(s): ${frames.map((f) => f.length).join(', ')} bytes` });
  }

  /** One whole message (frames until one without MORE); PING is answered, other commands are errors. */
  async receive(): Promise<Uint8Array[]> {
    const frames: Uint8Array[] = [];
    for (;;) {
      const f = await this.read();
      if (f.command) {
        if (f.name === 'PING') {
          await this.conn.write(encodeCommand('PONG', pingContext(f.data)), { decode: 'PONG' });
          continue;
        }
        if (f.name === 'ERROR') throw new ServerError(`the peer sent ERROR: ${errorReason(f.data)}`);
        throw new ProtocolError(`unexpected ${f.name} command inside a message`);
      }
      if (frames.length >= MAX_FRAMES) throw new ProtocolError(`a message of more than ${MAX_FRAMES} frames`);
      frames.push(f.body);
      if (!f.more) return frames;
    }
  }
}

/** PING data: TTL u16 then the context PONG echoes (37/ZMTP "Connection heartbeat"). */
function pingContext(data: Uint8Array): Uint8Array {
  const r = new ByteReader(data);
  if (r.remaining < 2) return new Uint8Array(0);
  r.u16('PING ttl');
  return new ByteWriter().bytes(r.rest()).finish();
}
