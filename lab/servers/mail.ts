// Mail lab servers: postfix (SMTP RFC 5321 with STARTTLS RFC 3207, submission RFC 6409 with SASL RFC 4954,
// SMTPS RFC 8314) delivering over LMTP (RFC 2033) to dovecot (IMAP RFC 9051, POP3 RFC 1939, ManageSieve RFC 5804).
//
// How it works: postfix runs as its own instance (own config_directory and queue under the lab dir,
// `postfix -c DIR start-fg`), accepts mail for the lab domain only (every other destination is an
// error transport, so nothing leaves the machine) and hands it to dovecot's LMTP listener. Dovecot
// runs from one config file with its own base_dir, users from a passwd-file with plaintext passwords
// (so CRAM-MD5 and APOP work), Maildirs under the lab dir, and a SASL socket postfix authenticates through.
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { ports } from '../ports.ts';
import { labDir, tlsPaths } from '../runner.ts';
import { exchange, expectIncludes, preview } from '../probe.ts';
import type { LabServer } from '../server.ts';

const p = ports.mail;

const domain = 'lab.portolan.test';

/** What the mail servers are known to serve, for tests to assert against. */
export const mailFacts = {
  domain,
  /** Lab users: each test file uses its own, so parallel files never see each other's mail. */
  users: {
    alice: { address: `alice@${domain}`, password: 'alice-secret' },
    bob: { address: `bob@${domain}`, password: 'bob-secret' },
    carol: { address: `carol@${domain}`, password: 'carol-secret' },
    dave: { address: `dave@${domain}`, password: 'dave-secret' },
    erin: { address: `erin@${domain}`, password: 'erin-secret' },
    frank: { address: `frank@${domain}`, password: 'frank-secret' },
    /** A UTF-8 local part (RFC 6531): postfix's virtual(8) delivers to it, since dovecot's LMTP has no SMTPUTF8. */
    zoe: { address: `zoë@${domain}`, password: 'zoe-secret' },
  },
  /** Postfix accepts it at RCPT, dovecot's LMTP does not know it: the delivery fails after the fact, and postfix sends a failure DSN. */
  ghost: `ghost@${domain}`,
  /** Dovecot's per-user quota (RFC 9208 STORAGE is in KiB). */
  quotaKiB: 10240,
  quotaMessages: 1000,
  /** An address in the lab domain that does not exist: RCPT answers 550 5.1.1. */
  unknownUser: `nobody@${domain}`,
  smtpBanner: 'ESMTP Portolan lab',
  imapGreeting: 'Portolan lab IMAP ready.',
  pop3Greeting: 'Portolan lab POP3 ready.',
  messageSizeLimit: 20 * 1024 * 1024,
  /** Folders every user has (dovecot creates them on first login). */
  folders: ['INBOX', 'Archive', 'Drafts', 'Sent', 'Trash'],
  mailDir: join(labDir, 'dovecot', 'mail'),
} as const;

const mailUid = 8; // Debian's `mail` user owns the Maildirs.
const mailGid = 8;

function users(): string {
  return Object.values(mailFacts.users)
    .map((u) => `${u.address}:{PLAIN}${u.password}::::::\n`)
    .join('');
}

const dovecotDir = join(labDir, 'dovecot');
const authSocket = join(dovecotDir, 'run', 'auth-postfix');

