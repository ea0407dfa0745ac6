// How the TLS engine fails: a handshake or record failure is `tls_error` naming the alert (RFC 8446 §6) and who
// raised it; a certificate nobody vouches for is `untrusted_peer` naming the reason (RFC 5280 §6 path validation).
import { PortolanError } from '../errors.ts';
import { AlertDescription, alertName } from './wire.ts';

/** A failed handshake or a broken record stream; `alert` is what we sent, or what the server sent when `by` says so. */
export class TlsError extends PortolanError {
  readonly alert: number;

  constructor(alert: number, message: string, detail: Record<string, unknown> = {}) {
    super('tls_error', message, { alert: alertName(alert), ...detail });
    this.name = 'TlsError';
    this.alert = alert;
  }
}

/** Why a certificate chain was refused: a stable word the API and the tests can match. */
export type CertificateProblem =
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_host'
  | 'self_signed'
  | 'unknown_issuer'
  | 'incomplete_chain'
  | 'not_a_ca'
  | 'path_length'
  | 'key_usage'
  | 'extended_key_usage'
  | 'name_constraints'
  | 'weak_signature'
  | 'weak_key'
  | 'bad_signature'
  | 'unsupported_certificate'
  | 'unhandled_critical_extension'
  | 'pin_mismatch'
  | 'no_certificate';

/** The server's certificate is not one we may trust: `untrusted_peer`, with the reason and the leaf's fingerprints. */
export class CertificateError extends PortolanError {
  readonly reason: CertificateProblem;

  constructor(reason: CertificateProblem, message: string, detail: Record<string, unknown> = {}) {
    super('untrusted_peer', message, { reason, ...detail });
    this.name = 'CertificateError';
    this.reason = reason;
  }

  /** The alert a client sends for this refusal (RFC 8446 §6.2). */
  get alert(): number {
    switch (this.reason) {
      case 'expired':
      case 'not_yet_valid':
        return AlertDescription.certificateExpired;
      case 'unknown_issuer':
      case 'self_signed':
      case 'incomplete_chain':
      case 'pin_mismatch':
        return AlertDescription.unknownCa;
      case 'unsupported_certificate':
      case 'weak_key':
        return AlertDescription.unsupportedCertificate;
      default:
        return AlertDescription.badCertificate;
    }
  }
}
