// The lab's fixed loopback ports, typed from ports.json (one block per area).
import portsJson from './ports.json' with { type: 'json' };

export type LabPorts = Omit<typeof portsJson, '_comment'>;

const { _comment: _ignored, ...areaPorts } = portsJson;

export const ports: LabPorts = areaPorts;

/** Every port number listed twice across ports.json, with the keys that claim it. */
export function duplicatePorts(all: LabPorts = ports): string[] {
  const owners = new Map<number, string[]>();
  for (const [area, block] of Object.entries(all)) {
    for (const [key, port] of Object.entries(block as Record<string, number>)) {
      owners.set(port, [...(owners.get(port) ?? []), `${area}.${key}`]);
    }
  }
  return [...owners].filter(([, keys]) => keys.length > 1).map(([port, keys]) => `${port}: ${keys.join(', ')}`);
}

/**
 * Every port inside [low, high], the range the kernel hands out as local ports of outgoing connections: a server
 * there cannot listen while any client holds the same port, and the lab opens many connections as it starts.
 */
export function portsInRange(low: number, high: number, all: LabPorts = ports): string[] {
  return Object.entries(all).flatMap(([area, block]) =>
    Object.entries(block as Record<string, number>)
      .filter(([, port]) => port >= low && port <= high)
      .map(([key, port]) => `${area}.${key} (${port})`),
  );
}
