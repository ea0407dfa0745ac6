// DNS lab servers: BIND 9 authoritative (RFC 1034/1035, DNSSEC RFC 4033–4035, NSEC3 RFC 5155, AXFR RFC 5936,
// IXFR RFC 1995), Unbound recursive with DNS over TLS (RFC 7858), dnsdist serving DNS over HTTPS (RFC 8484)
// over HTTP/1.1 and HTTP/2 in front of Unbound.
//
// How it works: a trace needs real referrals at one port, so three servers listen on port 10053 at three
// loopback addresses: NSD at 127.0.0.2 is a lab root (".") delegating "test." to NSD at 127.0.0.3, which
// delegates "lab.portolan.test." and "bogus.portolan.test." to BIND at 127.0.0.1, where the zones live.
// (BIND only listens on addresses it finds on an interface, and 127.0.0.2 is not one; NSD binds what it is
// told, and a second implementation in the chain is no loss.) The zones BIND serves are signed
// offline with dnssec-signzone at every start (keys are made once and kept, so Unbound's trust anchors stay
// valid); after BIND is up the main zone is re-signed with one TXT changed and serial 1000 → 1001 and BIND
// is sent SIGHUP: with ixfr-from-differences it keeps the difference as an IXFR journal. Unbound reaches every
// lab zone through stub zones (and "." through the lab root, so nothing leaves the machine), validates the
// main and reverse zones against DS anchors, and holds a deliberately wrong anchor for "bogus." so that zone
// answers SERVFAIL unless CD is set. dnsdist terminates HTTPS on 10443 with the lab certificate and forwards
// to Unbound. Unbound's own DoH is HTTP/2 only (libnghttp2), which a Worker's connect() cannot negotiate
// (no ALPN), so dnsdist — whose h2o front end answers HTTP/1.1 too — is the DoH endpoint of the lab.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import https from 'node:https';
import tls from 'node:tls';
import { join } from 'node:path';
import { ports } from '../ports.ts';
import { labDir, tlsPaths } from '../runner.ts';
import type { LabContext, LabServer } from '../server.ts';
import { buildQuery, decodeMessage, frameTcp, type DnsMessage } from '../../src/protocols/dns/codec.ts';

const p = ports.dns;

const ZONE = 'lab.portolan.test.';
const HEX32 = '0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF';
const ECH = 'AEn+DQBFKwAgACABWIHUGj4u+PIggYXcR5JF0gYk3dCRioBW8uJq9H4mKAAIAAEAAQABAANAEnB1YmxpYy50bHMtZWNoLmRldgAA';
const LONG_A = 'a'.repeat(255);
const LONG_B = 'b'.repeat(45);
const BIG_TXT = Array.from({ length: 8 }, (_, i) => `${i}`.repeat(100));