const dovecot: LabServer = {
  name: 'dovecot',
  area: 'mail',
  packages: ['dovecot-core', 'dovecot-imapd', 'dovecot-pop3d', 'dovecot-lmtpd', 'dovecot-managesieved'],
  ports: [p.imap, p.imaps, p.pop3, p.pop3s, p.lmtp, p.managesieve],
  async start(ctx) {
    for (const sub of ['run', 'state', 'mail']) mkdirSync(join(ctx.dir, sub), { recursive: true, mode: 0o755 });
    chownSync(join(ctx.dir, 'mail'), mailUid, mailGid);
    const passwd = ctx.writeFile('users', users(), 0o640);
    chownSync(passwd, 0, Number((await ctx.exec('getent', ['group', 'dovecot'])).split(':')[2]));
    const { certPath, keyPath } = ctx.tls;
    const conf = `# Portolan lab dovecot: one file, no conf.d.
base_dir = ${join(ctx.dir, 'run')}
state_dir = ${join(ctx.dir, 'state')}
instance_name = portolan-lab
protocols = imap pop3 lmtp sieve
listen = 127.0.0.1
log_path = ${join(ctx.dir, 'dovecot.log')}
ssl = yes
ssl_cert = <${certPath}
ssl_key = <${keyPath}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
# Loopback is trusted: no growing auth-failure penalty when parallel tests try wrong passwords.
login_trusted_networks = 127.0.0.1/32
# Failed logins answer at once: the default 2 s delay, batched, outlived test deadlines under load.
auth_failure_delay = 0
auth_mechanisms = plain login cram-md5 scram-sha-256 apop
first_valid_uid = ${mailUid}
mail_location = maildir:~/Maildir
mail_privileged_group = mail
pop3_uidl_format = %08Xu%08Xv
# QUOTA (RFC 9208), ACL (RFC 4314) and, for IMAP, COMPRESS=DEFLATE (RFC 4978).
mail_plugins = quota acl zlib
plugin {
  quota = count:User quota
  quota_rule = *:storage=${mailFacts.quotaKiB}K:messages=${mailFacts.quotaMessages}
  quota_vsizes = yes
  acl = vfile
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${passwd}
}
userdb {
  driver = static
  args = uid=${mailUid} gid=${mailGid} home=${join(ctx.dir, 'mail')}/%d/%n
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Archive {
    auto = subscribe
    special_use = \\Archive
  }
  mailbox Drafts {
    auto = subscribe
    special_use = \\Drafts
  }
  mailbox Sent {
    auto = subscribe
    special_use = \\Sent
  }
  mailbox Trash {
    auto = subscribe
    special_use = \\Trash
  }
}
service imap-login {
  inet_listener imap {
    port = ${p.imap}
  }
  inet_listener imaps {
    port = ${p.imaps}
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = ${p.pop3}
  }
  inet_listener pop3s {
    port = ${p.pop3s}
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${p.lmtp}
  }
}
service managesieve-login {
  inet_listener sieve {
    port = ${p.managesieve}
  }
}
service auth {
  unix_listener auth-postfix {
    mode = 0666
  }
}
protocol imap {
  mail_plugins = $mail_plugins imap_quota imap_acl imap_zlib
  login_greeting = ${mailFacts.imapGreeting}
}
protocol pop3 {
  login_greeting = ${mailFacts.pop3Greeting}
}
protocol lmtp {
  postmaster_address = postmaster@${domain}
}
protocol sieve {
  mail_plugins =
}
`;
    const path = ctx.writeFile('dovecot.conf', conf);
    await ctx.spawnDaemon({ command: '/usr/sbin/dovecot', args: ['-F', '-c', path] });
  },
  async health() {
    expectIncludes('imap', await exchange(p.imap, { until: (b) => b.includes('\r\n') }), `* OK [CAPABILITY`);
    expectIncludes('pop3', await exchange(p.pop3, { until: (b) => b.includes('\r\n') }), '+OK');
    expectIncludes('lmtp', await exchange(p.lmtp, { until: (b) => b.includes('\r\n') }), '220 ');
    expectIncludes('managesieve', await exchange(p.managesieve, { until: (b) => b.includes('OK') }), '"IMPLEMENTATION"');
    await tlsGreeting(p.imaps, '* OK');
    await tlsGreeting(p.pop3s, '+OK');
    if (!existsSync(authSocket)) throw new Error(`dovecot: no SASL socket at ${authSocket}`);
  },
};

/** Postfix master.cf: every service unchained (no chroot), smtpd on three loopback ports. */
function masterCf(): string {
  const lines = [
    `127.0.0.1:${p.smtp} inet n - n - - smtpd`,
    `127.0.0.1:${p.submission} inet n - n - - smtpd`,
    '  -o syslog_name=postfix/submission',
    '  -o smtpd_tls_security_level=encrypt',
    '  -o smtpd_sasl_auth_enable=yes',
    '  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject',
    '  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject',
    `127.0.0.1:${p.smtps} inet n - n - - smtpd`,
    '  -o syslog_name=postfix/smtps',
    '  -o smtpd_tls_wrappermode=yes',
    '  -o smtpd_sasl_auth_enable=yes',
    '  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject',
    '  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject',
    'pickup unix n - n 60 1 pickup',
    'cleanup unix n - n - 0 cleanup',
    'qmgr unix n - n 300 1 qmgr',
    'tlsmgr unix - - n 1000? 1 tlsmgr',
    'rewrite unix - - n - - trivial-rewrite',
    'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce',
    'verify unix - - n - 1 verify',
    'flush unix n - n 1000? 0 flush',
    'proxymap unix - - n - - proxymap',
    'proxywrite unix - - n - 1 proxymap',
    'smtp unix - - n - - smtp',
    'relay unix - - n - - smtp',
    'showq unix n - n - - showq',
    'error unix - - n - - error',
    'retry unix - - n - - error',
    'discard unix - - n - - discard',
    'lmtp unix - - n - - lmtp',
    'virtual unix - n n - - virtual',
    'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
  ];
  return `${lines.join('\n')}\n`;
}

