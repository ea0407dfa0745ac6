// Lab servers of the directory area: OpenLDAP slapd (LDAP, StartTLS, LDAPS, SASL PLAIN and EXTERNAL, ACLs, a
// populated tree with 10,000 bulk entries and referrals); FreeRADIUS (UDP, TCP and RadSec listeners, a test user);
// oidentd; MIT krb5-kdc; freeDiameter (TCP and TLS, peers admitted by name).
import { join } from 'node:path';
import { ports } from '../ports.ts';
import { labDir } from '../runner.ts';
import { exchange } from '../probe.ts';
import type { LabContext, LabServer } from '../server.ts';
import { udpExchange } from './node.ts';
import { webCrypto } from '../../src/core/crypto.ts';
import { Code, decodePacket, encodeRequest, verifyReply } from '../../src/protocols/radius/codec.ts';
import { decodeReply, kdcReq, MsgType, reqBody } from '../../src/protocols/kerberos/codec.ts';
import { capabilitiesAvps, COMMAND, decodeMessage, encodeMessage, FLAG } from '../../src/protocols/diameter/codec.ts';

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

export const radiusFacts = {
  secret: 'harbour-radius-secret',
  /** RFC 6614 §2.3: RadSec's shared secret is "radsec". */
  radsecSecret: 'radsec',
  user: { name: 'sailor', password: 'wind-and-tide-7' },
  /** What FreeRADIUS replies to the user's Access-Accept. */
  reply: { replyMessage: 'Welcome aboard, sailor', sessionTimeout: 3600, framedIp: '192.0.2.77', class: '706f72746f6c616e', ciscoAvPair: 'shell:priv-lvl=15', filterId: 'crew' },
  /** FreeRADIUS's detail module writes each Accounting-Request here. */
  detailFile: join(labDir, 'freeradius', 'acct', 'detail'),
};

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

function radiusdConf(ctx: LabContext): string {
  const R = radiusFacts;
  const tls = `tls {
      private_key_file = ${ctx.tls.keyPath}
      certificate_file = ${ctx.tls.certPath}
      ca_file = ${ctx.tls.caPath}
      fragment_size = 8192
      tls_min_version = "1.2"
      tls_max_version = "1.3"
      require_client_cert = no
      cache {
        enable = no
      }
    }`;
  return `prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
logdir = ${ctx.dir}
raddbdir = ${ctx.dir}
radacctdir = ${ctx.dir}/acct
name = freeradius
confdir = ${ctx.dir}
modconfdir = ${ctx.dir}
certdir = ${ctx.dir}
cadir = ${ctx.dir}
run_dir = ${ctx.dir}
db_dir = ${ctx.dir}
libdir = /usr/lib/freeradius
dictdir = /usr/share/freeradius
pidfile = ${ctx.dir}/radiusd.pid
max_request_time = 30
cleanup_delay = 2
max_requests = 1024
hostname_lookups = no
log {
  destination = stdout
  auth = yes
  auth_badpass = no
  auth_goodpass = no
}
security {
  allow_core_dumps = no
  max_attributes = 200
  reject_delay = 0
  status_server = yes
}
thread pool {
  start_servers = 2
  max_servers = 4
  min_spare_servers = 1
  max_spare_servers = 3
  max_requests_per_server = 0
}
clients plain {
  client localhost {
    ipaddr = 127.0.0.1
    proto = *
    secret = ${R.secret}
    require_message_authenticator = no
  }
}
clients radsec {
  client localhost {
    ipaddr = 127.0.0.1
    proto = tls
    secret = ${R.radsecSecret}
  }
}
modules {
  pap {
  }
  chap {
  }
  files {
    filename = ${ctx.dir}/users
    acctusersfile = ${ctx.dir}/acct_users
  }
  detail {
    filename = ${R.detailFile}
    escape_filenames = no
    permissions = 0644
    header = "%t"
  }
  always ok {
    rcode = ok
  }
}
server default {
  listen {
    type = auth
    ipaddr = 127.0.0.1
    port = ${p.radiusAuth}
    clients = plain
  }
  listen {
    type = acct
    ipaddr = 127.0.0.1
    port = ${p.radiusAcct}
    clients = plain
  }
  listen {
    type = auth+acct
    proto = tcp
    ipaddr = 127.0.0.1
    port = ${p.radiusTcp}
    clients = plain
  }
  listen {
    type = auth+acct
    proto = tcp
    ipaddr = 127.0.0.1
    port = ${p.radsec}
    clients = radsec
    ${tls}
  }
  authorize {
    chap
    files
    pap
  }
  authenticate {
    Auth-Type PAP {
      pap
    }
    Auth-Type CHAP {
      chap
    }
  }
  preacct {
  }
  accounting {
    detail
    ok
  }
  post-auth {
  }
}
`;
}

