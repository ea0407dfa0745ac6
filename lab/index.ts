// What tests import from the lab: its ports, its state dir, the test CA, and ensureLab().
import { startLab, tlsPaths } from './runner.ts';

export { ports, type LabPorts } from './ports.ts';
export { labDir, tlsPaths, LabError } from './runner.ts';
export type { LabServer, LabContext, TlsPaths } from './server.ts';

export const caPath = tlsPaths.caPath;
export const certPath = tlsPaths.certPath;
export const keyPath = tlsPaths.keyPath;

const started = new Map<string, Promise<void>>();

/**
 * Makes sure the lab servers of the given areas (all areas when empty) are up and healthy,
 * installing and starting what is missing. Cheap when they already are; memoised per process.
 */
export function ensureLab(areas: readonly string[] = [], options: { quiet?: boolean } = {}): Promise<void> {
  const key = [...areas].sort().join(',');
  let pending = started.get(key);
  if (pending === undefined) {
    const log = options.quiet ? () => {} : (message: string) => console.error(`[lab] ${message}`);
    pending = startLab(areas, { log });
    pending.catch(() => started.delete(key));
    started.set(key, pending);
  }
  return pending;
}
