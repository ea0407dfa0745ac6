// The capability matrix: what the Workers runtime and the Node host can do for each protocol family the seed
// listed as hard, generated from the operations' declared needs (src/core/capabilities.ts) plus the facts no
// declaration can carry (ICMP, raw IP, containers). Served by /api/capabilities, written to docs/capabilities.md.
import { CAPABILITIES, RUNTIME_CAPABILITIES, unsupportedReasons } from '../../core/capabilities.ts';
import type { Capability } from '../../core/conn.ts';
import type { Protocol } from '../../core/protocol.ts';

/** One way a row is done: an operation (with input that picks a transport), and what it needs. */
export interface RowVariant {
  label: string;
  protocol: string;
  operation: string;
  /** Input that selects this variant (transport: 'udp'); the claim test adds a target. */
  input?: Record<string, unknown>;
  /** Capabilities this variant needs beyond the operation's declared ones (a transport chosen by input). */
  extraNeeds?: Capability[];
  /** What the operation will declare, while it is not in the registry yet. */
  plannedNeeds?: Capability[];
  /** Fields the operation requires, for the test that runs the claim (never shown as the variant's choice). */
  sample?: Record<string, unknown>;
}

export interface MatrixRow {
  id: string;
  title: string;
  variants: RowVariant[];
  /** What the family needs when nothing implements it yet (or beyond what capabilities can say). */
  needs?: Capability[];
  /** Facts outside the capability model: stated per host, with the reason. */
  fixed?: { workers: Status; node: Status; reason: string; alternative?: string };
  /** Why a row with no variant has none yet. */
  open?: string;
  /** How the row is verified, or why it is not, when the protocol's own rating does not say. */
  note?: string;
}

export type Status = 'yes' | 'partial' | 'no' | 'as root';

export interface MatrixEntry {
  id: string;
  title: string;
  implemented: string[];
  workers: Status;
  node: Status;
  /** Why not (or not all) on Workers. */
  reason: string | null;
  alternative: string | null;
  open: string | null;
  note: string | null;
  variants: { label: string; protocol: string; operation: string; input: Record<string, unknown>; sample: Record<string, unknown>; registered: boolean; needs: Capability[]; workers: boolean; node: boolean }[];
}

const udp = (protocol: string, operation: string, input?: Record<string, unknown>, label = 'UDP', sample?: Record<string, unknown>): RowVariant => ({ label, protocol, operation, input, extraNeeds: ['udp'], sample });
const tcp = (protocol: string, operation: string, input?: Record<string, unknown>, label = 'TCP', sample?: Record<string, unknown>): RowVariant => ({ label, protocol, operation, input, sample });

