// Host names: syntax per RFC 1123 §2.1 and RFC 1035 §2.3.4; names that only mean something locally per the IANA
// Special-Use Domain Names registry (RFC 6761) and the private-use labels RFC 6762 Appendix G lists.
import { InvalidInput } from '../core/errors.ts';
import { parseIp, type IpAddress } from '../core/ip.ts';

export type HostTarget =
  | { kind: 'ip'; addr: IpAddress }
  | {
      kind: 'name';
      /** Lower case, without a trailing dot. */
      name: string;
      /** Why the name only resolves locally (`.internal`, `.local`...), or null for an ordinary DNS name. */
      localOnly: string | null;
    };

/** Suffixes (whole labels) of names no public resolver answers for, with the reason given to the user. */
const LOCAL_SUFFIXES: ReadonlyArray<[string, string]> = [
  ['localhost', 'loopback name (RFC 6761 §6.3)'],
  ['local', 'multicast DNS name (RFC 6762)'],
  ['internal', 'private-use name (.internal, reserved by ICANN in 2024)'],
  ['home.arpa', 'home network name (RFC 8375)'],
  ['test', 'testing name (RFC 6761 §6.2)'],
  ['invalid', 'invalid name (RFC 6761 §6.4)'],
  ['example', 'example name (RFC 6761 §6.5)'],
  ['onion', 'Tor onion name (RFC 7686)'],
  ['alt', 'non-DNS name (RFC 9476)'],
  // Private-use top-level labels in common use (RFC 6762 Appendix G), plus the Linux installers' default.
  ...['intranet', 'private', 'corp', 'home', 'lan', 'localdomain'].map((l): [string, string] => [l, `private-use name (.${l})`]),
];

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
const NUMERIC_LABEL = /^(?:[0-9]+|0x[0-9a-f]*)$/;

/** Whether `name` is `localhost` or under it: RFC 6761 §6.3 says it always means the loopback address. */
export function isLocalhostName(name: string): boolean {
  return name === 'localhost' || name.endsWith('.localhost');
}

/** Why a (normalised) name only resolves locally, or null. Single-label names go through local search domains. */
export function localOnlyReason(name: string): string | null {
  for (const [suffix, reason] of LOCAL_SUFFIXES) {
    if (name === suffix || name.endsWith(`.${suffix}`)) return reason;
  }
  if (!name.includes('.')) return 'single-label name (completed by local search domains)';
  return null;
}

/** An IP literal in any spelling, or a syntactically valid host name; anything else is invalid input. */
export function classifyHost(host: string): HostTarget {
  if (typeof host !== 'string' || host.length === 0) throw InvalidInput.field('host', 'is required');
  const addr = parseIp(host);
  if (addr) return { kind: 'ip', addr };
  if (host.includes(':') || host.includes('[') || host.includes('%')) {
    throw InvalidInput.field('host', `"${host}" is not a valid IPv6 address (give the port in the port field)`);
  }
  if (/[^\x00-\x7f]/.test(host)) {
    throw InvalidInput.field('host', `"${host}" is not ASCII: give the name in its ASCII form (punycode, xn--...)`);
  }
  const name = (host.endsWith('.') ? host.slice(0, -1) : host).toLowerCase();
  const labels = name.split('.');
  if (name.length > 253 || !labels.every((l) => LABEL.test(l))) {
    throw InvalidInput.field('host', `"${host}" is not a valid host name`);
  }
  // WHATWG URL "ends in a number": such a name is an IPv4 address, and this one is not a valid one.
  if (NUMERIC_LABEL.test(labels[labels.length - 1])) {
    throw InvalidInput.field('host', `"${host}" looks like an IPv4 address but is not a valid one`);
  }
  return { kind: 'name', name, localOnly: localOnlyReason(name) };
}
