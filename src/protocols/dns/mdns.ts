// Message forms over the same codec: Multicast DNS, RFC 6762 §18 (header rules, QU and cache-flush bits), and
// LLMNR, RFC 4795 §2.1.1 (the C, TC and T flags in place of AA, TC and RD); reverse names, RFC 1035 §3.5
// (in-addr.arpa) and RFC 3596 §2.5 (ip6.arpa, one label per nibble).
import { InvalidInput, ProtocolError } from '../../core/errors.ts';
import { parseIpv4Strict, parseIpv6 } from '../../core/ip.ts';
import { decodeMessage, encodeMessage, type DnsMessage } from './codec.ts';

export const MDNS_PORT = 5353;
export const MDNS_IPV4 = '224.0.0.251';
export const LLMNR_PORT = 5355;
export const LLMNR_IPV4 = '224.0.0.252';

export interface MdnsQuestion {
  name: string;
  type: string;
  /** RFC 6762 §5.4: ask for a unicast reply (the QU bit). */
  unicastResponse?: boolean;
}

/**
 * An mDNS query. RFC 6762 §18.1: the ID is zero in multicast queries; a one-shot "legacy unicast" query
 * (§6.7), sent from a port other than 5353, carries a real ID that the responder echoes.
 * §18.2–18.11: QR, OPCODE, AA, RD, RA, Z, AD, CD and RCODE are all zero.
 */
export function mdnsQuery(questions: MdnsQuestion[], id = 0): Uint8Array {
  return encodeMessage({ id, questions: questions.map((q) => ({ name: q.name, type: q.type, class: 'IN', unicastResponse: !!q.unicastResponse })) }, { mdns: true });
}

/** Decodes an mDNS message: the class top bit is QU in questions and cache-flush in records (§18.12–18.13). */
export function decodeMdns(bytes: Uint8Array): DnsMessage {
  const m = decodeMessage(bytes, { mdns: true });
  // RFC 6762 §18.3 and §18.11: messages with a non-zero OPCODE or RCODE MUST be silently ignored.
  if (m.opcode !== 'QUERY') throw new ProtocolError(`mDNS message with OPCODE ${m.opcode}, which receivers must ignore (RFC 6762 §18.3)`);
  if (m.rcode !== 'NOERROR') throw new ProtocolError(`mDNS message with RCODE ${m.rcode}, which receivers must ignore (RFC 6762 §18.11)`);
  return m;
}

/** An LLMNR query: one question, a random ID, every flag clear (RFC 4795 §2.1.1: C, TC, T are zero). */
export function llmnrQuery(id: number, name: string, type: string): Uint8Array {
  return encodeMessage({ id, questions: [{ name, type, class: 'IN' }] });
}

export interface LlmnrFlags {
  /** C: the name is not known to be unique (RFC 4795 §2.1.1), carried where DNS has AA. */
  conflict: boolean;
  truncated: boolean;
  /** T: the responder has not yet verified the name's uniqueness, carried where DNS has RD. */
  tentative: boolean;
}

export function llmnrFlags(m: DnsMessage): LlmnrFlags {
  return { conflict: m.flags.aa, truncated: m.flags.tc, tentative: m.flags.rd };
}

/** The PTR name of an address: `25.2.0.192.in-addr.arpa.` or the 32 nibbles under ip6.arpa. */
export function reverseName(address: string, field = 'address'): string {
  const v4 = parseIpv4Strict(address.trim());
  if (v4) return `${[...v4.bytes].reverse().join('.')}.in-addr.arpa.`;
  const v6 = parseIpv6(address.trim());
  if (v6 && v6.zone === undefined) {
    const nibbles: string[] = [];
    for (const b of v6.bytes) nibbles.push((b >> 4).toString(16), (b & 15).toString(16));
    return `${nibbles.reverse().join('.')}.ip6.arpa.`;
  }
  throw InvalidInput.field(field, `${JSON.stringify(address)} is not an IPv4 or IPv6 address`);
}

export function isIpLiteral(text: string): boolean {
  return parseIpv4Strict(text) !== null || parseIpv6(text) !== null;
}
