// RDP, MS-RDPBCGR: connection initiation — the X.224 Connection Request with RDP_NEG_REQ, the security protocols a
// server supports and its negotiation failure codes, the TLS upgrade that follows, (on hosts that can read it) the
// server's certificate, and the Basic Settings Exchange (MCS Connect Initial/Response) over TLS. With CredSSP selected
// (Network Level Authentication, MS-CSSP), `ntlm-info` reads the server's NTLM CHALLENGE without credentials and
// `login` runs the whole CredSSP exchange before the MCS Connect Initial. Nothing past the MCS Connect Response
// (channel joins, licensing) is done.
import * as z from 'zod';
import { toHex } from '../../core/bytes.ts';
import { PortolanError, ProtocolError, UnsupportedRuntime } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { FAILURE_CODES, PROTOCOL_TITLES, Protocols, protocolNames, responseFlagNames, selectedName, type ConnectionConfirm, type ProtocolName } from './codec.ts';
import { FLAGS, flagNames } from '../dcerpc/ntlmssp.ts';
import { basicSettings, credsspAuthenticate, credsspStart, dialForNegotiation, earlyUserAuthorization, negotiate } from './client.ts';
import { CREDSSP_VERSIONS, subjectPublicKey } from './credssp.ts';
import { identification } from './identify.ts';

const protocolEnum = z.enum(['rdp', 'tls', 'hybrid', 'rdstls', 'hybrid_ex', 'rdsaad']);

const negotiationInput = {
  protocols: z.array(protocolEnum).max(6).default(['tls', 'hybrid']).describe('Security protocols to offer in RDP_NEG_REQ (rdp alone offers none of the others)'),
  cookie: z.string().regex(/^[\x21-\x7e]{1,64}$/).optional().describe('Routing cookie user name ("Cookie: mstshash=...")'),
  restrictedAdmin: z.boolean().default(false).describe('Set RESTRICTED_ADMIN_MODE_REQUIRED in RDP_NEG_REQ'),
};

const negotiationOut = z.object({
  requested: z.array(z.string()),
  outcome: z.enum(['selected', 'failure', 'no-negotiation', 'disconnected']),
  disconnect: z.string().nullable().describe('The MCS disconnect reason, when the server hung up instead of confirming'),
  selected: z.string().nullable().describe('The protocol the server chose'),
  selectedTitle: z.string().nullable(),
  flags: z.array(z.string()),
  failure: z.object({ code: z.number(), name: z.string() }).nullable(),
  /** The server chose a protocol we did not offer (xrdp answers a CredSSP-only request with standard security). */
  notOffered: z.boolean(),
  confirmHex: z.string(),
});

function requestedFlags(protocols: ProtocolName[]): number {
  return protocols.reduce((n, p) => n | Protocols[p], 0);
}

function negotiationJson(requested: number, c: ConnectionConfirm, offeredRdp: boolean) {
  const n = c.negotiation;
  const base = { requested: protocolNames(requested), confirmHex: toHex(c.raw), disconnect: null };
  if (n.kind === 'disconnect') return { ...base, outcome: 'disconnected' as const, disconnect: n.reason, selected: null, selectedTitle: null, flags: [], failure: null, notOffered: false };
  if (n.kind === 'none') return { ...base, outcome: 'no-negotiation' as const, selected: 'rdp', selectedTitle: PROTOCOL_TITLES.rdp, flags: [], failure: null, notOffered: false };
  if (n.kind === 'failure') return { ...base, outcome: 'failure' as const, selected: null, selectedTitle: null, flags: [], failure: { code: n.code, name: FAILURE_CODES[n.code] ?? `UNKNOWN_${n.code}` }, notOffered: false };
  const name = selectedName(n.selected);
  // PROTOCOL_RDP is the absence of flags: it was offered only when "rdp" was asked for (or nothing else was).
  const offered = n.selected === 0 ? requested === 0 || offeredRdp : (requested & n.selected) === n.selected;
  return { ...base, outcome: 'selected' as const, selected: name, selectedTitle: PROTOCOL_TITLES[name as ProtocolName] ?? null, flags: responseFlagNames(n.flags), failure: null, notOffered: !offered };
}

async function negotiateOnce(ctx: OperationContext, protocols: ProtocolName[], input: { cookie?: string; restrictedAdmin: boolean }) {
  const conn = await dialForNegotiation(ctx);
  const requested = requestedFlags(protocols);
  const confirm = await negotiate(conn, { requested, cookieUser: input.cookie, flags: input.restrictedAdmin ? 0x01 : 0 });
  return { conn, requested, confirm, offeredRdp: protocols.includes('rdp') };
}

