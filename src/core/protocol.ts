// One declaration per protocol (ARCHITECTURE.md "One declaration per protocol"):
// routes, OpenAPI, forms, CLI flags, docs rows and refusals are generated from it.
import * as z from 'zod';
import type { Capability, ClientCertificate, Conn, TlsMode, TlsVersion } from './conn.ts';
import type { DatagramConn } from './datagram.ts';
import { MAX_TRANSFER_TIMEOUT_MS, type DownloadTarget, type TransferSpec, type UploadSource } from './files.ts';
import type { CryptoPort } from './crypto.ts';
import type { CodecsPort } from './codecs.ts';
import type { FailureCode } from './errors.ts';
import type { Identification } from './identify.ts';
import type { Transcript } from './transcript.ts';
import type { TlsTicket } from './tls/client.ts';

export type Transport = 'tcp' | 'tls' | 'udp';

export interface PortSpec {
  port: number;
  transport: Transport;
  /** What listens there, when a protocol has several ports. */
  label?: string;
}

export interface Rating {
  /** 0–5. Every star is backed by a lab test that exercises it. */
  stars: 0 | 1 | 2 | 3 | 4 | 5;
  reason: string;
}

export interface DialRequest {
  host?: string;
  port?: number;
  tls?: TlsMode;
  /** Bounds the connect only; later reads use the operation's deadline. */
  connectTimeoutMs?: number;
  alpn?: string[];
  pinSha256?: string;
  privilegedSourcePort?: boolean;
  /** The lowest and highest TLS version to offer (needs `tlsVersion`): one version alone tells whether the server accepts it. */
  minVersion?: TlsVersion;
  maxVersion?: TlsVersion;
  /** A second hop (FTP data, redirect): checked by the guard as such. */
  secondHop?: boolean;
  /** Reach `host:port` through this proxy (the guard checks the proxy and the target); `via` does it for every dial. */
  through?: ProxyRoute;
  /** A client certificate for TLS (needs `clientCert`). */
  clientCertificate?: ClientCertificate;
  /** The operation reads the server's certificate from this connection (needs `peerCert`). */
  peerCertificate?: boolean;
  /** Cipher suites (IANA ids) and groups to offer, alone: Portolan's TLS engine only (`tls inspect` enumerates them). */
  cipherSuites?: number[];
  groups?: ('x25519' | 'secp256r1' | 'secp384r1')[];
  /** A TLS 1.3 ticket from an earlier connection (`Conn.tlsTicket`) to resume with: Portolan's TLS engine only. */
  tlsResume?: TlsTicket;
  /** This dial on Portolan's TLS engine whatever the host would pick (an operation that needs the engine's view; never where the user chose tlsEngine runtime). */
  tlsEngine?: 'portolan';
}

/** Waiting for the target to connect back (rsh/rexec standard error): needs the `listen` capability. */
export interface ListenRequest {
  /** The connection to the target: the listener binds its local address and accepts only its peer's address. */
  for: Conn;
  /** A port in 512–1023 (needs `privilegedPort`): rshd connects back only to a reserved port. */
  privilegedPort?: boolean;
}

/** One connection expected back from the target. */
export interface BackChannel {
  /** The port to tell the server. */
  readonly port: number;
  /** The connection, once the server has made it (obeys the operation's deadline). */
  accept(what?: string): Promise<Conn>;
}

export interface Timing {
  /** Time from the operation's start, in ms, under `name` (first one wins). */
  mark(name: string): void;
  readonly marks: Record<string, number>;
}

