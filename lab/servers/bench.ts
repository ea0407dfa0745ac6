// Tools the benchmarks compare against; nothing listens until a benchmark starts it.
import { existsSync } from 'node:fs';
import type { LabServer } from '../server.ts';

const websockify: LabServer = {
  name: 'websockify',
  area: 'bench',
  packages: ['websockify'],
  ports: [],
  async start() {},
  async health() {
    // Healthy means installed: that is what makes the runner install it.
    if (!existsSync('/usr/bin/websockify')) throw new Error('websockify is not installed');
  },
};

export const servers: LabServer[] = [websockify];
