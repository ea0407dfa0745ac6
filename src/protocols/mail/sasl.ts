// SASL client mechanisms shared by SMTP (RFC 4954), IMAP (RFC 9051 6.2.2) and POP3 (RFC 5034):
// PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login), CRAM-MD5 (RFC 2195) and SCRAM-SHA-256 (RFC 7677).
//
// How it works: a mechanism is a small state machine. `initial()` gives the
// initial response (or null when the mechanism starts with a server challenge),
// `respond(challenge)` answers each decoded server challenge, and `complete()`, once the server says
// success, checks the mechanism finished (SCRAM: the server proved it knows the password). Transports
// (SMTP 334, IMAP "+", POP3 "+") base64 the bytes on the wire themselves.
import { concat, fromLatin1, toHex, utf8 } from '../../core/bytes.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { AuthError, InvalidInput, ProtocolError } from '../../core/errors.ts';
import { ScramClient } from '../postgres/scram.ts';

export type SaslMechanismName = 'PLAIN' | 'LOGIN' | 'CRAM-MD5' | 'SCRAM-SHA-256';

export const SASL_MECHANISMS = ['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-256'] as const satisfies readonly SaslMechanismName[];

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
  respond(challenge: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /** Called on the server's success: throws when the exchange did not finish as the mechanism requires. */
  complete?(): void;
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
    case 'SCRAM-SHA-256': {
      // RFC 5802 5: client-first as the initial response, client-final to the server-first challenge, and an empty
      // response to the server-final challenge once its signature checks out (RFC 4422 5: additional data).
      if (c.authzid) throw InvalidInput.field('authzid', 'SCRAM here logs in as the user itself (no authzid)');
      const scram = new ScramClient(crypto, c.password, undefined, undefined, { username: c.username });
      let step = 0;
      return {
        name,
        initial: () => {
          step = 1;
          return scram.start();
        },
        respond: async (challenge) => {
          if (step === 0) {
            step = 1;
            if (challenge.length === 0) return scram.start();
            throw new ProtocolError('SCRAM-SHA-256: the server sent a challenge before the client-first-message');
          }
          if (step === 1) {
            step = 2;
            return scram.respond(challenge);
          }
          if (step === 2) {
            step = 3;
            scram.verify(challenge);
            return new Uint8Array(0);
          }
          throw new ProtocolError('SCRAM-SHA-256: more challenges than the exchange has');
        },
        complete: () => {
          if (step !== 3) throw new AuthError('SCRAM-SHA-256: the server said success without proving it knows the password (no server-final-message)');
        },
      };
    }
  }
}

/**
 * Picks a mechanism the server offers. `requested` 'auto' prefers PLAIN over TLS
 * and SCRAM-SHA-256, then CRAM-MD5 (neither sends the password) on a plain connection.
 */
export function chooseMechanism(offered: readonly string[], requested: 'auto' | SaslMechanismName, tls: boolean): SaslMechanismName | null {
  const have = new Set(offered.map((m) => m.toUpperCase()));
  if (requested !== 'auto') return have.has(requested) ? requested : null;
  const order: SaslMechanismName[] = tls ? ['PLAIN', 'LOGIN', 'SCRAM-SHA-256', 'CRAM-MD5'] : ['SCRAM-SHA-256', 'CRAM-MD5', 'PLAIN', 'LOGIN'];
  return order.find((m) => have.has(m)) ?? null;
}
