// Guessing a service from what it says first, and from its port when it says nothing.
import { recognizeGreeting } from '../../core/sniff.ts';

export interface Guess {
  protocol: string;
  confidence: 'high' | 'medium' | 'low';
  reason: string;
}

/** Less certain signatures than core's greetings: families that share a reply code, or short lines. */
const BANNERS: [RegExp, string][] = [
  [/^220 .*<[^>]*@[^>]*>\s*$/, 'dict'],
  [/^220[ -]/, 'smtp-or-ftp'],
  [/^\* (OK|PREAUTH)\b/, 'imap'],
  [/^\+OK\b/, 'pop3'],
  [/^-(ERR|NOAUTH|DENIED)\b/, 'redis'],
  [/^\+PONG\b/, 'redis'],
  [/^\[?\d{1,2} [A-Z]{3} \d{4} \d{2}:\d{2}:\d{2}/i, 'daytime'],
  [/^OK MPD /, 'mpd'],
  [/^:\S+ NOTICE /, 'irc'],
  [/^200 .*NNTP|^20[01] .*news/i, 'nntp'],
  [/^\* Dovecot|ManageSieve/i, 'managesieve'],
  [/^VERSION /, 'memcached'],
];

const PORTS: Record<number, string> = {
  7: 'echo', 9: 'discard', 13: 'daytime', 17: 'qotd', 19: 'chargen', 21: 'ftp', 22: 'ssh', 23: 'telnet', 25: 'smtp', 37: 'time', 43: 'whois',
  53: 'dns', 70: 'gopher', 79: 'finger', 80: 'http', 110: 'pop3', 119: 'nntp', 143: 'imap', 389: 'ldap', 443: 'https', 465: 'smtps', 587: 'submission',
  636: 'ldaps', 853: 'dns-over-tls', 873: 'rsync', 993: 'imaps', 995: 'pop3s', 1433: 'mssql', 1883: 'mqtt', 2003: 'graphite', 2628: 'dict',
  3306: 'mysql', 3389: 'rdp', 4190: 'managesieve', 5432: 'postgres', 5672: 'amqp', 5900: 'vnc', 6379: 'redis', 6667: 'irc', 8080: 'http',
  9200: 'elasticsearch', 11211: 'memcached', 27017: 'mongodb',
};

/** A 4-byte binary banner: RFC 868 time (seconds since 1900) lands in a plausible range. */
function looksLikeTime(bytes: Uint8Array): boolean {
  if (bytes.length !== 4) return false;
  const v = ((bytes[0] << 24) >>> 0) + (bytes[1] << 16) + (bytes[2] << 8) + bytes[3];
  return v > 3_900_000_000 && v < 4_294_967_295;
}

export function guessService(text: string, bytes: Uint8Array, port: number): Guess | null {
  const greeting = recognizeGreeting(bytes);
  if (greeting) return { protocol: greeting.protocol, confidence: 'high', reason: `the greeting is ${greeting.speaks}'s` };
  for (const [re, protocol] of BANNERS) {
    if (re.test(text)) return { protocol, confidence: protocol.includes('-or-') ? 'medium' : 'high', reason: `banner matches ${re.source}` };
  }
  if (looksLikeTime(bytes)) return { protocol: 'time', confidence: 'medium', reason: 'four bytes that read as an RFC 868 time near now' };
  const byPort = PORTS[port];
  if (byPort) return { protocol: byPort, confidence: 'low', reason: `port ${port} is ${byPort}'s registered port` };
  return null;
}