const postfix: LabServer = {
  name: 'postfix',
  area: 'mail',
  packages: ['postfix'],
  ports: [p.smtp, p.submission, p.smtps],
  async start(ctx) {
    const noMail = 'error:the Portolan lab delivers only to its own domain';
    const mainCf = `# Portolan lab postfix instance: loopback only, mail for ${domain} goes to dovecot over LMTP.
compatibility_level = 3.6
queue_directory = ${join(ctx.dir, 'queue')}
data_directory = ${join(ctx.dir, 'data')}
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = /dev/stdout
myhostname = mail.${domain}
mydomain = ${domain}
myorigin = $mydomain
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.2/32
relayhost =
default_transport = ${noMail}
relay_transport = ${noMail}
local_transport = ${noMail}
alias_maps =
alias_database =
biff = no
smtp_host_lookup = native
lmtp_host_lookup = native
smtpd_peername_lookup = no
virtual_mailbox_domains = ${domain}
virtual_mailbox_maps = texthash:${join(ctx.dir, 'vmailbox')}
virtual_transport = lmtp:inet:127.0.0.1:${p.lmtp}
transport_maps = texthash:${join(ctx.dir, 'transport')}
virtual_mailbox_base = ${mailFacts.mailDir}
virtual_uid_maps = static:${mailUid}
virtual_gid_maps = static:${mailGid}
virtual_minimum_uid = ${mailUid}
# RFC 3461 DSN and RFC 6531 SMTPUTF8 announced and honoured (both are Postfix defaults; said here so the lab does not depend on it).
smtputf8_enable = yes
smtpd_discard_ehlo_keywords =
smtpd_banner = $myhostname ${mailFacts.smtpBanner}
message_size_limit = ${mailFacts.messageSizeLimit}
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
# Deliver messages as sent: no header rewriting or added Date/Message-ID for SMTP clients.
local_header_rewrite_clients =
smtpd_tls_cert_file = ${ctx.tls.certPath}
smtpd_tls_key_file = ${ctx.tls.keyPath}
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_tls_loglevel = 1
smtpd_sasl_type = dovecot
smtpd_sasl_path = ${authSocket}
smtpd_sasl_auth_enable = no
`;
    ctx.writeFile('main.cf', mainCf);
    ctx.writeFile('master.cf', masterCf());
    const utf8 = mailFacts.users.zoe;
    // virtual(8) reads the value as the Maildir path under virtual_mailbox_base; LMTP ignores it.
    const mailbox = (address: string) => `${address.split('@')[1]}/${address.split('@')[0]}/Maildir/`;
    ctx.writeFile('vmailbox', [...Object.values(mailFacts.users).map((u) => `${u.address} ${mailbox(u.address)}\n`), `${mailFacts.ghost} ok\n`].join(''));
    ctx.writeFile('transport', `${utf8.address} virtual:\n`);
    for (const sub of ['queue', 'data']) mkdirSync(join(ctx.dir, sub), { recursive: true, mode: 0o755 });
    chownSync(join(ctx.dir, 'data'), Number((await ctx.exec('id', ['-u', 'postfix'])).trim()), 0);
    await ctx.exec('/usr/sbin/postfix', ['-c', ctx.dir, 'set-permissions', 'create-missing']);
    await ctx.exec('/usr/sbin/postfix', ['-c', ctx.dir, 'check']);
    // master runs in the foreground (-s keeps stdout for maillog_file); it makes itself a session leader, so its pid is its group.
    await ctx.spawnDaemon({ command: '/usr/lib/postfix/sbin/master', args: ['-c', ctx.dir, '-s'] });
  },
  async health() {
    for (const port of [p.smtp, p.submission]) {
      const got = await exchange(port, { send: 'EHLO health.check\r\nQUIT\r\n', until: (b) => b.includes('\r\n221') });
      expectIncludes('postfix', got, mailFacts.smtpBanner);
      expectIncludes('postfix EHLO', got, '250-STARTTLS');
    }
    await tlsGreeting(p.smtps, '220 ');
  },
};

/** Connects with TLS (trusting the lab CA) and expects the greeting to start with `prefix`. */
function tlsGreeting(port: number, prefix: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(tlsPaths.caPath), servername: 'localhost' });
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error(`${port}: no TLS greeting within 2 s (got ${preview(got)})`)), 2000);
    const done = (error: Error | null) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.includes('\r\n')) done(got.toString('latin1').startsWith(prefix) ? null : new Error(`${port}: TLS greeting ${preview(got)} does not start with ${prefix}`));
    });
    socket.on('error', (e) => done(new Error(`${port}: ${e.message}`)));
  });
}

/** The raw files of a user's Maildir messages (new and cur), for tests that compare delivered bytes. */
export function maildirMessages(address: string, folder = 'INBOX'): string[] {
  const [user, host] = address.split('@');
  const base = join(mailFacts.mailDir, host, user, 'Maildir', folder === 'INBOX' ? '' : `.${folder}`);
  const out: string[] = [];
  for (const sub of ['new', 'cur']) {
    const dir = join(base, sub);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) if (statSync(join(dir, name)).isFile()) out.push(join(dir, name));
  }
  return out;
}

export const servers: LabServer[] = [dovecot, postfix];
