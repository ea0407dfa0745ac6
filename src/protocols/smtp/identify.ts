import { type Identification, firstLine, high, medium } from '../../core/identify.ts';

export const identification: Identification = {
  // RFC 5321 4.3.1: 220 and the server's name; most servers name their software or ESMTP. Any other 220 line is
  // SMTP's at medium (FTP, DICT and SNPP greet with 220 too, and name themselves): identify asks LHLO to tell LMTP.
  greeting(_b, text) {
    const first = firstLine(text);
    if (!/^220[ -]/.test(first)) return null;
    const m = /\b(Postfix|Exim|Sendmail|OpenSMTPD)\b(?:[ /]([\d.]+))?/i.exec(first);
    if (m) return high('smtp', { product: m[1], version: m[2], info: first.slice(4, 120) });
    if (/\bE?SMTP\b/.test(first)) return high('smtp', { info: first.slice(4, 120) });
    return medium('smtp', { ...(/\bDovecot\b/.test(first) ? { product: 'Dovecot' } : {}), info: first.slice(4, 120) });
  },
};

export const lmtpIdentification: Identification = {
  // RFC 2033: an LMTP server greets with 220 as SMTP does; one that names LMTP is named here, others after LHLO.
  greeting(_b, text) {
    const first = firstLine(text);
    return /^220[ -]/.test(first) && /\bLMTP\b/.test(first) ? high('lmtp', { info: first.slice(4, 120) }) : null;
  },
};
