// A cookie jar for one request's redirect chain (RFC 6265 5.2-5.4): Set-Cookie stored with its domain, path and
// Secure flag, sent back in Cookie on the hops that match. Expired or Max-Age<=0 cookies are removed.
import type { Origin } from './client.ts';

interface Cookie {
  name: string;
  value: string;
  domain: string;
  hostOnly: boolean;
  path: string;
  secure: boolean;
}

const MAX_COOKIES = 50;

function defaultPath(target: string): string {
  const path = target.split('?')[0];
  if (!path.startsWith('/') || path.lastIndexOf('/') === 0) return '/';
  return path.slice(0, path.lastIndexOf('/'));
}

function domainMatch(host: string, domain: string): boolean {
  return host === domain || (host.endsWith(`.${domain}`) && !/^[\d.]+$/.test(host));
}

export class CookieJar {
  private cookies: Cookie[] = [];

  /** RFC 6265 5.2: every Set-Cookie of a response to `target` on `origin`; returns the names stored. */
  store(origin: Origin, target: string, headers: readonly (readonly [string, string])[]): string[] {
    const stored: string[] = [];
    const host = origin.host.toLowerCase();
    for (const [n, v] of headers) {
      if (n.toLowerCase() !== 'set-cookie') continue;
      const [pair, ...attrs] = v.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const c: Cookie = { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), domain: host, hostOnly: true, path: defaultPath(target), secure: false };
      let expired = false;
      for (const a of attrs) {
        const [k, ...rest] = a.split('=');
        const key = k.trim().toLowerCase();
        const val = rest.join('=').trim();
        if (key === 'domain' && val) {
          const d = val.replace(/^\./, '').toLowerCase();
          // RFC 6265 5.3 step 6: a Domain the host is not inside is ignored, with the cookie.
          if (!domainMatch(host, d)) {
            expired = true;
            break;
          }
          c.domain = d;
          c.hostOnly = false;
        } else if (key === 'path' && val.startsWith('/')) c.path = val;
        else if (key === 'secure') c.secure = true;
        else if (key === 'max-age' && /^-?\d+$/.test(val) && Number(val) <= 0) expired = true;
        else if (key === 'expires' && Date.parse(val) < Date.now()) expired = true;
      }
      this.cookies = this.cookies.filter((x) => !(x.name === c.name && x.domain === c.domain && x.path === c.path));
      if (expired) continue;
      if (this.cookies.length < MAX_COOKIES) this.cookies.push(c);
      stored.push(c.name);
    }
    return stored;
  }

  /** RFC 6265 5.4: the Cookie header value for a request to `target` on `origin`, or undefined when none match. */
  header(origin: Origin, target: string): string | undefined {
    const host = origin.host.toLowerCase();
    const path = target.split('?')[0];
    const match = this.cookies.filter(
      (c) =>
        (c.hostOnly ? host === c.domain : domainMatch(host, c.domain)) &&
        (path === c.path || (path.startsWith(c.path) && (c.path.endsWith('/') || path[c.path.length] === '/'))) &&
        (!c.secure || origin.scheme === 'https'),
    );
    return match.length ? match.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }
}
