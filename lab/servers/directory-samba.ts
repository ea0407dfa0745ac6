// Lab servers of the directory-samba area: Samba 4.17 as a standalone file server. smbd answers SMB on a port of
// this block and the NetBIOS session service (RFC 1002 §4.3) on 139 (smbd retargets only there); samba-dcerpcd
// runs every rpcd_* helper, with the endpoint mapper on 135 (its port is fixed by its interface definition) and
// the other interfaces on ports of this block; nmbd answers the NetBIOS name service in a network namespace of its own, reached over a veth pair
// from a client namespace (nmbd ignores loopback interfaces, and its port 137 must not meet a real network).
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ports } from '../ports.ts';
import { labDir } from '../runner.ts';
import { exchange } from '../probe.ts';
import type { LabContext, LabServer } from '../server.ts';
import { bindPdu, EPMAPPER, NDR } from '../../src/protocols/dcerpc/codec.ts';
import { sessionRequest } from '../../src/protocols/netbios/codec.ts';

const p = ports['directory-samba'];

/** What the Samba servers are known to serve: tests assert against these. */
export const sambaFacts = {
  workgroup: 'PORTOLAN',
  netbiosName: 'PORTOLAN-LAB',
  serverString: 'Portolan lab Samba',
  /** A Unix account with an SMB password (tdbsam): NTLMSSP binds and SMB logons use it. */
  user: { name: 'portolan-smb', password: 'harbour-smb-7' },
  /** A share the user can read and write, with one known file. */
  share: { name: 'harbour', path: join(labDir, 'smbd', 'harbour'), file: 'lighthouse.txt', text: 'The keeper lights the lamp at dusk.\n' },
  /** Interfaces samba-dcerpcd serves over TCP (epm_Lookup lists them with these annotations). */
  tcpInterfaces: {
    epmapper: 'e1af8308-5d1f-11c9-91a4-08002b14a0fa',
    lsarpc: '12345778-1234-abcd-ef00-0123456789ab',
    samr: '12345778-1234-abcd-ef00-0123456789ac',
    winreg: '338cd001-2244-31f1-aaaa-900038001003',
    srvsvc: '4b324fc8-1670-01d3-1278-5a47bf6ee188',
    wkssvc: '6bffd098-a112-3610-9833-46c3f87e345a',
  },
  /** A called name smbd's session service on 139 retargets to the SMB port (RFC 1002 §4.3.5). */
  retarget: { calledName: 'HARBOUR-ALIAS' },
  /** smbd refuses a session whose calling name has suffix 'R' (0x52, a Pathworks client): Called name not present. */
  refusedCallingSuffix: 0x52,
  nbns: {
    serverNetns: 'portolan-nbns-server',
    clientNetns: 'portolan-nbns-client',
    server: '10.209.0.1',
    client: '10.209.0.2',
  },
};

const S = sambaFacts;

/** A Samba instance's [global] section with every state directory under `dir`, for lab areas that run Samba. */
export function sambaGlobal(dir: string, names: { workgroup: string; netbiosName: string; serverString: string }, extra: string[]): string[] {
  return [
    '[global]',
    `  workgroup = ${names.workgroup}`,
    `  netbios name = ${names.netbiosName}`,
    `  server string = ${names.serverString}`,
    '  server role = standalone server',
    '  bind interfaces only = yes',
    `  private dir = ${join(dir, 'private')}`,
    `  lock directory = ${join(dir, 'lock')}`,
    `  state directory = ${join(dir, 'state')}`,
    `  cache directory = ${join(dir, 'cache')}`,
    `  pid directory = ${join(dir, 'pid')}`,
    `  ncalrpc dir = ${join(dir, 'ncalrpc')}`,
    `  passdb backend = tdbsam:${join(dir, 'private', 'passdb.tdb')}`,
    '  logging = file',
    `  log file = ${join(dir, 'log.%m')}`,
    '  load printers = no',
    '  printing = bsd',
    '  printcap name = /dev/null',
    '  disable spoolss = yes',
    ...extra,
  ];
}

/** The state directories sambaGlobal names. */
export function makeSambaDirs(dir: string): void {
  for (const d of ['private', 'lock', 'state', 'cache', 'pid', 'ncalrpc']) mkdirSync(join(dir, d), { recursive: true });
  chmodSync(join(dir, 'private'), 0o700);
}

