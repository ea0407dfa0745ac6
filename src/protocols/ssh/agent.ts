// The SSH agent protocol (draft-miller-ssh-agent), the part a forwarded agent answers: REQUEST_IDENTITIES and
// SIGN_REQUEST (with the rsa-sha2-256/512 flags, section 4.5.1); every other request gets SSH_AGENT_FAILURE,
// as the draft asks of an agent that does not do it (adding and removing keys, locking, extensions).
// Sans-I/O: `agentFrame` cuts messages (uint32 length, then the type byte and contents), `decodeAgentRequest`
// reads one, the encoders build answers. `SshAgent` holds private keys (in the page, in end-to-end mode) and
// answers requests; OpenSSH's forwarded agent channel is `auth-agent@openssh.com` (OpenSSH PROTOCOL 4.1).
import type { Frame } from '../../core/conn.ts';
import { equalBytes } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { FrameDecoder } from '../../core/framing.ts';
import type { SshConnection } from './connection.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { fingerprintSha256 } from './hostkey.ts';
import type { PrivateKey } from './keys.ts';
import { SshReader, SshWriter } from './wire.ts';

/** draft-miller-ssh-agent 6.1: message numbers. */
export const AGENT = {
  FAILURE: 5,
  SUCCESS: 6,
  REQUEST_IDENTITIES: 11,
  IDENTITIES_ANSWER: 12,
  SIGN_REQUEST: 13,
  SIGN_RESPONSE: 14,
  EXTENSION: 27,
} as const;

/** draft-miller-ssh-agent 6.6: signature flags. */
export const AGENT_FLAGS = { RSA_SHA2_256: 2, RSA_SHA2_512: 4 } as const;

/** Longest agent message accepted (OpenSSH's agent takes 256 KiB; a sign request carries a userauth request, a few KiB). */
export const MAX_AGENT_MESSAGE = 256 * 1024;
/** Most keys one IDENTITIES_ANSWER may list when decoding one. */
const MAX_IDENTITIES = 1024;

/** One message: its type and contents (the bytes after the type). */
export interface AgentMessage {
  type: number;
  body: Uint8Array;
}

/** Cuts the stream into messages: uint32 length (at least 1, the type), type byte, contents. */
export const agentFrame: Frame<AgentMessage> = (buf) => {
  if (buf.length < 4) return undefined;
  const n = ((buf[0] << 24) | (buf[1] << 16) | (buf[2] << 8) | buf[3]) >>> 0;
  if (n === 0) throw new ProtocolError('agent message length: 0 (a message has at least its type byte)');
  if (n > MAX_AGENT_MESSAGE) throw new ProtocolError(`agent message length: ${n} exceeds ${MAX_AGENT_MESSAGE}`);
  if (buf.length < 4 + n) return undefined;
  return { value: { type: buf[4], body: buf.slice(5, 4 + n) }, size: 4 + n };
};

export type AgentRequest =
  | { kind: 'identities' }
  | { kind: 'sign'; key: Uint8Array; data: Uint8Array; flags: number }
  | { kind: 'extension'; name: string }
  | { kind: 'other'; type: number };

/** Reads one request; a message of a known type with wrong contents throws ProtocolError naming the field. */
export function decodeAgentRequest(m: AgentMessage): AgentRequest {
  const r = new SshReader(m.body);
  switch (m.type) {
    case AGENT.REQUEST_IDENTITIES:
      ended(r, 'REQUEST_IDENTITIES');
      return { kind: 'identities' };
    case AGENT.SIGN_REQUEST: {
      const key = r.string('SIGN_REQUEST key blob', 16 * 1024);
      const data = r.string('SIGN_REQUEST data', MAX_AGENT_MESSAGE);
      const flags = r.u32('SIGN_REQUEST flags');
      ended(r, 'SIGN_REQUEST');
      return { kind: 'sign', key, data, flags };
    }
    case AGENT.EXTENSION:
      return { kind: 'extension', name: r.text('extension type', 256) };
    default:
      return { kind: 'other', type: m.type };
  }
}

function message(type: number, body?: (w: SshWriter) => void): Uint8Array {
  const w = new SshWriter(64);
  const length = w.lengthAt('u32');
  w.u8(type);
  body?.(w);
  return length().finish();
}

/** Nothing may follow a message's last field. */
function ended(r: SshReader, what: string): void {
  if (!r.done) throw new ProtocolError(`${what}: ${r.remaining} bytes after the last field`);
}

export const encodeAgentFailure = (): Uint8Array => message(AGENT.FAILURE);
export const encodeRequestIdentities = (): Uint8Array => message(AGENT.REQUEST_IDENTITIES);

export function encodeIdentitiesAnswer(keys: { blob: Uint8Array; comment: string }[]): Uint8Array {
  return message(AGENT.IDENTITIES_ANSWER, (w) => {
    w.u32(keys.length);
    for (const k of keys) w.string(k.blob).string(k.comment);
  });
}

export function encodeSignRequest(key: Uint8Array, data: Uint8Array, flags: number): Uint8Array {
  return message(AGENT.SIGN_REQUEST, (w) => w.string(key).string(data).u32(flags));
}

export function encodeSignResponse(signature: Uint8Array): Uint8Array {
  return message(AGENT.SIGN_RESPONSE, (w) => w.string(signature));
}

