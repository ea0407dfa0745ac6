// Kafka client driver (kafka.apache.org/protocol "SASL Authentication Sequence"): one request at a time by correlation id, ApiVersions first, then SASL.
import type { Conn } from '../../core/conn.ts';
import { utf8 } from '../../core/bytes.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { AuthError, ProtocolError, ServerError } from '../../core/errors.ts';
import { ScramClient } from '../postgres/scram.ts';
import { API, API_NAMES, VERSION, decode, encode, encodeRequest, errorName, responseFrame, type ApiVersionsResponse } from './codec.ts';

export type SaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

export class KafkaClient {
  private correlationId = 0;
  private readonly frame;
  versions: ApiVersionsResponse | undefined;

  constructor(
    readonly conn: Conn,
    readonly clientId: string,
    maxResponseBytes?: number,
  ) {
    this.frame = responseFrame(maxResponseBytes);
  }

  /** Sends one request and reads its response body (the correlation id must match). */
  async call(apiKey: number, body: Uint8Array, opts: { secret?: boolean; decode?: string; expectResponse?: boolean } = {}): Promise<Uint8Array> {
    const version = VERSION[API_NAMES[apiKey] as keyof typeof VERSION];
    this.checkVersion(apiKey, version);
    const id = ++this.correlationId;
    await this.conn.write(encodeRequest(apiKey, version, id, this.clientId, body), { secret: opts.secret, decode: opts.decode ?? `${API_NAMES[apiKey]} v${version} correlation ${id}` });
    if (opts.expectResponse === false) return new Uint8Array(0);
    const r = await this.conn.readFrame(this.frame, `${API_NAMES[apiKey]} response`, (x) => `${API_NAMES[apiKey]} response correlation ${x.correlationId} (${x.body.length} bytes)`);
    if (r.correlationId !== id) throw new ProtocolError(`response correlation id ${r.correlationId}, expected ${id}`);
    return r.body;
  }

  /** Refuses to send an API version the broker said it does not speak. */
  private checkVersion(apiKey: number, version: number): void {
    if (!this.versions || apiKey === API.ApiVersions) return;
    const range = this.versions.apis.find((a) => a.apiKey === apiKey);
    if (!range) throw new ServerError(`the broker does not offer ${API_NAMES[apiKey]}`);
    if (version < range.minVersion || version > range.maxVersion) {
      throw new ServerError(`the broker speaks ${API_NAMES[apiKey]} v${range.minVersion}–v${range.maxVersion}; Portolan speaks v${version}`);
    }
  }

  async apiVersions(): Promise<ApiVersionsResponse> {
    const r = decode.apiVersions(await this.call(API.ApiVersions, encode.apiVersions()));
    if (r.errorCode !== 0) throw new ServerError(`ApiVersions: ${errorName(r.errorCode)}`, { errorCode: r.errorCode });
    this.versions = r;
    return r;
  }

  /** SaslHandshake then SaslAuthenticate rounds (PLAIN: one; SCRAM: two, the server's signature checked). */
  async authenticate(crypto: CryptoPort, mechanism: SaslMechanism, username: string, password: string): Promise<void> {
    const hs = decode.saslHandshake(await this.call(API.SaslHandshake, encode.saslHandshake(mechanism), { decode: `SaslHandshake ${mechanism}` }));
    if (hs.errorCode !== 0) {
      const offered = hs.mechanisms.join(', ') || 'none';
      throw new AuthError(`the broker does not accept ${mechanism} (${errorName(hs.errorCode)}); it offers ${offered}`, { errorCode: hs.errorCode, mechanisms: hs.mechanisms });
    }
    const round = async (bytes: Uint8Array, what: string): Promise<Uint8Array> => {
      const r = decode.saslAuthenticate(await this.call(API.SaslAuthenticate, encode.saslAuthenticate(bytes), { secret: true, decode: `SaslAuthenticate ${what}` }));
      if (r.errorCode !== 0) throw new AuthError(r.errorMessage ?? errorName(r.errorCode), { errorCode: r.errorCode });
      return r.authBytes;
    };
    if (mechanism === 'PLAIN') {
      await round(utf8(`\0${username}\0${password}`), `PLAIN ${username} ****`);
      return;
    }
    const scram = new ScramClient(crypto, password, undefined, undefined, { hash: mechanism === 'SCRAM-SHA-512' ? 'SHA-512' : 'SHA-256', username });
    const serverFirst = await round(scram.start(), `${mechanism} client-first (user ${username})`);
    const serverFinal = await round(await scram.respond(serverFirst), `${mechanism} client-final (proof)`);
    scram.verify(serverFinal);
  }
}