/** What an operation's `run` receives. Everything it may touch in the outside world goes through here. */
export interface OperationContext {
  readonly signal: AbortSignal;
  readonly target: { host: string; port: number; tls: TlsMode };
  readonly runtime: 'workers' | 'node' | 'browser';
  readonly capabilities: ReadonlySet<Capability>;
  readonly crypto: CryptoPort;
  /** Decoders built into the host (brotli); absent in the browser. */
  readonly codecs?: CodecsPort;
  readonly transcript: Transcript;
  readonly timing: Timing;
  /** Opens a connection through the target guard; defaults to the operation's target. */
  dial(req?: DialRequest): Promise<Conn>;
  /** Opens a UDP socket aimed at the target (hosts with `udp`; declare needs: ['udp']). */
  dialUdp(req?: { host?: string; port?: number; secondHop?: boolean }): Promise<DatagramConn>;
  /** Listens for one connection back from the target (hosts with `listen`; declare needs: ['listen']). Closed when the operation ends. */
  listen(req: ListenRequest): Promise<BackChannel>;
  /** Waits, unless the deadline fires first. */
  sleep(ms: number): Promise<void>;
  /** Runs `fn` with a tighter deadline on every connection; its expiry surfaces as io_timeout. */
  within<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T>;
  /**
   * Registers what tells the server to stop work this operation started (PostgreSQL's CancelRequest), run when the
   * operation ends before its work does: the caller went away (a Cancel in the UI) or the deadline passed. It may dial
   * (through the guard) for up to CANCEL_GRACE_MS. The returned function unregisters it once the work is done.
   */
  onCancel(hook: () => Promise<void>): () => void;
  /** Present when the caller wants the file as a byte stream (operations with `transfer.direction: 'download'`; core/files.ts). */
  readonly download?: DownloadTarget;
  /** Present when the caller sent the file as a byte stream (operations with `transfer.direction: 'upload'`); the content field is then absent. */
  readonly upload?: UploadSource;
}

export type AnyObject = z.ZodObject<z.ZodRawShape>;

/** A message of an interactive session: binary data, or a JSON control message with a `type`. */
export type SessionMessage = Uint8Array | { type: string; [key: string]: unknown };

/** The client side of an interactive session (a WebSocket in the API). */
export interface SessionChannel {
  send(msg: SessionMessage): void;
  /** The next message from the client; null once the client has gone. Obeys the session's deadline. */
  receive(): Promise<SessionMessage | null>;
  /**
   * Resolves once the client has room for more (credit flow control: it acknowledges what it has read).
   * The runner makes every connection of a session wait on it before reading, so a server that sends
   * faster than the client reads is paused by TCP, never buffered without bound. Absent: no limit.
   */
  ready?(): Promise<void>;
}

