// SSH user authentication, RFC 4252 (none 5.2, publickey 7, password 8), RFC 4256 (keyboard-interactive),
// RFC 8332 3.2 and RFC 8308 3.1 (rsa-sha2-* signatures chosen from server-sig-algs).
import { AuthError, ProtocolError } from '../../core/errors.ts';
import { decodeServiceAccept, encodeServiceRequest, messageName, MSG } from './codec.ts';
import { certAlgorithm, describeUserCertificate, type Certificate } from './cert.ts';
import type { PrivateKey } from './keys.ts';
import type { SshTransport } from './transport.ts';
import { SshReader, SshWriter } from './wire.ts';

const CONNECTION = 'ssh-connection';

export interface AuthOutcome {
  /** Methods the server listed on a `none` request. */
  methods: string[];
  /** USERAUTH_BANNER text, if the server sent one. */
  banner: string | null;
  /** The method that succeeded. */
  method: string | null;
}

export interface Credentials {
  username: string;
  password?: string;
  privateKey?: PrivateKey;
  /** An OpenSSH user certificate of privateKey: publickey authentication then presents it instead of the bare key. */
  certificate?: Certificate;
  /** Answers for keyboard-interactive prompts, in order; the password is used when absent. */
  responses?: string[];
  /** Methods to try, in order (default: publickey when a key is given, then password, keyboard-interactive). */
  methods?: Array<'publickey' | 'password' | 'keyboard-interactive'>;
}

interface Failure {
  methods: string[];
  partial: boolean;
}

type Reply = { kind: 'success' } | { kind: 'failure'; failure: Failure } | { kind: 'other'; payload: Uint8Array };

export class Authenticator {
  banner: string | null = null;
  private readonly t: SshTransport;

  constructor(t: SshTransport) {
    this.t = t;
  }

  /**
   * RFC 4252 4: asks for the ssh-userauth service. The first USERAUTH_REQUEST follows without waiting
   * (the server handles messages in order); SERVICE_ACCEPT is checked when the replies are read.
   */
  async start(): Promise<void> {
    await this.t.send(encodeServiceRequest('ssh-userauth'));
  }

  private serviceAccepted = false;

  /** The next reply to a USERAUTH_REQUEST; banners (RFC 4252 5.4) are collected on the way. */
  private async reply(): Promise<Reply> {
    for (;;) {
      const p = await this.t.receive();
      if (!this.serviceAccepted) {
        if (p[0] !== MSG.SERVICE_ACCEPT) throw new ProtocolError(`expected SERVICE_ACCEPT for ssh-userauth, got ${messageName(p[0])}`);
        const name = decodeServiceAccept(p);
        if (name !== 'ssh-userauth') throw new ProtocolError(`server accepted service ${name}, not ssh-userauth`);
        this.serviceAccepted = true;
        continue;
      }
      switch (p[0]) {
        case MSG.USERAUTH_BANNER: {
          const r = new SshReader(p, 1);
          const text = r.text('banner message', 64 * 1024);
          this.banner = (this.banner ?? '') + text;
          continue;
        }
        case MSG.USERAUTH_SUCCESS:
          return { kind: 'success' };
        case MSG.USERAUTH_FAILURE: {
          const r = new SshReader(p, 1);
          return { kind: 'failure', failure: { methods: r.nameList('authentications that can continue'), partial: r.bool('partial success') } };
        }
        default:
          return { kind: 'other', payload: p };
      }
    }
  }

  private request(user: string, method: string): SshWriter {
    return new SshWriter(128).u8(MSG.USERAUTH_REQUEST).string(user).string(CONNECTION).string(method);
  }

  /** RFC 4252 5.2: the `none` method, to learn which methods may continue. Returns null when it succeeded. */
  async none(user: string): Promise<string[] | null> {
    await this.t.send(this.request(user, 'none').finish());
    const r = await this.reply();
    if (r.kind === 'success') return null;
    if (r.kind === 'failure') return r.failure.methods;
    throw new ProtocolError(`unexpected ${messageName(r.payload[0])} in reply to a none request`);
  }

