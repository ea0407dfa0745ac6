// LMTP, RFC 2033: SMTP's session with LHLO and one DATA reply per recipient; declared here, sharing the SMTP codec and operations.
import { defineProtocol } from '../../core/protocol.ts';
import { probeOperation, sendOperation } from './operations.ts';
import { lmtpIdentification } from './identify.ts';

export default defineProtocol({
  id: 'lmtp',
  title: 'LMTP',
  category: 'mail',
  summary: 'Delivers mail to a mail store over LMTP with a delivery reply per recipient (RFC 2033).',
  ports: [{ port: 24, transport: 'tcp' }],
  specs: ['RFC 2033', 'RFC 5321', 'RFC 3207'],
  rating: { stars: 4, reason: 'LHLO, STARTTLS and delivery with one reply per recipient (refused RCPT and per-recipient DATA replies), lab-tested through workerd against Dovecot LMTP with the delivered bytes checked in the Maildir. No AUTH (LMTP stores rarely offer it).' },
  verifiedAgainst: 'Dovecot 2.3.19.1+dfsg1-2.1+deb12u7 (LMTP)',
  tls: { starttls: true },
  defaultOperation: 'probe',
  identify: lmtpIdentification,
  operations: {
    probe: probeOperation('lmtp'),
    send: sendOperation('lmtp'),
  },
});
