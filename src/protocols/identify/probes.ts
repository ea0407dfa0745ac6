// Service identification, sans-I/O: what servers say first (their greetings) and, for servers that wait for
// the client, one harmless first message per protocol with a recognizer for the answer (nmap's
// nmap-service-probes does the same with regular expressions; these recognizers read the protocol's own
// framing). Nothing here writes, stores or logs in with a credential: probes ask for a version, a PING, a
// capability list, or start a handshake and stop at the server's first answer.
import { ByteReader, ByteWriter, concat, equalBytes, fromLatin1, utf8 } from '../../core/bytes.ts';
import { recognizeGreeting } from '../../core/sniff.ts';
import { guessService } from '../banner/guess.ts';
import { dumps, loads } from '../graphite/pickle.ts';
import { PREFACE, encodeSettings } from '../http2/frames.ts';
import { COMMAND, DIALECTS, decodeNegotiateResponse, dialectName, encodeHeader, negotiateBody, transportFrame } from '../smb/codec.ts';

export type Confidence = 'high' | 'medium' | 'low';

export interface Finding {
  /** The service as nmap would name it (a registry id when the registry has one). */
  service: string;
  confidence: Confidence;
  product?: string;
  version?: string;
  /** What else the answer told (Redis mode, the TLS alert, the SMTP greeting's host). */
  info?: string;
}

export interface Probe {
  name: string;
  /** The registry id this probe asks for. */
  protocol: string;
  /** Relative cost: bytes sent and what the server does with them; cheaper probes run first. */
  cost: number;
  /** Registered ports where this probe goes first. */
  ports: readonly number[];
  payload(host: string, random: (n: number) => Uint8Array): Uint8Array;
  /** Reads the answer to this probe; null: not this protocol (other recognizers still look). */
  recognize(reply: Uint8Array, text: string, sent: Uint8Array): Finding | null;
}

/** Services named here that the registry has no client for: reported with protocol 'unknown' and this name. */
export const OUTSIDE_REGISTRY: ReadonlySet<string> = new Set(['rpc']);

/** The services greetings (recognizeBanner) and other probes' answers name, besides each probe's own protocol. */
export const RECOGNIZED_SERVICES = ['docker', 'qotd', 'gopher', 'httpproxy', 'beanstalkd', 'gearman', 'ssh', 'dict', 'ftp', 'snpp', 'smtp', 'lmtp', 'imap', 'pop3', 'vnc', 'nats', 'rserve', 'svn', 'varnish', 'telnet', 'mysql', 'zmtp', 'activemq', 'openflow', 'bgp', 'chargen', 'daytime', 'time', 'echo', 'cvs', 'jdwp', 'grpc', 'tls', 'managesieve', 'rsync', 'nntp', 'nbd'] as const;

/**
 * Registry protocols no probe names, and why: a probe would need a secret, a write, UDP (identify is TCP), or
 * the protocol runs inside another one that is named instead.
 */
export const NOT_PROBED: Readonly<Record<string, string>> = {
  ping: 'a measurement, not a service',
  ports: 'a measurement, not a service',
  banner: 'the listening step itself',
  identify: 'this operation',
  discard: 'RFC 863 discards everything and never answers: indistinguishable from any silent service',
  whois: 'answers free text to any line; no signature to tell it from others',
  kerberos: 'an AS-REQ for a made-up principal is a login attempt the KDC logs; not sent',
  radius: 'RADIUS over TCP and RadSec drop packets without the shared secret',
  dcerpc: 'a DCE/RPC bind needs an interface; named as far as its port is registered',
  netbios: 'a session request needs the called NetBIOS name',
  diameter: 'a Capabilities-Exchange-Request opens a peer session; not sent',
  tacacs: 'TACACS+ bodies are obfuscated with the shared secret',
  iscsi: 'an iSCSI Login request opens a session on the target (a login, if without a secret); not sent',
  bittorrent: 'a peer answers only a handshake for a torrent it has: the info hash is needed',
  ldp: 'an LDP session starts only after a Hello adjacency over UDP (identify asks over TCP)',
  rabbitmq: 'the management API is HTTP: named http',
  ntp: 'UDP',
  snmp: 'UDP in the lab; TCP agents need a community (a credential)',
  tftp: 'UDP',
  websocket: 'runs over HTTP: named http',
  rsh: 'rshd answers only a reserved source port and a user name; not sent',
  rlogin: 'a login with a user name; not sent',
  rexec: 'rexecd takes a user and password first; not sent',
  statsd: 'UDP',
  sip: 'UDP in the lab',
  ssdp: 'UDP multicast',
  rip: 'UDP',
  uwsgi: 'a uwsgi packet runs a request on the application; not sent',
  jsonrpc: 'runs over HTTP: named http',
  soap: 'runs over HTTP: named http',
  etcd: 'runs over HTTP/1.1 and h2c: named http',
  shadowsocks: 'every byte is encrypted with the key; a server without it stays silent',
  l2tp: 'UDP',
  ike: 'UDP',
  lsp: 'an initialize request starts a language server session; not sent',
  dap: 'an initialize request starts a debug session; not sent',
  thrift: 'a Thrift call needs a method name; an unknown one is answered only by some servers',
  cdp: 'runs over HTTP: named http',
  jupyter: 'runs over HTTP: named http',
  kafka: 'no lab server',
  sql: 'a family page, not a protocol on the wire',
};

const high = (service: string, rest: Omit<Finding, 'service' | 'confidence'> = {}): Finding => ({ service, confidence: 'high', ...rest });
const medium = (service: string, rest: Omit<Finding, 'service' | 'confidence'> = {}): Finding => ({ service, confidence: 'medium', ...rest });

/** "OpenSSH_9.2p1" → product OpenSSH, version 9.2p1; "nginx/1.22.1" → nginx, 1.22.1. */
export function productVersion(software: string): { product?: string; version?: string } {
  const s = software.trim();
  if (!s) return {};
  const m = /^([A-Za-z][\w.+-]*?)[/_ -]v?(\d[\w.+~:-]*)/.exec(s);
  if (m) return { product: m[1], version: m[2] };
  return { product: s.slice(0, 80) };
}

const line = (text: string) => text.split(/\r?\n/, 1)[0];

// ---------------------------------------------------------------- greetings

/**
 * What a server that speaks first says, named. `more`: the greeting is a 220 line that SMTP, LMTP and FTP
 * share; the driver asks LHLO next (RFC 2033 4.1) to tell LMTP apart.
 */
