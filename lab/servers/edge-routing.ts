// Routing daemons of the network edge: FRR bgpd on 127.0.0.1 with the prober as a dynamic neighbour
// (any address in 127.0.0.0/8, any AS but its own) announcing a few static routes.
import { chownSync } from 'node:fs';
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

export const servers: LabServer[] = [bgpd];
