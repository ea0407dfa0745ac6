// SASL client mechanisms shared by SMTP (RFC 4954), IMAP (RFC 9051 6.2.2) and POP3 (RFC 5034):
// PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login) and CRAM-MD5 (RFC 2195).
//
// How it works: a mechanism is a small state machine. `initial()` gives the
// initial response (or null when the mechanism starts with a server challenge),
// `respond(challenge)` answers each decoded server challenge. Transports
// (SMTP 334, IMAP "+", POP3 "+") base64 the bytes on the wire themselves.
import { concat, fromLatin1, toHex, utf8 } from '../../core/bytes.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { InvalidInput, ProtocolError } from '../../core/errors.ts';

export type SaslMechanismName = 'PLAIN' | 'LOGIN' | 'CRAM-MD5';

export interface SaslCredentials {
  username: string;
  password: string;
  /** RFC 4616 authzid: act as this identity; usually empty. */
  authzid?: string;
}

export interface SaslClient {
  readonly name: SaslMechanismName;
  /** The initial response, or null when the server must speak first. */
  initial(): Uint8Array | null;
  /** Answers one server challenge. */
  respond(challenge: Uint8Array): Uint8Array;
}

/** RFC 4616 section 2: message = [authzid] UTF8NUL authcid UTF8NUL passwd. */
export function plainResponse(c: SaslCredentials): Uint8Array {
  for (const [field, value] of [['username', c.username], ['password', c.password], ['authzid', c.authzid ?? '']] as const) {
    if (value.includes('\0')) throw InvalidInput.field(field, 'must not contain NUL (RFC 4616 section 2)');
  }
  return concat([utf8(c.authzid ?? ''), new Uint8Array([0]), utf8(c.username), new Uint8Array([0]), utf8(c.password)]);
}

/** HMAC-MD5 (RFC 2104) over the crypto port's MD5, for RFC 2195. */
export function hmacMd5(crypto: CryptoPort, key: Uint8Array, data: Uint8Array): Uint8Array {
  const block = 64;
  let k = key.length > block ? crypto.md5(key) : key;
  const padded = new Uint8Array(block);
  padded.set(k);
  k = padded;
  const ipad = k.map((b) => b ^ 0x36);
  const opad = k.map((b) => b ^ 0x5c);
  return crypto.md5(concat([opad, crypto.md5(concat([ipad, data]))]));
}

/** RFC 2195 section 2: response = user SP lowercase-hex(HMAC-MD5(password, challenge)). */
export function cramMd5Response(crypto: CryptoPort, c: SaslCredentials, challenge: Uint8Array): Uint8Array {
  if (challenge.length === 0) throw new ProtocolError('CRAM-MD5: the server sent an empty challenge');
  return utf8(`${c.username} ${toHex(hmacMd5(crypto, utf8(c.password), challenge))}`);
}

export function saslClient(name: SaslMechanismName, c: SaslCredentials, crypto: CryptoPort): SaslClient {
  switch (name) {
    case 'PLAIN': {
      let sent = false;
      return {
        name,
        initial: () => {
          sent = true;
          return plainResponse(c);
        },
        respond: (challenge) => {
          // A server that did not take the initial response sends an empty challenge (RFC 4422 5).
          if (sent && challenge.length > 0) throw new ProtocolError('PLAIN: unexpected second challenge from the server');
          sent = true;
          return plainResponse(c);
        },
      };
    }
    case 'LOGIN': {
      let step = 0;
      return {
        name,
        initial: () => null,
        respond: (challenge) => {
          // The prompts are "Username:" and "Password:"; some servers send other text, so go by order.
          const prompt = fromLatin1(challenge).toLowerCase();
          step++;
          if (prompt.startsWith('user')) return utf8(c.username);
          if (prompt.startsWith('pass')) return utf8(c.password);
          if (step === 1) return utf8(c.username);
          if (step === 2) return utf8(c.password);
          throw new ProtocolError('LOGIN: more than two challenges from the server');
        },
      };
    }
    case 'CRAM-MD5': {
      let done = false;
      return {
        name,
        initial: () => null,
        respond: (challenge) => {
          if (done) throw new ProtocolError('CRAM-MD5: more than one challenge from the server');
          done = true;
          return cramMd5Response(crypto, c, challenge);
        },
      };
    }
  }
}

/**
 * Picks a mechanism the server offers. `requested` 'auto' prefers PLAIN over TLS
 * and CRAM-MD5 (which never sends the password) on a plain connection.
 */
export function chooseMechanism(offered: readonly string[], requested: 'auto' | SaslMechanismName, tls: boolean): SaslMechanismName | null {
  const have = new Set(offered.map((m) => m.toUpperCase()));
  if (requested !== 'auto') return have.has(requested) ? requested : null;
  const order: SaslMechanismName[] = tls ? ['PLAIN', 'LOGIN', 'CRAM-MD5'] : ['CRAM-MD5', 'PLAIN', 'LOGIN'];
  return order.find((m) => have.has(m)) ?? null;
}
