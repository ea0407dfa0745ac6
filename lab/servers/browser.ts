// The browser the end-to-end UI tests drive: Debian's chromium, run headless by playwright-core (no daemon, no port).
import { existsSync } from 'node:fs';
import type { LabServer } from '../server.ts';

/** Where Debian's chromium package puts its launcher. */
export const chromiumPath = '/usr/bin/chromium';

const chromium: LabServer = {
  name: 'chromium',
  area: 'browser',
  packages: ['chromium'],
  ports: [],
  async start() {
    // Nothing to start: each test launches its own headless browser.
  },
  async health(ctx) {
    if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing (Debian package chromium)`);
    const version = await ctx.exec(chromiumPath, ['--version']);
    if (!/chromium/i.test(version)) throw new Error(`${chromiumPath} --version said ${JSON.stringify(version.trim())}`);
  },
};

export const servers: LabServer[] = [chromium];