export const MATRIX_ROWS: readonly MatrixRow[] = [
  { id: 'ntp', title: 'NTP / SNTP', variants: [udp('ntp', 'query')] },
  { id: 'snmp', title: 'SNMP v1/v2c', variants: [udp('snmp', 'get', { transport: 'udp' }), tcp('snmp', 'get', { transport: 'tcp' }, 'TCP (RFC 3430)')] },
  { id: 'dns', title: 'DNS', variants: [udp('dns', 'query', { transport: 'udp' }, 'UDP', { name: 'example.org' }), tcp('dns', 'query', { transport: 'tcp' }, 'TCP, DoT, DoH', { name: 'example.org' })] },
  { id: 'tftp', title: 'TFTP', variants: [udp('tftp', 'read', undefined, 'UDP', { filename: 'x' }), udp('tftp', 'write', undefined, 'UDP (write)', { filename: 'x', data: 'x' })] },
  {
    id: 'bacnet',
    title: 'BACnet/IP',
    variants: [],
    needs: ['udp'],
    open: 'Debian 12 packages no BACnet/IP stack to verify a Who-Is against (no bacnet-stack, no BACnet server), so the row stays open rather than ship an untested client.',
  },
  {
    id: 'dhcp',
    title: 'DHCP',
    variants: [],
    needs: ['udp', 'privilegedPort'],
    open: 'DHCP discovery is a broadcast from port 68 on a real link; the lab may not put traffic on real interfaces, and a network-namespace test is not written yet.',
  },
  { id: 'rtp', title: 'RTP / RTCP', variants: [], needs: ['udp'], open: 'Media streams with no request/response to probe; SIP OPTIONS covers the signalling side.' },
  { id: 'sip', title: 'SIP', variants: [udp('sip', 'options', { transport: 'udp' }), tcp('sip', 'options', { transport: 'tcp' })] },
  { id: 'ssdp', title: 'SSDP', variants: [udp('ssdp', 'search')], note: 'Lab-tested against minidlna inside a network namespace whose loopback carries the multicast group; outside a namespace the Node host refuses 239.255.255.250 unless ALLOW_TARGETS names it.' },
  {
    id: 'llmnr',
    title: 'LLMNR',
    variants: [udp('dns', 'llmnr', undefined, 'UDP', { name: 'portolan' })],
    note: 'Lab-tested against llmnrd (Debian\'s stand-alone responder) bound to loopback (src/hosts/node/discovery.lab.test.ts). The query goes unicast to the host; systemd-resolved answers only queries sent to the multicast group over UDP (RFC 4795 §2.5), and unicast ones over TCP, which this operation does not send.',
  },
  { id: 'mdns', title: 'mDNS', variants: [udp('dns', 'mdns')], note: 'Lab-tested against avahi-daemon across a veth pair between two network namespaces the lab creates (src/hosts/node/discovery.lab.test.ts).' },
  { id: 'mosh', title: 'Mosh', variants: [], needs: ['udp'], open: 'Mosh is an SSH bootstrap followed by its own AES-OCB datagram protocol (SSP); not implemented.' },
  { id: 'statsd', title: 'StatsD', variants: [udp('statsd', 'send', undefined, 'UDP', { metrics: [{ name: 'portolan.matrix', value: 1, type: 'c' }] })] },
  {
    id: 'icmp',
    title: 'ICMP echo (ping)',
    variants: [],
    fixed: {
      workers: 'no',
      node: 'no',
      reason: 'Workers have no raw or ICMP sockets. Node.js has no ICMP socket API either (node:dgram is UDP only), whatever the kernel allows: /api/runtime on the Node host reports net.ipv4.ping_group_range.',
      alternative: 'TCP ping (the ping protocol): connect time to an open port, on both hosts.',
    },
  },
  {
    id: 'raw-ip',
    title: 'Raw IP',
    variants: [],
    fixed: { workers: 'no', node: 'no', reason: 'Neither runtime exposes raw sockets (SOCK_RAW).', alternative: 'A native tool on the machine (ping, traceroute, nmap).' },
  },
  { id: 'http2', title: 'HTTP/2 over TLS', variants: [{ label: 'h2 (TLS + ALPN)', protocol: 'http2', operation: 'request', input: { tls: 'implicit' } }] },
  { id: 'h2c', title: 'h2c (HTTP/2 cleartext)', variants: [tcp('http2', 'request', { tls: 'off' }, 'h2c')] },
  {
    id: 'grpc',
    title: 'gRPC',
    variants: [
      { label: 'over TLS (h2 via ALPN)', protocol: 'grpc', operation: 'services', input: { tls: 'implicit' } },
      tcp('grpc', 'services', { tls: 'off' }, 'h2c'),
    ],
  },
  {
    id: 'rdp',
    title: 'RDP',
    variants: [
      tcp('rdp', 'negotiate', undefined, 'X.224 negotiation'),
      { label: 'server certificate', protocol: 'rdp', operation: 'certificate' },
      { label: 'NLA (CredSSP login)', protocol: 'rdp', operation: 'login', sample: { user: 'u', password: 'p' } },
    ],
    note: "RDP upgrades to TLS after the X.224 negotiation; on Workers Portolan's TLS engine reads the certificate (peerCert), and a self-signed one is accepted with pinSha256. NLA binds the credentials to the server's TLS public key, so CredSSP on Workers runs over the engine too; lab-tested on both hosts against FreeRDP 2.11's shadow server (src/protocols/rdp/rdp.lab.test.ts).",
  },
  {
    id: 'tls-inspect',
    title: 'TLS inspection: the chain, versions, suites, groups',
    variants: [{ label: 'chain and negotiated values', protocol: 'tls', operation: 'inspect', extraNeeds: ['peerCert', 'tlsVersion'] }],
    note: "On Workers through Portolan's TLS engine: TLS 1.2 and 1.3, each suite and group offered alone; TLS 1.0 and 1.1 only on the Node host. Lab-tested against nginx, openssl s_server and gnutls-serv (src/protocols/tls/tls.lab.test.ts, src/core/tls/tls-engine.lab.test.ts).",
  },
  {
    id: 'tls-private',
    title: 'TLS to self-signed or private-CA servers',
    variants: [
      { label: 'pinned certificate (pinSha256)', protocol: 'tls', operation: 'inspect', extraNeeds: ['selfSigned'], sample: { pinSha256: '00'.repeat(32) } },
      { label: 'private CA (caPem)', protocol: 'http', operation: 'request', input: { tls: 'implicit' }, extraNeeds: ['selfSigned'], sample: { caPem: '-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----' } },
    ],
  },
  {
    id: 'client-cert',
    title: 'TLS client certificates (mutual TLS, SASL EXTERNAL)',
    variants: [{ label: 'LDAP SASL EXTERNAL', protocol: 'ldap', operation: 'whoami', input: { tls: 'implicit', sasl: 'EXTERNAL' }, extraNeeds: ['clientCert'], sample: { clientCertificate: { certPem: 'x', keyPem: 'x' } } }],
  },
  {
    id: 'scram-plus',
    title: 'PostgreSQL SCRAM-SHA-256-PLUS (channel binding)',
    variants: [{ label: 'tls-server-end-point', protocol: 'postgres', operation: 'query', input: { tls: 'starttls', channelBinding: 'require' }, extraNeeds: ['peerCert'], sample: { user: 'x', sql: 'SELECT 1' } }],
  },
  {
    id: 'rsh',
    title: 'rsh / rlogin / rexec',
    variants: [
      { label: 'rsh, standard error apart', protocol: 'rsh', operation: 'exec', sample: { user: 'x', command: 'true' } },
      { label: 'rsh, standard error merged', protocol: 'rsh', operation: 'execMerged', sample: { user: 'x', command: 'true' } },
      { label: 'rlogin', protocol: 'rlogin', operation: 'login', sample: { user: 'x' } },
      { label: 'rexec, standard error apart', protocol: 'rexec', operation: 'exec', sample: { user: 'x', password: 'x', command: 'true' } },
      { label: 'rexec, standard error merged', protocol: 'rexec', operation: 'execMerged', sample: { user: 'x', password: 'x', command: 'true' } },
    ],
    note: 'Standard error travels on a second connection the server opens back to the client (rshd from a reserved port to a reserved port, rexecd from any port): only the Node host can accept it. Lab-tested against netkit rsh-server through the Node host as root, and on workerd (rexec execMerged runs; the rest are refused).',
  },
  { id: 'rip', title: 'RIPv2', variants: [udp('rip', 'request')], note: 'Lab-tested against FRR ripd across a veth pair between two network namespaces. BIRD answers only requests from port 520, which would need a privileged UDP source port.' },
  {
    id: 'containers',
    title: 'Cloudflare Containers',
    variants: [],
    fixed: {
      workers: 'no',
      node: 'yes',
      reason: 'A Worker cannot open UDP or raw sockets itself; the Node host packaged as a container (Dockerfile at the repository root) runs next to it on Cloudflare Containers or any container platform.',
      alternative: 'Build the image from the Dockerfile and run `portolan serve` in it.',
    },
  },
];