  /** RFC 4252 8. */
  async password(user: string, password: string): Promise<Failure | null> {
    const payload = this.request(user, 'password').bool(false).string(password).finish();
    await this.t.send(payload, { secret: true, decode: `USERAUTH_REQUEST user=${JSON.stringify(user)} method=password password=****` });
    const r = await this.reply();
    if (r.kind === 'success') return null;
    if (r.kind === 'failure') return r.failure;
    // RFC 4252 8: SSH_MSG_USERAUTH_PASSWD_CHANGEREQ (60) means the password has expired.
    if (r.payload[0] === MSG.USERAUTH_60) {
      const prompt = new SshReader(r.payload, 1).text('prompt', 4096);
      throw new AuthError(`the password of ${user} has expired and must be changed: ${prompt}`, { reason: 'password_expired' });
    }
    throw new ProtocolError(`unexpected ${messageName(r.payload[0])} in reply to a password request`);
  }

  /** RFC 4256 3: keyboard-interactive; each prompt is answered from `answer`. */
  async keyboardInteractive(user: string, answer: (prompt: string, index: number, round: number) => string | undefined): Promise<Failure | null> {
    await this.t.send(this.request(user, 'keyboard-interactive').string('').string('').finish());
    for (let round = 0; round < 16; round++) {
      const r = await this.reply();
      if (r.kind === 'success') return null;
      if (r.kind === 'failure') return r.failure;
      if (r.payload[0] !== MSG.USERAUTH_60) throw new ProtocolError(`unexpected ${messageName(r.payload[0])} during keyboard-interactive`);
      // RFC 4256 3.2: SSH_MSG_USERAUTH_INFO_REQUEST: name, instruction, language, num-prompts, (prompt, echo)*.
      const q = new SshReader(r.payload, 1);
      q.text('name', 4096);
      q.text('instruction', 4096);
      q.text('language tag', 256);
      const n = q.u32('num-prompts');
      if (n > 32) throw new ProtocolError(`keyboard-interactive request with ${n} prompts (limit 32)`);
      const answers: string[] = [];
      for (let i = 0; i < n; i++) {
        const prompt = q.text('prompt', 4096);
        q.bool('echo');
        const a = answer(prompt, i, round);
        if (a === undefined) throw new AuthError(`keyboard-interactive prompt ${JSON.stringify(prompt.trim())} has no answer: give responses`, { reason: 'missing_response', prompt });
        answers.push(a);
      }
      const w = new SshWriter(128).u8(MSG.USERAUTH_INFO_RESPONSE).u32(answers.length);
      for (const a of answers) w.string(a);
      await this.t.send(w.finish(), { secret: true, decode: `USERAUTH_INFO_RESPONSE ${answers.length} response(s) ****` });
    }
    throw new ProtocolError('keyboard-interactive did not finish within 16 rounds');
  }

  /** RFC 4252 7: publickey with a signature straight away (no query round trip). */
  async publicKey(user: string, key: PrivateKey, certificate?: Certificate): Promise<Failure | null> {
    const signatureAlgorithm = chooseSignatureAlgorithm(key, this.t.serverSigAlgs());
    // PROTOCOL.certkeys: the certificate goes in place of the key, under the -cert-v01 name; the signature keeps the base algorithm.
    const algorithm = certificate ? certAlgorithm(signatureAlgorithm) : signatureAlgorithm;
    const blob = certificate ? certificate.blob : key.publicBlob;
    // RFC 4252 7: the signature covers session identifier || the request with TRUE and the key.
    const body = this.request(user, 'publickey').bool(true).string(algorithm).string(blob).finish();
    const signed = new SshWriter(body.length + 64).string(this.t.sessionId).bytes(body).finish();
    const signature = await key.sign(signatureAlgorithm, signed);
    const payload = new SshWriter(body.length + signature.length + 8).bytes(body).string(signature).finish();
    await this.t.send(payload, { decode: `USERAUTH_REQUEST user=${JSON.stringify(user)} method=publickey ${algorithm} (signed)` });
    const r = await this.reply();
    if (r.kind === 'success') return null;
    if (r.kind === 'failure') return r.failure;
    throw new ProtocolError(`unexpected ${messageName(r.payload[0])} in reply to a publickey request`);
  }
}