/** What the DNS lab serves, for tests to assert against. */
export const dnsFacts = {
  zone: ZONE,
  /** The zone file BIND serves (signed, serial 1001): an AXFR must equal it record for record. */
  zoneFile: join(labDir, 'bind', 'lab.portolan.test.signed'),
  bindDir: join(labDir, 'bind'),
  serials: { before: 1000, after: 1001 },
  changed: { name: `changed.${ZONE}`, before: 'version 1', after: 'version 2' },
  /** Who listens on port ports.dns.bind: NSD with the lab root, NSD with the "test." TLD, BIND with the zones. */
  servers: { root: '127.0.0.2', tld: '127.0.0.3', zones: '127.0.0.1' },
  bindNsid: 'portolan-lab-bind',
  unboundNsid: 'portolan-lab-unbound',
  dohPath: '/dns-query',
  /** Answers under the main zone, as presentation text of the RDATA. */
  records: {
    A: { name: ZONE, rdata: ['192.0.2.1'] },
    AAAA: { name: ZONE, rdata: ['2001:db8::1'] },
    NS: { name: ZONE, rdata: [`ns1.${ZONE}`, `ns2.${ZONE}`] },
    SOA: { name: ZONE, rdata: [`ns1.${ZONE} hostmaster.${ZONE} 1001 3600 600 86400 300`] },
    MX: { name: ZONE, rdata: [`10 mail.${ZONE}`, '20 mail2.example.net.'] },
    CNAME: { name: `www.${ZONE}`, rdata: [ZONE] },
    TXT: { name: `txt.${ZONE}`, rdata: ['"hello world" "quote \\" and backslash \\\\" "caf\\195\\169"'] },
    SRV: { name: `_sip._tcp.${ZONE}`, rdata: [`10 60 5060 sip.${ZONE}`] },
    NAPTR: { name: `naptr.${ZONE}`, rdata: [`100 10 "S" "SIP+D2T" "" _sip._tcp.${ZONE}`] },
    CAA: { name: ZONE, rdata: ['0 issue "letsencrypt.org"', '128 iodef "mailto:security@lab.portolan.test"'] },
    SSHFP: { name: `host.${ZONE}`, rdata: [`4 2 ${HEX32}`] },
    TLSA: { name: `_443._tcp.www.${ZONE}`, rdata: [`3 1 1 ${HEX32}`] },
    DS: { name: `child.${ZONE}`, rdata: [`12345 13 2 ${HEX32}`] },
    SVCB: { name: `svc.${ZONE}`, rdata: [`1 svc-target.${ZONE} mandatory=alpn,port alpn="h2,h3" port=8443 ipv4hint=192.0.2.1 ipv6hint=2001:db8::1`] },
    HTTPS: { name: ZONE, rdata: [`1 . alpn="h2" no-default-alpn ech=${ECH} key65333="hi"`] },
    HINFO: { name: `hinfo.${ZONE}`, rdata: ['"x86_64" "Debian"'] },
    TYPE65280: { name: `unknown.${ZONE}`, rdata: ['\\# 4 DEADBEEF'] },
    PTR: { name: '1.2.0.192.in-addr.arpa.', rdata: [ZONE] },
  } as Record<string, { name: string; rdata: string[] }>,
  longTxt: { name: `long.${ZONE}`, strings: [LONG_A, LONG_B] },
  /** Eight TXT records of 100 octets: too big for a 512-octet UDP answer, so BIND sets TC. */
  bigTxt: { name: `big.${ZONE}`, strings: BIG_TXT },
  reverse: {
    v4: { address: '192.0.2.25', ptr: `mail.${ZONE}` },
    v6: { address: '2001:db8::1', ptr: ZONE },
  },
  nxdomain: `nope.${ZONE}`,
  /** Unbound answers SERVFAIL for names here: BIND refuses them (it is not authoritative for the zone). */
  servfail: 'www.servfail.portolan.test.',
  /** Signed with a key Unbound does not trust: SERVFAIL, unless CD is set. */
  bogus: { name: 'www.bogus.portolan.test.', address: '192.0.2.66' },
  /** BIND answers REFUSED: it is not authoritative for it and does not recurse. */
  refused: 'example.org.',
  /**
   * The DNSSEC chain from the lab root: "." is signed with RSASHA256 (algorithm 8, NSEC), "test." with ED25519
   * (15, NSEC3), the zones under it with ECDSAP256SHA256 (13). `rootAnchor` holds the root KSK's DS, the lab's
   * trust anchor. Under test.: a zone whose signatures expired, one whose DS matches no key (bogus.portolan.test.),
   * one delegated without a DS (an island of security), and one signed with ED448 (16).
   */
  dnssec: {
    rootAnchor: join(labDir, 'nsd-root', 'root-anchor.ds'),
    algorithms: { root: 8, tld: 15, zone: 13, ed448: 16 },
    secure: `www.${ZONE}`,
    expired: 'www.expired.portolan.test.',
    dsMismatch: 'www.bogus.portolan.test.',
    noDs: 'www.insecure.portolan.test.',
    /** Delegated from test. without a DS, and test.'s NSEC3 record for it removed: no DS and no proof of its absence. */
    dsMissing: 'www.nods.portolan.test.',
    ed448: 'www.ed448.portolan.test.',
    address: '192.0.2.99',
  },
} as const;

