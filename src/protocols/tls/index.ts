// TLS inspection, RFC 8446 / RFC 5246 handshake with ALPN (RFC 7301) and SNI (RFC 6066 §3): what a server
// negotiates and the certificate chain it presents (RFC 5280 fields), as far as the runtime can see.
import { z } from 'zod';
import { CAPABILITIES, unsupportedReasons } from '../../core/capabilities.ts';
import { TLS_VERSIONS } from '../../core/conn.ts';
import { UnsupportedRuntime, classify } from '../../core/errors.ts';
import { defineProtocol, operation, type DialRequest, type OperationContext } from '../../core/protocol.ts';

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

const versionProbe = z.object({
  version: z.enum(TLS_VERSIONS),
  accepted: z.boolean(),
  cipher: z.string().nullable().describe('The cipher suite negotiated at that version'),
  error: z.string().nullable().describe('Why the handshake failed, when it did'),
});

/**
 * One handshake per version, each offering that version alone (RFC 8446 §4.2.1 supported_versions for 1.3, the
 * ClientHello version for 1.0–1.2): a server that accepts it completes the handshake, one that does not answers
 * with a protocol_version alert or hangs up. Other failures (refused, timeouts) leave the answer unknown, so they stop the probe.
 */
async function probeVersions(ctx: OperationContext, dial: DialRequest): Promise<z.infer<typeof versionProbe>[]> {
  const out: z.infer<typeof versionProbe>[] = [];
  for (const version of TLS_VERSIONS) {
    try {
      const conn = await ctx.dial({ ...dial, minVersion: version, maxVersion: version });
      const info = conn.info();
      await conn.close();
      out.push({ version, accepted: true, cipher: info.cipher ?? null, error: null });
    } catch (e) {
      const err = classify(e);
      if (err.code !== 'tls_error') throw err;
      out.push({ version, accepted: false, cipher: null, error: err.message });
    }
  }
  return out;
}

export default defineProtocol({
  id: 'tls',
  title: 'TLS',
  category: 'diagnostics',
  summary:
    "Opens a TLS connection and reports what was negotiated — version, cipher, ALPN protocol — the TLS versions the server accepts (1.0 to 1.3, each tried alone), and the server's certificate chain (subject, issuer, SANs, validity, key, fingerprints). Self-signed servers are accepted with their SHA-256 fingerprint. Full detail on the Node host; on Workers, whether the handshake succeeds against public CAs, and why the rest is hidden.",
  ports: [{ port: 443, transport: 'tls' }],
  specs: ['RFC 8446', 'RFC 5246', 'RFC 7301', 'RFC 6066', 'RFC 5280'],
  rating: {
    stars: 4,
    reason:
      'Handshake, negotiated version, cipher and ALPN, the versions accepted (TLS 1.0–1.3, one handshake each), the whole chain with key type/size and fingerprints, untrusted certificates refused with their fingerprint and accepted when pinned; lab-tested through the Node host against nginx with two known ssl_protocols sets, the lab CA and a self-signed server, and on workerd (handshake only, the rest named with reasons). No cipher-suite enumeration, no OCSP or CT checks.',
  },
  verifiedAgainst: 'nginx 1.22.1-9+deb12u11 (OpenSSL 3.0.19) with ssl_protocols TLSv1.2 TLSv1.3 and TLSv1 TLSv1.1 TLSv1.2; node:tls with a self-signed certificate',
  defaultOperation: 'inspect',
  operations: {
    inspect: operation({
      primary: ['alpn', 'versions'],
      summary: 'Handshake: version, cipher, ALPN, accepted TLS versions, certificate chain (Node host); handshake result and reasons (Workers)',
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
        versions: z.boolean().default(true).describe('Also try TLS 1.0, 1.1, 1.2 and 1.3 one at a time and list the versions the server accepts (Node host; four more handshakes)'),
      }),
      output: z.object({
        version: z.string().nullable(),
        cipher: z.string().nullable().describe('The cipher suite negotiated, where the runtime reports it'),
        acceptedVersions: z.array(z.enum(TLS_VERSIONS)).nullable().describe('The TLS versions the server completed a handshake with, each offered alone; null where the runtime cannot offer one version alone'),
        versions: z.array(versionProbe).nullable(),
        alpn: z.string().nullable().describe('The protocol the server chose, null when none'),
        alpnOffered: z.array(z.string()),
        chain: z.array(certificate).nullable(),
        pinned: z.boolean(),
        handshakeMs: z.number(),
        unavailable: z.array(z.object({ field: z.string(), reason: z.string() })).describe('What this runtime cannot report, and why'),
      }),
      text: (r) => {
        const lines = [`TLS ${r.version ?? '(version not reported here)'}${r.cipher ? ` ${r.cipher}` : ''}, ALPN ${r.alpn ?? 'none'}${r.pinned ? ', certificate pinned' : ''}, handshake ${r.handshakeMs.toFixed(1)} ms`];
        if (r.versions) {
          const refused = r.versions.filter((v) => !v.accepted).map((v) => v.version);
          lines.push(`versions accepted: ${r.acceptedVersions!.join(', ') || 'none'}${refused.length ? ` (refused: ${refused.join(', ')})` : ''}`);
        }
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
        const dial: DialRequest = { tls: 'implicit', alpn, pinSha256: input.pinSha256 };
        const conn = await ctx.dial(dial);
        const handshakeMs = Math.round((performance.now() - start) * 1000) / 1000;
        const info = conn.info();
        await conn.close();
        const canBound = ctx.capabilities.has('tlsVersion');
        const versions = input.versions && canBound ? await probeVersions(ctx, dial) : null;
        const unavailable: { field: string; reason: string }[] = [];
        if (!info.peerCertificates) unavailable.push({ field: 'chain', reason: CAPABILITIES.peerCert.workersReason ?? `the ${ctx.runtime} runtime does not expose it` });
        if (info.alpn === undefined) unavailable.push({ field: 'alpn', reason: CAPABILITIES.alpn.workersReason ?? `the ${ctx.runtime} runtime does not report it` });
        if (!info.tlsVersion) unavailable.push({ field: 'version', reason: `the ${ctx.runtime} runtime does not report the negotiated TLS version` });
        if (input.versions && !canBound) {
          unavailable.push({
            field: 'versions',
            reason: `${CAPABILITIES.tlsVersion.workersReason ?? `the ${ctx.runtime} runtime cannot choose TLS versions.`} What it can report: that one handshake with its own settings succeeded against a publicly trusted certificate for this name, and how long it took.`,
          });
        }
        if (ctx.runtime === 'workers') unavailable.push({ field: 'trust', reason: 'connect() completed the handshake, so the chain verified against public CAs for this name; anything else fails there.' });
        return {
          version: info.tlsVersion ?? null,
          cipher: info.cipher ?? null,
          acceptedVersions: versions ? versions.filter((v) => v.accepted).map((v) => v.version) : null,
          versions,
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
