// A scripted TLS server for the engine's tests: TLS 1.3 (and a bare TLS 1.2 ServerHello), built from the engine's own
// codec and key schedule, that can misbehave on purpose — a suite or group nobody offered, the downgrade sentinel, a
// bad Finished, an oversized record, a second HelloRetryRequest — which no real server does. Interoperability
// with real servers is tested against OpenSSL and GnuTLS in the lab; this peer only drives the refusals.
import { ByteWriter, concat } from '../src/core/bytes.ts';
import * as hs from '../src/core/tls/handshake.ts';
import { KeySchedule13, finishedMac13, nextTrafficSecret, trafficKeys } from '../src/core/tls/keys.ts';
import { generateKeyShare, runningHash, type RunningHash, type SigningKey } from '../src/core/tls/primitives.ts';
import { plainRecords, protection13, recordFrame, type RecordProtection } from '../src/core/tls/record.ts';
import { TlsClient } from '../src/core/tls/client.ts';
import { ContentType, DOWNGRADE_TLS12, ExtensionType, GROUPS, HELLO_RETRY_RANDOM, HandshakeType, cipherSuite, groupById, type CipherSuite } from '../src/core/tls/wire.ts';

export interface PeerScript {
  chain: Uint8Array[];
  key: SigningKey;
  /** Cipher suite ids the server accepts, in its order. */
  suites?: number[];
  /** Ask for this group with a HelloRetryRequest when the client's share is another one. */
  wantGroup?: number;
  /** Send a HelloRetryRequest again after the second ClientHello. */
  secondRetry?: boolean;
  /** Overwrite what the ServerHello says. */
  serverHello?: { suite?: number; group?: number };
  /** Answer as a TLS 1.2 server that supports 1.3 would, with the downgrade sentinel in its random. */
  downgrade?: boolean;
  alpn?: string;
  badFinished?: boolean;
  badSignature?: boolean;
  /** After the handshake, send a record header announcing this many bytes. */
  oversizedRecord?: number;
  /** After the handshake, send one protected record carrying this many bytes of plaintext. */
  oversizedPlaintext?: number;
  /** Split every handshake record into pieces of this size. */
  fragment?: number;
  /** After the handshake, send a KeyUpdate asking for one back. */
  keyUpdate?: boolean;
  /** After the handshake, send this alert (fatal). */
  alertAfterHandshake?: number;
}

/** The server side of one connection: feed it the client's bytes, take its answer. */
export class ScriptedServer {
  private buffer: Uint8Array = new Uint8Array(0);
  private hash: RunningHash | undefined;
  private messages: Uint8Array[] = [];
  private suite: CipherSuite | undefined;
  private schedule: KeySchedule13 | undefined;
  private read: RecordProtection | undefined;
  private write: RecordProtection | undefined;
  private clientHs: Uint8Array | undefined;
  private clientAp: Uint8Array | undefined;
  private serverAp: Uint8Array | undefined;
  private retried = false;
  private state: 'hello' | 'finished' | 'app' = 'hello';
  /** Application data the client sent. */
  readonly received: Uint8Array[] = [];
  /** Alerts the client sent: [level, description]. */
  readonly alerts: [number, number][] = [];
  keyUpdatesFromClient = 0;

  constructor(private readonly script: PeerScript) {}

  async feed(bytes: Uint8Array): Promise<Uint8Array[]> {
    this.buffer = concat([this.buffer, bytes]);
    const out: Uint8Array[] = [];
    for (;;) {
      const got = recordFrame(this.buffer);
      if (!got) break;
      this.buffer = this.buffer.subarray(got.size);
      let { type, fragment: content } = got.value;
      if (type === ContentType.changeCipherSpec) continue;
      if (this.read && type !== ContentType.alert) ({ type, content } = await this.read.open(got.value));
      if (type === ContentType.alert) {
        this.alerts.push([content[0], content[1]]);
        continue;
      }
      if (type === ContentType.applicationData) {
        this.received.push(content.slice());
        out.push(await this.write!.seal(ContentType.applicationData, content));
        continue;
      }
      // One handshake message per record is all a client sends here.
      const m = hs.handshakeFrame(content)!.value;
      if (this.state === 'hello') out.push(...(await this.onClientHello(m)));
      else if (this.state === 'finished') out.push(...(await this.onClientFinished(m)));
      else if (m.type === HandshakeType.keyUpdate) {
        this.keyUpdatesFromClient++;
        this.clientAp = nextTrafficSecret(this.suite!.hash, this.clientAp!);
        const k = trafficKeys(this.suite!.hash, this.clientAp, this.suite!.keyLength);
        this.read = await protection13(crypto.subtle, this.suite!, k.key, k.iv);
      }
    }
    return out;
  }