export interface OperationSpec<I extends AnyObject = AnyObject, O extends z.ZodType = z.ZodType> {
  summary: string;
  /**
   * The fields a person fills first, in this order: forms show them after the target and put the rest under
   * "More options"; CLI help lists them first. Default: the credentials (user, username, password, database),
   * then the required fields.
   */
  primary?: string[];
  /** A session's WebSocket messages (what the client sends and receives besides binary data), for the API page. */
  messages?: string;
  /** The operation's own fields; host, port, timeoutMs and tls are added for it. */
  input: I;
  output: O;
  /** Capabilities needed beyond the chosen TLS mode; defaults to ['tcp']. */
  needs?: Capability[];
  /** Capabilities needed only in some TLS modes (h2 over TLS needs ALPN; h2c does not). */
  needsWithTls?: Partial<Record<TlsMode, Capability[]>>;
  /** What this operation offers instead when a host lacks a capability (a transport Workers has), after the capability's own advice. */
  alternatives?: string[];
  /**
   * The port this operation targets when none is given, if not the protocol's first; a function
   * when it depends on the input (DNS: 853 for DoT, 443 for DoH).
   */
  defaultPort?: number | ((input: Record<string, unknown>) => number | undefined);
  /**
   * The operation runs code of the user's on the target (a notebook cell, a browser script, an R expression):
   * its summary says so, and a deployment with CODE_EXECUTION=off refuses it before any connection.
   */
  runsCode?: boolean;
  /** Longest deadline the operation accepts (default 30 s; 24 h for a transfer). */
  maxTimeoutMs?: number;
  /**
   * The operation moves a file (docs/files.md): a download answers its bytes as a stream for
   * `Accept: application/octet-stream` or a WebSocket transfer, an upload takes them from
   * multipart/form-data or a WebSocket transfer. Its run() then sees `ctx.download` / `ctx.upload`.
   */
  transfer?: TransferSpec;
  /**
   * How a run is stopped on the server from outside it (a Cancel in the UI, when the runtime does not tell the Worker
   * its caller went away): the caller puts a fresh random label in the input field `tag`, and to cancel runs
   * `operation` with the same input. The UI does so for operations that declare it.
   */
  cancel?: { operation: string; tag: string };
  defaultTimeoutMs?: number;
  /**
   * The result as one file besides JSON (a screenshot as image/png): POST answers `body(result)` with this content type
   * when the request's Accept header names it.
   */
  media?: { contentType: string; body: (result: z.infer<O>) => Uint8Array; filename?: (result: z.infer<O>) => string };
  /**
   * The outcome a complete result stands for when, to its user, it is a failure (a ping nobody
   * answered: the answer is still the statistics, as ping(8) prints them, but the CLI exits non-zero).
   */
  failedAs?: (result: z.infer<O>) => FailureCode | undefined;
  /** Renders the result as plain text for curl. */
  text?: (result: z.infer<O>, input: TargetFields & z.infer<I>) => string;
  /** Renders one session message as a line for the CLI (a feed prints one line per message); undefined: not a data line. */
  sessionText?: (message: Record<string, unknown>) => string | undefined;
  /**
   * Command-line conveniences: `args` names the fields that words after the operation fill, in order (a
   * last name ending in `...` takes the rest as a list); `short` maps one-letter flags to fields
   * (`portolan ldap search HOST -b dc=example,dc=org '(cn=a*)' cn mail`).
   */
  cli?: { args?: string[]; short?: Record<string, string> };
  /** Maps a short route's `/extra` path (its segments decoded once, joined by '/') onto input fields. */
  shortRoute?: (extra: string | undefined, query: URLSearchParams) => Record<string, unknown>;
  /** A request/response operation (POST /api/{protocol}/{operation}). */
  run?(ctx: OperationContext, input: TargetFields & z.infer<I>): Promise<z.infer<O>>;
  /**
   * An interactive session (GET /api/{protocol}/{operation} with Upgrade: websocket).
   * Runs until the server or the client ends it; resolves with a closing summary.
   */
  session?(ctx: OperationContext, input: TargetFields & z.infer<I>, channel: SessionChannel): Promise<z.infer<O>>;
}

export interface TargetFields {
  host: string;
  port: number;
  timeoutMs: number;
  tls: TlsMode;
  /** On protocols with TLS (`tlsFields`): whose TLS, and whom to trust. */
  tlsEngine?: 'auto' | 'runtime' | 'portolan';
  pinSha256?: string;
  pinSpkiSha256?: string;
  caPem?: string;
  clientCertificate?: ClientCertificate;
}

export interface ProtocolSpec {
  id: string;
  title: string;
  category: 'diagnostics' | 'classic' | 'directory' | 'database' | 'mail' | 'file' | 'remote' | 'messaging' | 'web' | 'naming' | 'monitoring' | 'network';
  summary: string;
  ports: PortSpec[];
  /** RFC numbers or spec names. */
  specs: string[];
  rating: Rating;
  /** The real server and version its lab test passes against, or null. */
  verifiedAgainst: string | null;
  /** Registry ids of the protocols this one runs on (`['http']` for an HTTP API): their greetings are its own. */
  over?: string[];
  /** TLS modes it offers besides 'off' and the port used for implicit TLS. */
  tls?: { implicit?: { port: number }; starttls?: boolean };
  /** Its operations dial TLS of their own choosing (DNS over TLS): they take the TLS fields too. */
  tlsFields?: boolean;
  defaultOperation?: string;
  /** How `identify` names this protocol on a port: its greeting, a harmless probe, or why it has neither. */
  identify?: Identification;
  operations: Record<string, OperationSpec>;
}

