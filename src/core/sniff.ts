// What a server's first bytes plainly say it speaks: greetings that belong to one protocol family.
// The runner uses it to explain a failure ("this port speaks SSH, not PostgreSQL"); banner grab uses
// it to name a service.
import { fromLatin1 } from './bytes.ts';

export interface Greeting {
  /** What the port speaks, as a person would say it. */
  speaks: string;
  /** The registry id that speaks it. */
  protocol: string;
  /**
   * Registry ids for which this greeting is expected (the protocol itself, its variants, and those
   * layered on it). A protocol layered on another declares `over` instead of being listed here.
   */
  ids: readonly string[];
}

interface Signature extends Greeting {
  test(text: string, bytes: Uint8Array): boolean;
}

const re = (pattern: RegExp) => (text: string) => pattern.test(text);

/** Most specific first: the first match wins. */
const SIGNATURES: readonly Signature[] = [
  { speaks: 'SSH', protocol: 'ssh', ids: ['ssh'], test: re(/^SSH-\d\.\d+-/) },
  { speaks: 'SMTP', protocol: 'smtp', ids: ['smtp', 'lmtp'], test: re(/^220[ -].*\b(E?SMTP|LMTP|Postfix|Exim|Sendmail)\b/i) },
  { speaks: 'FTP', protocol: 'ftp', ids: ['ftp'], test: re(/^220[ -].*\b(FTP|vsFTPd|ProFTPD|Pure-FTPd|FileZilla)\b/i) },
  { speaks: 'IMAP', protocol: 'imap', ids: ['imap'], test: re(/^\* (OK|PREAUTH|BYE)\b/) },
  { speaks: 'POP3', protocol: 'pop3', ids: ['pop3'], test: re(/^\+OK\b.*\b(POP3?|Dovecot|ready)\b/i) },
  { speaks: 'HTTP/1.x', protocol: 'http', ids: ['http', 'websocket'], test: re(/^HTTP\/1\.[01] \d{3} /) },
  { speaks: 'VNC (RFB)', protocol: 'vnc', ids: ['vnc'], test: re(/^RFB \d{3}\.\d{3}\n/) },
  { speaks: 'rsync', protocol: 'rsync', ids: ['rsync'], test: re(/^@RSYNCD: \d/) },
  { speaks: 'AMQP', protocol: 'amqp', ids: ['amqp'], test: re(/^AMQP[\x00-\x01]/) },
  {
    speaks: 'TLS',
    protocol: 'tls',
    ids: ['tls'],
    // A handshake or alert record of TLS 1.0–1.3 (RFC 8446 5.1): what a TLS server answers plain text with.
    test: (_text, b) => b.length >= 5 && (b[0] === 0x16 || b[0] === 0x15) && b[1] === 0x03 && b[2] <= 0x04 && ((b[3] << 8) | b[4]) <= 0x4800,
  },
  {
    speaks: 'MySQL',
    protocol: 'mysql',
    ids: ['mysql'],
    // Handshake v10 (protocol version 10 after the 4-byte packet header, sequence id 0).
    test: (_text, b) => b.length > 5 && b[3] === 0 && b[4] === 0x0a && ((b[0] | (b[1] << 8) | (b[2] << 16)) < 1024),
  },
];

/** The greeting these first bytes plainly are, or null. */
export function recognizeGreeting(first: Uint8Array): Greeting | null {
  if (first.length === 0) return null;
  const text = fromLatin1(first.subarray(0, 256));
  for (const s of SIGNATURES) {
    if (s.test(text, first)) return { speaks: s.speaks, protocol: s.protocol, ids: s.ids };
  }
  return null;
}

/** The first line of the first bytes as a short printable quote for a message. */
export function quoteGreeting(first: Uint8Array, max = 60): string {
  const end = first.findIndex((b) => b === 0x0a || b === 0x0d);
  const line = first.subarray(0, Math.min(end === -1 ? first.length : end, max));
  return JSON.stringify(fromLatin1(line).replace(/[^\x20-\x7e]/g, '.'));
}
