// TLS inspection, RFC 8446 / RFC 5246 handshake with ALPN (RFC 7301) and SNI (RFC 6066 §3): what a server
// negotiates, the certificate chain it presents (RFC 5280 fields), and which versions, cipher suites and groups it
// accepts, each offered alone. Portolan's own TLS engine (src/core/tls) does this on every host; the Node host's
// runtime TLS also tries TLS 1.0 and 1.1.
import * as z from 'zod';
import { CAPABILITIES } from '../../core/capabilities.ts';
import { TLS_VERSIONS } from '../../core/conn.ts';
import { classify } from '../../core/errors.ts';
import type { Conn } from '../../core/conn.ts';
import { defineProtocol, operation, type DialRequest, type OperationContext } from '../../core/protocol.ts';
import type { TlsTicket } from '../../core/tls/client.ts';
import { CIPHER_SUITES, GROUPS, TLS13 } from '../../core/tls/wire.ts';
import { identification } from './identify.ts';

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
  accepted: z.boolean().nullable().describe('null: not tried (the TLS in use cannot offer that version)'),
  cipher: z.string().nullable().describe('The cipher suite negotiated at that version'),
  error: z.string().nullable().describe('Why the handshake failed, or why it was not tried'),
});

const suiteProbe = z.object({
  suite: z.string().describe('IANA name'),
  openssl: z.string(),
  version: z.enum(['TLSv1.2', 'TLSv1.3']),
  accepted: z.boolean(),
  error: z.string().nullable(),
});

const groupProbe = z.object({
  group: z.string(),
  accepted: z.boolean(),
  /** The version the handshake settled on with this group alone. */
  version: z.string().nullable(),
  error: z.string().nullable(),
});

const resumptionProbe = z.object({
  ticket: z.boolean().describe('The server issued a TLS 1.3 session ticket after the first handshake'),
  lifetime: z.number().nullable().describe('Seconds the server lets the ticket live'),
  resumed: z.boolean().describe('A second connection offering the ticket was resumed (pre_shared_key accepted, no certificate sent)'),
  handshakeMs: z.number().nullable().describe('How long the second handshake took'),
  error: z.string().nullable().describe('Why the second handshake failed'),
});

/** How long to wait for a ticket after the handshake: a server sends it right after our Finished, one round trip. */
const TICKET_WAIT_MS = 1000;

type Probe<T> = { ok: true; info: T } | { ok: false; error: string };

/** One handshake; a TLS failure is an answer (the server refused what was offered), anything else stops the probe. */
async function handshake(ctx: OperationContext, dial: DialRequest) {
  try {
    const conn = await ctx.dial(dial);
    const info = conn.info();
    await conn.close();
    return { ok: true, info } as Probe<typeof info>;
  } catch (e) {
    const err = classify(e);
    if (err.code !== 'tls_error' && err.code !== 'unsupported_runtime') throw err;
    return { ok: false, error: err.message } as Probe<never>;
  }
}

type Issued = { version: string | undefined; ticket: TlsTicket | null };

/** The version a connection on the engine negotiated and, for TLS 1.3, the ticket the server issued on it. */
async function ticketOf(ctx: OperationContext, conn: Conn): Promise<Issued> {
  const version = conn.info().tlsVersion;
  if (version !== 'TLSv1.3') return { version, ticket: null };
  try {
    return { version, ticket: await ctx.within(TICKET_WAIT_MS, () => conn.tlsTicket()) };
  } catch (e) {
    if (classify(e).code !== 'io_timeout' || ctx.signal.aborted) throw e;
    return { version, ticket: null };
  }
}

/** A handshake on the engine for its ticket; a TLS failure is the answer. */
async function engineTicket(ctx: OperationContext, dial: DialRequest): Promise<Issued | { error: string }> {
  try {
    const conn = await ctx.dial({ ...dial, tlsEngine: 'portolan' });
    try {
      return await ticketOf(ctx, conn);
    } finally {
      await conn.close();
    }
  } catch (e) {
    const err = classify(e);
    if (err.code !== 'tls_error') throw err;
    return { error: err.message };
  }
}

/** A second connection offering the first one's ticket: resumed when the server accepts the pre-shared key. */
async function resume(ctx: OperationContext, dial: DialRequest, ticket: TlsTicket | null): Promise<z.infer<typeof resumptionProbe>> {
  if (!ticket) return { ticket: false, lifetime: null, resumed: false, handshakeMs: null, error: null };
  const start = performance.now();
  const r = await handshake(ctx, { ...dial, tlsResume: ticket });
  const handshakeMs = Math.round((performance.now() - start) * 1000) / 1000;
  return { ticket: true, lifetime: ticket.lifetime, resumed: r.ok && r.info.tlsResumed === true, handshakeMs: r.ok ? handshakeMs : null, error: r.ok ? null : r.error };
}

