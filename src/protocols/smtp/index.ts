// SMTP, RFC 5321, with Submission (RFC 6409, port 587, STARTTLS RFC 3207) and SMTPS (RFC 8314, port 465) as ports and TLS modes.
import { defineProtocol } from '../../core/protocol.ts';
import { probeOperation, sendOperation } from './operations.ts';
import { identification } from './identify.ts';

export default defineProtocol({
  id: 'smtp',
  title: 'SMTP / Submission / SMTPS',
  category: 'mail',
  summary: 'Probes and sends mail: EHLO capabilities, STARTTLS, AUTH PLAIN/LOGIN/CRAM-MD5, per-recipient results, PIPELINING, BDAT chunks, DSN, SMTPUTF8, MIME messages built from fields (RFC 5321, 6409, 8314).',
  ports: [
    { port: 587, transport: 'tcp', label: 'submission (STARTTLS)' },
    { port: 25, transport: 'tcp', label: 'SMTP relay (refused on Workers)' },
    { port: 465, transport: 'tls', label: 'SMTPS (implicit TLS)' },
  ],
  specs: ['RFC 5321', 'RFC 3207', 'RFC 4954', 'RFC 6409', 'RFC 8314', 'RFC 2920', 'RFC 3030', 'RFC 1870', 'RFC 6152', 'RFC 6531', 'RFC 3461', 'RFC 6533', 'RFC 8689', 'RFC 3463', 'RFC 5322', 'RFC 2045', 'RFC 2047', 'RFC 2231'],
  rating: { stars: 5, reason: 'Probe and send on submission (STARTTLS), SMTPS (implicit) and plain SMTP, lab-tested through workerd against Postfix: EHLO capabilities before/after STARTTLS, AUTH PLAIN/LOGIN/CRAM-MD5/SCRAM-SHA-256 (wrong password is auth_failed with the 535 text), per-recipient RCPT results, PIPELINING (MAIL, RCPTs and DATA in one write, or off on request), DATA with dot-stuffing and BDAT in pipelined chunks, BODY=8BITMIME, SMTPUTF8 to a UTF-8 mailbox, DSN (NOTIFY/RET/ENVID/ORCPT, with the delivery and failure reports read back from the Maildir), MIME messages stored byte for byte, server_error with code and enhanced code. BINARYMIME and REQUIRETLS are sent only to a server that announces them; Postfix offers neither, so the lab checks their refusal before MAIL, not their delivery.' },
  verifiedAgainst: 'Postfix 3.7.11-0+deb12u1 (SASL and LMTP delivery through Dovecot 2.3.19.1+dfsg1-2.1+deb12u7)',
  tls: { implicit: { port: 465 }, starttls: true },
  defaultOperation: 'probe',
  identify: identification,
  operations: {
    probe: probeOperation('smtp'),
    send: sendOperation('smtp'),
  },
});