/** Negotiates TLS and upgrades; the handshake's duration and what the host can tell about the session. */
async function upgrade(ctx: OperationContext, protocols: ProtocolName[], input: { cookie?: string; restrictedAdmin: boolean }) {
  const { conn, requested, confirm, offeredRdp } = await negotiateOnce(ctx, protocols, input);
  const negotiation = negotiationJson(requested, confirm, offeredRdp);
  const n = confirm.negotiation;
  if (n.kind === 'disconnect') throw new PortolanError('closed', `the server disconnected instead of confirming (MCS ${n.reason})`, { negotiation });
  const tlsSelected = n.kind === 'response' && (n.selected & (Protocols.tls | Protocols.hybrid | Protocols.hybrid_ex | Protocols.rdstls)) !== 0;
  if (!tlsSelected) {
    throw new PortolanError(
      n.kind === 'failure' ? 'server_error' : 'protocol_error',
      n.kind === 'failure' ? `the server refused: ${negotiation.failure!.name}` : `the server selected ${negotiation.selected}, not a TLS-based protocol, so there is no TLS to upgrade to`,
      { negotiation },
    );
  }
  const t0 = performance.now();
  // MS-RDPBCGR 5.4.5.1: with TLS selected, the TLS handshake starts right after the Connection Confirm.
  await conn.startTls();
  const tlsMs = Math.round((performance.now() - t0) * 1000) / 1000;
  return { conn, negotiation, tlsMs, selected: (n as { selected: number }).selected };
}

const CREDSSP_PROTOCOLS = Protocols.hybrid | Protocols.hybrid_ex;

const credsspInput = {
  ...negotiationInput,
  protocols: z.array(protocolEnum).max(6).default(['tls', 'hybrid']).describe('Security protocols to offer; the server must select CredSSP (hybrid or hybrid_ex)'),
  credsspVersion: z.number().int().refine((v) => (CREDSSP_VERSIONS as readonly number[]).includes(v), 'a TSRequest version from 2 to 6').default(6).describe('The TSRequest version to announce (MS-CSSP 2.2.1: 2 to 6); the lower of ours and the server\'s is used'),
};

/** Negotiates, requires CredSSP to be selected, and upgrades to TLS. */
async function upgradeForCredssp(ctx: OperationContext, input: { protocols: ProtocolName[]; cookie?: string; restrictedAdmin: boolean }) {
  const up = await upgrade(ctx, input.protocols, input);
  if ((up.selected & CREDSSP_PROTOCOLS) === 0) {
    await up.conn.close();
    throw new ProtocolError(`the server selected ${up.negotiation.selectedTitle ?? up.negotiation.selected}, not CredSSP: it does not offer Network Level Authentication to this request`, { negotiation: up.negotiation });
  }
  return up;
}

const ntlmVersionOut = z.object({ major: z.number(), minor: z.number(), build: z.number(), ntlmRevision: z.number(), text: z.string() }).nullable();

