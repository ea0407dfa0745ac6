// Routing daemons of the network edge: FRR bgpd on 127.0.0.1 with the prober as a dynamic neighbour
// (any address in 127.0.0.0/8, any AS but its own) announcing a few static routes; FRR ldpd in a network
// namespace of its own; Open vSwitch.
import { chownSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ports } from '../ports.ts';
import { exchange } from '../probe.ts';
import type { LabServer } from '../server.ts';

const p = ports['edge-routing'];

/** What the routing lab announces, for tests to assert against. */
export const routingFacts = {
  bgp: {
    port: p.bgp,
    as: 65001,
    routerId: '192.0.2.1',
    hostname: 'lab-bgpd',
    holdTime: 180,
    /** Announced to every neighbour: IPv4 with communities and local preference set by route-map, one plain, one IPv6. */
    routes: {
      tagged: { prefix: '198.51.100.0/24', communities: ['65001:100', '65001:200'], largeCommunities: ['65001:1:2'] },
      plain: { prefix: '203.0.113.0/25' },
      ipv6: { prefix: '2001:db8:100::/48' },
    },
    version: '8.4.4',
  },
  ldp: {
    /**
     * ldpd ignores Hellos from loopback addresses and refuses a loopback router ID or transport address, so
     * it runs in `routerNetns`, joined to `clientNetns` by a veth pair: `router` ↔ `client`. It accepts
     * targeted Hellos; a session from `client` needs one first (the client's address is the higher one, so
     * the client takes the active role). `relayPort` on 127.0.0.1 forwards TCP (socat) to ldpd from the
     * client namespace, for workerd, which reaches only loopback.
     */
    routerNetns: 'portolan-ldp-router',
    clientNetns: 'portolan-ldp-client',
    router: '198.18.46.1',
    client: '198.18.46.2',
    lsrId: '198.18.46.1',
    /** A /32 on ldpd's loopback interface: advertised as an address and a FEC. */
    loopback: '198.18.47.1',
    relayPort: p.ldpRelay,
    version: '8.4.4',
  },
  openflow: {
    /** Bridge ptbr0: every version 1.0–1.5, datapath id 00:00:00:00:00:00:00:a1, dummy ports p1 and p2. */
    port: p.openflow,
    datapathId: '00:00:00:00:00:00:00:a1',
    ports: ['p1', 'p2'],
    /** Bridge ptbr1: OpenFlow 1.0 only, datapath id …:b1. */
    port10: p.openflow10,
    datapathId10: '00:00:00:00:00:00:00:b1',
    version: '3.1.0',
  },
} as const;

const bgpd: LabServer = {
  name: 'frr-bgpd',
  area: 'edge-routing',
  packages: ['frr'],
  ports: [p.bgp],
  async start(ctx) {
    const f = routingFacts.bgp;
    const conf = ctx.writeFile(
      'bgpd.conf',
      [
        `hostname ${f.hostname}`,
        'route-map TAG permit 10',
        ` set community ${f.routes.tagged.communities.join(' ')}`,
        ` set large-community ${f.routes.tagged.largeCommunities.join(' ')}`,
        'exit',
        `router bgp ${f.as}`,
        ` bgp router-id ${f.routerId}`,
        ' no bgp ebgp-requires-policy',
        ' no bgp network import-check',
        ' no bgp default ipv4-unicast',
        ` timers bgp 60 ${f.holdTime}`,
        ' neighbor PROBERS peer-group',
        ' neighbor PROBERS remote-as external',
        ' bgp listen range 127.0.0.0/8 peer-group PROBERS',
        ' address-family ipv4 unicast',
        `  network ${f.routes.tagged.prefix} route-map TAG`,
        `  network ${f.routes.plain.prefix}`,
        '  neighbor PROBERS activate',
        '  neighbor PROBERS addpath-tx-all-paths',
        ' exit-address-family',
        ' address-family ipv6 unicast',
        `  network ${f.routes.ipv6.prefix}`,
        '  neighbor PROBERS activate',
        ' exit-address-family',
        'exit',
        '',
      ].join('\n'),
    );
    const [uid, gid] = [Number((await ctx.exec('id', ['-u', 'frr'])).trim()), Number((await ctx.exec('id', ['-g', 'frr'])).trim())];
    for (const path of [ctx.dir, conf]) chownSync(path, uid, gid);
    // -Z: no zebra (nothing to install in a kernel table); -n: no kernel routes; its own vty socket dir.
    await ctx.spawnDaemon({ command: '/usr/lib/frr/bgpd', args: ['-f', conf, '-i', join(ctx.dir, 'bgpd.pid'), '-Z', '-n', '-p', String(p.bgp), '-l', '127.0.0.1', '--vty_socket', ctx.dir] });
  },
  async health() {
    // An OPEN from AS 65535 (hold 90, id 192.0.2.254, no capabilities): bgpd answers with its own OPEN (type 1).
    const open = Buffer.concat([Buffer.alloc(16, 0xff), Buffer.from('001d0104ffff005ac00002fe00', 'hex')]);
    const got = await exchange(p.bgp, { send: open, until: (b) => b.length >= 19 });
    if (got[18] !== 1) throw new Error(`bgpd: answered ${got.subarray(0, 24).toString('hex')} to an OPEN`);
  },
};

