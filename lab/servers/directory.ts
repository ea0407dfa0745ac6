// Lab servers of the directory area: OpenLDAP slapd (LDAP, StartTLS, LDAPS, SASL PLAIN and EXTERNAL, ACLs, a
// populated tree with 10,000 bulk entries and referrals).
import { join } from 'node:path';
import { ports } from '../ports.ts';
import { labDir } from '../runner.ts';
import { exchange } from '../probe.ts';
import type { LabContext, LabServer } from '../server.ts';

const p = ports.directory;

const suffix = 'dc=example,dc=org';

/** What the directory servers hold: tests assert against these. */
export const directoryFacts = {
  ldap: {
    suffix,
    admin: { dn: `cn=admin,${suffix}`, password: 'portolan-ldap-admin' },
    /** People under ou=people; passwords are stored in the clear so SASL PLAIN can check them (slapd's internal auxprop). */
    people: {
      alice: { dn: `uid=alice,ou=people,${suffix}`, cn: 'Alice Archer', sn: 'Archer', mail: 'alice@example.org', password: 'alice-pass-1', title: 'Cartographer' },
      bob: { dn: `uid=bob,ou=people,${suffix}`, cn: 'Bob Bright', sn: 'Bright', mail: 'bob@example.org', password: 'bob-pass-2', title: 'Navigator' },
      amy: { dn: `uid=amy,ou=people,${suffix}`, cn: 'Amy Ash', sn: 'Ash', mail: 'amy@example.org', password: 'amy-pass-3', title: 'Harbour master' },
      carol: { dn: `uid=carol,ou=people,${suffix}`, cn: 'Carol Cole', sn: 'Cole', mail: 'carol@example.org', password: 'carol-pass-4', title: 'Lighthouse keeper' },
      dave: { dn: `uid=dave,ou=people,${suffix}`, cn: 'Dave Dunn', sn: 'Dunn', mail: 'dave@example.org', password: 'dave-pass-5', title: 'Pilot' },
    },
    /** alice's jpegPhoto: bytes that are not UTF-8. */
    alicePhoto: Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0xff, 0xd9]),
    /** Readable by alice only (ACL); anonymous and other users see nothing. */
    restricted: { dn: `ou=restricted,${suffix}`, entry: `cn=vault,ou=restricted,${suffix}` },
    /** ou=bulk holds this many inetOrgPerson entries, uid=user00000 .. */
    bulkCount: 10_000,
    bulkBase: `ou=bulk,${suffix}`,
    /** Referral objects (RFC 3296): one to this server's ou=people, one to a private address the guard refuses. */
    referralLocal: { dn: `ou=elsewhere,${suffix}`, ref: `ldap://127.0.0.1:${p.ldap}/ou=people,${suffix}` },
    referralPrivate: { dn: `ou=far-away,${suffix}`, ref: `ldap://10.255.0.1:389/ou=people,${suffix}` },
    /** The client certificate for SASL EXTERNAL (signed by the lab CA): its subject maps to carol. */
    clientCertPath: join(labDir, 'slapd', 'client-carol.pem'),
    clientKeyPath: join(labDir, 'slapd', 'client-carol.key'),
    clientSubject: 'CN=carol,OU=clients,O=Portolan Lab',
    /** The ou=people entries (5) and ou=groups (2) that a one-level search lists. */
    groups: { sailors: `cn=sailors,ou=groups,${suffix}`, keepers: `cn=keepers,ou=groups,${suffix}` },
  },
};

const L = directoryFacts.ldap;

function personLdif(uid: string, x: { cn: string; sn: string; mail: string; password: string; title: string }): string {
  return [`dn: uid=${uid},ou=people,${suffix}`, 'objectClass: inetOrgPerson', `uid: ${uid}`, `cn: ${x.cn}`, `sn: ${x.sn}`, `mail: ${x.mail}`, `title: ${x.title}`, `userPassword: ${x.password}`].join('\n');
}

function treeLdif(): string {
  const records: string[] = [
    [`dn: ${suffix}`, 'objectClass: dcObject', 'objectClass: organization', 'dc: example', 'o: Example Harbour'].join('\n'),
    [`dn: ou=people,${suffix}`, 'objectClass: organizationalUnit', 'ou: people', 'description: Crew of the Portolan lab'].join('\n'),
    [`dn: ou=groups,${suffix}`, 'objectClass: organizationalUnit', 'ou: groups'].join('\n'),
    [`dn: ${L.restricted.dn}`, 'objectClass: organizationalUnit', 'ou: restricted'].join('\n'),
    [`dn: ${L.restricted.entry}`, 'objectClass: organizationalRole', 'cn: vault', 'description: the combination is 4-8-15-16'].join('\n'),
    [`dn: ${L.bulkBase}`, 'objectClass: organizationalUnit', 'ou: bulk'].join('\n'),
    [`dn: ${L.referralLocal.dn}`, 'objectClass: referral', 'objectClass: extensibleObject', 'ou: elsewhere', `ref: ${L.referralLocal.ref}`].join('\n'),
    [`dn: ${L.referralPrivate.dn}`, 'objectClass: referral', 'objectClass: extensibleObject', 'ou: far-away', `ref: ${L.referralPrivate.ref}`].join('\n'),
  ];
  for (const [uid, x] of Object.entries(L.people)) {
    let rec = personLdif(uid, x);
    if (uid === 'alice') rec += `\njpegPhoto:: ${Buffer.from(L.alicePhoto).toString('base64')}`;
    records.push(rec);
  }
  records.push([`dn: ${L.groups.sailors}`, 'objectClass: groupOfNames', 'cn: sailors', `member: ${L.people.alice.dn}`, `member: ${L.people.bob.dn}`].join('\n'));
  records.push([`dn: ${L.groups.keepers}`, 'objectClass: groupOfNames', 'cn: keepers', `member: ${L.people.carol.dn}`].join('\n'));
  for (let i = 0; i < L.bulkCount; i++) {
    const id = String(i).padStart(5, '0');
    records.push([`dn: uid=user${id},${L.bulkBase}`, 'objectClass: inetOrgPerson', `uid: user${id}`, `cn: Bulk User ${id}`, `sn: User${id}`, `mail: user${id}@bulk.example.org`, `employeeNumber: ${i}`].join('\n'));
  }
  return `${records.join('\n\n')}\n`;
}