export function recognizeBanner(bytes: Uint8Array): Finding | null {
  const text = fromLatin1(bytes.subarray(0, 4096));
  const first = line(text);
  let m: RegExpExecArray | null;
  if ((m = /^SSH-(\d\.\d+)-(\S+)(?: (.*))?/.exec(first))) return high('ssh', { ...productVersion(m[2]), info: `protocol ${m[1]}${m[3] ? `, ${m[3]}` : ''}` });
  if ((m = /^220[ -].*<[^>]*@[^>]*>\s*$/.exec(first))) return high('dict', /dictd ([\d.]+)/.test(first) ? { product: 'dictd', version: /dictd ([\d.]+)/.exec(first)![1] } : {});
  if (/^220[ -]/.test(first)) {
    if ((m = /\b(vsFTPd|ProFTPD|Pure-FTPd|FileZilla Server)(?:[ /]v?(\d[\w.]*))?/i.exec(first))) return high('ftp', { product: m[1], version: m[2] });
    if (/\bFTP\b/i.test(first)) return high('ftp');
    if ((m = /\bSNPP\b/i.exec(first))) return high('snpp');
    if ((m = /\b(Postfix|Exim|Sendmail|OpenSMTPD)\b(?:[ /]([\d.]+))?/i.exec(first))) return high('smtp', { product: m[1], version: m[2], info: first.slice(4, 120) });
    if (/\bLMTP\b/.test(first)) return high('lmtp', { info: first.slice(4, 120) });
    if (/\bE?SMTP\b/.test(first)) return high('smtp', { info: first.slice(4, 120) });
    return medium('smtp', { ...(/\bDovecot\b/.test(first) ? { product: 'Dovecot' } : {}), info: first.slice(4, 120) });
  }
  if (/^\* (OK|PREAUTH)\b/.test(first)) return high('imap', /Dovecot/.test(first) ? { product: 'Dovecot' } : {});
  if (/^\+OK\b/.test(first)) return high('pop3', /Dovecot/.test(first) ? { product: 'Dovecot' } : {});
  if ((m = /^"IMPLEMENTATION" "([^"]*)"/m.exec(text))) return high('managesieve', productVersion(m[1]));
  if ((m = /^RFB (\d{3})\.(\d{3})\n/.exec(text))) return high('vnc', { info: `RFB ${Number(m[1])}.${Number(m[2])}` });
  if ((m = /^@RSYNCD: ([\d.]+)/.exec(first))) return high('rsync', { version: m[1] });
  // NBD (the protocol's doc, "Handshake"): NBDMAGIC, then IHAVEOPT (newstyle) or the old-style magic.
  if (fromLatin1(bytes.subarray(0, 8)) === 'NBDMAGIC') return high('nbd', { info: fromLatin1(bytes.subarray(8, 16)) === 'IHAVEOPT' ? 'newstyle handshake' : 'oldstyle handshake' });
  if ((m = /^INFO (\{.*\})\s*$/.exec(first))) return high('nats', natsInfo(m[1]));
  if (/^Rsrv\d{4}QAP1/.test(text)) return high('rserve', { info: first.slice(0, 12) });
  if (/^\( success \( \d+ \d+ /.test(text)) return high('svn');
  if (/^(107|200) \d+ *\n/.test(text)) return high('varnish', { info: 'management CLI' });
  // NNTP (RFC 3977 5.1): 200 posting allowed, 201 not; INN names itself.
  if (/^20[01] .*\b(?:INN|InterNetNews)\b/.test(first)) return high('nntp', { product: 'INN', version: /\bINN ([\d.]+)/.exec(first)?.[1], info: first.slice(4, 120) });
  if (/^20[01] .*\b(NNTP|NNRP|news)\b/i.test(first)) return high('nntp', { info: first.slice(4, 120) });
  if (/^220 .*\bFAX\b|hfaxd/i.test(first)) return high('snpp');
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] >= 0xfb && bytes[1] <= 0xfe) return high('telnet', { info: 'option negotiation first' });
  const mysql = mysqlGreeting(bytes);
  if (mysql) return mysql;
  // ZMTP 3 (rfc.zeromq.org/spec/23): signature 0xFF, 8 bytes, 0x7F, then the version.
  if (bytes.length >= 11 && bytes[0] === 0xff && bytes[9] === 0x7f) return high('zmtp', { version: `${bytes[10]}.${bytes[11] ?? 0}` });
  // ActiveMQ OpenWire: a WireFormatInfo command (type 1) whose magic is "ActiveMQ".
  if (bytes.length >= 13 && bytes[4] === 0x01 && fromLatin1(bytes.subarray(5, 13)) === 'ActiveMQ') return high('activemq', { product: 'ActiveMQ', info: 'OpenWire' });
  const openflow = openflowHello(bytes);
  if (openflow) return openflow;
  const bgp = bgpMessage(bytes);
  if (bgp) return bgp;
  if (chargenLine(bytes)) return high('chargen');
  const guess = guessService(text, bytes, 0);
  if (guess && guess.protocol !== 'smtp-or-ftp') return { service: guess.protocol, confidence: guess.confidence === 'high' ? 'medium' : guess.confidence };
  const greeting = recognizeGreeting(bytes);
  if (greeting) return medium(greeting.protocol);
  return null;
}

function natsInfo(json: string): Omit<Finding, 'service' | 'confidence'> {
  try {
    const info = JSON.parse(json) as { server_name?: unknown; version?: unknown };
    return { product: 'nats-server', version: typeof info.version === 'string' ? info.version : undefined };
  } catch {
    return {};
  }
}

/** MySQL/MariaDB Initial Handshake v10 (sequence 0): the server version is a C string after the protocol byte. */
function mysqlGreeting(b: Uint8Array): Finding | null {
  if (b.length < 6 || b[3] !== 0 || b[4] !== 0x0a) return null;
  const len = b[0] | (b[1] << 8) | (b[2] << 16);
  if (len < 20 || len > 1024) return null;
  const end = b.indexOf(0, 5);
  if (end < 0 || end - 5 > 120) return null;
  const v = fromLatin1(b.subarray(5, end));
  if (!/^[\x20-\x7e]+$/.test(v)) return null;
  const maria = /^(?:5\.5\.5-)?([\d.]+)-(.*MariaDB.*)$/.exec(v);
  return high('mysql', maria ? { product: 'MariaDB', version: maria[1], info: v } : { product: 'MySQL', version: v });
}

/** OpenFlow OFPT_HELLO (type 0, version 1–6, length ≥ 8): a switch or controller greets first. */
function openflowHello(b: Uint8Array): Finding | null {
  if (b.length < 8 || b[0] < 1 || b[0] > 6 || b[1] !== 0) return null;
  const len = (b[2] << 8) | b[3];
  if (len < 8 || len > 256) return null;
  return high('openflow', { version: ['1.0', '1.1', '1.2', '1.3', '1.4', '1.5'][b[0] - 1] });
}

