// The lab's fixed loopback ports, typed from ports.json (one block per area).
import portsJson from './ports.json' with { type: 'json' };

export type LabPorts = Omit<typeof portsJson, '_comment'>;

const { _comment: _ignored, ...areaPorts } = portsJson;

export const ports: LabPorts = areaPorts;

/** Every port of ports.json, named `area.key`. */
function listed(all: LabPorts): { name: string; port: number }[] {
  return Object.entries(all).flatMap(([area, block]) => Object.entries(block as Record<string, number>).map(([key, port]) => ({ name: `${area}.${key}`, port })));
}

/** Every port number listed twice across ports.json, with the keys that claim it. */
export function duplicatePorts(all: LabPorts = ports): string[] {
  const owners = new Map<number, string[]>();
  for (const { name, port } of listed(all)) owners.set(port, [...(owners.get(port) ?? []), name]);
  return [...owners].filter(([, names]) => names.length > 1).map(([port, names]) => `${port}: ${names.join(', ')}`);
}

/**
 * Every port inside [low, high], the range the kernel hands out as local ports of outgoing connections: a server
 * there cannot listen while any client holds the same port, and the lab opens many connections as it starts.
 */
export function portsInRange(low: number, high: number, all: LabPorts = ports): string[] {
  return listed(all)
    .filter(({ port }) => port >= low && port <= high)
    .map(({ name, port }) => `${name} (${port})`);
}
