// Search, RFC 4511 §4.5: entries, continuation references and the final result, with the simple paged results
// control (RFC 2696) and referrals (§4.1.10, §4.5.3) that are shown and followed only when asked.
//
// How it works: one SearchRequest per page; entries and references stream back until SearchResultDone, whose
// paged-results control carries the cookie for the next page (empty when the server has no more). The cookie
// is handed to the caller as an opaque base64 `cursor`, so one page can be read now and the next later. A
// referral or continuation reference is an LDAP URL (RFC 4516); following one dials a second hop through the
// target guard, binds anonymously (credentials are never sent to a server the user did not name) and runs the
// search there once, without following that server's referrals in turn.
import { fromBase64, fromUtf8, toBase64, utf8 } from '../../core/bytes.ts';
import { classify, InvalidInput, PortolanError, ProtocolError } from '../../core/errors.ts';
import type { OperationContext } from '../../core/protocol.ts';
import { LdapSession, resultError } from './client.ts';
import {
  attributeJson,
  decodePagedResults,
  describeSearch,
  OID,
  pagedResultsControl,
  searchRequest,
  SCOPES,
  type Control,
  type LdapResult,
  type Scope,
  type SearchParams,
} from './codec.ts';
import { parseFilter } from './filter.ts';
import type { EntryJson } from './ldif.ts';

export interface SearchOptions {
  /** RFC 2696 page size; 0 sends no paging control. */
  pageSize: number;
  /** Continue after this cursor (a previous answer's `cursor`). */
  cursor?: string;
  /** Stop reading pages once this many entries are in. */
  maxEntries: number;
  /** Read every page (up to maxEntries), or only one. */
  allPages: boolean;
  manageDsaIT: boolean;
}

export interface SearchOutcome {
  entries: EntryJson[];
  references: string[][];
  result: LdapResult;
  pages: number;
  /** Where the next page starts: give it back as `cursor`. Null when the server has no more. */
  cursor: string | null;
  truncated: boolean;
  /** How a cursor was resumed: the server took its cookie back, or the search ran again and skipped what was returned. */
  resumedBy?: 'cookie' | 'skip';
}

export const MAX_ENTRIES = 100_000;

function entryJson(dn: string, attrs: { type: string; values: Uint8Array[] }[]): EntryJson {
  const attributes: Record<string, string[]> = {};
  const binary: string[] = [];
  for (const a of attrs) {
    const j = attributeJson(a);
    attributes[a.type] = j.values;
    if (j.binary) binary.push(a.type);
  }
  return binary.length ? { dn, attributes, binary } : { dn, attributes };
}

/** Results that are answers, not failures: the entries read so far stay valid (RFC 4511 §4.5.2, ldapsearch shows them too). */
const PARTIAL_OK = new Set([0, 3, 4, 10, 11]);

/**
 * A cursor is the count of entries already returned and the server's cookie. Servers such as Active Directory
 * honour a cookie on any connection; OpenLDAP ties it to the connection that made it and refuses it elsewhere,
 * so when the server refuses the cookie the search starts again and skips the entries already returned
 * (`resumedBy: 'skip'`), which holds while the directory does not change in between.
 */
export function encodeCursor(returned: number, cookie: Uint8Array): string {
  return toBase64(utf8(JSON.stringify({ n: returned, c: toBase64(cookie) })));
}

export function decodeCursor(text: string): { returned: number; cookie: Uint8Array } {
  try {
    const j = JSON.parse(fromUtf8(fromBase64(text), true)) as { n?: unknown; c?: unknown };
    if (typeof j.n !== 'number' || !Number.isInteger(j.n) || j.n < 0 || j.n > MAX_ENTRIES * 100 || typeof j.c !== 'string') throw new TypeError('shape');
    return { returned: j.n, cookie: fromBase64(j.c) };
  } catch {
    throw InvalidInput.field('cursor', 'not a cursor from an earlier answer');
  }
}

/** Result codes with which servers refuse a paged-results cookie they did not issue on this connection. */
const COOKIE_REFUSED = new Set([1, 2, 53]);

