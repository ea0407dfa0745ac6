// What `identify` is measured against: nmap from Debian (service detection, `nmap -sV`), run on the whole lab's TCP
// ports by src/protocols/identify/identify.lab.test.ts and bench/identify.ts. Nothing listens: healthy means installed.
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
