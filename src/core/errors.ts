// The closed outcome list (ARCHITECTURE.md "Errors"): every operation ends in exactly one of these.

export const OUTCOMES = [
  'ok',
  'refused',
  'connect_timeout',
  'io_timeout',
  'closed',
  'tls_error',
  'protocol_error',
  'server_error',
  'auth_failed',
  'untrusted_peer',
  'invalid_input',
  'target_blocked',
  'unsupported_runtime',
  'rate_limited',
] as const;

export type Outcome = (typeof OUTCOMES)[number];
export type FailureCode = Exclude<Outcome, 'ok'>;

/** The HTTP status an outcome answers with. */
export function httpStatus(code: Outcome): number {
  switch (code) {
    case 'ok':
      return 200;
    case 'invalid_input':
      return 400;
    case 'target_blocked':
      return 403;
    case 'rate_limited':
      return 429;
    case 'unsupported_runtime':
      return 501;
    case 'connect_timeout':
    case 'io_timeout':
      return 504;
    default:
      return 502;
  }
}

export interface FieldIssue {
  field: string;
  message: string;
}

/** The one base class: every failure carries an outcome code. */
export class PortolanError extends Error {
  readonly code: FailureCode;
  readonly detail?: Record<string, unknown>;

  constructor(code: FailureCode, message: string, detail?: Record<string, unknown>) {
    super(message);
    this.name = 'PortolanError';
    this.code = code;
    this.detail = detail;
  }

  toJSON(): { code: FailureCode; message: string; detail?: Record<string, unknown> } {
    return this.detail === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, detail: this.detail };
  }
}

/** Bytes that do not follow the protocol: what every decoder throws. */
export class ProtocolError extends PortolanError {
  constructor(message: string, detail?: Record<string, unknown>) {
    super('protocol_error', message, detail);
    this.name = 'ProtocolError';
  }
}

/** The server answered, with an error of its own (SQLSTATE, SMTP 5xx, TFTP error...). */
export class ServerError extends PortolanError {
  constructor(message: string, detail?: Record<string, unknown>) {
    super('server_error', message, detail);
    this.name = 'ServerError';
  }
}

export class AuthError extends PortolanError {
  constructor(message: string, detail?: Record<string, unknown>) {
    super('auth_failed', message, detail);
    this.name = 'AuthError';
  }
}

export class InvalidInput extends PortolanError {
  constructor(issues: FieldIssue[]) {
    const message = issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join('; ');
    super('invalid_input', message || 'invalid input', { issues });
    this.name = 'InvalidInput';
  }

  static field(field: string, message: string): InvalidInput {
    return new InvalidInput([{ field, message }]);
  }
}

export class TargetBlocked extends PortolanError {
  constructor(message: string, detail?: Record<string, unknown>) {
    super('target_blocked', message, detail);
    this.name = 'TargetBlocked';
  }
}

export class UnsupportedRuntime extends PortolanError {
  constructor(message: string, detail: { runtime: string; missing: string[]; reasons: string[]; alternatives: string[] }) {
    super('unsupported_runtime', message, detail);
    this.name = 'UnsupportedRuntime';
  }
}

/** Error messages of the runtimes' socket layers, mapped to outcomes. Order matters: first match wins. */
const MESSAGE_RULES: ReadonlyArray<[RegExp, FailureCode]> = [
  [/ECONNREFUSED|connection refused|refused/i, 'refused'],
  [/ETIMEDOUT|timed? ?out/i, 'connect_timeout'],
  [/EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|unreachable|no such host|dns/i, 'refused'],
  [/certificate|TLS|SSL|handshake/i, 'tls_error'],
  [/ECONNRESET|EPIPE|closed|reset|Network connection lost|stream was cancelled|disconnected/i, 'closed'],
];

/** Maps anything thrown to a PortolanError with an outcome code. */
export function classify(err: unknown): PortolanError {
  if (err instanceof PortolanError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const name = err instanceof Error ? err.name : '';
  if (name === 'TimeoutError') return new PortolanError('io_timeout', message || 'timed out');
  if (name === 'AbortError') return new PortolanError('io_timeout', 'operation aborted');
  for (const [pattern, code] of MESSAGE_RULES) {
    if (pattern.test(message)) return new PortolanError(code, message);
  }
  return new PortolanError('protocol_error', message || 'unexpected failure');
}