/**
 * One handshake per version, each offering that version alone (RFC 8446 §4.2.1 supported_versions for 1.3, the
 * ClientHello version for 1.0–1.2): a server that accepts it completes the handshake, one that does not answers
 * with a protocol_version alert or hangs up. A version the TLS in use cannot offer is reported as not tried.
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
      if (err.code === 'unsupported_runtime') out.push({ version, accepted: null, cipher: null, error: err.message });
      else if (err.code === 'tls_error') out.push({ version, accepted: false, cipher: null, error: err.message });
      else throw err;
    }
  }
  return out;
}

/** Each cipher suite the engine implements, offered alone at its version. */
async function probeSuites(ctx: OperationContext, dial: DialRequest): Promise<z.infer<typeof suiteProbe>[]> {
  const out: z.infer<typeof suiteProbe>[] = [];
  for (const suite of CIPHER_SUITES) {
    const version = suite.version === TLS13 ? 'TLSv1.3' : 'TLSv1.2';
    const r = await handshake(ctx, { ...dial, cipherSuites: [suite.id], minVersion: version, maxVersion: version });
    out.push({ suite: suite.name, openssl: suite.openssl, version, accepted: r.ok, error: r.ok ? null : r.error });
  }
  return out;
}

/** Each group the engine implements, offered alone (with both versions). */
async function probeGroups(ctx: OperationContext, dial: DialRequest): Promise<z.infer<typeof groupProbe>[]> {
  const out: z.infer<typeof groupProbe>[] = [];
  for (const g of GROUPS) {
    const r = await handshake(ctx, { ...dial, groups: [g.name] });
    out.push({ group: g.name, accepted: r.ok, version: r.ok ? (r.info.tlsVersion ?? null) : null, error: r.ok ? null : r.error });
  }
  return out;
}