export default defineProtocol({
  id: 'rdp',
  title: 'RDP',
  category: 'remote',
  summary: 'Remote Desktop Protocol connection initiation: X.224 with RDP_NEG_REQ, the security protocols a server supports and its failure codes, the TLS upgrade, the server certificate (MS-RDPBCGR), and Network Level Authentication: the NTLM server information and a CredSSP credential check (MS-CSSP).',
  ports: [{ port: 3389, transport: 'tcp' }],
  // Its operations upgrade to TLS themselves after the X.224 negotiation: they take the TLS fields.
  tlsFields: true,
  specs: ['MS-RDPBCGR 2.2.1.1–2.2.1.4', 'MS-CSSP', 'MS-NLMP', 'RFC 1006', 'ITU-T X.224'],
  rating: {
    stars: 3,
    reason:
      'Lab-tested against xrdp (negotiate, TLS-only and RDP-only instances) through workerd: the Connection Confirm decoded with the selected protocol and flags, every protocol probed one by one, SSL_REQUIRED_BY_SERVER from the TLS-only server, an MCS disconnect for an odd offer; the TLS upgrade with startTls() working on Workers, proven by the MCS Connect Response (server version, echoed protocols) read over it; the certificate through the Node host and on workerd (Portolan\'s TLS engine). ' +
      'NLA lab-tested against FreeRDP 2.11.7\'s shadow server (NLA only, NTLM against a SAM file) through workerd (Portolan\'s TLS engine) and the Node host: HYBRID_REQUIRED_BY_SERVER for a TLS-only offer; ntlm-info names the server (NetBIOS and DNS names, VERSION, clock, flags, CredSSP version 6); login with CredSSP v6 (client nonce, SHA-256 binding hashes), NTLMv2 with a MIC, RC4 sealing after key exchange, the server\'s pubKeyAuth verified, sealed TSCredentials, then the MCS Connect Response; TSRequest versions 2 to 5 through the Node host; a wrong password or unknown user as auth_failed (FreeRDP closes the connection after AUTHENTICATE: no errorCode from it is seen); login with tlsEngine runtime on Workers refused (501, peerCert). ' +
      'Not lab-tested: a Windows server, a TSRequest errorCode from a server, HYBRID_EX\'s Early User Authorization Result, a mismatching pubKeyAuth (the comparison is unit-tested only); NTLM only (raw NTLM tokens, no SPNEGO, no Kerberos). Stops after the Basic Settings Exchange.',
  },
  verifiedAgainst: 'xrdp 0.9.21.1-1+deb12u3; FreeRDP 2.11.7+dfsg1-6~deb12u1 (freerdp-shadow-cli, NLA)',
  defaultOperation: 'negotiate',
  identify: identification,
  operations: {
    negotiate: operation({
      summary: 'One X.224 Connection Request with RDP_NEG_REQ: which protocol the server selects, or its failure code',
      input: z.object(negotiationInput),
      output: negotiationOut,
      text: (r) => (r.failure ? `failure: ${r.failure.name}` : `selected: ${r.selectedTitle ?? r.selected}${r.flags.length ? ` [${r.flags.join(', ')}]` : ''}`),
      async run(ctx, input) {
        const { requested, confirm, offeredRdp } = await negotiateOnce(ctx, input.protocols, input);
        return negotiationJson(requested, confirm, offeredRdp);
      },
    }),
    probe: operation({
      summary: 'Offers each security protocol alone (one connection each) and reports which the server accepts',
      input: z.object({ cookie: negotiationInput.cookie }),
      output: z.object({
        results: z.array(z.object({ offered: z.string(), title: z.string(), outcome: z.string(), selected: z.string().nullable(), failure: z.string().nullable() })),
        supported: z.array(z.string()).describe('Protocols the server selected when offered alone'),
        preferred: z.string().nullable().describe('What it selects when offered what mstsc offers (TLS, CredSSP, CredSSP with early authorization)'),
      }),
      text: (r) => `${r.results.map((x) => `${x.offered.padEnd(10)} ${x.failure ?? `selected ${x.selected}`}`).join('\n')}\nsupported: ${r.supported.join(', ')}\npreferred: ${r.preferred}`,
      async run(ctx, input) {
        const results = [];
        for (const p of ['rdp', 'tls', 'hybrid', 'rdstls', 'hybrid_ex'] as ProtocolName[]) {
          const { conn, requested, confirm, offeredRdp } = await negotiateOnce(ctx, [p], { cookie: input.cookie, restrictedAdmin: false });
          await conn.close();
          const j = negotiationJson(requested, confirm, offeredRdp);
          results.push({ offered: p, title: PROTOCOL_TITLES[p], outcome: j.outcome, selected: j.selected, failure: j.failure?.name ?? (j.disconnect ? `disconnected (${j.disconnect})` : null) });
        }
        const all = await negotiateOnce(ctx, ['tls', 'hybrid', 'hybrid_ex'], { cookie: input.cookie, restrictedAdmin: false });
        await all.conn.close();
        const preferred = negotiationJson(all.requested, all.confirm, false);
        return { results, supported: results.filter((x) => x.selected === x.offered).map((x) => x.offered), preferred: preferred.selected ?? preferred.failure?.name ?? preferred.disconnect ?? null };
      },
    }),
    tls: operation({
      summary: 'Negotiates TLS, upgrades the connection (startTls) and exchanges the first MCS PDUs over it: the server\'s RDP version and security settings',
      input: z.object({ ...negotiationInput, protocols: z.array(protocolEnum).max(6).default(['tls']) }),
      output: z.object({
        negotiation: negotiationOut,
        tls: z.object({ established: z.boolean(), handshakeMs: z.number(), version: z.string().nullable(), certificateShown: z.boolean() }),
        server: z
          .object({
            result: z.string(),
            version: z.string().nullable(),
            versionName: z.string().nullable(),
            clientRequestedProtocols: z.array(z.string()).nullable(),
            encryptionMethod: z.number().nullable(),
            encryptionLevel: z.number().nullable(),
            mcsChannelId: z.number().nullable(),
            blocks: z.array(z.string()),
          })
          .describe('From the MCS Connect Response read over TLS (MS-RDPBCGR 2.2.1.4)'),
      }),
      text: (r) => `selected ${r.negotiation.selected}; TLS ${r.tls.established ? 'established' : 'failed'}${r.tls.version ? ` (${r.tls.version})` : ''}; server ${r.server.versionName ?? r.server.version ?? '?'} (${r.server.result})`,
      async run(ctx, input) {
        const { conn, negotiation, tlsMs, selected } = await upgrade(ctx, input.protocols, input);
        // The first bytes over TLS: on Workers the handshake completes here, so a failure shows up here too.
        const server = await basicSettings(conn, selected).catch((e: unknown) => {
          const err = e instanceof PortolanError ? e : new PortolanError('tls_error', String(e));
          if (err.code === 'protocol_error' && /internal error/i.test(err.message)) throw new PortolanError('tls_error', `the TLS session failed on its first use: ${err.message}`);
          throw err;
        });
        const info = conn.info();
        return {
          negotiation,
          tls: { established: conn.tlsActive, handshakeMs: tlsMs, version: info.tlsVersion ?? null, certificateShown: (info.peerCertificates?.length ?? 0) > 0 },
          server: {
            result: server.resultName,
            version: server.version === null ? null : `0x${server.version.toString(16).padStart(8, '0')}`,
            versionName: server.versionName,
            clientRequestedProtocols: server.clientRequestedProtocols === null ? null : protocolNames(server.clientRequestedProtocols),
            encryptionMethod: server.encryptionMethod,
            encryptionLevel: server.encryptionLevel,
            mcsChannelId: server.mcsChannelId,
            blocks: server.blocks.map((b) => b.type),
          },
        };
      },
    }),
    'ntlm-info': operation({
      summary: "CredSSP's first round without credentials: the server's NTLM CHALLENGE (NetBIOS and DNS names, OS version, clock, flags) and its TSRequest version",
      input: z.object({ cookie: negotiationInput.cookie, restrictedAdmin: negotiationInput.restrictedAdmin, protocols: credsspInput.protocols, credsspVersion: credsspInput.credsspVersion }),
      output: z.object({
        negotiation: negotiationOut,
        credsspVersion: z.number().describe("The version in the server's TSRequest"),
        targetName: z.string(),
        netbiosComputerName: z.string().nullable(),
        netbiosDomainName: z.string().nullable(),
        dnsComputerName: z.string().nullable(),
        dnsDomainName: z.string().nullable(),
        dnsTreeName: z.string().nullable(),
        serverTime: z.string().nullable().describe('MsvAvTimestamp, the server clock'),
        productVersion: ntlmVersionOut.describe('The VERSION field, when the server sends it (Windows: major.minor.build)'),
        flags: z.array(z.string()),
        flagsHex: z.string(),
      }),
      text: (r) =>
        [
          `CredSSP version ${r.credsspVersion}`,
          `target ${r.targetName}`,
          `NetBIOS computer ${r.netbiosComputerName ?? '-'}, domain ${r.netbiosDomainName ?? '-'}`,
          `DNS computer ${r.dnsComputerName ?? '-'}, domain ${r.dnsDomainName ?? '-'}, tree ${r.dnsTreeName ?? '-'}`,
          `product version ${r.productVersion?.text ?? '-'}`,
          `server time ${r.serverTime ?? '-'}`,
          `flags ${r.flags.join(', ')}`,
        ].join('\n'),
      async run(ctx, input) {
        const { conn, negotiation } = await upgradeForCredssp(ctx, input);
        const start = await credsspStart(conn, input.credsspVersion);
        await conn.close();
        const ch = start.challenge;
        const v = ch.version;
        return {
          negotiation,
          credsspVersion: start.serverVersion,
          targetName: ch.targetName,
          netbiosComputerName: ch.info.netbiosComputerName ?? null,
          netbiosDomainName: ch.info.netbiosDomainName ?? null,
          dnsComputerName: ch.info.dnsComputerName ?? null,
          dnsDomainName: ch.info.dnsDomainName ?? null,
          dnsTreeName: ch.info.dnsTreeName ?? null,
          serverTime: ch.info.timestamp ?? null,
          productVersion: v ? { ...v, text: `${v.major}.${v.minor}.${v.build}` } : null,
          flags: flagNames(ch.flags),
          flagsHex: `0x${ch.flags.toString(16).padStart(8, '0')}`,
        };
      },
    }),
    login: operation({
      summary: 'Network Level Authentication: a full CredSSP exchange (NTLMv2, the server\'s public key bound both ways, sealed TSCredentials), then the MCS Connect Response as proof the server let the session continue',
      needs: ['tcp', 'starttls', 'peerCert'],
      input: z.object({
        ...credsspInput,
        user: z.string().min(1).max(256).describe('User name'),
        password: z.string().max(256).describe('Password (sent only sealed inside TSCredentials, after the server proved its key)'),
        domain: z.string().max(256).default('').describe('Domain (empty: the server\'s own accounts)'),
      }),
      output: z.object({
        negotiation: negotiationOut,
        credssp: z.object({
          version: z.number().describe('The TSRequest version used: the lower of ours and the server\'s'),
          serverVersion: z.number(),
          binding: z.enum(['sha256-nonce', 'public-key']).describe('sha256-nonce: version 5 and later hash the key with a client nonce'),
          pubKeyAuthVerified: z.boolean().describe("The server's pubKeyAuth matched the public key of its TLS certificate"),
          mic: z.boolean().describe('The NTLM AUTHENTICATE carried a MIC'),
          ntlmFlags: z.array(z.string()),
          earlyUserAuthorization: z.string().nullable().describe('HYBRID_EX only: the Early User Authorization Result'),
        }),
        server: z.object({ result: z.string(), versionName: z.string().nullable(), clientRequestedProtocols: z.array(z.string()).nullable() }).describe('The MCS Connect Response read after CredSSP'),
      }),
      text: (r) => `authenticated with CredSSP v${r.credssp.version} (server pubKeyAuth ${r.credssp.pubKeyAuthVerified ? 'verified' : 'not verified'}); MCS Connect Response ${r.server.result}${r.server.versionName ? `, server ${r.server.versionName}` : ''}`,
      async run(ctx, input) {
        const { conn, negotiation, selected } = await upgradeForCredssp(ctx, input);
        const der = conn.info().serverCertificate;
        if (!der) {
          await conn.close();
          throw new UnsupportedRuntime("CredSSP binds the credentials to the server's TLS public key, and this TLS (the runtime's) does not expose the certificate: use tlsEngine auto or portolan (Portolan's TLS engine), or the Node host", {
            runtime: ctx.runtime,
            missing: ['peerCert'],
            reasons: ["the runtime's TLS does not give the server certificate"],
            alternatives: ['tlsEngine: portolan', 'the Node host'],
          });
        }
        const publicKey = subjectPublicKey(der);
        const start = await credsspStart(conn, input.credsspVersion);
        const result = await credsspAuthenticate(ctx, conn, start, { user: input.user, password: input.password, domain: input.domain, workstation: '' }, publicKey);
        let early: string | null = null;
        if (selected === Protocols.hybrid_ex) {
          const code = await earlyUserAuthorization(conn);
          early = code === 0 ? 'SUCCESS' : code === 5 ? 'ACCESS_DENIED' : `0x${code.toString(16)}`;
          if (code !== 0) throw new PortolanError('auth_failed', `the server's Early User Authorization Result is ${early}`, { earlyUserAuthorization: early });
        }
        const server = await basicSettings(conn, selected);
        return {
          negotiation,
          credssp: { version: result.version, serverVersion: start.serverVersion, binding: result.binding, pubKeyAuthVerified: result.pubKeyAuthVerified, mic: result.mic, ntlmFlags: flagNames(start.challenge.flags & (FLAGS.seal | FLAGS.sign | FLAGS.keyExchange | FLAGS.extendedSessionSecurity | FLAGS.n128 | FLAGS.version)), earlyUserAuthorization: early },
          server: { result: server.resultName, versionName: server.versionName, clientRequestedProtocols: server.clientRequestedProtocols === null ? null : protocolNames(server.clientRequestedProtocols) },
        };
      },
    }),
    certificate: operation({
      summary: "The server's TLS certificate chain, read after the RDP TLS upgrade",
      needs: ['tcp', 'starttls', 'peerCert'],
      input: z.object({ ...negotiationInput, protocols: z.array(protocolEnum).max(6).default(['tls']) }),
      output: z.object({
        negotiation: negotiationOut,
        tlsVersion: z.string().nullable(),
        certificates: z.array(z.object({ subject: z.string(), issuer: z.string(), subjectAltNames: z.array(z.string()), validFrom: z.string(), validTo: z.string(), fingerprintSha256: z.string(), keyType: z.string().optional(), keyBits: z.number().optional() })),
      }),
      text: (r) => r.certificates.map((c) => `${c.subject}\n  issuer ${c.issuer}\n  SHA-256 ${c.fingerprintSha256}\n  ${c.validFrom} – ${c.validTo}`).join('\n'),
      async run(ctx, input) {
        const { conn, negotiation } = await upgrade(ctx, input.protocols, input);
        const info = conn.info();
        return { negotiation, tlsVersion: info.tlsVersion ?? null, certificates: info.peerCertificates ?? [] };
      },
    }),
  },
});