function hostHas(runtime: 'workers' | 'node', needs: readonly Capability[]): boolean {
  const have = RUNTIME_CAPABILITIES[runtime];
  return needs.every((n) => have.includes(n));
}

function overall(flags: boolean[], rootOnly: boolean): Status {
  if (flags.length === 0) return 'no';
  if (flags.every(Boolean)) return rootOnly ? 'as root' : 'yes';
  return flags.some(Boolean) ? 'partial' : 'no';
}

/** The matrix for a registry: each row's status per host, from what its operations declare. */
export function capabilityMatrix(protocols: readonly Protocol[]): MatrixEntry[] {
  const byId = new Map(protocols.map((p) => [p.id, p]));
  return MATRIX_ROWS.map((row) => {
    const variants = row.variants.map((v) => {
      const op = byId.get(v.protocol)?.operations[v.operation];
      const tls = (v.input?.tls as 'off' | 'implicit' | 'starttls' | undefined) ?? 'off';
      const declared = op ? [...(op.needs ?? ['tcp']), ...(op.needsWithTls?.[tls] ?? []), ...(tls === 'implicit' ? ['tls' as const] : [])] : (v.plannedNeeds ?? ['tcp']);
      const needs = [...new Set<Capability>([...declared, ...(v.extraNeeds ?? [])])];
      return { label: v.label, protocol: v.protocol, operation: v.operation, input: v.input ?? {}, sample: v.sample ?? {}, registered: !!op, needs, workers: hostHas('workers', needs), node: hostHas('node', needs) };
    });
    const live = variants.filter((v) => v.registered);
    const implemented = [...new Set(live.map((v) => `${v.protocol} ${v.operation}`))];
    if (row.fixed) {
      return { id: row.id, title: row.title, implemented, workers: row.fixed.workers, node: row.fixed.node, reason: row.fixed.reason, alternative: row.fixed.alternative ?? null, open: row.open ?? null, note: row.note ?? null, variants };
    }
    const planned = live.length > 0 ? live : variants;
    const needsAll = planned.length > 0 ? planned.map((v) => v.needs) : [row.needs ?? []];
    const workersFlags = needsAll.map((n) => hostHas('workers', n));
    const nodeFlags = needsAll.map((n) => hostHas('node', n));
    const rootOnly = needsAll.some((n) => n.includes('privilegedPort'));
    const missing = [...new Set(needsAll.flatMap((n) => n.filter((c) => !RUNTIME_CAPABILITIES.workers.includes(c))))];
    const own = live.flatMap((v) => byId.get(v.protocol)?.operations[v.operation]?.alternatives ?? []);
    const { reasons, alternatives } = unsupportedReasons(missing, own);
    const partialNote = workersFlags.some(Boolean) && !workersFlags.every(Boolean) ? ` On Workers: ${planned.filter((v) => v.workers).map((v) => v.label).join(', ')} only.` : '';
    return {
      id: row.id,
      title: row.title,
      implemented,
      workers: overall(workersFlags, false),
      node: overall(nodeFlags, rootOnly),
      reason: missing.length ? reasons.join(' ') + partialNote : null,
      alternative: alternatives.length ? alternatives.join(' ') : null,
      open: live.length === 0 ? (row.open ?? 'Not implemented yet.') : null,
      note: row.note ?? null,
      variants,
    };
  });
}

/** Capability titles, for the docs' legend. */
export function capabilityLegend(): { id: Capability; title: string; workers: boolean; node: boolean }[] {
  return (Object.keys(CAPABILITIES) as Capability[]).map((id) => ({ id, title: CAPABILITIES[id].title, workers: RUNTIME_CAPABILITIES.workers.includes(id), node: RUNTIME_CAPABILITIES.node.includes(id) }));
}