const smbd: LabServer = {
  name: 'smbd',
  area: 'directory-samba',
  packages: ['samba', 'smbclient'],
  ports: [p.smb, p.netbiosSession, p.epmapper],
  async start(ctx) {
    makeSambaDirs(ctx.dir);
    mkdirSync(S.share.path, { recursive: true });
    const conf = ctx.writeFile(
      'smb.conf',
      [
        ...sambaGlobal(ctx.dir, S, [
          '  interfaces = 127.0.0.1',
          // SMB on a port of this block; the NetBIOS session service on 139 itself, the one port where smbd sends a
          // RETARGET SESSION RESPONSE (for the called name sambaFacts.retarget names).
          `  smb ports = ${p.smb} ${p.netbiosSession}`,
          `  netbios retarget:${S.retarget.calledName}#20 = 127.0.0.1:${p.smb}`,
          // samba-dcerpcd runs as its own daemon here, not started on demand by smbd.
          '  rpc start on demand helpers = no',
          `  rpc server dynamic port range = ${p.rpcDynamicMin}-${p.rpcDynamicMax}`,
          '  ntlm auth = ntlmv2-only',
          '  map to guest = never',
          '  allow dcerpc auth level connect = yes',
        ]),
        `[${S.share.name}]`,
        `  path = ${S.share.path}`,
        `  valid users = ${S.user.name}`,
        '  read only = no',
        '',
      ].join('\n'),
    );
    const exists = await ctx.exec('getent', ['passwd', S.user.name]).then(
      () => true,
      () => false,
    );
    if (!exists) await ctx.exec('useradd', ['--no-create-home', '--home-dir', S.share.path, '--shell', '/usr/sbin/nologin', '--comment', 'Portolan SMB lab', S.user.name]);
    await ctx.exec('chown', [S.user.name, S.share.path]);
    ctx.writeFile(join('harbour', S.share.file), S.share.text);
    await ctx.exec('pdbedit', ['--configfile', conf, '-a', '-t', '-u', S.user.name], { input: `${S.user.password}\n${S.user.password}\n` });
    await ctx.spawnDaemon({ label: 'samba-dcerpcd', command: '/usr/libexec/samba/samba-dcerpcd', args: ['--foreground', '--libexec-rpcds', `--configfile=${conf}`, '--debug-stdout', '--debuglevel=1'] });
    await ctx.spawnDaemon({ command: '/usr/sbin/smbd', args: ['--foreground', '--no-process-group', `--configfile=${conf}`, '--debug-stdout', '--debuglevel=1'] });
  },
  async health() {
    // A NetBIOS session request (RFC 1002 §4.3.2) for *SMBSERVER: a positive response (0x82) means smbd is up.
    const got = await exchange(p.netbiosSession, { send: sessionRequest({ name: '*SMBSERVER', suffix: 0x20 }, { name: 'PORTOLAN-HEALTH', suffix: 0 }), until: (b) => b.length >= 4 });
    if (got[0] !== 0x82) throw new Error(`smbd: session request answered ${got.toString('hex') || 'nothing'}`);
    // An RPC bind to the endpoint mapper (DCE 1.1 ch. 12): a bind_ack (packet type 12) means samba-dcerpcd is up.
    const bind = bindPdu({ callId: 1, contexts: [{ id: 0, abstract: EPMAPPER, transfer: [NDR] }] });
    const ack = await exchange(p.epmapper, { send: bind, until: (b) => b.length >= 10 && b.length >= b.readUInt16LE(8) });
    if (ack[2] !== 12) throw new Error(`samba-dcerpcd: the endpoint mapper answered a bind with ${ack.toString('hex').slice(0, 40) || 'nothing'}`);
  },
};

/** Two namespaces joined by a veth pair; nmbd's side gets `server`, the client's side `client`. Idempotent. */
async function ensureNbnsNamespaces(ctx: Pick<LabContext, 'exec'>): Promise<void> {
  const n = S.nbns;
  const list = await ctx.exec('ip', ['netns', 'list']);
  for (const ns of [n.serverNetns, n.clientNetns]) {
    if (!list.split('\n').some((l) => l.split(' ')[0] === ns)) await ctx.exec('ip', ['netns', 'add', ns]);
    await ctx.exec('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
  }
  const links = await ctx.exec('ip', ['netns', 'exec', n.serverNetns, 'ip', '-br', 'link']);
  if (!links.includes('pt-nbns0')) {
    await ctx.exec('ip', ['link', 'add', 'pt-nbns0', 'netns', n.serverNetns, 'type', 'veth', 'peer', 'name', 'pt-nbns1', 'netns', n.clientNetns]);
    await ctx.exec('ip', ['netns', 'exec', n.serverNetns, 'ip', 'addr', 'add', `${n.server}/30`, 'dev', 'pt-nbns0']);
    await ctx.exec('ip', ['netns', 'exec', n.clientNetns, 'ip', 'addr', 'add', `${n.client}/30`, 'dev', 'pt-nbns1']);
  }
  for (const [ns, dev] of [[n.serverNetns, 'pt-nbns0'], [n.clientNetns, 'pt-nbns1']]) await ctx.exec('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', dev, 'up']);
}

/** An NBSTAT query (RFC 1002 §4.2.17) for `*`, sent from the client namespace; prints ok on a NODE STATUS RESPONSE. */
const NBSTAT_PROBE = (server: string) =>
  `const s=require('dgram').createSocket('udp4');s.on('message',m=>{if(m.length>12&&(m[2]&0x80)&&m.readUInt16BE(6)===1){console.log('ok');process.exit(0)}});const q=Buffer.from('4e420000000100000000000020434b4141414141414141414141414141414141414141414141414141414141410000210001','hex');s.bind(0,()=>s.send(q,137,'${server}'));setTimeout(()=>process.exit(1),2500)`;

const nmbd: LabServer = {
  name: 'nmbd',
  area: 'directory-samba',
  packages: ['samba', 'iproute2'],
  ports: [],
  async start(ctx) {
    await ensureNbnsNamespaces(ctx);
    makeSambaDirs(ctx.dir);
    const conf = ctx.writeFile('smb.conf', [...sambaGlobal(ctx.dir, S, [`  interfaces = ${S.nbns.server}/30`, '  disable netbios = no', '  local master = yes', '  preferred master = yes', '  os level = 20']), ''].join('\n'));
    await ctx.spawnDaemon({ command: '/usr/sbin/ip', args: ['netns', 'exec', S.nbns.serverNetns, '/usr/sbin/nmbd', '--foreground', '--no-process-group', `--configfile=${conf}`, '--debug-stdout', '--debuglevel=1'] });
  },
  async health(ctx) {
    const out = await ctx.exec('ip', ['netns', 'exec', S.nbns.clientNetns, process.execPath, '-e', NBSTAT_PROBE(S.nbns.server)]);
    if (!out.includes('ok')) throw new Error('nmbd: no NODE STATUS RESPONSE from the client namespace');
  },
};

export const servers: LabServer[] = [smbd, nmbd];