/** A BGP message: 16 bytes of 0xFF marker, a length of 19–4096 and a type 1–5 (RFC 4271 4.1). */
function bgpMessage(b: Uint8Array): Finding | null {
  if (b.length < 19) return null;
  for (let i = 0; i < 16; i++) if (b[i] !== 0xff) return null;
  const len = (b[16] << 8) | b[17];
  if (len < 19 || len > 4096 || b[18] < 1 || b[18] > 5) return null;
  return high('bgp', { info: ['OPEN', 'UPDATE', 'NOTIFICATION', 'KEEPALIVE', 'ROUTE-REFRESH'][b[18] - 1] });
}

/** RFC 864: lines of 72 printable characters, each one character on from the last. */
function chargenLine(b: Uint8Array): boolean {
  if (b.length < 74) return false;
  for (let i = 1; i < 72; i++) {
    const a = b[i - 1];
    const c = b[i];
    if (a < 0x20 || a > 0x7e || !(c === a + 1 || (a === 0x7e && c === 0x20))) return false;
  }
  return true;
}

// ---------------------------------------------------------------- TLS

/**
 * A ClientHello (RFC 8446 4.1.2) offering TLS 1.3 and 1.2 (`tls13` false: 1.2 alone, so a TLS 1.2 ServerHello
 * shows the ALPN choice in clear) with ALPN h2 and http/1.1. Its X25519 key share is random: the probe reads the
 * ServerHello and hangs up.
 */
export function clientHello(host: string, random: (n: number) => Uint8Array, tls13 = true): Uint8Array {
  const ext = new ByteWriter();
  const extension = (type: number, body: Uint8Array) => ext.u16(type).u16(body.length).bytes(body);
  if (/[a-z]/i.test(host) && !host.includes(':')) {
    const name = utf8(host);
    extension(0, new ByteWriter().u16(name.length + 3).u8(0).u16(name.length).bytes(name).finish());
  }
  extension(10, new ByteWriter().u16(6).u16(0x001d).u16(0x0017).u16(0x0018).finish());
  extension(11, Uint8Array.of(1, 0));
  const sigs = [0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0201, 0x0203];
  const s = new ByteWriter().u16(sigs.length * 2);
  sigs.forEach((x) => s.u16(x));
  extension(13, s.finish());
  const alpn = new ByteWriter();
  for (const p of ['h2', 'http/1.1']) alpn.lengthPrefixed('u8', p);
  const alpnList = alpn.finish();
  extension(16, new ByteWriter().u16(alpnList.length).bytes(alpnList).finish());
  if (tls13) {
    extension(43, Uint8Array.of(4, 0x03, 0x04, 0x03, 0x03));
    extension(45, Uint8Array.of(1, 1));
    extension(51, new ByteWriter().u16(36).u16(0x001d).u16(32).bytes(random(32)).finish());
  }
  const suites = [0x1301, 0x1302, 0x1303, 0xc02f, 0xc030, 0xc02b, 0xc02c, 0xcca8, 0xcca9, 0x009c, 0x009d, 0x002f, 0x0035];
  const body = new ByteWriter().u16(0x0303).bytes(random(32)).u8(32).bytes(random(32)).u16(suites.length * 2);
  suites.forEach((x) => body.u16(x));
  const extensions = ext.finish();
  body.u8(1).u8(0).u16(extensions.length).bytes(extensions);
  const hello = body.finish();
  const handshake = new ByteWriter().u8(1).u24(hello.length).bytes(hello).finish();
  return new ByteWriter().u8(0x16).u16(0x0301).u16(handshake.length).bytes(handshake).finish();
}

const TLS_NAMES: Record<number, string> = { 0x0300: 'SSLv3', 0x0301: 'TLSv1', 0x0302: 'TLSv1.1', 0x0303: 'TLSv1.2', 0x0304: 'TLSv1.3' };

export interface TlsAnswer {
  /** A ServerHello, or an alert (the server speaks TLS and refused this hello). */
  kind: 'hello' | 'alert';
  version?: string;
  alpn?: string;
  alert?: number;
}

/** Reads the first TLS record of a server's answer (RFC 8446 5.1, 4.1.3); null when it is not TLS. */
export function readTlsAnswer(b: Uint8Array): TlsAnswer | null {
  if (b.length < 5 || (b[0] !== 0x16 && b[0] !== 0x15) || b[1] !== 0x03 || b[2] > 0x04) return null;
  const recordLen = (b[3] << 8) | b[4];
  if (recordLen === 0 || recordLen > 0x4800) return null;
  if (b[0] === 0x15) return b.length >= 7 ? { kind: 'alert', alert: b[6] } : { kind: 'alert' };
  const r = new ByteReader(b.subarray(5, Math.min(b.length, 5 + recordLen)));
  try {
    if (r.u8('handshake type') !== 2) return { kind: 'hello' };
    r.u24('handshake length');
    const legacy = r.u16('server_version');
    r.skip(32, 'random');
    r.skip(r.u8('session id length'), 'session id');
    r.skip(3, 'cipher suite and compression');
    const out: TlsAnswer = { kind: 'hello', version: TLS_NAMES[legacy] };
    if (r.remaining < 2) return out;
    const exts = new ByteReader(r.bytesN(r.u16('extensions length'), 'extensions'));
    while (exts.remaining >= 4) {
      const type = exts.u16('extension type');
      const data = new ByteReader(exts.bytesN(exts.u16('extension length'), 'extension'));
      if (type === 43 && data.remaining >= 2) out.version = TLS_NAMES[data.u16('selected_version')] ?? out.version;
      if (type === 16 && data.remaining >= 3) {
        data.u16('ALPN list length');
        out.alpn = fromLatin1(data.lengthPrefixed('u8', 'ALPN protocol', 255));
      }
    }
    return out;
  } catch {
    // A ServerHello cut short by the read: still TLS.
    return { kind: 'hello' };
  }
}

// ---------------------------------------------------------------- client-first probes

