// node:http ⇄ the Fetch API: what lets the one Hono app (src/api/app.ts) answer on Node.
import type http from 'node:http';
import { Readable, type Duplex } from 'node:stream';

/** The largest request body read into memory; the app's own body limit (1 MiB) answers first. */
export const MAX_REQUEST_BODY = 2 * 1024 * 1024;

export class BodyTooLarge extends Error {}

function headersOf(req: http.IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  return headers;
}

async function readBody(req: http.IncomingMessage, max: number): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw new BodyTooLarge(`request body larger than ${max} bytes`);
    parts.push(chunk);
  }
  return new Uint8Array(Buffer.concat(parts));
}

/** A Request for `req`; `signal` aborts the app's work when the client goes away. */
export async function toRequest(req: http.IncomingMessage, origin: string, signal?: AbortSignal): Promise<Request> {
  const url = new URL(req.url ?? '/', origin);
  const method = req.method ?? 'GET';
  // A multipart upload streams to the operation as it arrives (src/api/files.ts); other bodies are read whole.
  if (method === 'POST' && /^\s*multipart\/form-data/i.test(req.headers['content-type'] ?? '')) {
    return new Request(url, { method, headers: headersOf(req), body: Readable.toWeb(req) as ReadableStream<Uint8Array>, signal, duplex: 'half' } as RequestInit);
  }
  const body = method === 'GET' || method === 'HEAD' ? undefined : await readBody(req, MAX_REQUEST_BODY);
  return new Request(url, { method, headers: headersOf(req), body: body as BodyInit | undefined, signal });
}

/**
 * Writes a fetch Response to a node:http response, streaming the body. A body that fails after it began
 * (a download cut short) destroys the socket: the client sees a reset, never a clean end.
 */
export async function sendResponse(res: http.ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name === 'set-cookie') return;
    headers[name] = value;
  });
  const cookies = response.headers.getSetCookie?.() ?? [];
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  res.writeHead(response.status, response.statusText || undefined, headers);
  if (!response.body) return void res.end();
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) await new Promise<void>((r) => res.once('drain', () => r()).once('close', () => r()));
      if (res.destroyed) return void reader.cancel().catch(() => {});
    }
  } catch {
    res.destroy();
    return;
  } finally {
    reader.releaseLock();
  }
  res.end();
}

/** A fetch Response written as raw HTTP/1.1 on a socket that asked for an upgrade the app declined. */
export async function writeRawResponse(socket: Duplex, response: Response): Promise<void> {
  const body = new Uint8Array(await response.arrayBuffer());
  const lines = [`HTTP/1.1 ${response.status} ${response.statusText || 'Error'}`];
  response.headers.forEach((value, name) => {
    if (name !== 'content-length' && name !== 'connection') lines.push(`${name}: ${value}`);
  });
  lines.push(`content-length: ${body.length}`, 'connection: close', '', '');
  socket.end(Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), body]));
}