export async function runSearch(s: LdapSession, p: SearchParams, o: SearchOptions): Promise<SearchOutcome> {
  let entries: EntryJson[] = [];
  let references: string[][] = [];
  if (o.cursor && o.pageSize === 0) throw InvalidInput.field('cursor', 'a cursor continues a paged search: give pageSize too');
  const start = o.cursor ? decodeCursor(o.cursor) : { returned: 0, cookie: new Uint8Array(0) };
  let cookie = start.cookie;
  let resumedBy: 'cookie' | 'skip' | undefined = o.cursor ? 'cookie' : undefined;
  let toSkip = 0;
  let pages = 0;
  const wanted = o.allPages ? o.maxEntries : Math.max(1, o.pageSize);
  for (;;) {
    const controls: Control[] = [];
    if (o.pageSize > 0) controls.push(pagedResultsControl(o.pageSize, cookie));
    if (o.manageDsaIT) controls.push({ type: OID.manageDsaIT, critical: true });
    const id = await s.send(searchRequest(p), describeSearch(p, controls), controls);
    pages++;
    let done;
    for (;;) {
      const m = await s.receive(id);
      const r = m.response;
      if (r.op === 'SearchResultEntry') {
        if (toSkip > 0) {
          toSkip--;
          continue;
        }
        if (entries.length >= MAX_ENTRIES) throw new ProtocolError(`server sent more than ${MAX_ENTRIES} entries`);
        entries.push(entryJson(r.dn, r.attributes));
      } else if (r.op === 'SearchResultReference') references.push(r.uris);
      else if (r.op === 'SearchResultDone') {
        done = { result: r.result, controls: m.controls };
        break;
      } else if (r.op !== 'IntermediateResponse') throw new ProtocolError(`LDAP: ${r.op} in the middle of a search`);
    }
    if (resumedBy === 'cookie' && pages === 1 && COOKIE_REFUSED.has(done.result.code)) {
      s.ctx.transcript.info(-1, `the server refused the cookie (${done.result.code} ${done.result.name}: ${done.result.diagnosticMessage}); searching again and skipping the ${start.returned} entries already returned`);
      resumedBy = 'skip';
      toSkip = start.returned;
      cookie = new Uint8Array(0);
      entries = [];
      references = [];
      continue;
    }
    if (!PARTIAL_OK.has(done.result.code)) throw resultError('search failed', done.result);
    const paged = done.controls.find((c) => c.type === OID.pagedResults);
    cookie = paged?.value ? decodePagedResults(paged.value).cookie : new Uint8Array(0);
    const more = cookie.length > 0 && done.result.code === 0;
    const base = { references, result: done.result, pages, ...(resumedBy ? { resumedBy } : {}) };
    if (!more) return { entries, ...base, cursor: null, truncated: false };
    if (entries.length >= wanted) return { entries, ...base, cursor: encodeCursor(start.returned + entries.length, cookie), truncated: o.allPages };
  }
}

/** RFC 4516 §2: ldap[s]://host[:port]/dn[?attributes[?scope[?filter[?extensions]]]] */
export function parseLdapUrl(uri: string): { tls: 'off' | 'implicit'; host: string; port: number; dn?: string; scope?: Scope; filter?: string } {
  const m = /^(ldaps?):\/\/(\[[^\]]+\]|[^/:?]*)(?::(\d+))?(?:\/([^?]*)(?:\?([^?]*)(?:\?([^?]*)(?:\?([^?]*))?)?)?)?$/i.exec(uri);
  if (!m) throw new ProtocolError(`not an LDAP URL: ${uri}`);
  const tls = m[1].toLowerCase() === 'ldaps' ? 'implicit' : 'off';
  const host = m[2].replace(/^\[|\]$/g, '');
  if (!host) throw new ProtocolError(`LDAP URL without a host: ${uri}`);
  const port = m[3] ? Number(m[3]) : tls === 'implicit' ? 636 : 389;
  if (port < 1 || port > 65535) throw new ProtocolError(`LDAP URL with port ${m[3]}: ${uri}`);
  const decode = (x: string | undefined) => {
    if (!x) return undefined;
    try {
      return decodeURIComponent(x);
    } catch {
      throw new ProtocolError(`LDAP URL with a malformed %-escape in ${JSON.stringify(x)}: ${uri}`);
    }
  };
  const scopeText = decode(m[6])?.toLowerCase();
  if (scopeText && !(scopeText in SCOPES)) throw new ProtocolError(`LDAP URL with scope ${scopeText}: ${uri}`);
  return { tls, host, port, dn: decode(m[4]), scope: scopeText as Scope | undefined, filter: decode(m[7]) };
}

export interface FollowedReferral {
  uri: string;
  entries?: EntryJson[];
  references?: string[][];
  result?: LdapResult;
  error?: { code: string; message: string };
}

/**
 * Follows each referral once (RFC 4511 §4.5.3): the URL's DN replaces the base when given; a continuation
 * from a one-level search becomes a base search there, as the RFC says, and the rest keep their scope.
 */
export async function followReferrals(ctx: OperationContext, uris: readonly string[], p: SearchParams, o: SearchOptions, fromContinuation: boolean): Promise<FollowedReferral[]> {
  const out: FollowedReferral[] = [];
  for (const uri of uris.slice(0, 16)) {
    try {
      const u = parseLdapUrl(uri);
      const scope = u.scope ?? (fromContinuation && p.scope === 'one' ? 'base' : p.scope);
      const params: SearchParams = { ...p, base: u.dn ?? p.base, scope, filter: u.filter ? parseFilter(u.filter) : p.filter };
      ctx.transcript.info(-1, `following referral ${uri}`);
      const s = await LdapSession.open(ctx, { auth: { method: 'anonymous' } }, { host: u.host, port: u.port, tls: u.tls, secondHop: true });
      const r = await runSearch(s, params, { ...o, cursor: undefined });
      await s.unbind();
      out.push({ uri, entries: r.entries, references: r.references, result: r.result });
    } catch (e) {
      const err = classify(e);
      if (err.code === 'io_timeout' && ctx.signal.aborted) throw err;
      out.push({ uri, error: { code: err.code, message: err.message } });
      if (!(err instanceof PortolanError)) throw e;
    }
  }
  return out;
}