function mainZone(serialVersion: string): string {
  return `$ORIGIN ${ZONE}
$TTL 300
@ SOA ns1 hostmaster 1000 3600 600 86400 300
@ NS ns1
@ NS ns2
ns1 A 127.0.0.1
ns2 AAAA ::1
@ A 192.0.2.1
@ AAAA 2001:db8::1
@ MX 10 mail
@ MX 20 mail2.example.net.
mail A 192.0.2.25
mail AAAA 2001:db8::25
www CNAME @
@ TXT "v=spf1 -all"
txt TXT "hello world" "quote \\" and backslash \\\\" "caf\\195\\169"
long TXT "${LONG_A}" "${LONG_B}"
_sip._tcp SRV 10 60 5060 sip
sip A 192.0.2.60
naptr NAPTR 100 10 "S" "SIP+D2T" "" _sip._tcp
@ CAA 0 issue "letsencrypt.org"
@ CAA 128 iodef "mailto:security@lab.portolan.test"
host SSHFP 4 2 ${HEX32}
_443._tcp.www TLSA 3 1 1 ${HEX32}
svc SVCB 1 svc-target alpn=h2,h3 port=8443 ipv4hint=192.0.2.1 ipv6hint=2001:db8::1 mandatory=alpn,port
svc-target A 192.0.2.80
@ HTTPS 1 . alpn=h2 no-default-alpn ech=${ECH} key65333=hi
alias HTTPS 0 www
hinfo HINFO "x86_64" "Debian"
unknown TYPE65280 \\# 4 DEADBEEF
child NS ns1.child
ns1.child A 127.0.0.1
child DS 12345 13 2 ${HEX32}
changed TXT "${serialVersion}"
${BIG_TXT.map((t) => `big TXT "${t}"`).join('\n')}
`;
}

const reverseV4 = `$ORIGIN 2.0.192.in-addr.arpa.
$TTL 300
@ SOA ns1.${ZONE} hostmaster.${ZONE} 1 3600 600 86400 300
@ NS ns1.${ZONE}
1 PTR ${ZONE}
25 PTR mail.${ZONE}
`;

const reverseV6Zone = '8.b.d.0.1.0.0.2.ip6.arpa.';
const reverseV6 = `$ORIGIN ${reverseV6Zone}
$TTL 300
@ SOA ns1.${ZONE} hostmaster.${ZONE} 1 3600 600 86400 300
@ NS ns1.${ZONE}
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 PTR ${ZONE}
`;

const bogusZone = `$ORIGIN bogus.portolan.test.
$TTL 300
@ SOA ns1.${ZONE} hostmaster.${ZONE} 1 3600 600 86400 300
@ NS ns1.${ZONE}
www A ${dnsFacts.bogus.address}
`;

/** A small zone under test. for the DNSSEC cases: one A record at www. */
function caseZone(origin: string): string {
  return `$ORIGIN ${origin}
$TTL 300
@ SOA ns1.${ZONE} hostmaster.${ZONE} 1 3600 600 86400 300
@ NS ns1.${ZONE}
www A ${dnsFacts.dnssec.address}
`;
}

const rootZone = (ds: string) => `$ORIGIN .
$TTL 300
. SOA a.root.lab. hostmaster.lab. 1 3600 600 86400 300
. NS a.root.lab.
a.root.lab. A ${dnsFacts.servers.root}
test. NS ns.test.
ns.test. A ${dnsFacts.servers.tld}
${ds}
`;

const tldZone = (ds: string) => `$ORIGIN test.
$TTL 300
@ SOA ns hostmaster 1 3600 600 86400 300
@ NS ns
ns A ${dnsFacts.servers.tld}
lab.portolan NS ns1.lab.portolan
ns1.lab.portolan A ${dnsFacts.servers.zones}
bogus.portolan NS ns1.lab.portolan
expired.portolan NS ns1.lab.portolan
insecure.portolan NS ns1.lab.portolan
nods.portolan NS ns1.lab.portolan
ed448.portolan NS ns1.lab.portolan
${ds}
`;