const freeradius: LabServer = {
  name: 'freeradius',
  area: 'directory',
  packages: ['freeradius', 'freeradius-utils'],
  ports: [p.radiusAuth, p.radiusAcct, p.radiusTcp, p.radsec],
  async start(ctx) {
    const R = radiusFacts;
    ctx.writeFile('radiusd.conf', radiusdConf(ctx));
    ctx.writeFile('dictionary', '');
    ctx.writeFile(
      'users',
      [
        `${R.user.name} Cleartext-Password := "${R.user.password}"`,
        `\tReply-Message := "${R.reply.replyMessage}",`,
        `\tSession-Timeout := ${R.reply.sessionTimeout},`,
        `\tFramed-IP-Address := ${R.reply.framedIp},`,
        `\tFilter-Id := "${R.reply.filterId}",`,
        `\tClass := 0x${R.reply.class},`,
        `\tCisco-AVPair := "${R.reply.ciscoAvPair}"`,
        '',
      ].join('\n'),
    );
    ctx.writeFile('acct_users', '');
    await ctx.exec('rm', ['-rf', join(ctx.dir, 'acct')]);
    await ctx.exec('mkdir', ['-p', join(ctx.dir, 'acct')]);
    // -f: stay in the foreground; -l stdout: log there (the lab's log file).
    await ctx.spawnDaemon({ command: '/usr/sbin/freeradius', args: ['-f', '-l', 'stdout', '-d', ctx.dir] });
  },
  async health() {
    // A Status-Server (RFC 5997) over UDP, built and checked by the project's own codec: Access-Accept means up.
    const crypto = webCrypto();
    const secret = Buffer.from(radiusFacts.secret);
    const authenticator = crypto.randomBytes(16);
    const packet = encodeRequest(crypto, { code: Code['Status-Server'], identifier: 1, attributes: [], secret, authenticator, messageAuthenticator: true });
    const reply = decodePacket(await udpExchange(p.radiusAuth, packet));
    verifyReply(crypto, reply, authenticator, secret);
    if (reply.code !== Code['Access-Accept']) throw new Error(`freeradius: Status-Server answered with code ${reply.code}`);
  },
};

const oidentd: LabServer = {
  name: 'oidentd',
  area: 'directory',
  packages: ['oidentd'],
  ports: [p.ident],
  async start(ctx) {
    // -i: foreground; -S: no syslog; -d: log each lookup to stderr (the lab log). It runs as root to read every socket's owner.
    const conf = ctx.writeFile('oidentd.conf', 'default {\n  default {\n    deny spoof\n    deny spoof_all\n    deny spoof_privport\n    deny random\n    deny random_numeric\n    deny numeric\n    deny hide\n  }\n}\n');
    await ctx.spawnDaemon({ command: '/usr/sbin/oidentd', args: ['-i', '-S', '-d', '-p', String(p.ident), '-a', '127.0.0.1', '-C', conf, '-u', 'root', '-g', 'root'] });
  },
  async health() {
    // Ask about a pair no connection has: a well-formed ERROR reply means the server answers.
    const got = await exchange(p.ident, { send: '1, 1\r\n', until: (b) => b.includes(0x0a) });
    if (!/^\s*1\s*,\s*1\s*:\s*ERROR\s*:/.test(got.toString('latin1'))) throw new Error(`oidentd: unexpected reply ${JSON.stringify(got.toString('latin1'))}`);
  },
};

