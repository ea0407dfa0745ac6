// The registry loaded once from /api/protocols and shared by every page.
import { createContext, useContext } from 'react';
import type { OperationInfo, ProtocolInfo, Registry } from './api.ts';

export const RegistryContext = createContext<Registry>({ runtime: 'unknown', protocols: [] });

export function useRegistry(): Registry {
  return useContext(RegistryContext);
}

export function findOperation(reg: Registry, protocol: string, operation?: string): { protocol?: ProtocolInfo; operation?: OperationInfo } {
  const p = reg.protocols.find((x) => x.id === protocol);
  if (!p) return {};
  // A protocol with a terminal opens on it (SSH, Telnet): that is what its users come for.
  const terminal = p.operations.find((o) => o.name === 'terminal' && o.kind === 'session');
  const name = operation ?? terminal?.name ?? p.defaultOperation ?? p.operations[0]?.name;
  return { protocol: p, operation: p.operations.find((o) => o.name === name) };
}

/** Is this operation an interactive session (WebSocket)? */
export function isSession(op: OperationInfo): boolean {
  return op.kind === 'session';
}

/** Runs on the runtime serving this page (the API says so per operation). */
export function runsHere(reg: Registry, op: OperationInfo): boolean {
  if (op.availableHere !== undefined) return op.availableHere;
  return op.support[reg.runtime]?.supported ?? true;
}
