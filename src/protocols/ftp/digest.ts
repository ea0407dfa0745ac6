// File digests from the server, to check a download against: HASH (draft-bryan-ftpext-hash-02: FEAT
// `HASH SHA-1*;SHA-256;…`, OPTS HASH to choose, `213 <alg> <start>-<end> <hex> <path>`) and the older
// XSHA256/XSHA512/XSHA1/XSHA/XMD5/XCRC commands (`250 <hex>`), as ProFTPD's mod_digest and others answer them.
import { md5, sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { toHex } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { crc32 } from '../../core/png.ts';
import { featureParams, type Reply } from './codec.ts';

export type DigestAlgorithm = 'SHA-256' | 'SHA-512' | 'SHA-1' | 'MD5' | 'CRC32';

export interface DigestPlan {
  /** HASH, or the X command that answers with this algorithm. */
  command: 'HASH' | 'XSHA256' | 'XSHA512' | 'XSHA1' | 'XSHA' | 'XMD5' | 'XCRC';
  algorithm: DigestAlgorithm;
  /** HASH only: OPTS HASH <algorithm> first, because another one is selected. */
  select: boolean;
}

/** Strongest first. */
const ORDER: DigestAlgorithm[] = ['SHA-256', 'SHA-512', 'SHA-1', 'MD5', 'CRC32'];
const X_COMMANDS: Array<[DigestPlan['command'], DigestAlgorithm]> = [
  ['XSHA256', 'SHA-256'],
  ['XSHA512', 'SHA-512'],
  ['XSHA1', 'SHA-1'],
  ['XSHA', 'SHA-1'],
  ['XMD5', 'MD5'],
  ['XCRC', 'CRC32'],
];

export type DigestCommand = DigestPlan['command'];
export const DIGEST_COMMANDS: readonly DigestCommand[] = ['HASH', ...X_COMMANDS.map(([c]) => c)];

/**
 * The strongest digest the FEAT list offers: HASH with its best algorithm, else the best X command; null when
 * none. `only` narrows it to one command (null when FEAT does not list it).
 */
export function digestPlan(features: readonly string[], only?: DigestCommand): DigestPlan | null {
  const hash = featureParams(features, 'HASH');
  if (hash !== null && (only === undefined || only === 'HASH')) {
    const offered = hash.split(';').map((a) => a.trim()).filter((a) => a !== '');
    const selected = offered.find((a) => a.endsWith('*'))?.slice(0, -1).toUpperCase();
    const names = offered.map((a) => a.replace(/\*$/, '').toUpperCase());
    const best = ORDER.find((a) => names.includes(a));
    if (best) return { command: 'HASH', algorithm: best, select: best !== selected };
  }
  for (const [command, algorithm] of X_COMMANDS) if ((only === undefined || only === command) && featureParams(features, command) !== null) return { command, algorithm, select: false };
  return null;
}

/** The hex digest in the server's answer (lower case), checked for the length the algorithm gives. */
export function parseDigestReply(plan: DigestPlan, reply: Reply): { hex: string; range: string | null } {
  const last = reply.lines[reply.lines.length - 1]?.trim() ?? '';
  const width = { 'SHA-256': 64, 'SHA-512': 128, 'SHA-1': 40, MD5: 32, CRC32: 8 }[plan.algorithm];
  if (plan.command === 'HASH') {
    // 213 <algorithm> <start>-<end> <hex> <pathname>
    const m = /^(\S+) (\d+-\d*) ([0-9A-Fa-f]+)(?: |$)/.exec(last);
    if (!m) throw new ProtocolError(`HASH reply is not "<algorithm> <range> <hex> <path>": ${JSON.stringify(last.slice(0, 120))}`);
    if (m[1].toUpperCase() !== plan.algorithm) throw new ProtocolError(`HASH answered with ${m[1]}, not the ${plan.algorithm} asked for`);
    if (m[3].length !== width) throw new ProtocolError(`HASH ${plan.algorithm} digest has ${m[3].length} hex digits, not ${width}`);
    return { hex: m[3].toLowerCase(), range: m[2] };
  }
  const m = /^(?:\S+ )?([0-9A-Fa-f]+)$/.exec(last);
  // CRC32 may come without its leading zeros.
  if (!m || (plan.algorithm === 'CRC32' ? m[1].length > width : m[1].length !== width)) throw new ProtocolError(`${plan.command} reply is not a ${plan.algorithm} digest: ${JSON.stringify(last.slice(0, 160))}`);
  return { hex: m[1].toLowerCase().padStart(width, '0'), range: null };
}

/** A running digest of the bytes as they arrive. */
export interface Digester {
  update(chunk: Uint8Array): void;
  hex(): string;
}

export function digester(algorithm: DigestAlgorithm): Digester {
  if (algorithm === 'CRC32') {
    let crc = 0;
    return {
      update: (chunk) => void (crc = crc32(chunk, crc)),
      hex: () => crc.toString(16).padStart(8, '0'),
    };
  }
  const h = { 'SHA-256': sha256, 'SHA-512': sha512, 'SHA-1': sha1, MD5: md5 }[algorithm].create();
  return {
    update: (chunk) => void h.update(chunk),
    hex: () => toHex(h.digest()),
  };
}
