// etcd v3 over gRPC (etcd 3.4 api/etcdserverpb/rpc.proto) on the project's HTTP/2 and gRPC client: unary calls,
// the Authenticate token carried as "token" metadata, and the Watch stream read message by message.
//
// How it works: one HTTP/2 connection per operation; each RPC is a stream (grpcCall). etcd answers errors as
// gRPC statuses with its own words ("etcdserver: ..."): those about credentials or tokens become auth_failed.
// Watch is a bidirectional stream: we send one WatchCreateRequest and half-close (etcd keeps watching until the
// stream is cancelled), then each DATA payload is cut into gRPC messages as it arrives.
import { FrameDecoder } from '../../core/framing.ts';
import { AuthError, ProtocolError, ServerError } from '../../core/errors.ts';
import type { OperationContext } from '../../core/protocol.ts';
import { hostField } from '../http/client.ts';
import { connectH2, type H2Session } from '../http2/client.ts';
import { decodeGrpcMessage, encodeMessage, messageFrame, statusName } from '../grpc/codec.ts';
import { grpcCall, type CallTarget } from '../grpc/client.ts';
import { decodeAuthenticate, decodeWatch, encodeAuthenticate, type WatchResponse } from './codec.ts';

/** etcd's authentication errors (etcdserver/api/v3rpc/rpctypes/error.go). */
const AUTH_WORDS = /authentication failed|invalid auth token|user name is empty|user name not found|permission denied|auth: revision in header is old|not capable|ErrGRPCUserEmpty/i;

export class EtcdClient {
  private token: string | undefined;

  constructor(
    readonly session: H2Session,
    readonly target: CallTarget,
  ) {}

  private metadata(): [string, string][] {
    return this.token ? [['token', this.token]] : [];
  }

  async unary(service: string, method: string, body: Uint8Array): Promise<Uint8Array> {
    const path = `/etcdserverpb.${service}/${method}`;
    const r = await grpcCall(this.session, this.target, path, [body], { metadata: this.metadata(), maxMessages: method === 'LeaseKeepAlive' ? 1 : undefined });
    if (r.status.code !== 0 && !(r.cancelled && r.messages.length)) throw statusError(`${service}.${method}`, r.status.code, r.status.message);
    if (r.messages.length === 0) throw new ProtocolError(`${path} answered OK without a message`);
    return r.messages[0];
  }

  /** Authenticate (user and password) for a token that later calls carry. */
  async authenticate(name: string, password: string): Promise<void> {
    const path = '/etcdserverpb.Auth/Authenticate';
    const r = await grpcCall(this.session, this.target, path, [encodeAuthenticate(name, password)], {});
    if (r.status.code !== 0) throw new AuthError(`etcd refused ${name}: ${r.status.message || statusName(r.status.code)}`, { grpcStatus: r.status.code });
    this.token = decodeAuthenticate(r.messages[0]).token;
    if (!this.token) throw new ProtocolError('Authenticate answered without a token');
  }

  /**
   * A Watch stream: `create` sent, then each WatchResponse handed to `onResponse` as it arrives; returning a string
   * cancels the stream with that reason. Ends when cancelled, when etcd ends it, or at the deadline.
   */
  async watch(create: Uint8Array, onResponse: (w: WatchResponse) => string | undefined): Promise<{ cancelled: boolean; status: { code: number; name: string; message: string } | null }> {
    const decoder = new FrameDecoder(messageFrame());
    const path = '/etcdserverpb.Watch/Watch';
    let stop: string | undefined;
    const [r] = await this.session.exchange(
      [{ method: 'POST', scheme: this.target.scheme, authority: this.target.authority, path, headers: [['content-type', 'application/grpc'], ['te', 'trailers'], ...this.metadata()], body: encodeMessage(create) }],
      {
        concurrency: 1,
        maxBodyBytes: 64 * 1024 * 1024,
        onData: (_i, data) => {
          for (const m of decoder.feed(data)) {
            if (m.compressed) throw new ProtocolError('a compressed WatchResponse though we accepted no encoding');
            stop ??= onResponse(decodeWatch(m.data));
          }
          return stop;
        },
      },
    );
    if (r.refused) throw new ServerError(`${path} not processed: ${r.refused}`);
    const code = [...r.trailers, ...r.headers].find(([n]) => n === 'grpc-status')?.[1];
    const message = [...r.trailers, ...r.headers].find(([n]) => n === 'grpc-message')?.[1] ?? '';
    if (stop) return { cancelled: true, status: null };
    if (code !== undefined && code !== '0') throw statusError('Watch.Watch', Number(code), decodeGrpcMessage(message));
    return { cancelled: false, status: code === undefined ? null : { code: Number(code), name: statusName(Number(code)), message } };
  }
}

function statusError(what: string, code: number, message: string): Error {
  const text = `${what}: ${statusName(code)}${message ? `: ${message}` : ''}`;
  // UNAUTHENTICATED (16), PERMISSION_DENIED (7), or etcd's own words for a bad user, password or token.
  if (code === 16 || code === 7 || AUTH_WORDS.test(message)) return new AuthError(text, { grpcStatus: code });
  return new ServerError(text, { grpcStatus: code });
}

export async function openEtcd(ctx: OperationContext, input: { tls: string; host: string; port: number; username?: string; password?: string }): Promise<EtcdClient> {
  const { session } = await connectH2(ctx, { tls: input.tls, mode: 'prior-knowledge', windowSize: 4 * 1024 * 1024, huffman: true, indexing: true });
  await session.start(input.tls === 'implicit' ? 'alpn' : 'prior-knowledge');
  const scheme = input.tls === 'implicit' ? 'https' : 'http';
  const client = new EtcdClient(session, { scheme, authority: hostField({ scheme, host: input.host, port: input.port }) });
  if (input.username !== undefined) await client.authenticate(input.username, input.password ?? '');
  ctx.timing.mark('readyMs');
  return client;
}
