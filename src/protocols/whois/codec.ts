// WHOIS, RFC 3912: a query line, free text back. Referrals are conventions of the registries, not the RFC.

export interface Referral {
  host: string;
  port: number;
}

const PATTERNS: RegExp[] = [
  /^\s*refer:\s*(\S+)/im, // IANA
  /^\s*ReferralServer:\s*(?:r?whois:\/\/)?(\S+)/im, // ARIN
  /^\s*Registrar WHOIS Server:\s*(\S+)/im, // gTLD registries (Verisign, PIR...)
  /^\s*Whois Server:\s*(\S+)/im,
];

/** The next server a response points to, or null. */
export function findReferral(text: string): Referral | null {
  for (const re of PATTERNS) {
    const m = re.exec(text);
    if (!m) continue;
    let target = m[1].replace(/\/+$/, '').replace(/^whois:\/\//i, '');
    if (/rwhois:\/\//i.test(m[0])) continue; // RWhois is another protocol
    let port = 43;
    const hp = /^([A-Za-z0-9.-]+)(?::(\d+))?$/.exec(target);
    if (!hp) continue;
    target = hp[1];
    if (hp[2]) port = Number(hp[2]);
    if (!target.includes('.') || port < 1 || port > 65535) continue;
    return { host: target.toLowerCase(), port };
  }
  return null;
}

/** The query line a registry expects: a few want flags to return the record rather than a summary. */
export function formatQuery(server: string, query: string): string {
  const s = server.toLowerCase();
  if (s === 'whois.arin.net' && /^[\d.:a-f]+(\/\d+)?$/i.test(query)) return `n + ${query}`;
  if (s === 'whois.denic.de') return `-T dn ${query}`;
  if (s === 'whois.verisign-grs.com' && !/\s/.test(query)) return `domain ${query}`;
  return query;
}