function slapdConf(ctx: LabContext): string {
  return [
    'include /etc/ldap/schema/core.schema',
    'include /etc/ldap/schema/cosine.schema',
    'include /etc/ldap/schema/inetorgperson.schema',
    'include /etc/ldap/schema/nis.schema',
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    `pidfile ${join(ctx.dir, 'slapd.pid')}`,
    `argsfile ${join(ctx.dir, 'slapd.args')}`,
    `TLSCACertificateFile ${ctx.tls.caPath}`,
    `TLSCertificateFile ${ctx.tls.certPath}`,
    `TLSCertificateKeyFile ${ctx.tls.keyPath}`,
    // Ask for a client certificate and accept a connection without one: SASL EXTERNAL uses it when given.
    'TLSVerifyClient allow',
    'sasl-secprops none',
    // SASL identities to entries: PLAIN's authcid and the client certificate's subject (RFC 4513 §5.2.1.8).
    `authz-regexp "^uid=([^,]+),cn=plain,cn=auth$" "uid=$1,ou=people,${suffix}"`,
    `authz-regexp "^cn=([^,]+),ou=clients,o=portolan lab$" "uid=$1,ou=people,${suffix}"`,
    'sizelimit unlimited',
    'database mdb',
    'maxsize 268435456',
    `suffix "${suffix}"`,
    `rootdn "${L.admin.dn}"`,
    `rootpw ${L.admin.password}`,
    `directory ${join(ctx.dir, 'data')}`,
    'index objectClass eq',
    'index uid,cn,mail eq,sub',
    'access to attrs=userPassword',
    '  by self write',
    '  by anonymous auth',
    '  by * none',
    `access to dn.subtree="${L.restricted.dn}"`,
    `  by dn.exact="${L.people.alice.dn}" read`,
    '  by * none',
    'access to *',
    '  by self write',
    '  by users read',
    '  by anonymous read',
    '',
  ].join('\n');
}

const slapd: LabServer = {
  name: 'slapd',
  area: 'directory',
  packages: ['slapd', 'ldap-utils', 'libsasl2-modules', 'openssl'],
  ports: [p.ldap, p.ldaps],
  async start(ctx) {
    const conf = ctx.writeFile('slapd.conf', slapdConf(ctx));
    const data = join(ctx.dir, 'data');
    await ctx.exec('rm', ['-rf', data]);
    await ctx.exec('mkdir', ['-p', data]);
    const ldif = ctx.writeFile('tree.ldif', treeLdif());
    await ctx.exec('/usr/sbin/slapadd', ['-q', '-f', conf, '-l', ldif]);
    // The client certificate for SASL EXTERNAL, signed by the lab CA.
    const key = L.clientKeyPath;
    const csr = join(ctx.dir, 'client-carol.csr');
    await ctx.exec('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-subj', '/O=Portolan Lab/OU=clients/CN=carol', '-out', csr]);
    await ctx.exec('openssl', ['x509', '-req', '-sha256', '-days', '825', '-in', csr, '-CA', ctx.tls.caPath, '-CAkey', join(ctx.labDir, 'ca.key'), '-CAcreateserial', '-CAserial', join(ctx.dir, 'ca.srl'), '-out', L.clientCertPath]);
    await ctx.exec('chmod', ['0644', key]);
    await ctx.spawnDaemon({
      command: '/usr/sbin/slapd',
      args: ['-d', '0', '-f', conf, '-h', `ldap://127.0.0.1:${p.ldap}/ ldaps://127.0.0.1:${p.ldaps}/`],
    });
  },
  async health() {
    // An anonymous BindRequest (message 1); a BindResponse with resultCode success is 0x61 .. 0a 01 00.
    const got = await exchange(p.ldap, { send: Buffer.from('300c020101600702010304008000', 'hex'), until: (b) => b.length >= 14 });
    if (!got.includes(Buffer.from('0a0100', 'hex')) || got[5] !== 0x61) throw new Error(`slapd: unexpected bind answer ${got.toString('hex')}`);
  },
};

export const servers: LabServer[] = [slapd];