export const kerberosFacts = {
  realm: 'PORTOLAN.TEST',
  /** Pre-authentication required (default_principal_flags +preauth); keys in every AES enctype. */
  user: { principal: 'alice', password: 'kerberos-alice-1' },
  /** Keys only in the RFC 8009 (AES-SHA2) enctypes. */
  sha2User: { principal: 'sha2user', password: 'kerberos-sha2-2' },
  /** A service principal with a random key, for TGS requests. */
  service: 'host/lab.portolan.test',
  /** Ticket lifetimes the KDC grants. */
  maxLife: '10h',
  maxRenew: '7d',
};

const krb5kdc: LabServer = {
  name: 'krb5kdc',
  area: 'directory',
  packages: ['krb5-kdc', 'krb5-admin-server'],
  ports: [p.kerberos],
  async start(ctx) {
    const K = kerberosFacts;
    const enctypes = 'aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal aes256-cts-hmac-sha384-192:normal aes128-cts-hmac-sha256-128:normal';
    const krb5conf = ctx.writeFile('krb5.conf', `[libdefaults]\n  default_realm = ${K.realm}\n  dns_lookup_kdc = false\n  dns_lookup_realm = false\n[realms]\n  ${K.realm} = {\n    kdc = 127.0.0.1:${p.kerberos}\n  }\n`);
    const kdcconf = ctx.writeFile(
      'kdc.conf',
      [
        '[kdcdefaults]',
        `  kdc_listen = 127.0.0.1:${p.kerberos}`,
        `  kdc_tcp_listen = 127.0.0.1:${p.kerberos}`,
        '[realms]',
        `  ${K.realm} = {`,
        `    database_name = ${join(ctx.dir, 'principal')}`,
        `    key_stash_file = ${join(ctx.dir, 'stash')}`,
        `    acl_file = ${join(ctx.dir, 'kadm5.acl')}`,
        `    max_life = ${K.maxLife}`,
        `    max_renewable_life = ${K.maxRenew}`,
        `    supported_enctypes = ${enctypes}`,
        '    default_principal_flags = +preauth +renewable +forwardable',
        '  }',
        '[logging]',
        '  kdc = STDERR',
        '',
      ].join('\n'),
    );
    ctx.writeFile('kadm5.acl', '');
    const env = { KRB5_CONFIG: krb5conf, KRB5_KDC_PROFILE: kdcconf };
    await ctx.exec('rm', ['-f', ...['principal', 'principal.ok', 'principal.kadm5', 'principal.kadm5.lock', 'stash'].map((f) => join(ctx.dir, f))]);
    const sh = (cmd: string) => ctx.exec('/bin/sh', ['-c', `KRB5_CONFIG=${krb5conf} KRB5_KDC_PROFILE=${kdcconf} ${cmd}`]);
    await sh(`/usr/sbin/kdb5_util create -s -r ${K.realm} -P portolan-master-key`);
    await sh(`/usr/sbin/kadmin.local -r ${K.realm} -q "addprinc -pw ${K.user.password} ${K.user.principal}"`);
    await sh(`/usr/sbin/kadmin.local -r ${K.realm} -q "addprinc -e aes256-cts-hmac-sha384-192:normal,aes128-cts-hmac-sha256-128:normal -pw ${K.sha2User.password} ${K.sha2User.principal}"`);
    await sh(`/usr/sbin/kadmin.local -r ${K.realm} -q "addprinc -randkey ${K.service}"`);
    // -n: stay in the foreground.
    await ctx.spawnDaemon({ command: '/usr/sbin/krb5kdc', args: ['-n', '-r', K.realm], env });
  },
  async health() {
    // An AS-REQ for alice without pre-authentication over UDP: the KDC answers KDC_ERR_PREAUTH_REQUIRED (25).
    const K = kerberosFacts;
    const req = kdcReq(MsgType.AS_REQ, [], reqBody({ options: 0, cname: { type: 1, parts: [K.user.principal] }, realm: K.realm, sname: { type: 2, parts: ['krbtgt', K.realm] }, till: new Date(Date.now() + 3600_000), nonce: 1, etypes: [18] }));
    const reply = decodeReply(await udpExchange(p.kerberos, req));
    if (reply.type !== 'KRB-ERROR' || reply.errorCode !== 25) throw new Error(`krb5kdc: expected KDC_ERR_PREAUTH_REQUIRED, got ${reply.type === 'KRB-ERROR' ? reply.errorName : reply.type}`);
  },
};