export interface DefinedOperation extends OperationSpec {
  name: string;
  /** The full input schema: target fields plus the operation's own. */
  schema: AnyObject;
  /** The declared primary fields, or the default ones. */
  primary: string[];
}

export interface Protocol extends Omit<ProtocolSpec, 'operations'> {
  operations: Record<string, DefinedOperation>;
  tlsModes: TlsMode[];
}

const HOST_RE = /^(\[[0-9A-Fa-f:.%A-Za-z0-9]+\]|[A-Za-z0-9_.:%-]+)$/;

export const hostField = z
  .string()
  .trim()
  .min(1, 'host is required')
  .max(253, 'host is longer than 253 characters')
  .regex(HOST_RE, 'host must be a hostname or an IP address')
  .transform((h) => (h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h));

export const portField = z.number().int('port must be a whole number').min(1, 'port must be 1–65535').max(65535, 'port must be 1–65535');

const sshJumpHost = z
  .object({
    type: z.literal('ssh').optional().describe('ssh (the default)'),
    host: hostField,
    port: portField.default(22),
    username: z.string().min(1, 'via.username is required').max(256),
    password: z.string().max(4096).optional(),
    privateKey: z.string().max(64 * 1024).optional(),
    passphrase: z.string().max(1024).optional(),
    certificate: z.string().max(16 * 1024).optional().describe('OpenSSH user certificate of privateKey (the id_*-cert.pub line)'),
    hostKeyFingerprint: z.union([z.string().max(128), z.array(z.string().max(128)).min(1).max(16)]).optional(),
    knownHosts: z.string().max(256 * 1024).optional().describe('known_hosts lines for the jump host, @cert-authority lines included'),
  })
  .strict();

/**
 * A proxy hop: SOCKS5 (RFC 1928, username/password RFC 1929), SOCKS4, or an HTTP proxy's CONNECT
 * (RFC 9110 9.3.6, Basic proxy authentication). The guard checks the proxy and the target.
 */
export const proxyHopSchema = z
  .object({
    type: z.enum(['socks5', 'socks4', 'socks4a', 'http']).describe('socks5, socks4, socks4a (the proxy resolves the name) or http (CONNECT)'),
    host: hostField,
    port: portField,
    username: z.string().min(1, 'via.username must not be empty').max(255).optional(),
    password: z.string().max(255).optional(),
  })
  .strict();

export type ProxyHop = z.infer<typeof proxyHopSchema>;

/**
 * A proxy hop as a dial uses it. `forward`: no handshake; the operation speaks to the proxy itself
 * (HTTP absolute-form requests, a Shadowsocks tunnel), and the guard still judges the target.
 */
export type ProxyRoute = (ProxyHop | { type: 'shadowsocks'; host: string; port: number; username?: undefined; password?: undefined }) & { forward?: boolean };

/**
 * `via`: where the operation's connections start from. An SSH jump host (`type` ssh or absent):
 * connections are direct-tcpip channels from there, so a database behind a bastion is reachable;
 * the jump host is checked by the target guard, what lies behind it is the bastion's to reach. A
 * proxy (`type` socks5, socks4 or http): each connection is asked of the proxy, and the guard
 * checks both the proxy and the target.
 */
export const jumpHostField = z
  .discriminatedUnion('type', [proxyHopSchema, sshJumpHost])
  .optional()
  .describe('A hop for every connection: an SSH jump host {host, port, username, password or privateKey (with its certificate), hostKeyFingerprint or knownHosts}, or a proxy {type: socks5 | socks4 | socks4a | http, host, port, username?, password?}');

export type ViaInput = NonNullable<z.infer<typeof jumpHostField>>;

export function isProxyHop(via: ViaInput): via is ProxyHop {
  return via.type === 'socks5' || via.type === 'socks4' || via.type === 'socks4a' || via.type === 'http';
}

export type JumpHostInput = z.infer<typeof sshJumpHost>;

