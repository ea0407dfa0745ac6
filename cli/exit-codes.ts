// The CLI's exit status: one per outcome of the closed list (src/core/errors.ts OUTCOMES).
import type { Outcome } from '../src/core/errors.ts';

/** 0 is success, 1 a failure of the CLI itself, 2 bad usage; each failure outcome has its own code from 10. */
export const EXIT_CODES: Record<Outcome, number> = {
  ok: 0,
  invalid_input: 2,
  refused: 10,
  connect_timeout: 11,
  io_timeout: 12,
  closed: 13,
  tls_error: 14,
  protocol_error: 15,
  server_error: 16,
  auth_failed: 17,
  untrusted_peer: 18,
  target_blocked: 19,
  unsupported_runtime: 20,
  rate_limited: 21,
};

export const EXIT_INTERNAL = 1;

export function exitCodeOf(code: string): number {
  return (EXIT_CODES as Record<string, number>)[code] ?? EXIT_INTERNAL;
}
