// TLS inspection, RFC 8446 / RFC 5246 handshake with ALPN (RFC 7301) and SNI (RFC 6066 §3): what a server
// negotiates and the certificate chain it presents (RFC 5280 fields), as far as the runtime can see.
import { z } from 'zod';
import { CAPABILITIES, unsupportedReasons } from '../../core/capabilities.ts';
import { UnsupportedRuntime } from '../../core/errors.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';

const certificate = z.object({
  subject: z.string(),
  issuer: z.string(),
  subjectAltNames: z.array(z.string()),
  validFrom: z.string(),
  validTo: z.string(),
  fingerprintSha256: z.string(),
  keyType: z.string().optional(),
  keyBits: z.number().optional(),
});

const ALPN_NAME = /^[\x21-\x7e]{1,255}$/;

export default defineProtocol({
  id: 'tls',
  title: 'TLS',
  category: 'diagnostics',
  summary:
    "Opens a TLS connection and reports what was negotiated — version, ALPN protocol — and the server's certificate chain (subject, issuer, SANs, validity, key, fingerprints). Self-signed servers are accepted with their SHA-256 fingerprint. Full detail on the Node host; on Workers, whether the handshake succeeds against public CAs, and why the rest is hidden.",
  ports: [{ port: 443, transport: 'tls' }],
  specs: ['RFC 8446', 'RFC 5246', 'RFC 7301', 'RFC 6066', 'RFC 5280'],
  rating: {
    stars: 3,
    reason:
      'Handshake, negotiated version and ALPN, the whole chain with key type/size and fingerprints, untrusted certificates refused with their fingerprint and accepted when pinned; lab-tested through the Node host against the lab CA and a self-signed server, and on workerd (handshake only, the rest refused with reasons). No version/cipher enumeration, no OCSP or CT checks.',
  },
  verifiedAgainst: 'node:tls servers with the lab CA and a self-signed certificate (openssl 3.0)',
  defaultOperation: 'inspect',
  operations: {
    inspect: operation({
      summary: 'Handshake: version, ALPN, certificate chain (Node host); handshake result and reasons (Workers)',
      input: z.object({
        alpn: z
          .array(z.string().regex(ALPN_NAME, 'ALPN protocol names are 1–255 printable ASCII characters'))
          .max(16)
          .optional()
          .describe('ALPN protocols to offer (Node host), e.g. h2,http/1.1; default h2,http/1.1 where ALPN is available'),
        pinSha256: z
          .string()
          .regex(/^(sha256:)?[0-9A-Fa-f:]{64,95}$/, 'pinSha256 is the certificate SHA-256 in hex (colons allowed)')
          .optional()
          .describe("Accept the server's certificate if its SHA-256 fingerprint is this, whoever issued it (Node host)"),
      }),
      output: z.object({
        version: z.string().nullable(),
        alpn: z.string().nullable().describe('The protocol the server chose, null when none'),
        alpnOffered: z.array(z.string()),
        chain: z.array(certificate).nullable(),
        pinned: z.boolean(),
        handshakeMs: z.number(),
        unavailable: z.array(z.object({ field: z.string(), reason: z.string() })).describe('What this runtime cannot report, and why'),
      }),
      text: (r) => {
        const lines = [`TLS ${r.version ?? '(version not reported here)'}, ALPN ${r.alpn ?? 'none'}${r.pinned ? ', certificate pinned' : ''}, handshake ${r.handshakeMs.toFixed(1)} ms`];
        for (const [i, c] of (r.chain ?? []).entries()) {
          lines.push(`${i}: ${c.subject}`, `   issuer ${c.issuer}`, `   ${c.validFrom} → ${c.validTo}, ${c.keyType ?? '?'} ${c.keyBits ?? ''}`.trimEnd(), `   SHA256 ${c.fingerprintSha256}`);
          if (c.subjectAltNames.length) lines.push(`   SANs ${c.subjectAltNames.join(', ')}`);
        }
        for (const u of r.unavailable) lines.push(`(${u.field}: ${u.reason})`);
        return lines.join('\n');
      },
      async run(ctx, input) {
        if (input.pinSha256 && !ctx.capabilities.has('selfSigned')) {
          const { reasons, alternatives } = unsupportedReasons(['selfSigned']);
          throw new UnsupportedRuntime(`pinning a certificate needs selfSigned, which the ${ctx.runtime} runtime lacks: ${reasons.join(' ')}`, { runtime: ctx.runtime, missing: ['selfSigned'], reasons, alternatives });
        }
        const alpn = input.alpn ?? (ctx.capabilities.has('alpn') ? ['h2', 'http/1.1'] : undefined);
        const start = performance.now();
        const conn = await ctx.dial({ tls: 'implicit', alpn, pinSha256: input.pinSha256 });
        const handshakeMs = Math.round((performance.now() - start) * 1000) / 1000;
        const info = conn.info();
        await conn.close();
        const unavailable: { field: string; reason: string }[] = [];
        if (!info.peerCertificates) unavailable.push({ field: 'chain', reason: CAPABILITIES.peerCert.workersReason ?? `the ${ctx.runtime} runtime does not expose it` });
        if (info.alpn === undefined) unavailable.push({ field: 'alpn', reason: CAPABILITIES.alpn.workersReason ?? `the ${ctx.runtime} runtime does not report it` });
        if (!info.tlsVersion) unavailable.push({ field: 'version', reason: `the ${ctx.runtime} runtime does not report the negotiated TLS version` });
        if (ctx.runtime === 'workers') unavailable.push({ field: 'trust', reason: 'connect() completed the handshake, so the chain verified against public CAs for this name; anything else fails there.' });
        return {
          version: info.tlsVersion ?? null,
          alpn: info.alpn ?? null,
          alpnOffered: alpn ?? [],
          chain: info.peerCertificates ?? null,
          pinned: !!input.pinSha256,
          handshakeMs,
          unavailable,
        };
      },
    }),
  },
});