const PIN = /^(sha256(:|\/\/))?([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$|^(sha256(:|\/\/))?[A-Za-z0-9+/]{43}=$/i;

/**
 * The TLS fields of every operation of a protocol with TLS: whose TLS carries it, and whom to trust. `auto` uses the
 * runtime's TLS where it serves and Portolan's own engine (src/core/tls) where the operation needs ALPN, the peer
 * certificate, a pin, a private CA, a client certificate or version bounds the runtime cannot give.
 */
export const tlsFields = {
  tlsEngine: z
    .enum(['auto', 'runtime', 'portolan'])
    .default('auto')
    .describe("Whose TLS: auto (the runtime's where it serves, Portolan's own engine where the operation needs ALPN, the peer certificate, a pin, a private CA or a client certificate), runtime, or portolan"),
  pinSha256: z
    .string()
    .regex(PIN, "pinSha256 is the certificate's SHA-256: 64 hex digits (colons allowed) or base64")
    .optional()
    .describe("Trust the server's certificate if its SHA-256 fingerprint is this, whoever issued it (self-signed servers)"),
  pinSpkiSha256: z
    .string()
    .regex(PIN, 'pinSpkiSha256 is the SHA-256 of the public key (SubjectPublicKeyInfo): hex, or base64 as curl --pinnedpubkey sha256//… takes it')
    .optional()
    .describe("Trust the server's certificate if the SHA-256 of its public key (SubjectPublicKeyInfo) is this, whoever issued it"),
  caPem: z
    .string()
    .max(256 * 1024)
    .regex(/-----BEGIN CERTIFICATE-----/, 'caPem holds PEM certificates (-----BEGIN CERTIFICATE-----)')
    .optional()
    .describe('Trust these CA certificates (PEM) instead of the public roots: a private CA'),
  clientCertificate: z
    .object({ certPem: z.string().min(1).max(64 * 1024), keyPem: z.string().min(1).max(64 * 1024) })
    .strict()
    .optional()
    .describe('TLS client certificate (PEM, intermediates after it) and its private key (PEM): mutual TLS'),
};

/** Whether a protocol's operations take the TLS fields: it has a TLS mode, or a port that is TLS from the start. */
function hasTls(spec: ProtocolSpec): boolean {
  return !!spec.tls || spec.ports.some((p) => p.transport === 'tls') || spec.tlsFields === true;
}


/** The port for a protocol in a TLS mode: the implicit-TLS port or the first plain one. */
export function defaultPort(p: Pick<ProtocolSpec, 'ports' | 'tls'>, tls: TlsMode): number {
  if (tls === 'implicit' && p.tls?.implicit) return p.tls.implicit.port;
  return (p.ports.find((x) => x.transport !== 'tls') ?? p.ports[0]).port;
}

export function operation<I extends AnyObject, O extends z.ZodType>(spec: OperationSpec<I, O>): OperationSpec<I, O> {
  return spec;
}

/** The fields every operation's input has for its target: an operation's own fields take other names. */
const TARGET_FIELDS = ['host', 'port', 'timeoutMs', 'tls', 'via'];

const CREDENTIAL_FIELDS = ['user', 'username', 'password', 'database'];

/** The primary fields when an operation names none: the credentials it has, then its required fields. */
export function defaultPrimary(shape: z.ZodRawShape): string[] {
  const credentials = CREDENTIAL_FIELDS.filter((k) => k in shape);
  const required = Object.entries(shape as Record<string, z.ZodType>)
    .filter(([k, f]) => !credentials.includes(k) && !f.safeParse(undefined).success)
    .map(([k]) => k);
  return [...credentials, ...required];
}

const targetHost = hostField.describe('Target hostname or IP address');
const sharedFields = new Map<string, z.ZodType>();

/**
 * One schema for a target field however many operations have it alike. A schema is immutable, and each one
 * costs the isolate a few dozen heap objects; 447 operations each with their own four made thousands, which
 * every garbage collection walks (bench/gc.ts).
 */
function sharedField<T extends z.ZodType>(key: string, make: () => T): T {
  let field = sharedFields.get(key);
  if (!field) sharedFields.set(key, (field = make()));
  return field as T;
}

export function defineProtocol(spec: ProtocolSpec): Protocol {
  const tlsModes: TlsMode[] = ['off'];
  if (spec.tls?.starttls) tlsModes.push('starttls');
  if (spec.tls?.implicit) tlsModes.push('implicit');
  const operations: Record<string, DefinedOperation> = {};
  for (const [name, op] of Object.entries(spec.operations)) {
    if (!op.run && !op.session) throw new TypeError(`${spec.id}.${name}: an operation needs run or session`);
    const taken = Object.keys(op.input.shape).filter((field) => TARGET_FIELDS.includes(field));
    if (taken.length > 0) throw new TypeError(`${spec.id}.${name}: ${taken.join(', ')} ${taken.length > 1 ? 'are' : 'is'} the target's; name the operation's own field otherwise`);
    if (op.transfer?.direction === 'upload' && !(op.transfer.content in op.input.shape)) throw new TypeError(`${spec.id}.${name}: transfer.content names no input field`);
    const max = op.maxTimeoutMs ?? (op.session ? 3_600_000 : op.transfer ? MAX_TRANSFER_TIMEOUT_MS : 30_000);
    const portText = `Target port (default ${typeof op.defaultPort === 'number' ? op.defaultPort : defaultPort(spec, 'off')}${spec.tls?.implicit ? `, ${spec.tls.implicit.port} with implicit TLS` : ''})`;
    const timeoutDefault = Math.min(op.defaultTimeoutMs ?? (op.session ? 3_600_000 : 10_000), max);
    const target = {
      host: targetHost,
      port: sharedField(`port ${portText}`, () => portField.optional().describe(portText)),
      timeoutMs: sharedField(`timeoutMs ${max} ${timeoutDefault}`, () =>
        z
          .number()
          .int()
          .min(100, 'timeoutMs must be at least 100')
          .max(max, `timeoutMs must be at most ${max}`)
          .default(timeoutDefault)
          .describe('Deadline for the whole operation, in milliseconds'),
      ),
      tls: sharedField(`tls ${tlsModes.join(' ')}`, () =>
        z
          .enum(tlsModes as [TlsMode, ...TlsMode[]])
          .default('off')
          .describe('TLS: off, implicit (TLS from the first byte) or starttls (upgrade in the protocol)'),
      ),
    };
    const unknownPrimary = (op.primary ?? []).filter((field) => !(field in op.input.shape) && field !== 'tls');
    if (unknownPrimary.length > 0) throw new TypeError(`${spec.id}.${name}: primary names ${unknownPrimary.join(', ')}, which the input lacks`);
    // The full schema is built when first used: an isolate that never runs or describes an operation never holds it
    // (hundreds of them were half the Worker's heap, which every garbage collection walks: bench/gc.ts).
    let schema: AnyObject | undefined;
    const full = () => (schema ??= z.object({ ...target, ...(hasTls(spec) ? tlsFields : {}), via: jumpHostField, ...op.input.shape }).strict() as unknown as AnyObject);
    operations[name] = Object.defineProperty({ ...op, name, primary: op.primary ?? defaultPrimary(op.input.shape) }, 'schema', { get: full, enumerable: true }) as DefinedOperation;
  }
  for (const op of Object.values(operations)) {
    if (op.cancel && !operations[op.cancel.operation]) throw new TypeError(`${spec.id}.${op.name}: cancel names no operation ${op.cancel.operation}`);
    if (op.cancel && !(op.cancel.tag in op.input.shape)) throw new TypeError(`${spec.id}.${op.name}: cancel.tag names no input field`);
  }
  if (spec.defaultOperation && !operations[spec.defaultOperation]) {
    throw new TypeError(`${spec.id}: defaultOperation ${spec.defaultOperation} is not an operation`);
  }
  return { ...spec, operations, tlsModes };
}