/** Signed zones BIND serves: origin, source text, NSEC3 or NSEC, algorithm, and how long the signatures hold. */
interface SignedZone {
  origin: string;
  file: string;
  text: () => string;
  nsec3: boolean;
  algorithm?: string;
  /** dnssec-signzone -s/-e: the validity window (default: from an hour ago to 30 days ahead). */
  window?: () => string[];
}

/** YYYYMMDDHHMMSS, `days` from now. */
function stamp(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

const signed: SignedZone[] = [
  { origin: ZONE, file: 'lab.portolan.test', text: () => mainZone(dnsFacts.changed.before), nsec3: true },
  { origin: '2.0.192.in-addr.arpa.', file: '2.0.192.in-addr.arpa', text: () => reverseV4, nsec3: false },
  { origin: reverseV6Zone, file: '8.b.d.0.1.0.0.2.ip6.arpa', text: () => reverseV6, nsec3: false },
  { origin: 'bogus.portolan.test.', file: 'bogus.portolan.test', text: () => bogusZone, nsec3: false },
  // Signatures that held for a month and ended ten days ago (-P: dnssec-signzone's own check would refuse them).
  { origin: 'expired.portolan.test.', file: 'expired.portolan.test', text: () => caseZone('expired.portolan.test.'), nsec3: false, window: () => ['-s', stamp(-40), '-e', stamp(-10), '-P'] },
  { origin: 'insecure.portolan.test.', file: 'insecure.portolan.test', text: () => caseZone('insecure.portolan.test.'), nsec3: false },
  { origin: 'nods.portolan.test.', file: 'nods.portolan.test', text: () => caseZone('nods.portolan.test.'), nsec3: false },
  { origin: 'ed448.portolan.test.', file: 'ed448.portolan.test', text: () => caseZone('ed448.portolan.test.'), nsec3: false, algorithm: 'ED448' },
];

/** Every zone's keys live here, made once and kept, so trust anchors and DS records stay valid across starts. */
const KEY_DIR = join(labDir, 'bind', 'keys');

async function ensureKeys(ctx: LabContext, keyDir: string, origin: string, algorithm = 'ECDSAP256SHA256'): Promise<void> {
  mkdirSync(keyDir, { recursive: true });
  const have = readdirSync(keyDir).filter((f) => f.startsWith(`K${origin}+`) && f.endsWith('.key'));
  if (have.length >= 2) return;
  for (const f of have) rmSync(join(keyDir, f), { force: true });
  const bits = algorithm.startsWith('RSA') ? ['-b', '2048'] : [];
  await ctx.exec('dnssec-keygen', ['-q', '-K', keyDir, '-a', algorithm, ...bits, '-f', 'KSK', '-n', 'ZONE', origin]);
  await ctx.exec('dnssec-keygen', ['-q', '-K', keyDir, '-a', algorithm, ...bits, '-n', 'ZONE', origin]);
}

function signArgs(keyDir: string, origin: string, nsec3: boolean, out: string, input: string, extra: string[] = []): string[] {
  // 30-day signatures; NSEC3 with a salt and 0 extra iterations (RFC 9276 §3.1).
  return ['-q', '-S', '-K', keyDir, '-o', origin, '-s', 'now-3600', '-e', 'now+2592000', ...(nsec3 ? ['-3', 'ABCD', '-H', '0'] : []), ...extra, '-f', out, input];
}

/** The DS records of a zone's KSK, in zone-file form (for Unbound's trust anchors and the parent zones). */
async function dsOf(ctx: LabContext, keyDir: string, origin: string): Promise<string> {
  const ksk = readdirSync(keyDir).find((f) => f.startsWith(`K${origin}+`) && f.endsWith('.key') && readFileSync(join(keyDir, f), 'utf8').includes(' 257 '));
  if (!ksk) throw new Error(`no KSK for ${origin} in ${keyDir}`);
  return (await ctx.exec('dnssec-dsfromkey', ['-2', join(keyDir, ksk)])).trim();
}

/**
 * Keys for the whole chain, made before the first server starts: the root's zone carries the DS of test.,
 * test. carries the DS records of the zones BIND serves.
 */
async function ensureChainKeys(ctx: LabContext): Promise<void> {
  await ensureKeys(ctx, KEY_DIR, '.', 'RSASHA256');
  await ensureKeys(ctx, KEY_DIR, 'test.', 'ED25519');
  for (const z of signed) await ensureKeys(ctx, KEY_DIR, z.origin, z.algorithm);
  await ensureKeys(ctx, join(labDir, 'bind', 'wrong-keys'), 'bogus.portolan.test.');
}

/** Signs a zone NSD serves, one record a line (-O full); returns the signed file. */
async function signFor(ctx: LabContext, origin: string, text: string, nsec3: boolean): Promise<string> {
  const input = ctx.writeFile('zone.unsigned', text);
  const out = join(ctx.dir, 'zone');
  await ctx.exec('dnssec-signzone', ['-O', 'full', ...signArgs(KEY_DIR, origin, nsec3, out, input)], { cwd: ctx.dir });
  return out;
}

// A small DNS client for the health checks (the codec under test is only used to build and read bytes).

interface ProbeOptions {
  host?: string;
  tls?: boolean;
  cd?: boolean;
  timeoutMs?: number;
}

export function tcpQuery(port: number, name: string, type: string, opts: ProbeOptions = {}): Promise<DnsMessage> {
  const { host = '127.0.0.1', timeoutMs = 2000 } = opts;
  const query = frameTcp(buildQuery({ id: 4242, name, type, rd: true, cd: opts.cd, edns: { udpSize: 1232, do: true } }));
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const socket: net.Socket = opts.tls
      ? tls.connect({ host, port, ca: readFileSync(tlsPaths.caPath), servername: 'localhost' })
      : net.connect({ host, port });
    const timer = setTimeout(() => finish(new Error(`${host}:${port}: no DNS answer for ${name} ${type} within ${timeoutMs} ms`)), timeoutMs);
    const finish = (error: Error | null, msg?: DnsMessage) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(msg!);
    };
    socket.on(opts.tls ? 'secureConnect' : 'connect', () => socket.write(query));
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        try {
          finish(null, decodeMessage(new Uint8Array(buf.subarray(2, 2 + buf.readUInt16BE(0)))));
        } catch (e) {
          finish(e as Error);
        }
      }
    });
    socket.on('error', (e) => finish(new Error(`${host}:${port}: ${e.message}`)));
    socket.on('close', () => finish(new Error(`${host}:${port}: closed without an answer`)));
  });
}