export default defineProtocol({
  id: 'tls',
  title: 'TLS',
  category: 'diagnostics',
  summary:
    "Opens a TLS connection and reports what was negotiated — version, cipher suite, key exchange group, signature scheme, ALPN protocol — the server's certificate chain up to its trust anchor (subject, issuer, SANs, validity, key, fingerprints), which TLS versions, cipher suites and groups the server accepts, each offered alone, and whether it resumes a TLS 1.3 session with the ticket it issued. Self-signed servers are accepted with a pinned fingerprint, private CAs as PEM. On Workers this runs on Portolan's own TLS engine; the Node host also tries TLS 1.0 and 1.1.",
  ports: [{ port: 443, transport: 'tls' }],
  specs: ['RFC 8446', 'RFC 5246', 'RFC 7301', 'RFC 6066', 'RFC 5280', 'RFC 8422', 'RFC 7627'],
  rating: {
    stars: 4,
    reason:
      "Handshake, negotiated version, suite, group, signature scheme and ALPN, the versions, suites and groups accepted (each alone), the verified chain with key type/size and fingerprints, untrusted certificates refused with their reason and fingerprint and accepted when pinned or given a private CA, TLS 1.3 resumption with the server's ticket (a PSK with its binder; nginx, OpenSSL and GnuTLS resume, another server's ticket gets a full handshake, a forged one is refused); lab-tested on workerd (Portolan's engine) and the Node host against nginx with two ssl_protocols sets, OpenSSL's and GnuTLS's servers and a self-signed server. No OCSP or CT checks, no TLS 1.0/1.1 on Workers, no TLS 1.2 session resumption and no 0-RTT early data.",
  },
  verifiedAgainst: 'nginx 1.22.1-9+deb12u11 (OpenSSL 3.0.19) with ssl_protocols TLSv1.2 TLSv1.3 and TLSv1 TLSv1.1 TLSv1.2; openssl s_server 3.0.19; gnutls-serv 3.7.9',
  defaultOperation: 'inspect',
  identify: identification,
  operations: {
    inspect: operation({
      primary: ['alpn', 'versions'],
      summary: 'Handshake: version, suite, group, ALPN, the chain to its anchor; the versions, cipher suites and groups the server accepts',
      input: z.object({
        alpn: z
          .array(z.string().regex(ALPN_NAME, 'ALPN protocol names are 1–255 printable ASCII characters'))
          .max(16)
          .optional()
          .describe('ALPN protocols to offer, e.g. h2,http/1.1 (default h2,http/1.1)'),
        versions: z.boolean().default(true).describe('Also try TLS 1.0, 1.1, 1.2 and 1.3 one at a time and list the versions the server accepts (four more handshakes)'),
        suites: z.boolean().default(true).describe("Also offer each cipher suite of Portolan's engine alone and list those the server accepts (nine more handshakes)"),
        groups: z.boolean().default(true).describe('Also offer each key exchange group alone (x25519, secp256r1, secp384r1) and list those the server accepts (three more handshakes)'),
        resumption: z.boolean().default(true).describe("Also wait for a TLS 1.3 session ticket and reconnect with it, to see whether the server resumes the session (Portolan's engine; one more handshake)"),
      }),
      output: z.object({
        engine: z.enum(['runtime', 'portolan']).describe("Whose TLS carried the handshake: the runtime's or Portolan's own engine"),
        version: z.string().nullable(),
        cipher: z.string().nullable().describe('The cipher suite negotiated (OpenSSL name)'),
        group: z.string().nullable().describe('The key exchange group, where the TLS in use reports it'),
        signatureScheme: z.string().nullable().describe("The scheme the server signed the handshake with, where the TLS in use reports it"),
        acceptedVersions: z.array(z.enum(TLS_VERSIONS)).nullable().describe('The TLS versions the server completed a handshake with, each offered alone'),
        versions: z.array(versionProbe).nullable(),
        suites: z.array(suiteProbe).nullable(),
        acceptedSuites: z.array(z.string()).nullable(),
        groups: z.array(groupProbe).nullable(),
        acceptedGroups: z.array(z.string()).nullable(),
        resumption: resumptionProbe.nullable().describe('TLS 1.3 session resumption with a ticket (RFC 8446 §2.2)'),
        alpn: z.string().nullable().describe('The protocol the server chose, null when none'),
        alpnOffered: z.array(z.string()),
        chain: z.array(certificate).nullable().describe('From the server certificate to the trust anchor'),
        trust: z.string().nullable().describe('How the certificate was trusted'),
        pinned: z.boolean(),
        handshakeMs: z.number(),
        unavailable: z.array(z.object({ field: z.string(), reason: z.string() })).describe('What this runtime cannot report, and why'),
      }),
      text: (r) => {
        const extra = [r.group, r.signatureScheme].filter(Boolean).join(', ');
        const lines = [`TLS ${r.version ?? '(version not reported here)'}${r.cipher ? ` ${r.cipher}` : ''}${extra ? ` (${extra})` : ''}, ALPN ${r.alpn ?? 'none'}, handshake ${r.handshakeMs.toFixed(1)} ms, ${r.engine === 'portolan' ? "Portolan's TLS engine" : "the runtime's TLS"}`];
        if (r.trust) lines.push(`trusted: ${r.trust}`);
        if (r.versions) {
          const refused = r.versions.filter((v) => v.accepted === false).map((v) => v.version);
          const untried = r.versions.filter((v) => v.accepted === null).map((v) => v.version);
          lines.push(`versions accepted: ${r.acceptedVersions!.join(', ') || 'none'}${refused.length ? ` (refused: ${refused.join(', ')})` : ''}${untried.length ? ` (not tried: ${untried.join(', ')})` : ''}`);
        }
        if (r.acceptedSuites) lines.push(`cipher suites accepted: ${r.acceptedSuites.join(', ') || 'none'}`);
        if (r.acceptedGroups) lines.push(`groups accepted: ${r.acceptedGroups.join(', ') || 'none'}`);
        const res = r.resumption;
        if (res) {
          const how = !res.ticket ? 'no session ticket issued' : res.resumed ? `resumed with its ticket in ${res.handshakeMs!.toFixed(1)} ms` : `its ticket was not taken back${res.error ? `: ${res.error}` : ' (a full handshake)'}`;
          lines.push(`resumption (TLS 1.3): ${how}${res.lifetime !== null ? `, ticket lifetime ${res.lifetime} s` : ''}`);
        }
        for (const [i, c] of (r.chain ?? []).entries()) {
          lines.push(`${i}: ${c.subject}`, `   issuer ${c.issuer}`, `   ${c.validFrom} → ${c.validTo}, ${c.keyType ?? '?'} ${c.keyBits ?? ''}`.trimEnd(), `   SHA256 ${c.fingerprintSha256}`);
          if (c.subjectAltNames.length) lines.push(`   SANs ${c.subjectAltNames.join(', ')}`);
        }
        for (const u of r.unavailable) lines.push(`(${u.field}: ${u.reason})`);
        return lines.join('\n');
      },
      async run(ctx, input) {
        const canAlpn = ctx.capabilities.has('alpn');
        const alpn = input.alpn ?? (canAlpn ? ['h2', 'http/1.1'] : undefined);
        const seesChain = ctx.capabilities.has('peerCert');
        const start = performance.now();
        const dial: DialRequest = { tls: 'implicit', alpn, peerCertificate: seesChain };
        const conn = await ctx.dial(dial);
        const handshakeMs = Math.round((performance.now() - start) * 1000) / 1000;
        const info = conn.info();
        // Resumption is the engine's: where the first handshake was the runtime's (the Node host), one more handshake
        // on the engine gets the ticket.
        const viaEngine = input.resumption && input.tlsEngine !== 'runtime';
        const issued = viaEngine && info.tlsEngine === 'portolan' ? await ticketOf(ctx, conn) : undefined;
        await conn.close();
        const got = viaEngine ? (issued ?? (await engineTicket(ctx, dial))) : undefined;
        const resumption = got && 'error' in got ? { ticket: false, lifetime: null, resumed: false, handshakeMs: null, error: got.error } : got?.version === 'TLSv1.3' ? await resume(ctx, dial, got.ticket) : null;
        const probe: DialRequest = { tls: 'implicit' };
        const canBound = ctx.capabilities.has('tlsVersion');
        const versions = input.versions && canBound ? await probeVersions(ctx, probe) : null;
        // Suites and groups are offered alone by Portolan's engine; the runtime's TLS cannot be told.
        const canEnumerate = input.tlsEngine !== 'runtime' && canBound;
        const suites = input.suites && canEnumerate ? await probeSuites(ctx, probe) : null;
        const groups = input.groups && canEnumerate ? await probeGroups(ctx, probe) : null;
        const unavailable: { field: string; reason: string }[] = [];
        const runtimeReason = (cap: 'peerCert' | 'alpn' | 'tlsVersion') => `${CAPABILITIES[cap].runtimeTlsReason ?? `the ${ctx.runtime} runtime's TLS does not report it`} (tlsEngine is runtime)`;
        if (!info.peerCertificates) unavailable.push({ field: 'chain', reason: runtimeReason('peerCert') });
        if (info.alpn === undefined) unavailable.push({ field: 'alpn', reason: runtimeReason('alpn') });
        if (!info.tlsVersion) unavailable.push({ field: 'version', reason: runtimeReason('tlsVersion') });
        if (input.versions && !canBound) unavailable.push({ field: 'versions', reason: `${runtimeReason('tlsVersion')}. What it can report: that one handshake with its own settings succeeded against a publicly trusted certificate for this name, and how long it took.` });
        if (input.resumption && !viaEngine) unavailable.push({ field: 'resumption', reason: "Only Portolan's TLS engine keeps and offers session tickets (tlsEngine is runtime)." });
        if (got && !('error' in got) && got.version !== 'TLSv1.3') unavailable.push({ field: 'resumption', reason: `Portolan's TLS engine resumes TLS 1.3 sessions (tickets as pre-shared keys); this server negotiated ${got.version}.` });
        if ((input.suites || input.groups) && !canEnumerate) unavailable.push({ field: 'suites', reason: "Only Portolan's TLS engine offers one cipher suite or group alone (tlsEngine auto or portolan)." });
        const trust = info.tlsTrust ? (info.tlsTrust.by === 'pinned' ? 'by its pinned fingerprint' : `through ${info.tlsTrust.anchor}`) : info.peerCertificates ? "by the runtime's TLS (its CA store, or the pin)" : ctx.runtime === 'workers' ? "connect() completed the handshake, so the chain verified against public CAs for this name" : null;
        return {
          engine: info.tlsEngine ?? 'runtime',
          version: info.tlsVersion ?? null,
          cipher: info.cipher ?? null,
          group: info.tlsGroup ?? null,
          signatureScheme: info.tlsSignatureScheme ?? null,
          acceptedVersions: versions ? versions.filter((v) => v.accepted).map((v) => v.version) : null,
          versions,
          suites,
          acceptedSuites: suites ? suites.filter((s) => s.accepted).map((s) => s.suite) : null,
          groups,
          acceptedGroups: groups ? groups.filter((g) => g.accepted).map((g) => g.group) : null,
          resumption,
          alpn: info.alpn ?? null,
          alpnOffered: alpn ?? [],
          chain: info.peerCertificates ?? null,
          trust,
          pinned: !!(input.pinSha256 || input.pinSpkiSha256),
          handshakeMs,
          unavailable,
        };
      },
    }),
  },
});