/** HTTP Server header and the services that answer HTTP in their own words. */
function recognizeHttp(text: string): Finding | null {
  const status = /^HTTP\/(1\.[01]) (\d{3})/.exec(text);
  if (!status) return null;
  const head = text.slice(0, Math.max(0, text.indexOf('\r\n\r\n')) || text.length);
  const header = (name: string) => new RegExp(`^${name}:[ \\t]*(.*?)\\s*$`, 'im').exec(head)?.[1];
  const server = header('server');
  const pv = server ? productVersion(server) : {};
  if (/Tor ControlPort/i.test(text)) return high('torcontrol', { product: 'Tor' });
  if (/^(squid|tinyproxy)/i.test(server ?? '') || /^X-Squid-Error:/im.test(head)) return high('httpproxy', pv);
  if (/\bh2c\b/i.test(header('upgrade') ?? '')) return high('http2', { ...pv, info: `h2c by Upgrade; HTTP/1.1 too (${status[2]})` });
  if (/^Docker\//i.test(server ?? '') || /^Api-Version:/im.test(head)) return high('docker', pv);
  return high('http', { ...pv, info: `HTTP/${status[1]} ${status[2]}` });
}

/** An HTTP/2 frame header on stream 0: SETTINGS (4) or GOAWAY (7), as an h2c server answers anything (RFC 9113 3.4). */
function h2Frames(b: Uint8Array): boolean {
  if (b.length < 9) return false;
  const len = (b[0] << 16) | (b[1] << 8) | b[2];
  const streamZero = (b[5] & 0x7f) === 0 && b[6] === 0 && b[7] === 0 && b[8] === 0;
  return streamZero && ((b[3] === 4 && len % 6 === 0 && len <= 60) || (b[3] === 7 && len >= 8 && len < 1024));
}

/** Redis INFO's `key:value` lines. */
function redisInfo(text: string): Omit<Finding, 'service' | 'confidence'> {
  const version = /^redis_version:(\S+)/m.exec(text)?.[1];
  const mode = /^redis_mode:(\S+)/m.exec(text)?.[1];
  return { product: mode === 'sentinel' ? 'Redis Sentinel' : 'Redis', version, info: mode ? `mode ${mode}` : undefined };
}

function dnsVersionQuery(random: (n: number) => Uint8Array): Uint8Array {
  const id = random(2);
  const name = new ByteWriter();
  for (const label of ['version', 'bind']) name.lengthPrefixed('u8', label);
  const q = new ByteWriter().bytes(id).u16(0x0000).u16(1).u16(0).u16(0).u16(0).bytes(name.finish()).u8(0).u16(16).u16(3).finish();
  return new ByteWriter().u16(q.length).bytes(q).finish();
}

/** A DNS response over TCP (RFC 1035 4.2.2): QR set, one question; the TXT answer is version.bind's. */
function recognizeDns(b: Uint8Array): Finding | null {
  if (b.length < 14) return null;
  const len = (b[0] << 8) | b[1];
  if (len < 12 || (b[4] & 0x80) === 0 || ((b[6] << 8) | b[7]) !== 1) return null;
  const rcode = b[5] & 0x0f;
  const answers = (b[8] << 8) | b[9];
  let version: string | undefined;
  if (answers > 0 && rcode === 0) {
    // The TXT RDATA is the last record's character-strings; read the first.
    const msg = b.subarray(2, 2 + len);
    const i = msg.length - 1;
    for (let start = 12; start < i; start++) {
      // type TXT (16), class CH (3), then TTL, RDLENGTH, and the string length.
      if (msg[start] === 0 && msg[start + 1] === 16 && msg[start + 2] === 0 && msg[start + 3] === 3 && start > 20) {
        const rdlen = (msg[start + 8] << 8) | msg[start + 9];
        const slen = msg[start + 10];
        if (rdlen >= 1 && slen + 1 <= rdlen && start + 11 + slen <= msg.length) version = fromLatin1(msg.subarray(start + 11, start + 11 + slen));
      }
    }
  }
  const pv = version ? productVersion(version) : {};
  if (version && /^\d/.test(version)) return high('dns', { product: 'BIND', version });
  return high('dns', { ...pv, info: version ? `version.bind "${version}"` : `version.bind refused (rcode ${rcode})` });
}

const text = (s: string) => () => utf8(s);

/** Client-first probes in the order they cost least; a reply is also read by every other probe's recognizer. */
/** CALL of procedure 0 of program 100000 version 2, AUTH_NONE, in one last fragment (RFC 5531 §9, §11). */
function rpcNullCall(xid: Uint8Array): Uint8Array {
  const w = new ByteWriter();
  w.u32(0x80000000 | 40);
  w.bytes(xid);
  for (const v of [0, 2, 100000, 2, 0, 0, 0, 0, 0]) w.u32(v);
  return w.finish();
}

/** A REPLY to our xid: the accept_stat of an accepted one, -1 for a denied one; null when it is not one. */
function rpcReply(b: Uint8Array, xid: Uint8Array): number | null {
  if (b.length < 4 + 12 || !(b[0] & 0x80)) return null;
  const r = new ByteReader(b.subarray(4));
  if (!equalBytes(r.bytesN(4), xid) || r.u32() !== 1) return null;
  if (r.u32() !== 0) return -1;
  if (r.remaining < 12) return null;
  r.u32();
  r.skip(Math.min(r.u32(), 400));
  return r.remaining >= 4 ? r.u32() : null;
}

export const PROBES: readonly Probe[] = [
  {
    name: 'tls-client-hello',
    protocol: 'tls',
    cost: 1,
    ports: [443, 465, 636, 853, 990, 993, 995, 5349, 6380, 8883, 5671, 2376],
    payload: (host, random) => clientHello(host, random),
    recognize(reply) {
      const t = readTlsAnswer(reply);
      if (!t) return null;
      return high('tls', { info: t.kind === 'alert' ? `alert ${t.alert ?? '?'} to the ClientHello` : `ServerHello ${t.version ?? ''}`.trim() });
    },
  },
  {
    name: 'http-get',
    protocol: 'http',
    cost: 1,
    ports: [80, 8080, 8000, 8008, 8888, 3128, 2375, 2379, 9222, 15672, 80],
    payload: (host) => utf8(`GET / HTTP/1.1\r\nHost: ${/:/.test(host) ? `[${host}]` : host}\r\nUser-Agent: portolan-identify\r\nAccept: */*\r\nConnection: close\r\n\r\n`),
    recognize(reply, t) {
      if (h2Frames(reply)) return high('http2', { info: 'h2c: answers HTTP/1.1 with HTTP/2 frames' });
      return recognizeHttp(t);
    },
  },
  {
    // ONC RPC (RFC 5531) over TCP: a NULL call to the portmapper program, record-marked; every RPC server answers
    // it, and only rpcbind accepts it.
    name: 'rpc-null',
    protocol: 'portmapper',
    cost: 2,
    ports: [111],
    payload: (_host, random) => rpcNullCall(random(4)),
    recognize(reply, _t, sent) {
      const r = rpcReply(reply, sent.subarray(4, 8));
      if (r === null) return null;
      if (r === 0) return high('portmapper', { info: 'answers the NULL call of program 100000 v2' });
      return medium('rpc', { info: `ONC RPC: ${r === 1 ? 'PROG_UNAVAIL' : r === 2 ? 'PROG_MISMATCH' : `accept_stat ${r}`} for the portmapper program` });
    },
  },
  {
    // 9P (version(5)): Tversion with NOTAG asking for 9P2000.L; a server answers Rversion, or an error reply.
    name: '9p-version',
    protocol: '9p',
    cost: 2,
    ports: [564],
    payload: () => {
      const version = utf8('9P2000.L');
      const w = new ByteWriter();
      w.u32le(4 + 1 + 2 + 4 + 2 + version.length).u8(100).u16le(0xffff).u32le(8192).u16le(version.length).bytes(version);
      return w.finish();
    },
    recognize(reply) {
      if (reply.length < 7) return null;
      const size = reply[0] | (reply[1] << 8) | (reply[2] << 16) | (reply[3] << 24);
      if (size < 7 || size > 1 << 20 || reply[5] !== 0xff || reply[6] !== 0xff) return null;
      if (reply[4] === 101 && reply.length >= 13) {
        const n = reply[11] | (reply[12] << 8);
        return high('9p', { version: fromLatin1(reply.subarray(13, 13 + Math.min(n, 32))) });
      }
      // Rlerror (9P2000.L) or Rerror: a 9P server that does not take this version.
      if (reply[4] === 7 || reply[4] === 107) return medium('9p', { info: 'an error reply to Tversion 9P2000.L' });
      return null;
    },
  },
  {
    // SMB2 NEGOTIATE (MS-SMB2 §2.2.3) for 2.0.2–3.0.2: the server answers with the dialect it picked, before any
    // session; an SMB1-only server answers in SMB1.
    name: 'smb2-negotiate',
    protocol: 'smb',
    cost: 3,
    ports: [445, 139],
    payload: (_host, random) =>
      transportFrame(
        concat([
          encodeHeader({ command: COMMAND.negotiate, creditCharge: 0, credits: 1, messageId: 0n }).finish(),
          negotiateBody({ dialects: [DIALECTS['2.0.2'], DIALECTS['2.1'], DIALECTS['3.0'], DIALECTS['3.0.2']], securityMode: 1, capabilities: 0, clientGuid: random(16), salt: new Uint8Array(0), ciphers: [], signing: [] }),
        ]),
      ),
    recognize(reply) {
      if (reply.length < 8 || reply[0] !== 0 || reply[6] !== 0x4d || reply[7] !== 0x42 || reply[5] !== 0x53) return null;
      if (reply[4] === 0xff) return high('smb', { info: 'answers in SMB1 only' });
      if (reply[4] !== 0xfe) return null;
      try {
        const message = reply.subarray(4);
        const n = decodeNegotiateResponse(message);
        return high('smb', { version: dialectName(n.dialect), info: `SMB ${dialectName(n.dialect)}, signing ${n.securityMode & 2 ? 'required' : 'enabled'}` });
      } catch {
        return medium('smb', { info: 'an SMB2 header' });
      }
    },
  },
  {
    name: 'redis-ping',
    protocol: 'redis',
    cost: 2,
    ports: [6379, 26379],
    payload: text('PING\r\nINFO server\r\n'),
    recognize(_b, t) {
      if (/^\+PONG\r\n/.test(t)) return high('redis', /redis_version:/.test(t) ? redisInfo(t) : { product: 'Redis' });
      if (/^-(NOAUTH|WRONGPASS|DENIED)\b/.test(t)) return high('redis', { product: 'Redis', info: line(t).slice(1, 100) });
      return null;
    },
  },
  {
    name: 'memcached-version',
    protocol: 'memcached',
    cost: 2,
    ports: [11211, 4730, 11300],
    payload: text('version\r\n'),
    recognize(_b, t) {
      let m: RegExpExecArray | null;
      if ((m = /^VERSION (\S+)\r?\n/.exec(t))) return high('memcached', { product: 'memcached', version: m[1] });
      if ((m = /^OK (\d[\w.+~-]*)\r?\n/.exec(t))) return high('gearman', { product: 'gearmand', version: m[1] });
      if (/^ERR UNKNOWN_COMMAND /.test(t)) return medium('gearman');
      if (/^UNKNOWN_COMMAND\r\n/.test(t)) return high('beanstalkd');
      return null;
    },
  },
  {
    name: 'postgres-sslrequest',
    protocol: 'postgres',
    cost: 2,
    ports: [5432],
    // SSLRequest (PostgreSQL protocol 53.2.10): length 8, code 80877103; the answer is one byte, S or N.
    payload: () => Uint8Array.of(0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f),
    recognize: (b) => (b.length === 1 && (b[0] === 0x53 || b[0] === 0x4e) ? medium('postgres', { info: b[0] === 0x53 ? 'offers TLS (SSLRequest: S)' : 'no TLS (SSLRequest: N)' }) : null),
  },
  {
    name: 'postgres-startup',
    protocol: 'postgres',
    cost: 4,
    ports: [5432],
    // StartupMessage 3.0 for a user that names the probe; the server answers with an authentication request or an error.
    payload() {
      const w = new ByteWriter();
      const done = w.lengthAt('u32', true);
      w.u32(196608).cstring('user').cstring('portolan-identify').cstring('database').cstring('portolan-identify').u8(0);
      done();
      return w.finish();
    },
    recognize(b, t) {
      if (b.length >= 9 && b[0] === 0x52 && b[1] === 0 && b[2] === 0 && b[4] >= 8) return high('postgres', { product: 'PostgreSQL', info: 'asks for authentication' });
      if (b.length >= 9 && b[0] === 0x45 && b[1] === 0 && /^E[^]{4}S(FATAL|ERROR|PANIC)\x00/.test(t)) return high('postgres', { product: 'PostgreSQL', info: /\x00M([^\x00]{1,160})/.exec(t)?.[1] });
      return null;
    },
  },
  {
    name: 'dns-version-bind',
    protocol: 'dns',
    cost: 2,
    ports: [53],
    payload: (_h, random) => dnsVersionQuery(random),
    recognize: (b) => recognizeDns(b),
  },
  {
    name: 'ajp-cping',
    protocol: 'ajp',
    cost: 3,
    ports: [8009],
    // AJP13 CPing (type 10); the container answers CPong "AB" 00 01 09.
    payload: () => Uint8Array.of(0x12, 0x34, 0x00, 0x01, 0x0a),
    recognize: (b) => (b.length >= 5 && b[0] === 0x41 && b[1] === 0x42 && b[4] === 0x09 ? high('ajp', { info: 'CPong' }) : null),
  },
  {
    name: 'socks5-greeting',
    protocol: 'socks',
    cost: 3,
    ports: [1080],
    payload: () => Uint8Array.of(5, 1, 0),
    recognize: (b) => (b.length === 2 && b[0] === 5 && (b[1] === 0 || b[1] === 2 || b[1] === 0xff) ? high('socks', { version: '5', info: b[1] === 0 ? 'no authentication' : b[1] === 2 ? 'username/password' : 'no acceptable method' }) : null),
  },
  {
    name: 'x11-setup',
    protocol: 'x11',
    cost: 3,
    ports: [6000],
    // Connection setup, little-endian, protocol 11.0, no authorization: the server answers Success, Failed or Authenticate.
    payload: () => Uint8Array.of(0x6c, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    recognize(b) {
      if (b.length < 8 || b[0] > 2 || b[2] !== 11 || b[3] !== 0) return null;
      const vendorLen = b[0] === 1 && b.length >= 26 ? b[24] | (b[25] << 8) : 0;
      const vendor = vendorLen && b.length >= 40 + vendorLen ? fromLatin1(b.subarray(40, 40 + vendorLen)) : undefined;
      return high('x11', { product: vendor, info: ['setup failed (authorization needed)', 'setup accepted', 'authenticate'][b[0]] });
    },
  },
  {
    name: 'rdp-x224',
    protocol: 'rdp',
    cost: 3,
    ports: [3389],
    // X.224 Connection Request with RDP_NEG_REQ for TLS and CredSSP (MS-RDPBCGR 2.2.1.1).
    payload: () => Uint8Array.of(3, 0, 0, 19, 14, 0xe0, 0, 0, 0, 0, 0, 1, 0, 8, 0, 3, 0, 0, 0),
    recognize: (b) => (b.length >= 11 && b[0] === 3 && b[1] === 0 && b[5] === 0xd0 ? high('rdp', { info: 'X.224 Connection Confirm' }) : null),
  },
  {
    name: 'spice-link',
    protocol: 'spice',
    cost: 3,
    ports: [5900],
    // SpiceLinkHeader "REDQ" 2.2 and a SpiceLinkMess for the main channel; the server answers with its own "REDQ" header.
    payload: () =>
      new ByteWriter().text('REDQ').u32le(2).u32le(2).u32le(18).u32le(0).u8(1).u8(0).u32le(0).u32le(0).u32le(18).finish(),
    recognize: (b) => (b.length >= 8 && fromLatin1(b.subarray(0, 4)) === 'REDQ' ? high('spice', { version: `${b[4] | (b[5] << 8)}` }) : null),
  },
  {
    name: 'stun-binding',
    protocol: 'stun',
    cost: 3,
    ports: [3478, 5349],
    payload: (_h, random) => new ByteWriter().u16(0x0001).u16(0).u32(0x2112a442).bytes(random(12)).finish(),
    recognize: (b, t) => {
      if (b.length < 20 || b[0] !== 0x01 || (b[1] !== 0x01 && b[1] !== 0x11) || b[4] !== 0x21 || b[5] !== 0x12 || b[6] !== 0xa4 || b[7] !== 0x42) return null;
      const software = /(Coturn-[\w.-]+)/.exec(t)?.[1];
      return high('stun', software ? { product: 'coturn', version: software.slice(7) } : {});
    },
  },
  {
    name: 'ldap-bind',
    protocol: 'ldap',
    cost: 3,
    ports: [389, 636],
    // An anonymous simple bind (RFC 4511 4.2), message 1: no credential; the answer is a BindResponse (0x61).
    payload: () => Uint8Array.of(0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00),
    recognize(b) {
      if (b.length < 7 || b[0] !== 0x30) return null;
      const at = b[1] & 0x80 ? 2 + (b[1] & 0x7f) : 2;
      if (b[at] !== 0x02 || b[at + 1] !== 1 || b[at + 2] !== 1 || b[at + 3] !== 0x61) return null;
      return high('ldap', { info: 'BindResponse' });
    },
  },
  {
    name: 'mqtt-connect',
    protocol: 'mqtt',
    cost: 3,
    ports: [1883, 8883],
    // CONNECT 3.1.1 with a clean session and no credentials; the broker answers CONNACK (0x20 0x02).
    payload() {
      const body = new ByteWriter().lengthPrefixed('u16', 'MQTT').u8(4).u8(0x02).u16(10).lengthPrefixed('u16', 'portolan-identify').finish();
      return concat([Uint8Array.of(0x10, body.length), body, Uint8Array.of(0xe0, 0)]);
    },
    recognize: (b) => (b.length >= 4 && b[0] === 0x20 && b[1] === 2 ? high('mqtt', { info: `CONNACK return code ${b[3]}` }) : null),
  },
  {
    name: 'amqp-header',
    protocol: 'amqp',
    cost: 3,
    ports: [5672, 5671],
    payload: () => Uint8Array.of(0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1),
    recognize(b) {
      // Connection.Start: a method frame (type 1) on channel 0, class 10 method 10 (AMQP 0-9-1 4.2.3).
      if (b.length >= 11 && b[0] === 1 && b[1] === 0 && b[2] === 0 && b[7] === 0 && b[8] === 10 && b[9] === 0 && b[10] === 10) return high('amqp', { version: `0-9-1` });
      if (b.length >= 8 && fromLatin1(b.subarray(0, 4)) === 'AMQP') return high('amqp', { info: `server prefers AMQP ${b.subarray(4, 8).join('-')}` });
      return null;
    },
  },
  {
    name: 'stomp-connect',
    protocol: 'stomp',
    cost: 3,
    ports: [61613],
    payload: text('CONNECT\naccept-version:1.0,1.1,1.2\nhost:/\n\n\0'),
    recognize(_b, t) {
      // A whole frame: the command line, headers, a blank line and the NUL that ends it (STOMP 1.2 "Frames").
      if (!/^(CONNECTED|ERROR)\r?\n([^\n:]+:[^\n]*\r?\n)*\r?\n[^\0]*\0/.test(t)) return null;
      const server = /^server:(.*)$/m.exec(t)?.[1]?.trim();
      return high('stomp', server ? productVersion(server) : {});
    },
  },
  {
    name: 'torcontrol-protocolinfo',
    protocol: 'torcontrol',
    cost: 3,
    ports: [9051],
    payload: text('PROTOCOLINFO 1\r\n'),
    recognize(_b, t) {
      if (!/^250-PROTOCOLINFO /.test(t) && !/^51\d /.test(t)) return null;
      const v = /VERSION Tor="([^"]+)"/.exec(t)?.[1];
      return /^250/.test(t) ? high('torcontrol', { product: 'Tor', version: v }) : medium('torcontrol');
    },
  },
  {
    name: 'haproxy-show-info',
    protocol: 'haproxy',
    cost: 3,
    ports: [9999],
    payload: text('show info\n'),
    recognize(_b, t) {
      const m = /^Name: (HAProxy)\s*\nVersion: (\S+)/m.exec(t);
      return m ? high('haproxy', { product: 'HAProxy', version: m[2], info: 'stats socket' }) : null;
    },
  },
  {
    name: 'zookeeper-srvr',
    protocol: 'zookeeper',
    cost: 3,
    ports: [2181],
    payload: text('srvr'),
    recognize(_b, t) {
      const m = /^Zookeeper version: ([\w.-]+)/.exec(t);
      if (m) return high('zookeeper', { product: 'ZooKeeper', version: m[1] });
      return /is not executed because it is not in the whitelist/.test(t) ? high('zookeeper', { product: 'ZooKeeper' }) : null;
    },
  },
  {
    name: 'epmd-names',
    protocol: 'epmd',
    cost: 3,
    ports: [4369],
    payload: () => Uint8Array.of(0, 1, 0x6e),
    recognize: (b, t) => (b.length >= 4 && (b.length === 4 || /^name \S+ at port \d+/.test(t.slice(4))) && ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) > 0 ? high('epmd', { info: t.slice(4, 120).trim() || undefined }) : null),
  },
  {
    name: 'jdwp-handshake',
    protocol: 'jdwp',
    cost: 3,
    ports: [5005],
    payload: text('JDWP-Handshake'),
    recognize: () => null,
  },
  {
    name: 'rmi-header',
    protocol: 'rmi',
    cost: 3,
    ports: [1099],
    // JRMP (Java RMI spec 10.2): "JRMI", version 2, StreamProtocol; the server answers ProtocolAck 0x4E.
    payload: () => Uint8Array.of(0x4a, 0x52, 0x4d, 0x49, 0, 2, 0x4b),
    recognize: (b) => (b.length >= 3 && b[0] === 0x4e && b[1] === 0 && b[2] > 0 && b[2] < 254 ? high('rmi', { info: 'ProtocolAck' }) : null),
  },
  {
    name: 'adb-version',
    protocol: 'adb',
    cost: 3,
    ports: [5037],
    payload: text('000chost:version'),
    recognize: (_b, t) => (/^OKAY[0-9a-f]{4}/.test(t) ? high('adb', { version: String(parseInt(t.slice(8, 12), 16) || '') || undefined }) : /^FAIL[0-9a-f]{4}/.test(t) ? medium('adb') : null),
  },
  {
    name: 'git-upload-pack',
    protocol: 'git',
    cost: 3,
    ports: [9418],
    payload: (host) => {
      const body = `git-upload-pack /\0host=${host}\0`;
      return utf8(`${(body.length + 4).toString(16).padStart(4, '0')}${body}`);
    },
    recognize: (_b, t) => (/^[0-9a-f]{4}(ERR |[0-9a-f]{40} )/.test(t) ? high('git', { info: /^[0-9a-f]{4}ERR (.*)/.exec(t)?.[1]?.slice(0, 100) }) : null),
  },
  {
    name: 'fastcgi-get-values',
    protocol: 'fastcgi',
    cost: 3,
    ports: [9000],
    // FCGI_GET_VALUES for FCGI_MPXS_CONNS (FastCGI spec 4.1): the application answers FCGI_GET_VALUES_RESULT (type 10).
    payload: () => Uint8Array.of(1, 9, 0, 0, 0, 17, 0, 0, 15, 0, ...utf8('FCGI_MPXS_CONNS'), 0, 0, 0, 0, 0, 0, 0),
    recognize: (b) => (b.length >= 8 && b[0] === 1 && (b[1] === 10 || b[1] === 11) ? high('fastcgi', { info: b[1] === 10 ? 'GET_VALUES_RESULT' : 'UNKNOWN_TYPE' }) : null),
  },
  {
    name: 'pptp-sccrq',
    protocol: 'pptp',
    cost: 3,
    ports: [1723],
    // Start-Control-Connection-Request (RFC 2637 2.1); the reply carries the magic cookie 0x1A2B3C4D.
    payload() {
      const w = new ByteWriter().u16(156).u16(1).u32(0x1a2b3c4d).u16(1).u16(0).u16(0x0100).u16(0).u32(1).u32(1).u16(0).u16(0);
      w.bytes(new Uint8Array(64)).bytes(new Uint8Array(64));
      return w.finish();
    },
    recognize(b, t) {
      if (b.length < 12 || b[4] !== 0x1a || b[5] !== 0x2b || b[6] !== 0x3c || b[7] !== 0x4d || b[9] !== 2) return null;
      const vendor = b.length >= 156 ? t.slice(92, 156).replace(/\0.*$/s, '') : undefined;
      return high('pptp', { product: vendor || undefined });
    },
  },
  {
    name: 'openvpn-reset',
    protocol: 'openvpn',
    cost: 3,
    ports: [1194],
    // P_CONTROL_HARD_RESET_CLIENT_V2 (opcode 7, key id 0) over TCP with its 16-bit length; the server answers with HARD_RESET_SERVER_V2 (opcode 8).
    payload: (_h, random) => concat([Uint8Array.of(0, 14, 0x38), random(8), Uint8Array.of(0, 0, 0, 0, 0)]),
    recognize(b, _t, sent) {
      // The server acknowledges our packet 0 and names our session id as the remote one (openvpn ssl.c "reliable" ACKs).
      if (b.length < 26 || b[2] >> 3 !== 8 || ((b[0] << 8) | b[1]) !== b.length - 2 || b[11] < 1 || b[11] > 8) return null;
      const remote = 12 + 4 * b[11];
      return sent.length >= 11 && equalBytes(b.subarray(remote, remote + 8), sent.subarray(3, 11)) ? high('openvpn', { info: 'HARD_RESET_SERVER_V2' }) : null;
    },
  },
  {
    name: 'smpp-enquire-link',
    protocol: 'smpp',
    cost: 3,
    ports: [2775],
    payload: () => Uint8Array.of(0, 0, 0, 16, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 1),
    recognize: (b) => (b.length >= 16 && b[0] === 0 && b[3] >= 16 && b[4] === 0x80 && b[5] === 0 && b[6] === 0 && (b[7] === 0x15 || b[7] === 0) ? high('smpp') : null),
  },
  {
    name: 'bgp-keepalive',
    protocol: 'bgp',
    cost: 3,
    ports: [179],
    // A KEEPALIVE before OPEN is an FSM error (RFC 4271 6.6): a speaker answers NOTIFICATION and closes.
    payload: () => concat([new Uint8Array(16).fill(0xff), Uint8Array.of(0, 19, 4)]),
    recognize: (b) => bgpMessage(b),
  },
  {
    name: 'ident-query',
    protocol: 'ident',
    cost: 3,
    ports: [113],
    payload: text('1,1\r\n'),
    recognize: (_b, t) => (/^\s*1\s*,\s*1\s*:\s*(ERROR|USERID)\s*:/.test(t) ? high('ident') : null),
  },
  {
    name: 'memcached-binary-version',
    protocol: 'memcached',
    cost: 3,
    ports: [11211],
    // Binary protocol request header (magic 0x80) for Version (0x0b); the answer has magic 0x81.
    payload: () => concat([Uint8Array.of(0x80, 0x0b), new Uint8Array(22)]),
    recognize(b) {
      if (b.length < 24 || b[0] !== 0x81 || b[1] !== 0x0b) return null;
      const len = (b[8] << 24) | (b[9] << 16) | (b[10] << 8) | b[11];
      const status = (b[6] << 8) | b[7];
      return high('memcached', { product: 'memcached', version: status === 0 && len > 0 && len < 64 && b.length >= 24 + len ? fromLatin1(b.subarray(24, 24 + len)) : undefined, info: 'binary protocol' });
    },
  },
  {
    name: 'h2c-preface',
    protocol: 'http2',
    cost: 3,
    ports: [50051, 2379],
    payload: () => concat([PREFACE, encodeSettings([])]),
    recognize: (b) => (h2Frames(b) ? high('http2', { info: 'h2c with prior knowledge' }) : null),
  },
  {
    name: 'carbon-cache-query',
    protocol: 'graphite',
    cost: 3,
    ports: [7002],
    // A carbon cache query (length-prefixed pickle) for a metric nobody writes; carbon answers {'datapoints': []}.
    payload() {
      const body = dumps({ type: 'cache-query', metric: 'portolan.identify' });
      return new ByteWriter().u32(body.length).bytes(body).finish();
    },
    recognize(b) {
      if (b.length < 6 || b[0] !== 0 || ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) !== b.length - 4) return null;
      try {
        const reply = loads(b.subarray(4));
        return reply && typeof reply === 'object' && 'datapoints' in reply ? high('graphite', { product: 'carbon', info: 'cache query' }) : null;
      } catch {
        return null;
      }
    },
  },
  {
    name: 'clamd-ping',
    protocol: 'clamav',
    cost: 2,
    ports: [3310],
    // clamd's null-terminated command form: PING answers PONG.
    payload: text('zPING\0'),
    recognize(_b, t) {
      return /^PONG\0?$/.test(t) ? high('clamav', { product: 'clamd' }) : null;
    },
  },
  {
    name: 'spamd-ping',
    protocol: 'spamd',
    cost: 2,
    ports: [783],
    payload: text('PING SPAMC/1.5\r\n\r\n'),
    recognize(_b, t) {
      const m = /^SPAMD\/(\d+\.\d+) 0 PONG\r?\n/.exec(t);
      return m ? high('spamd', { product: 'SpamAssassin spamd', info: `protocol ${m[1]}` }) : null;
    },
  },
  {
    name: 'line-crlf',
    protocol: 'finger',
    cost: 5,
    ports: [79, 70],
    // An empty line: finger lists users, gopher answers its root menu.
    payload: text('\r\n'),
    recognize(_b, t) {
      if (/^[0-9ih+gIT][^\t\r\n]*\t[^\t\r\n]*\t[^\t\r\n]*\t\d+\r?\n/m.test(t)) return high('gopher');
      if (/^(Login\s+Name|No one logged on|Login:\s)/m.test(t)) return high('finger');
      return null;
    },
  },
];

