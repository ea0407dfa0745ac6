// How a protocol makes itself identifiable: what its servers say first, one harmless first message with a
// recognizer for the answer, or why it can have neither. Each protocol's declaration carries its own
// (`identify` in defineProtocol); the `identify` protocol gathers them from the registry and runs them.
// Sans-I/O: recognizers read bytes and return a finding, nothing more.
import { utf8 } from './bytes.ts';

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

/**
 * A client-first probe. Nothing a probe sends writes, stores or logs in with a credential: it asks for a version,
 * a PING, a capability list, or starts a handshake and stops at the server's first answer.
 */
export interface Probe {
  name: string;
  /** Relative cost: bytes sent and what the server does with them; cheaper probes run first. */
  cost: number;
  /** Registered ports where this probe goes first. */
  ports: readonly number[];
  payload(host: string, random: (n: number) => Uint8Array): Uint8Array;
  /** Reads the answer to this probe; null: not this protocol (other recognizers still look). */
  recognize(reply: Uint8Array, text: string, sent: Uint8Array): Finding | null;
  /** Its recognizer reads only answers to this probe: what it matches is no evidence when it answers another one. */
  ownRepliesOnly?: boolean;
  /** The protocol answers by returning the probe (JDWP's handshake): the recognizer reads it before the echo check. */
  returnsProbe?: boolean;
}

export interface Identification {
  /** What a server of this protocol says first, unasked; `closed`: it hung up after saying it. */
  greeting?(bytes: Uint8Array, text: string, closed: boolean): Finding | null;
  /** Harmless first messages for servers that wait for the client, each with a recognizer for the answer. */
  probes?: readonly Probe[];
  /** How its servers answer other protocols' probes, in their own words. */
  answers?(reply: Uint8Array, text: string): Finding | null;
  /** Why it has none of those: a probe would need a secret, a write or UDP, or another protocol's probe names it. */
  unprobed?: string;
}

export const high = (service: string, rest: Omit<Finding, 'service' | 'confidence'> = {}): Finding => ({ service, confidence: 'high', ...rest });
export const medium = (service: string, rest: Omit<Finding, 'service' | 'confidence'> = {}): Finding => ({ service, confidence: 'medium', ...rest });
export const low = (service: string, rest: Omit<Finding, 'service' | 'confidence'> = {}): Finding => ({ service, confidence: 'low', ...rest });

/** "OpenSSH_9.2p1" → product OpenSSH, version 9.2p1; "nginx/1.22.1" → nginx, 1.22.1. */
export function productVersion(software: string): { product?: string; version?: string } {
  const s = software.trim();
  if (!s) return {};
  const m = /^([A-Za-z][\w.+-]*?)[/_ -]v?(\d[\w.+~:-]*)/.exec(s);
  if (m) return { product: m[1], version: m[2] };
  return { product: s.slice(0, 80) };
}

/** The first line of a text. */
export const firstLine = (text: string): string => text.split(/\r?\n/, 1)[0];

/** A payload of fixed text. */
export const textPayload = (s: string) => (): Uint8Array => utf8(s);