/** A targeted Hello, then an Initialization for ldpd's LSR ID: ok when ldpd answers with its Initialization (0x0200). */
const LDP_PROBE = (router: string) =>
  `const d=require('dgram').createSocket('udp4'),n=require('net');const id=Buffer.from([192,0,2,254,0,0]);` +
  `const pdu=(m)=>Buffer.concat([Buffer.from([0,1,0,6+m.length]),id,m]);` +
  `const hello=pdu(Buffer.from('0100000c00000001040000040010c000','hex'));` +
  `const init=pdu(Buffer.concat([Buffer.from('02000016000000020500000e000100b400000000','hex'),Buffer.from('${router}'.split('.').map(Number)),Buffer.from([0,0])]));` +
  `d.send(hello,646,'${router}',()=>{d.close();const s=n.connect(646,'${router}',()=>s.write(init));s.on('data',b=>{if(b.readUInt16BE(10)===0x200){console.log('ok');process.exit(0)}process.exit(1)})});setTimeout(()=>process.exit(1),8000)`;

const ldpd: LabServer = {
  name: 'frr-ldpd',
  area: 'edge-routing',
  packages: ['frr', 'iproute2', 'socat'],
  ports: [p.ldpRelay],
  async start(ctx) {
    const f = routingFacts.ldp;
    const inNs = (ns: string, ...args: string[]) => ctx.exec('ip', ['netns', 'exec', ns, ...args]);
    for (const ns of [f.routerNetns, f.clientNetns]) {
      const list = await ctx.exec('ip', ['netns', 'list']);
      if (!list.split('\n').some((l) => l.split(' ')[0] === ns)) await ctx.exec('ip', ['netns', 'add', ns]);
      await inNs(ns, 'ip', 'link', 'set', 'lo', 'up');
    }
    if (!(await inNs(f.routerNetns, 'ip', '-br', 'link')).includes('pt-ldp0')) {
      await ctx.exec('ip', ['link', 'add', 'pt-ldp0', 'netns', f.routerNetns, 'type', 'veth', 'peer', 'name', 'pt-ldp1', 'netns', f.clientNetns]);
      await inNs(f.routerNetns, 'ip', 'addr', 'add', `${f.router}/30`, 'dev', 'pt-ldp0');
      await inNs(f.clientNetns, 'ip', 'addr', 'add', `${f.client}/30`, 'dev', 'pt-ldp1');
      await inNs(f.routerNetns, 'ip', 'addr', 'add', `${f.loopback}/32`, 'dev', 'lo');
    }
    await inNs(f.routerNetns, 'ip', 'link', 'set', 'pt-ldp0', 'up');
    await inNs(f.clientNetns, 'ip', 'link', 'set', 'pt-ldp1', 'up');
    const zebra = ctx.writeFile('zebra.conf', 'hostname lab-ldp-zebra\n');
    const ldpConf = ctx.writeFile(
      'ldpd.conf',
      ['hostname lab-ldpd', 'mpls ldp', ` router-id ${f.lsrId}`, ' address-family ipv4', `  discovery transport-address ${f.router}`, '  discovery targeted-hello accept', ' exit-address-family', 'exit', ''].join('\n'),
    );
    const [uid, gid] = [Number((await ctx.exec('id', ['-u', 'frr'])).trim()), Number((await ctx.exec('id', ['-g', 'frr'])).trim())];
    for (const path of [ctx.dir, zebra, ldpConf]) chownSync(path, uid, gid);
    // Their own zebra socket, vty and control socket directories; no vty TCP port (-P 0).
    const common = ['-z', join(ctx.dir, 'zserv.api'), '--vty_socket', ctx.dir, '-P', '0'];
    await ctx.spawnDaemon({ label: 'zebra', command: '/usr/sbin/ip', args: ['netns', 'exec', f.routerNetns, '/usr/lib/frr/zebra', '-f', zebra, '-i', join(ctx.dir, 'zebra.pid'), ...common] });
    for (let i = 0; i < 50 && !existsSync(join(ctx.dir, 'zserv.api')); i++) await new Promise((r) => setTimeout(r, 100));
    await ctx.spawnDaemon({ label: 'ldpd', command: '/usr/sbin/ip', args: ['netns', 'exec', f.routerNetns, '/usr/lib/frr/ldpd', '-f', ldpConf, '-i', join(ctx.dir, 'ldpd.pid'), '--ctl_socket', ctx.dir, ...common] });
    await ctx.spawnDaemon({
      label: 'relay',
      command: '/usr/bin/socat',
      args: [`TCP-LISTEN:${f.relayPort},bind=127.0.0.1,reuseaddr,fork`, `EXEC:ip netns exec ${f.clientNetns} socat STDIO TCP\\:${f.router}\\:646`],
    });
  },
  async health(ctx) {
    const f = routingFacts.ldp;
    const out = await ctx.exec('ip', ['netns', 'exec', f.clientNetns, process.execPath, '-e', LDP_PROBE(f.router)]).catch(() => '');
    if (!out.includes('ok')) throw new Error('frr ldpd: no Initialization in answer to a targeted Hello and an Initialization from the client namespace');
  },
};