export const diameterFacts = {
  identity: 'diameter.portolan.test',
  realm: 'portolan.test',
  /** freeDiameter's acl_wl admits peers whose Origin-Host matches this, without TLS (ALLOW_IPSEC); others are unknown peers. */
  peerPattern: '*.portolan.test',
  client: { originHost: 'client.portolan.test', originRealm: 'portolan.test' },
  productName: 'freeDiameter',
  /** freeDiameter 1.2.1 sends its version as Firmware-Revision: 10201. */
  firmwareRevision: 10201,
};

const freediameter: LabServer = {
  name: 'freediameter',
  area: 'directory',
  packages: ['freediameterd', 'freediameter-extensions', 'openssl'],
  ports: [p.diameter, p.diameterTls],
  async start(ctx) {
    const D = diameterFacts;
    // freeDiameter insists that its certificate names its identity; the SANs let TLS clients reach it as 127.0.0.1.
    const key = join(ctx.dir, 'diameter.key');
    const cert = join(ctx.dir, 'diameter.pem');
    const ext = ctx.writeFile('san.cnf', `subjectAltName = DNS:${D.identity}, DNS:localhost, IP:127.0.0.1\n`);
    await ctx.exec('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-subj', `/CN=${D.identity}`, '-out', join(ctx.dir, 'diameter.csr')]);
    await ctx.exec('openssl', ['x509', '-req', '-sha256', '-days', '825', '-in', join(ctx.dir, 'diameter.csr'), '-CA', ctx.tls.caPath, '-CAkey', join(ctx.labDir, 'ca.key'), '-CAcreateserial', '-CAserial', join(ctx.dir, 'ca.srl'), '-extfile', ext, '-out', cert]);
    const acl = ctx.writeFile('acl_wl.conf', `ALLOW_OLD_TLS ALLOW_IPSEC ${D.peerPattern}\n`);
    const conf = ctx.writeFile(
      'freeDiameter.conf',
      [
        `Identity = "${D.identity}";`,
        `Realm = "${D.realm}";`,
        `Port = ${p.diameter};`,
        `SecPort = ${p.diameterTls};`,
        'No_SCTP;',
        'No_IPv6;',
        'ListenOn = "127.0.0.1";',
        `TLS_Cred = "${cert}", "${key}";`,
        `TLS_CA = "${ctx.tls.caPath}";`,
        `LoadExtension = "/usr/lib/freeDiameter/acl_wl.fdx" : "${acl}";`,
        '',
      ].join('\n'),
    );
    await ctx.spawnDaemon({ command: '/usr/bin/freeDiameterd', args: ['-c', conf] });
  },
  async health() {
    // A CER from an admitted peer, built with the project's codec: a CEA with DIAMETER_SUCCESS means up.
    const D = diameterFacts;
    const cer = encodeMessage({ flags: FLAG.request, command: COMMAND.CapabilitiesExchange, hopByHop: 1, endToEnd: 1, avps: capabilitiesAvps({ originHost: `health.${D.realm}`, originRealm: D.realm, hostIpAddresses: ['127.0.0.1'], vendorId: 0, productName: 'lab health', authApplicationIds: [0xffffffff] }) });
    const got = await exchange(p.diameter, { send: cer, until: (b) => b.length >= 4 && b.length >= b.readUIntBE(1, 3) });
    const cea = decodeMessage(new Uint8Array(got.subarray(0, got.readUIntBE(1, 3))));
    if (cea.avps.find((a) => a.name === 'Result-Code')?.value !== 2001) throw new Error(`freediameter: CEA ${JSON.stringify(cea.avps.slice(0, 3))}`);
  },
};

export const servers: LabServer[] = [slapd, freeradius, oidentd, krb5kdc, freediameter];