function dohQuery(port: number, name: string, type: string, timeoutMs = 2000): Promise<DnsMessage> {
  const body = buildQuery({ id: 0, name, type, rd: true });
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: dnsFacts.dohPath,
        method: 'POST',
        ca: readFileSync(tlsPaths.caPath),
        servername: 'localhost',
        headers: { 'content-type': 'application/dns-message', accept: 'application/dns-message', 'content-length': body.length },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`DoH answered HTTP ${res.statusCode}`));
          try {
            resolve(decodeMessage(new Uint8Array(Buffer.concat(chunks))));
          } catch (e) {
            reject(e as Error);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`DoH: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

function expectAnswer(what: string, msg: DnsMessage, rcode: string, check?: (m: DnsMessage) => boolean): void {
  if (msg.rcode !== rcode || (check && !check(msg))) {
    throw new Error(`${what}: unexpected answer ${msg.rcode} ${msg.answers.map((a) => `${a.type} ${JSON.stringify(a.data)}`).join('; ')}`);
  }
}

const soaSerial = (m: DnsMessage) => (m.answers.find((a) => a.type === 'SOA')?.data.serial as number | undefined) ?? -1;

async function waitForSerial(serial: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const m = await tcpQuery(p.bind, ZONE, 'SOA');
      if (soaSerial(m) === serial) return;
      last = `serial ${soaSerial(m)} (${m.rcode})`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`bind: ${ZONE} never reached serial ${serial}: ${last}`);
}

function zoneBlock(name: string, file: string): string {
  return `zone "${name}" { type primary; file "${file}"; };\n`;
}

const bind: LabServer = {
  name: 'bind',
  area: 'dns',
  packages: ['bind9', 'bind9-utils', 'bind9-dnsutils'],
  ports: [p.bind],
  async start(ctx) {
    const keyDir = join(ctx.dir, 'keys');
    const zoneDir = join(ctx.dir, 'zones');
    ctx.writeFile('keys/.keep', '');
    // A fresh start: old journals describe zones that are about to be re-signed.
    for (const f of existsSync(zoneDir) ? readdirSync(zoneDir) : []) rmSync(join(zoneDir, f), { force: true });
    for (const f of readdirSync(ctx.dir)) if (f.endsWith('.jnl') || f.endsWith('.signed')) rmSync(join(ctx.dir, f), { force: true });
    const files = new Map<string, string>();
    for (const z of signed) {
      await ensureKeys(ctx, keyDir, z.origin, z.algorithm);
      const input = ctx.writeFile(`zones/${z.file}.zone`, z.text());
      const out = join(ctx.dir, `${z.file}.signed`);
      const args = signArgs(keyDir, z.origin, z.nsec3, out, input);
      if (z.window) args.splice(args.indexOf('-s'), 4, ...z.window());
      await ctx.exec('dnssec-signzone', args, { cwd: ctx.dir }); // it writes dsset-* to its cwd
      files.set(z.origin, out);
    }
    const conf = `options {
  directory "${ctx.dir}";
  pid-file none;
  listen-on port ${p.bind} { ${dnsFacts.servers.zones}; };
  listen-on-v6 { none; };
  recursion no;
  notify no;
  dnssec-validation no;
  allow-transfer { 127.0.0.1; };
  ixfr-from-differences yes;
  server-id "${dnsFacts.bindNsid}";
  session-keyfile none;
  managed-keys-directory "${ctx.dir}";
};
controls { };
logging {
  channel out { stderr; severity info; print-time yes; print-category yes; };
  category default { out; };
  category lame-servers { null; };
};
${[...files].map(([origin, file]) => zoneBlock(origin, file)).join('')}`;
    const confPath = ctx.writeFile('named.conf', conf);
    await ctx.exec('named-checkconf', [confPath]);
    await ctx.spawnDaemon({ command: '/usr/sbin/named', args: ['-f', '-c', confPath] });
    await waitForSerial(dnsFacts.serials.before);
    // The IXFR-able change: re-sign the served file with one TXT changed and the serial incremented;
    // unchanged RRsets keep their signatures, so the difference is small.
    const main = signed[0];
    const served = files.get(main.origin)!;
    const next = ctx.writeFile(`zones/${main.file}.v2`, readFileSync(served, 'utf8').replace(`"${dnsFacts.changed.before}"`, `"${dnsFacts.changed.after}"`));
    await ctx.exec('dnssec-signzone', signArgs(keyDir, main.origin, true, served, next, ['-N', 'increment']), { cwd: ctx.dir });
    const pidOf = readFileSync(join(labDir, 'run', 'bind.pid'), 'utf8');
    process.kill(JSON.parse(pidOf).pid as number, 'SIGHUP');
    await waitForSerial(dnsFacts.serials.after);
  },
  async health() {
    const soa = await tcpQuery(p.bind, ZONE, 'SOA');
    if (soaSerial(soa) !== dnsFacts.serials.after) throw new Error(`bind: ${ZONE} serial ${soaSerial(soa)}, want ${dnsFacts.serials.after}`);
  },
};

const unbound: LabServer = {
  name: 'unbound',
  area: 'dns',
  packages: ['unbound'],
  ports: [p.unbound, p.unboundDot],
  async start(ctx) {
    const bindDir = dnsFacts.bindDir;
    const keyDir = join(bindDir, 'keys');
    const anchors = [
      await dsOf(ctx, keyDir, ZONE),
      await dsOf(ctx, keyDir, '2.0.192.in-addr.arpa.'),
      await dsOf(ctx, keyDir, reverseV6Zone),
      await dsOf(ctx, join(bindDir, 'wrong-keys'), 'bogus.portolan.test.'),
    ];
    const anchorFile = ctx.writeFile('anchors.ds', `${anchors.join('\n')}\n`);
    const key = ctx.writeFile('server.key', readFileSync(tlsPaths.keyPath), 0o600);
    const stub = (name: string, addr: string) => `stub-zone:\n  name: "${name}"\n  stub-addr: ${addr}@${p.bind}\n`;
    const conf = `server:
  verbosity: 1
  interface: 127.0.0.1@${p.unbound}
  interface: 127.0.0.1@${p.unboundDot}
  tls-port: ${p.unboundDot}
  tls-service-key: "${key}"
  tls-service-pem: "${tlsPaths.certPath}"
  do-ip6: no
  username: ""
  chroot: ""
  directory: "${ctx.dir}"
  pidfile: ""
  use-syslog: no
  logfile: ""
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  module-config: "validator iterator"
  trust-anchor-file: "${anchorFile}"
  local-zone: "2.0.192.in-addr.arpa." nodefault
  local-zone: "${reverseV6Zone}" nodefault
  local-zone: "test." nodefault
  qname-minimisation: no
  ede: yes
  val-log-level: 2
  nsid: "ascii_${dnsFacts.unboundNsid}"
  harden-referral-path: no
  root-hints: ""
${stub('.', dnsFacts.servers.root)}${stub('test.', dnsFacts.servers.tld)}${['expired', 'insecure', 'nods', 'ed448'].map((z) => stub(`${z}.portolan.test.`, dnsFacts.servers.zones)).join('')}${stub(ZONE, dnsFacts.servers.zones)}${stub('2.0.192.in-addr.arpa.', dnsFacts.servers.zones)}${stub(reverseV6Zone, dnsFacts.servers.zones)}${stub('bogus.portolan.test.', dnsFacts.servers.zones)}${stub('servfail.portolan.test.', dnsFacts.servers.zones)}remote-control:
  control-enable: no
`;
    const confPath = ctx.writeFile('unbound.conf', conf);
    await ctx.exec('unbound-checkconf', [confPath]);
    await ctx.spawnDaemon({ command: '/usr/sbin/unbound', args: ['-d', '-c', confPath] });
  },
  async health() {
    expectAnswer('unbound', await tcpQuery(p.unbound, ZONE, 'A'), 'NOERROR', (m) => m.flags.ad && m.answers.some((a) => a.type === 'A'));
    expectAnswer('unbound DoT', await tcpQuery(p.unboundDot, ZONE, 'A', { tls: true }), 'NOERROR', (m) => m.answers.some((a) => a.type === 'A'));
  },
};

const dnsdist: LabServer = {
  name: 'dnsdist',
  area: 'dns',
  packages: ['dnsdist'],
  ports: [p.doh],
  async start(ctx) {
    const key = ctx.writeFile('server.key', readFileSync(tlsPaths.keyPath), 0o600);
    // No plain listener, no console, no security polling (it would query the internet).
    const conf = `setSecurityPollSuffix("")
addDOHLocal("127.0.0.1:${p.doh}", "${tlsPaths.certPath}", "${key}", "${dnsFacts.dohPath}", { reusePort = true })
newServer({ address = "127.0.0.1:${p.unbound}", name = "unbound", useClientSubnet = false, checkName = "${ZONE}", checkType = "SOA" })
`;
    const confPath = ctx.writeFile('dnsdist.conf', conf);
    await ctx.exec('/usr/bin/dnsdist', ['--check-config', '-C', confPath]);
    await ctx.spawnDaemon({ command: '/usr/bin/dnsdist', args: ['--supervised', '--disable-syslog', '-C', confPath] });
  },
  async health() {
    expectAnswer('dnsdist DoH', await dohQuery(p.doh, ZONE, 'A'), 'NOERROR', (m) => m.answers.some((a) => a.type === 'A'));
  },
};

/** NSD serving one zone at one loopback address (port ports.dns.bind, beside BIND on 127.0.0.1). */
function nsd(name: string, address: string, origin: string, zone: (ctx: LabContext) => Promise<string>): LabServer {
  return {
    name,
    area: 'dns',
    packages: ['nsd', 'bind9-utils'],
    // Its port is BIND's number on another address; the runner's port check looks at 127.0.0.1 only.
    ports: [],
    async start(ctx) {
      const zoneFile = await zone(ctx);
      const conf = `server:
  ip-address: ${address}@${p.bind}
  port: ${p.bind}
  do-ip6: no
  username: ""
  chroot: ""
  zonesdir: "${ctx.dir}"
  database: ""
  zonelistfile: "${join(ctx.dir, 'zone.list')}"
  xfrdfile: "${join(ctx.dir, 'xfrd.state')}"
  xfrdir: "${ctx.dir}"
  pidfile: "${join(ctx.dir, 'nsd.pid')}"
  server-count: 1
  verbosity: 1
remote-control:
  control-enable: no
zone:
  name: "${origin}"
  zonefile: "${zoneFile}"
`;
      const confPath = ctx.writeFile('nsd.conf', conf);
      await ctx.exec('nsd-checkconf', [confPath]);
      await ctx.spawnDaemon({ command: '/usr/sbin/nsd', args: ['-d', '-c', confPath] });
    },
    async health() {
      expectAnswer(name, await tcpQuery(p.bind, origin, 'SOA', { host: address }), 'NOERROR', (m) => m.flags.aa && m.answers.length > 0);
    },
  };
}

/** The lab root, signed with RSASHA256 and NSEC; its KSK's DS is the lab's trust anchor. */
async function signedRoot(ctx: LabContext): Promise<string> {
  await ensureChainKeys(ctx);
  const file = await signFor(ctx, '.', rootZone(await dsOf(ctx, KEY_DIR, 'test.')), false);
  writeFileSync(dnsFacts.dnssec.rootAnchor, `${await dsOf(ctx, KEY_DIR, '.')}\n`);
  return file;
}

/** test., signed with ED25519 and NSEC3: DS records for the zones under it, a wrong one for bogus.portolan.test., none for insecure.portolan.test. */
async function signedTld(ctx: LabContext): Promise<string> {
  await ensureChainKeys(ctx);
  const ds = [
    await dsOf(ctx, KEY_DIR, ZONE),
    await dsOf(ctx, join(labDir, 'bind', 'wrong-keys'), 'bogus.portolan.test.'),
    await dsOf(ctx, KEY_DIR, 'expired.portolan.test.'),
    await dsOf(ctx, KEY_DIR, 'ed448.portolan.test.'),
  ];
  const file = await signFor(ctx, 'test.', tldZone(ds.join('\n')), true);
  // The NSEC3 record that would prove nods.portolan.test. has no DS, and its signature, taken out.
  const hash = (await ctx.exec('nsec3hash', ['ABCD', '1', '0', 'nods.portolan.test.'])).split(' ')[0].toLowerCase();
  const kept = readFileSync(file, 'utf8').split('\n').filter((line) => !line.toLowerCase().startsWith(`${hash}.test.`));
  writeFileSync(file, kept.join('\n'));
  return file;
}

export const servers: LabServer[] = [
  nsd('nsd-root', dnsFacts.servers.root, '.', signedRoot),
  nsd('nsd-tld', dnsFacts.servers.tld, 'test.', signedTld),
  bind,
  unbound,
  dnsdist,
];
