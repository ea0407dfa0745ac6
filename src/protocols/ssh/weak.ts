// Weak or deprecated SSH algorithms: RFC 9142 (kex "MUST NOT"/"SHOULD NOT"), RFC 8758 (RC4), RFC 8332 (SHA-1 RSA),
// RFC 4253 6.3 (CBC), CVE-2023-48795 (Terrapin: chacha20-poly1305 or CBC with EtM without strict kex).
import type { KexInit } from './codec.ts';
import { KEX_STRICT_S } from './kex.ts';

export interface WeakAlgorithm {
  algorithm: string;
  category: 'kex' | 'hostKey' | 'cipher' | 'mac' | 'compression' | 'hostKeySize' | 'terrapin';
  severity: 'weak' | 'deprecated';
  reason: string;
}

const KEX: Record<string, [WeakAlgorithm['severity'], string]> = {
  'diffie-hellman-group1-sha1': ['weak', '1024-bit group and SHA-1 (RFC 9142: MUST NOT)'],
  'diffie-hellman-group14-sha1': ['deprecated', 'SHA-1 exchange hash (RFC 9142: SHOULD NOT)'],
  'diffie-hellman-group-exchange-sha1': ['weak', 'SHA-1 exchange hash (RFC 9142: MUST NOT)'],
  'rsa1024-sha1': ['weak', '1024-bit RSA and SHA-1 (RFC 9142: MUST NOT)'],
  'gss-gex-sha1-': ['weak', 'SHA-1 (RFC 9142)'],
  'gss-group1-sha1-': ['weak', '1024-bit group and SHA-1 (RFC 9142)'],
  'gss-group14-sha1-': ['deprecated', 'SHA-1 (RFC 9142)'],
};

const HOST_KEY: Record<string, [WeakAlgorithm['severity'], string]> = {
  'ssh-rsa': ['deprecated', 'RSA signatures with SHA-1 (RFC 8332; disabled by default since OpenSSH 8.8)'],
  'ssh-dss': ['weak', 'DSA, fixed 1024-bit keys (removed from OpenSSH 9.8)'],
  'ssh-rsa-cert-v01@openssh.com': ['deprecated', 'certificate signed with SHA-1 RSA'],
  'ssh-dss-cert-v01@openssh.com': ['weak', 'DSA certificate'],
};

const CIPHER: Record<string, [WeakAlgorithm['severity'], string]> = {
  '3des-cbc': ['weak', '64-bit block cipher (Sweet32) in CBC mode'],
  'blowfish-cbc': ['weak', '64-bit block cipher in CBC mode'],
  'cast128-cbc': ['weak', '64-bit block cipher in CBC mode'],
  'idea-cbc': ['weak', '64-bit block cipher in CBC mode'],
  arcfour: ['weak', 'RC4 (RFC 8758: MUST NOT)'],
  arcfour128: ['weak', 'RC4 (RFC 8758: MUST NOT)'],
  arcfour256: ['weak', 'RC4 (RFC 8758: MUST NOT)'],
  'aes128-cbc': ['deprecated', 'CBC mode (plaintext-recovery attacks on SSH CBC; RFC 4344 prefers CTR)'],
  'aes192-cbc': ['deprecated', 'CBC mode'],
  'aes256-cbc': ['deprecated', 'CBC mode'],
  'rijndael-cbc@lysator.liu.se': ['deprecated', 'CBC mode'],
  none: ['weak', 'no encryption'],
};

const MAC: Record<string, [WeakAlgorithm['severity'], string]> = {
  'hmac-md5': ['weak', 'MD5'],
  'hmac-md5-96': ['weak', 'MD5, truncated to 96 bits'],
  'hmac-md5-etm@openssh.com': ['weak', 'MD5'],
  'hmac-md5-96-etm@openssh.com': ['weak', 'MD5, truncated'],
  'hmac-sha1-96': ['weak', 'SHA-1, truncated to 96 bits'],
  'hmac-sha1-96-etm@openssh.com': ['weak', 'SHA-1, truncated'],
  'hmac-sha1': ['deprecated', 'SHA-1'],
  'hmac-sha1-etm@openssh.com': ['deprecated', 'SHA-1'],
  'umac-64@openssh.com': ['deprecated', '64-bit tag'],
  'umac-64-etm@openssh.com': ['deprecated', '64-bit tag'],
  'hmac-ripemd160': ['deprecated', 'RIPEMD-160 (removed from OpenSSH)'],
  none: ['weak', 'no integrity protection'],
};

function lookup(table: Record<string, [WeakAlgorithm['severity'], string]>, name: string): [WeakAlgorithm['severity'], string] | undefined {
  if (table[name]) return table[name];
  for (const [prefix, v] of Object.entries(table)) if (prefix.endsWith('-') && name.startsWith(prefix)) return v;
  return undefined;
}

/** Every weak or deprecated algorithm the server offers, host keys under 2048 bits, and Terrapin exposure. */
export function weakAlgorithms(s: KexInit, hostKeys: Array<{ type: string; bits?: number }>): WeakAlgorithm[] {
  const out: WeakAlgorithm[] = [];
  const add = (category: WeakAlgorithm['category'], table: Record<string, [WeakAlgorithm['severity'], string]>, names: string[]) => {
    for (const name of new Set(names)) {
      const hit = lookup(table, name);
      if (hit) out.push({ algorithm: name, category, severity: hit[0], reason: hit[1] });
    }
  };
  add('kex', KEX, s.kex);
  add('hostKey', HOST_KEY, s.hostKey);
  add('cipher', CIPHER, [...s.cipherCS, ...s.cipherSC]);
  add('mac', MAC, [...s.macCS, ...s.macSC]);
  for (const k of hostKeys) {
    if (k.type === 'ssh-rsa' && k.bits !== undefined && k.bits < 2048) {
      out.push({ algorithm: `ssh-rsa ${k.bits}-bit`, category: 'hostKeySize', severity: k.bits < 1024 ? 'weak' : 'deprecated', reason: 'RSA host key shorter than 2048 bits' });
    }
  }
  if (!s.kex.includes(KEX_STRICT_S)) {
    const ciphers = [...s.cipherCS, ...s.cipherSC];
    const macs = [...s.macCS, ...s.macSC];
    const chacha = ciphers.includes('chacha20-poly1305@openssh.com');
    const cbcEtm = ciphers.some((c) => c.endsWith('-cbc') || c.includes('-cbc@')) && macs.some((m) => m.endsWith('-etm@openssh.com'));
    if (chacha || cbcEtm) {
      out.push({
        algorithm: chacha ? 'chacha20-poly1305@openssh.com' : 'CBC with -etm MACs',
        category: 'terrapin',
        severity: 'weak',
        reason: 'prefix truncation (Terrapin, CVE-2023-48795): the server does not offer strict key exchange (kex-strict-s-v00@openssh.com)',
      });
    }
  }
  return out;
}