/** An agent's answer, as a client reads it (the other side of the codec, for tests and tools). */
export type AgentAnswer = { kind: 'failure' } | { kind: 'success' } | { kind: 'identities'; keys: { blob: Uint8Array; comment: string }[] } | { kind: 'signature'; signature: Uint8Array };

export function decodeAgentAnswer(m: AgentMessage): AgentAnswer {
  const r = new SshReader(m.body);
  switch (m.type) {
    case AGENT.FAILURE:
      return { kind: 'failure' };
    case AGENT.SUCCESS:
      return { kind: 'success' };
    case AGENT.IDENTITIES_ANSWER: {
      const n = r.u32('IDENTITIES_ANSWER nkeys');
      if (n > MAX_IDENTITIES) throw new ProtocolError(`IDENTITIES_ANSWER nkeys: ${n} exceeds ${MAX_IDENTITIES}`);
      const keys = [];
      for (let i = 0; i < n; i++) keys.push({ blob: r.string('IDENTITIES_ANSWER key blob', 16 * 1024).slice(), comment: r.text('IDENTITIES_ANSWER comment', 4096) });
      ended(r, 'IDENTITIES_ANSWER');
      return { kind: 'identities', keys };
    }
    case AGENT.SIGN_RESPONSE: {
      const signature = r.string('SIGN_RESPONSE signature', 16 * 1024).slice();
      ended(r, 'SIGN_RESPONSE');
      return { kind: 'signature', signature };
    }
    default:
      throw new ProtocolError(`agent answer type: ${m.type} is not FAILURE, SUCCESS, IDENTITIES_ANSWER or SIGN_RESPONSE`);
  }
}

/** What the agent did for one request, for the operation's report (never the data signed). */
export interface AgentEvent {
  request: 'identities' | 'sign' | 'extension' | 'other';
  /** The key asked to sign with (SHA256 fingerprint). */
  key?: string;
  /** The signature algorithm used (rsa-sha2-512 for an RSA key with that flag ...). */
  algorithm?: string;
  /** What was asked of it besides a known request: the extension name or message number. */
  detail?: string;
  answered: 'identities' | 'signature' | 'failure';
}

/** The signature algorithm for `key` under the request's flags (draft-miller-ssh-agent 4.5.1). */
export function signatureAlgorithm(key: PrivateKey, flags: number): string {
  if (key.type !== 'ssh-rsa') return key.type;
  if (flags & AGENT_FLAGS.RSA_SHA2_512) return 'rsa-sha2-512';
  if (flags & AGENT_FLAGS.RSA_SHA2_256) return 'rsa-sha2-256';
  return 'ssh-rsa';
}

/** An agent holding keys: answers requests with identities and signatures; each answer is noted in `events`. */
export class SshAgent {
  readonly events: AgentEvent[] = [];

  constructor(
    private readonly crypto: CryptoPort,
    private readonly keys: PrivateKey[],
    /** Asked before every signature (a confirm prompt); false refuses it with SSH_AGENT_FAILURE. */
    private readonly confirm: (key: PrivateKey, fingerprint: string) => Promise<boolean> = async () => true,
    private readonly maxEvents = 1000,
  ) {}

  private note(e: AgentEvent): void {
    if (this.events.length < this.maxEvents) this.events.push(e);
  }

  /** The answer to one message. */
  async answer(m: AgentMessage): Promise<Uint8Array> {
    let req: AgentRequest;
    try {
      req = decodeAgentRequest(m);
    } catch {
      this.note({ request: 'other', detail: `malformed message ${m.type}`, answered: 'failure' });
      return encodeAgentFailure();
    }
    if (req.kind === 'identities') {
      this.note({ request: 'identities', answered: 'identities' });
      return encodeIdentitiesAnswer(this.keys.map((k) => ({ blob: k.publicBlob, comment: k.comment })));
    }
    if (req.kind === 'sign') {
      const key = this.keys.find((k) => equalBytes(k.publicBlob, req.key));
      const fingerprint = await fingerprintSha256(this.crypto, req.key);
      if (!key || !(await this.confirm(key, fingerprint))) {
        this.note({ request: 'sign', key: fingerprint, answered: 'failure' });
        return encodeAgentFailure();
      }
      const algorithm = signatureAlgorithm(key, req.flags);
      const signature = await key.sign(algorithm, req.data);
      this.note({ request: 'sign', key: fingerprint, algorithm, answered: 'signature' });
      return encodeSignResponse(signature);
    }
    this.note({ request: req.kind, detail: req.kind === 'extension' ? req.name : `message ${req.type}`, answered: 'failure' });
    return encodeAgentFailure();
  }
}

/**
 * Answers the agent channels the server opens on `connection` (`auth-agent@openssh.com`, one per use of the
 * forwarded agent on the server) with `agent`, message by message, until the server closes each.
 */
export function serveAgent(connection: SshConnection, agent: SshAgent): void {
  connection.accept('auth-agent@openssh.com', (ch) => {
    void (async () => {
      const decoder = new FrameDecoder(agentFrame, MAX_AGENT_MESSAGE + 4);
      try {
        for (;;) {
          const chunk = await ch.read();
          if (!chunk) break;
          for (const m of decoder.feed(chunk.data)) await ch.write(await agent.answer(m));
        }
      } catch {
        // A malformed stream or a failed connection ends this agent channel only.
      }
      await ch.close().catch(() => {});
    })();
  });
}