// Open vSwitch in userspace (netdev datapath, dummy ports: no kernel module, no tap devices), its own
// database and run dir, each bridge with a passive OpenFlow listener on 127.0.0.1.
const ovs: LabServer = {
  name: 'openvswitch',
  area: 'edge-routing',
  packages: ['openvswitch-switch'],
  ports: [p.openflow, p.openflow10],
  async start(ctx) {
    const f = routingFacts.openflow;
    const env = { OVS_RUNDIR: ctx.dir, OVS_LOGDIR: ctx.dir, OVS_DBDIR: ctx.dir, OVS_SYSCONFDIR: ctx.dir };
    const db = join(ctx.dir, 'conf.db');
    rmSync(db, { force: true });
    await ctx.exec('ovsdb-tool', ['create', db, '/usr/share/openvswitch/vswitch.ovsschema']);
    const sock = join(ctx.dir, 'db.sock');
    await ctx.spawnDaemon({ label: 'ovsdb-server', command: '/usr/sbin/ovsdb-server', args: [db, `--remote=punix:${sock}`, `--pidfile=${join(ctx.dir, 'ovsdb-server.pid')}`, `--unixctl=${join(ctx.dir, 'ovsdb-server.ctl')}`], env });
    for (let i = 0; i < 50 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
    const vsctl = (...args: string[]) => ctx.exec('ovs-vsctl', [`--db=unix:${sock}`, '--no-wait', ...args]);
    await vsctl('init');
    const all = 'OpenFlow10,OpenFlow11,OpenFlow12,OpenFlow13,OpenFlow14,OpenFlow15';
    const bridge = (name: string, dpid: string, protocols: string, port: number, ifaces: string[]) => [
      '--', 'add-br', name,
      '--', 'set', 'bridge', name, 'datapath_type=netdev', `protocols=${protocols}`, `other-config:datapath-id=${dpid.replace(/:/g, '')}`, 'fail-mode=secure',
      '--', 'set-controller', name, `ptcp:${port}:127.0.0.1`,
      ...ifaces.flatMap((iface, i) => ['--', 'add-port', name, iface, '--', 'set', 'interface', iface, 'type=dummy', `ofport_request=${i + 1}`]),
    ];
    await vsctl(...bridge('ptbr0', f.datapathId, all, p.openflow, [...f.ports]), ...bridge('ptbr1', f.datapathId10, 'OpenFlow10', p.openflow10, ['q1']));
    await ctx.spawnDaemon({
      label: 'ovs-vswitchd',
      command: '/usr/sbin/ovs-vswitchd',
      args: [`unix:${sock}`, '--enable-dummy=override', '--disable-system', `--pidfile=${join(ctx.dir, 'ovs-vswitchd.pid')}`, `--unixctl=${join(ctx.dir, 'ovs-vswitchd.ctl')}`],
      env,
    });
  },
  async health() {
    // An OpenFlow 1.0 HELLO: the switch answers with its own HELLO (type 0).
    for (const port of [p.openflow, p.openflow10]) {
      const got = await exchange(port, { send: Buffer.from('0100000800000001', 'hex'), until: (b) => b.length >= 8 });
      if (got[1] !== 0) throw new Error(`ovs-vswitchd on ${port}: answered ${got.subarray(0, 8).toString('hex')} to a HELLO`);
    }
  },
};

export const servers: LabServer[] = [bgpd, ldpd, ovs];