/** RFC 8332 3.2: for an RSA key use rsa-sha2-512 or -256 when the server lists them (default rsa-sha2-512). */
export function chooseSignatureAlgorithm(key: PrivateKey, serverSigAlgs: string[] | undefined): string {
  if (key.type !== 'ssh-rsa') return key.type;
  if (key.rsaAlgorithm) return key.rsaAlgorithm;
  if (!serverSigAlgs) return 'rsa-sha2-512';
  for (const a of ['rsa-sha2-512', 'rsa-sha2-256']) if (serverSigAlgs.includes(a)) return a;
  return 'ssh-rsa';
}

/**
 * Authenticates with what the user gave, trying each usable method in turn. With `probe` it asks
 * `none` first to learn the methods (RFC 4252 5.2); otherwise the first real attempt teaches them,
 * saving a round trip. The outcomes differ: a method the server does not allow (it is missing from
 * the "can continue" list after the attempt), and a wrong secret (the method is still listed).
 */
export async function authenticate(t: SshTransport, creds: Credentials, probe = false): Promise<AuthOutcome> {
  const a = new Authenticator(t);
  await a.start();
  const user = creds.username;
  let offered: string[] | null = null;
  if (probe) {
    offered = await a.none(user);
    if (offered === null) return { methods: [], banner: a.banner, method: 'none' };
  }
  const wanted = creds.methods ?? [...(creds.privateKey ? (['publickey'] as const) : []), ...(creds.password !== undefined ? (['password', 'keyboard-interactive'] as const) : []), ...(creds.responses ? (['keyboard-interactive'] as const) : [])];
  const plan = [...new Set(wanted)];
  if (plan.length === 0) {
    offered ??= await a.none(user);
    if (offered === null) return { methods: [], banner: a.banner, method: 'none' };
    throw new AuthError(`no credentials given for ${user}; the server offers ${offered.join(', ') || 'no methods'}`, { reason: 'no_credentials', offered });
  }
  let methods = offered;
  const tried: string[] = [];
  const notAllowed: string[] = [];
  let rejected: string | null = null;
  for (const method of plan) {
    if (methods && !methods.includes(method)) {
      notAllowed.push(method);
      continue;
    }
    let failure: Failure | null;
    if (method === 'publickey') {
      if (!creds.privateKey) continue;
      failure = await a.publicKey(user, creds.privateKey, creds.certificate);
    } else if (method === 'password') {
      if (creds.password === undefined) continue;
      failure = await a.password(user, creds.password);
    } else {
      const responses = creds.responses;
      failure = await a.keyboardInteractive(user, (prompt, i, round) => {
        if (responses) return round === 0 ? responses[i] : undefined;
        // Without explicit responses, password-like prompts get the password.
        return creds.password !== undefined && /pass(word|code|phrase)?|pin/i.test(prompt) ? creds.password : undefined;
      });
    }
    if (failure === null) return { methods: offered ?? [], banner: a.banner, method };
    offered ??= failure.methods;
    methods = failure.methods;
    if (failure.partial) continue; // RFC 4252 5.1: partial success, another method must follow.
    if (failure.methods.includes(method)) {
      tried.push(method);
      rejected = method;
    } else notAllowed.push(method);
  }
  if (rejected === null) {
    throw new AuthError(`the server does not allow ${notAllowed.join(' or ')} for ${user}; it offers ${(offered ?? []).join(', ') || 'no methods'}`, {
      reason: 'method_not_allowed',
      offered,
      notAllowed,
    });
  }
  const what = rejected === 'publickey' ? (creds.certificate ? `the server refused ${describeUserCertificate(creds.certificate, user)}` : 'the key was not accepted') : rejected === 'password' ? 'wrong password' : `${rejected} failed (wrong answers)`;
  throw new AuthError(`authentication failed for ${user}: ${what}; the server offers ${(offered ?? []).join(', ')}`, {
    reason: rejected === 'publickey' ? 'key_rejected' : 'wrong_credentials',
    tried,
    offered,
  });
}
