// A response body as a file (docs/files.md), for HTTP/1.1 and HTTP/2 alike: what the response head says
// about the file (RFC 9110 §8.6 Content-Length, §14.4 Content-Range, §8.8.2 Last-Modified, RFC 6266
// Content-Disposition), and Range for a resumed download (RFC 9110 §14.2).
import { PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import { baseName, type ByteSink, type FileInfo } from '../../core/files.ts';
import { fieldValue, type Field } from './codec.ts';

/** `Range: bytes=N-` for a resumed download, unless the caller set a Range field of its own. */
export function withRange(headers: Field[], offset: number | undefined): Field[] {
  if (!offset || headers.some(([n]) => n.toLowerCase() === 'range')) return headers;
  return [...headers, ['Range', `bytes=${offset}-`]];
}

/** RFC 6266 §4.3: filename* (RFC 8187, UTF-8) wins over filename. */
function dispositionName(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const ext = /filename\*\s*=\s*(?:UTF-8|utf-8)'[^']*'([^;\s]+)/.exec(value);
  if (ext) {
    try {
      return baseName(decodeURIComponent(ext[1]), '');
    } catch {
      // fall through to filename
    }
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/.exec(value);
  const name = plain ? (plain[1] !== undefined ? plain[1].replace(/\\(.)/g, '$1') : plain[2]) : undefined;
  return name ? baseName(name, '') || undefined : undefined;
}

/** The last segment of the request target's path, decoded. */
function targetName(target: string): string {
  const path = target.replace(/^https?:\/\/[^/]+/i, '').split(/[?#]/)[0];
  let name = baseName(path, 'download');
  try {
    name = decodeURIComponent(name);
  } catch {
    // keep it as sent
  }
  return name;
}

/** An HTTP date (RFC 9110 §5.6.7) as ISO 8601, or null. */
function isoDate(value: string | undefined): string | null {
  if (!value) return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

function wholeNumber(value: string | undefined): number | null {
  return value !== undefined && /^\d{1,15}$/.test(value.trim()) ? Number(value.trim()) : null;
}

/**
 * The file a final response carries, or the error a download gets before any byte: a status that is
 * not 2xx is a server_error naming the target and the status. `skip`: bytes to drop from the front of
 * the body, when a resume asked for an offset and the server answered 200 with the whole file.
 */
export function responseFile(method: string, target: string, status: number, headers: Field[], offset: number | undefined): { info: FileInfo; skip: number } {
  if (status < 200 || status > 299) {
    const where = status >= 300 && status < 400 ? ` (a redirect to ${fieldValue(headers, 'location') ?? '?'}: set followRedirects)` : '';
    throw new ServerError(`${method} ${target}: the server answered ${status}${where}`, { status, path: target });
  }
  const length = wholeNumber(fieldValue(headers, 'content-length'));
  let size: number | null = length;
  let start = 0;
  let skip = 0;
  if (status === 206) {
    // §14.4: bytes first-last/complete-length (or * when unknown).
    const range = /^\s*bytes\s+(\d{1,15})-(\d{1,15})\/(\d{1,15}|\*)\s*$/i.exec(fieldValue(headers, 'content-range') ?? '');
    if (!range) throw new ProtocolError(`${method} ${target}: a 206 answer without a single Content-Range (multipart ranges are not a file)`);
    start = Number(range[1]);
    size = range[3] === '*' ? null : Number(range[3]);
    if (offset !== undefined && start !== offset) throw new ProtocolError(`${method} ${target}: asked for bytes from ${offset}, the server sent from ${start}`);
  } else if (offset) {
    // The server ignored Range (§14.2 lets it): the whole file comes, and its start is dropped here.
    skip = offset;
    start = offset;
  }
  const info: FileInfo = {
    name: dispositionName(fieldValue(headers, 'content-disposition')) ?? targetName(target),
    size,
    offset: start,
    modified: isoDate(fieldValue(headers, 'last-modified')),
    contentType: fieldValue(headers, 'content-type'),
    meta: { httpStatus: status, etag: fieldValue(headers, 'etag'), contentEncoding: fieldValue(headers, 'content-encoding') },
  };
  return { info, skip };
}

/** A sink that drops the first `skip` bytes (a resume the server answered with the whole file). */
export function skipping(sink: ByteSink, skip: number): ByteSink {
  let left = skip;
  return {
    write(chunk) {
      if (left === 0) return sink.write(chunk);
      if (chunk.length <= left) {
        left -= chunk.length;
        return Promise.resolve();
      }
      const rest = chunk.subarray(left);
      left = 0;
      return sink.write(rest);
    },
  };
}

/** A body that ended before its framing said (reset, short Content-Length, no last chunk) is a cut download. */
export function cutShort(what: string): PortolanError {
  return new PortolanError('closed', `the server closed the connection in the middle of ${what}: the download is incomplete`);
}