  private add(m: Uint8Array): void {
    this.messages.push(m);
    this.hash?.update(m);
  }

  private async records(type: number, message: Uint8Array): Promise<Uint8Array[]> {
    const size = this.script.fragment ?? 16384;
    const out: Uint8Array[] = [];
    for (let at = 0; at < message.length; at += size) {
      const part = message.subarray(at, at + size);
      out.push(...(this.write ? [await this.write.seal(type, part)] : plainRecords(type, part)));
    }
    return out;
  }

  private async onClientHello(m: hs.HandshakeMessage): Promise<Uint8Array[]> {
    const ch = hs.decodeClientHello(m.body);
    const s = this.script;
    if (s.downgrade) {
      const random = concat([crypto.getRandomValues(new Uint8Array(24)), DOWNGRADE_TLS12]);
      const w = new ByteWriter().u16(0x0303).bytes(random).lengthPrefixed('u8', ch.sessionId).u16(0xc02b).u8(0);
      const exts = w.lengthAt('u16');
      w.u16(ExtensionType.extendedMasterSecret).u16(0).u16(ExtensionType.renegotiationInfo).u16(1).u8(0);
      exts();
      return plainRecords(ContentType.handshake, hs.handshakeMessage(HandshakeType.serverHello, w.finish()));
    }
    const suiteId = (s.suites ?? [0x1301, 0x1302, 0x1303]).find((id) => ch.cipherSuites.includes(id))!;
    this.suite = cipherSuite(suiteId)!;
    if (!this.hash) {
      this.hash = runningHash(this.suite.hash);
      this.add(m.raw);
    } else this.add(m.raw);
    const offered = ch.keyShares[0];
    if ((s.wantGroup !== undefined && offered.group !== s.wantGroup) || (this.retried && s.secondRetry)) {
      // HelloRetryRequest: replace ClientHello1 by its hash in the transcript (RFC 8446 §4.4.1).
      const digest = this.hash.digest();
      this.hash = runningHash(this.suite.hash);
      this.messages = [];
      if (!this.retried) this.add(hs.handshakeMessage(HandshakeType.messageHash, digest));
      this.retried = true;
      const hrr = this.serverHello(HELLO_RETRY_RANDOM, ch.sessionId, suiteId, (w) => w.u16(s.wantGroup ?? 0x0017));
      this.add(hrr);
      return this.records(ContentType.handshake, hrr);
    }
    const group = groupById(offered.group)!;
    const share = await generateKeyShare(crypto.subtle, group, (n) => crypto.getRandomValues(new Uint8Array(n)));
    const shared = await share.agree(offered.key);
    const sh = this.serverHello(crypto.getRandomValues(new Uint8Array(32)), ch.sessionId, s.serverHello?.suite ?? suiteId, (w) => w.u16(s.serverHello?.group ?? offered.group).lengthPrefixed('u16', share.publicKey));
    this.add(sh);
    const out = await this.records(ContentType.handshake, sh);
    this.schedule = new KeySchedule13(this.suite.hash);
    const secrets = this.schedule.handshake(shared, this.hash.digest());
    this.clientHs = secrets.client;
    const sk = trafficKeys(this.suite.hash, secrets.server, this.suite.keyLength);
    this.write = await protection13(crypto.subtle, this.suite, sk.key, sk.iv);
    const ck = trafficKeys(this.suite.hash, secrets.client, this.suite.keyLength);
    this.read = await protection13(crypto.subtle, this.suite, ck.key, ck.iv);
    const ee = new ByteWriter();
    const eeList = ee.lengthAt('u16');
    if (s.alpn) {
      ee.u16(ExtensionType.alpn);
      const l = ee.lengthAt('u16');
      const inner = ee.lengthAt('u16');
      ee.lengthPrefixed('u8', s.alpn);
      inner();
      l();
    }
    eeList();
    const flight: Uint8Array[] = [hs.handshakeMessage(HandshakeType.encryptedExtensions, ee.finish()), hs.handshakeMessage(HandshakeType.certificate, hs.encodeCertificate(s.chain, true))];
    for (const f of flight) this.add(f);
    const scheme = s.key.schemes.find((x) => ch.signatureSchemes.includes(x.id) && x.kind !== 'rsa_pkcs1')!;
    const signed = concat([new Uint8Array(64).fill(0x20), new TextEncoder().encode('TLS 1.3, server CertificateVerify'), Uint8Array.of(0), this.hash.digest()]);
    const signature = await s.key.sign(scheme, signed);
    if (s.badSignature) signature[signature.length - 3] ^= 1;
    const cv = hs.handshakeMessage(HandshakeType.certificateVerify, hs.encodeSigned({ scheme: scheme.id, signature }));
    this.add(cv);
    flight.push(cv);
    const verify = finishedMac13(this.suite.hash, secrets.server, this.hash.digest());
    if (s.badFinished) verify[0] ^= 0x80;
    const fin = hs.handshakeMessage(HandshakeType.finished, verify);
    this.add(fin);
    flight.push(fin);
    out.push(...(await this.records(ContentType.handshake, concat(flight))));
    const app = this.schedule.application(this.hash.digest());
    this.clientAp = app.client;
    this.serverAp = app.server;
    this.state = 'finished';
    return out;
  }