/** What a reply to `probe` says, asking that probe first, then every other recognizer (a server may answer in its own words). */
export function recognizeReply(probe: Probe, sent: Uint8Array, reply: Uint8Array): Finding | null {
  if (reply.length === 0) return null;
  const t = fromLatin1(reply.subarray(0, 8192));
  // JDWP answers its handshake with the same 14 bytes (JDWP spec "Transports"): an echo of that one message.
  if (probe.name === 'jdwp-handshake' && equalBytes(reply.subarray(0, 14), sent)) return reply.length === 14 ? medium('jdwp', { info: 'handshake returned' }) : high('echo');
  // An echo server (RFC 862) returns every probe as sent: it is named echo, never as the protocol the probe asked for.
  if (isEcho(sent, reply)) return high('echo');
  const own = probe.recognize(reply, t, sent);
  if (own) return own;
  for (const other of PROBES) {
    if (other === probe) continue;
    const f = other.recognize(reply, t, sent);
    if (f && other.name !== 'tls-client-hello' && other.name !== 'line-crlf') return { ...f, confidence: f.confidence === 'high' ? 'medium' : 'low' };
  }
  if (/^cvs \[pserver aborted\]: /.test(t)) return high('cvs', { info: line(t).slice(0, 100) });
  if (/^-ERR\b/.test(t)) return medium('redis', { info: line(t).slice(0, 100) });
  const banner = recognizeBanner(reply);
  return banner ? { ...banner, confidence: banner.confidence === 'high' ? 'medium' : 'low' } : null;
}

/** The server sent back what it was sent (RFC 862), or a prefix of it still arriving. */
export function isEcho(sent: Uint8Array, reply: Uint8Array): boolean {
  if (reply.length < Math.min(4, sent.length)) return false;
  const n = Math.min(sent.length, reply.length);
  return equalBytes(sent.subarray(0, n), reply.subarray(0, n)) && reply.length <= sent.length;
}

/** The probes for a port: those registered there first, then by cost, then in table order (most likely first). */
export function probesFor(port: number): Probe[] {
  const order = new Map(PROBES.map((p, i) => [p, i]));
  const registered = (p: Probe) => (p.ports.includes(port) ? 0 : 1);
  return [...PROBES].sort((a, b) => registered(a) - registered(b) || a.cost - b.cost || order.get(a)! - order.get(b)!);
}
