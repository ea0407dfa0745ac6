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