  private serverHello(random: Uint8Array, sessionId: Uint8Array, suite: number, keyShare: (w: ByteWriter) => void): Uint8Array {
    const w = new ByteWriter().u16(0x0303).bytes(random).lengthPrefixed('u8', sessionId).u16(suite).u8(0);
    const exts = w.lengthAt('u16');
    w.u16(ExtensionType.supportedVersions).u16(2).u16(0x0304);
    w.u16(ExtensionType.keyShare);
    const ks = w.lengthAt('u16');
    keyShare(w);
    ks();
    exts();
    return hs.handshakeMessage(HandshakeType.serverHello, w.finish());
  }

  private async onClientFinished(m: hs.HandshakeMessage): Promise<Uint8Array[]> {
    const expected = finishedMac13(this.suite!.hash, this.clientHs!, this.hash!.digest());
    if (m.type !== HandshakeType.finished || expected.some((b, i) => b !== m.body[i])) throw new Error('the client Finished does not verify');
    this.add(m.raw);
    const suite = this.suite!;
    const ck = trafficKeys(suite.hash, this.clientAp!, suite.keyLength);
    this.read = await protection13(crypto.subtle, suite, ck.key, ck.iv);
    const sk = trafficKeys(suite.hash, this.serverAp!, suite.keyLength);
    this.write = await protection13(crypto.subtle, suite, sk.key, sk.iv);
    this.state = 'app';
    const out: Uint8Array[] = [];
    const s = this.script;
    if (s.oversizedRecord) out.push(Uint8Array.of(ContentType.applicationData, 3, 3, s.oversizedRecord >> 8, s.oversizedRecord & 0xff));
    if (s.oversizedPlaintext) {
      // Seal by hand past the 2^14 limit: the engine's sealer would never do it.
      this.write.maxPlaintext = 1 << 20;
      out.push(await this.write.seal(ContentType.applicationData, new Uint8Array(s.oversizedPlaintext)));
    }
    if (s.keyUpdate) {
      out.push(await this.write.seal(ContentType.handshake, hs.handshakeMessage(HandshakeType.keyUpdate, Uint8Array.of(1))));
      this.serverAp = nextTrafficSecret(suite.hash, this.serverAp!);
      const k = trafficKeys(suite.hash, this.serverAp, suite.keyLength);
      this.write = await protection13(crypto.subtle, suite, k.key, k.iv);
    }
    if (s.alertAfterHandshake !== undefined) out.push(await this.write.seal(ContentType.alert, Uint8Array.of(2, s.alertAfterHandshake)));
    return out;
  }
}

/** Runs a client against a scripted server in memory until neither has anything to say. */
export async function converse(client: TlsClient, server: ScriptedServer, opts: { byteByByte?: boolean } = {}): Promise<void> {
  await client.start();
  for (let rounds = 0; rounds < 20; rounds++) {
    const toServer = client.takeOutgoing();
    if (toServer.length === 0) return;
    const answer = await server.feed(concat(toServer));
    const bytes = concat(answer);
    if (opts.byteByByte) for (let i = 0; i < bytes.length; i++) await client.receive(bytes.subarray(i, i + 1));
    else if (bytes.length) await client.receive(bytes);
  }
}

export const GROUP_IDS = Object.fromEntries(GROUPS.map((g) => [g.name, g.id])) as Record<string, number>;
