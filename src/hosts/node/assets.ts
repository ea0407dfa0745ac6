// Static assets of the UI (web/dist) for the Node host, served the way the Workers assets binding does:
// a file by its path, a directory by its index.html, and the UI's index.html for any other page route.
import { createReadStream, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

function fileAt(root: string, path: string): string | undefined {
  const full = resolve(root, `.${path}`);
  if (full !== root && !full.startsWith(root + sep)) return undefined;
  try {
    const st = statSync(full);
    if (st.isFile()) return full;
    if (st.isDirectory()) {
      const index = join(full, 'index.html');
      if (statSync(index).isFile()) return index;
    }
  } catch {
    // no such file
  }
  return undefined;
}

/** Serves `pathname` from `dir`: the file, or index.html for extension-less page routes; undefined when neither exists. */
export function serveAsset(dir: string, pathname: string, method: string): Response | undefined {
  const root = resolve(dir);
  let path: string;
  try {
    path = decodeURIComponent(pathname);
  } catch {
    return new Response('bad path', { status: 400 });
  }
  if (path.includes('\0')) return new Response('bad path', { status: 400 });
  const file = fileAt(root, path) ?? (extname(path) === '' ? fileAt(root, '/index.html') : undefined);
  if (!file) return undefined;
  const headers = { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': String(statSync(file).size) };
  if (method === 'HEAD') return new Response(null, { headers });
  return new Response(Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>, { headers });
}
