// What `identify` is measured against: nmap from Debian (service detection, `nmap -sV`), run on the whole lab's TCP
// ports by src/protocols/identify/identify.lab.test.ts and bench/identify.ts. Nothing listens: healthy means installed.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { LabServer } from '../server.ts';

/** Where Debian's nmap package puts the binary. */
export const nmapPath = '/usr/bin/nmap';

const nmap: LabServer = {
  name: 'nmap',
  area: 'identify',
  packages: ['nmap'],
  ports: [],
  async start() {},
  async health(ctx) {
    if (!existsSync(nmapPath)) throw new Error(`${nmapPath} is missing (Debian package nmap)`);
    const version = await ctx.exec(nmapPath, ['--version']);
    if (!/^Nmap version \d/m.test(version)) throw new Error(`${nmapPath} --version said ${JSON.stringify(version.trim().slice(0, 200))}`);
  },
};

export const servers: LabServer[] = [nmap];

export interface NmapService {
  /** As nmap prints it: `ssl/imap`, `http-proxy`; `?` after a name nmap only took from its port table. */
  service: string;
  /** nmap's own name (lower case) when it probed it, with its tunnel (`ssl/`); 'unknown' when it only guessed from the port number. */
  probed: string;
  product: string;
}

/** `nmap -sV --version-intensity 7` on TCP ports of 127.0.0.1, read from its XML output; with the time it took. */
export function nmapServices(portList: readonly number[]): Promise<{ byPort: Map<number, NmapService>; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    execFile(nmapPath, ['-sV', '--version-intensity', '7', '-Pn', '-n', '-p', portList.join(','), '-oX', '-', '127.0.0.1'], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => {
      if (err) return reject(err);
      const byPort = new Map<number, NmapService>();
      for (const m of stdout.matchAll(/<port protocol="tcp" portid="(\d+)"><state state="(\w+)"[^>]*\/>(?:<service ([^>]*?)\/?>)?/g)) {
        const attrs = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((a) => [a[1], a[2]]));
        const name = (attrs.name ?? '').toLowerCase();
        const tunnel = attrs.tunnel ? `${attrs.tunnel}/` : '';
        byPort.set(Number(m[1]), {
          service: `${tunnel}${name}${attrs.method === 'table' ? '?' : ''}`,
          probed: attrs.method === 'probed' && name ? `${tunnel}${name}` : 'unknown',
          product: [attrs.product, attrs.version].filter(Boolean).join(' '),
        });
      }
      resolve({ byPort, ms: Date.now() - t0 });
    });
  });
}
