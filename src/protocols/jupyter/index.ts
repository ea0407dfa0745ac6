// Jupyter Server: status, kernel specs, kernels, sessions and contents over the REST API with a token, and
// execute: run code in a kernel over its WebSocket channel, with streams, results and errors with tracebacks.
import * as z from 'zod';
import { fromBase64, fromUtf8 } from '../../core/bytes.ts';
import { ServerError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { KernelChannel, api, authenticate, type Auth, type Credentials, type Output } from './client.ts';

const token = z.string().max(4096).optional().describe('The server token (sent as Authorization: token …)');
const password = z.string().max(4096).optional().describe('The server password, for servers set up with one instead of a token (logs in as the browser does)');
const auth = { token, password };
const maxResponseBytes = z.number().int().min(1024).max(64 * 1024 * 1024).default(4 * 1024 * 1024).describe('A larger answer is refused as a protocol error');

const kernelOut = z.object({ id: z.string(), name: z.string(), executionState: z.string().optional(), connections: z.number().optional(), lastActivity: z.string().optional() });

function kernelJson(k: Record<string, unknown>) {
  return {
    id: String(k.id),
    name: String(k.name),
    ...(typeof k.execution_state === 'string' ? { executionState: k.execution_state } : {}),
    ...(typeof k.connections === 'number' ? { connections: k.connections } : {}),
    ...(typeof k.last_activity === 'string' ? { lastActivity: k.last_activity } : {}),
  };
}

function asList(v: unknown, what: string): Record<string, unknown>[] {
  if (!Array.isArray(v)) throw new ServerError(`${what} is not a list`);
  return v as Record<string, unknown>[];
}

/** GET requests with the caller's credentials (a password login happens once, first). */
async function reader(ctx: OperationContext, given: Auth): Promise<(path: string, maxBytes: number) => Promise<unknown>> {
  const auth: Credentials = await authenticate(ctx, given);
  return (path, maxBytes) => api(ctx, auth, 'GET', path, maxBytes);
}

/** The contents path, each segment URL-encoded. */
function contentsPath(path: string): string {
  return `/api/contents/${path.split('/').filter(Boolean).map(encodeURIComponent).join('/')}`;
}

/** Starts a kernel (or uses the given one), runs `fn` over its channel, and shuts down a kernel it started. */
async function withKernel<T>(ctx: OperationContext, given: Auth, input: { kernelId?: string; kernelName: string }, fn: (channel: KernelChannel, kernel: { id: string; name: string; started: boolean }) => Promise<T>): Promise<T> {
  const auth = await authenticate(ctx, given);
  let kernel: { id: string; name: string; started: boolean };
  if (input.kernelId) {
    const k = (await api(ctx, auth, 'GET', `/api/kernels/${encodeURIComponent(input.kernelId)}`, 64 * 1024)) as Record<string, unknown>;
    kernel = { id: String(k.id), name: String(k.name), started: false };
  } else {
    const k = (await api(ctx, auth, 'POST', '/api/kernels', 64 * 1024, { name: input.kernelName })) as Record<string, unknown>;
    kernel = { id: String(k.id), name: String(k.name), started: true };
  }
  ctx.timing.mark('kernelMs');
  try {
    const channel = await KernelChannel.open(ctx, auth, kernel.id);
    const out = await fn(channel, kernel);
    await channel.close();
    return out;
  } finally {
    if (kernel.started) await ctx.within(3000, () => api(ctx, auth, 'DELETE', `/api/kernels/${encodeURIComponent(kernel.id)}`, 64 * 1024)).catch(() => undefined);
  }
}

const outputOut = z.union([
  z.object({ type: z.literal('stream'), name: z.string(), text: z.string() }),
  z.object({ type: z.literal('result'), executionCount: z.number().nullable(), data: z.record(z.string(), z.unknown()) }),
  z.object({ type: z.literal('display'), data: z.record(z.string(), z.unknown()) }),
  z.object({ type: z.literal('error'), ename: z.string(), evalue: z.string(), traceback: z.array(z.string()) }),
]);

function outputText(o: Output): string {
  switch (o.type) {
    case 'stream':
      return o.name === 'stderr' ? o.text.replace(/^/gm, '! ') : o.text;
    case 'result':
    case 'display':
      return `${String(o.data['text/plain'] ?? Object.keys(o.data).join(', '))}\n`;
    case 'error':
      return `${o.traceback.join('\n')}\n`;
  }
}

const kernelInput = {
  kernelName: z.string().min(1).max(256).default('python3').describe('Kernel spec to start (see kernelspecs)'),
  kernelId: z.string().max(256).optional().describe('Run in this running kernel instead of starting one (it is left running)'),
};

export default defineProtocol({
  id: 'jupyter',
  title: 'Jupyter Server',
  category: 'remote',
  summary: "Talks to a Jupyter Server's REST API with its token: status, kernel specs, kernels, sessions and contents; execute runs code in a kernel on the target over the kernel's WebSocket channel, with stdout, stderr, results and errors with their traceback.",
  ports: [{ port: 8888, transport: 'tcp' }],
  tls: { implicit: { port: 8888 } },
  specs: ['Jupyter Server REST API', 'Jupyter messaging protocol 5.3', 'RFC 6455'],
  over: ['http', 'websocket'],
  rating: {
    stars: 5,
    reason:
      "Token and password logins (the password as a browser logs in: XSRF cookie, session cookie, X-XSRFToken), plain and TLS (https and wss), credentials masked in transcripts; wrong credentials are auth_failed in the server's words; /api status and version, kernelspecs, kernels, sessions, contents (directories, text and base64 files, capped); execute starts a kernel (or uses a running one), sends execute_request on the kernel channel and collects stream stdout/stderr, execute_result, display_data and errors with their traceback in order, then shuts the kernel down; run does the same as a live session, cell after cell; lab-tested against jupyter-server 1.23 with the ipykernel Python 3 kernel, one server with a token and one over TLS with a password. No terminals, no binary WebSocket subprotocol.",
  },
  verifiedAgainst: 'jupyter-server 1.23.3 with ipykernel 6.17 (Debian)',
  defaultOperation: 'status',
  identify: { unprobed: 'runs over HTTP: named http' },
  operations: {
    status: operation({
      summary: 'The server version and /api/status: start time, last activity, kernels and connections',
      input: z.object(auth),
      output: z.object({ version: z.string(), started: z.string(), lastActivity: z.string(), kernels: z.number(), connections: z.number() }),
      text: (r) => `Jupyter Server ${r.version}, started ${r.started}, ${r.kernels} kernels, ${r.connections} connections`,
      async run(ctx, input) {
        const get = await reader(ctx, input);
        const v = (await get('/api', 64 * 1024)) as { version?: string };
        const s = (await get('/api/status', 64 * 1024)) as Record<string, unknown>;
        return { version: String(v.version ?? ''), started: String(s.started ?? ''), lastActivity: String(s.last_activity ?? ''), kernels: Number(s.kernels ?? 0), connections: Number(s.connections ?? 0) };
      },
    }),
    kernelspecs: operation({
      summary: 'The kernels this server can start: name, display name, language',
      input: z.object(auth),
      output: z.object({ default: z.string(), kernelspecs: z.array(z.object({ name: z.string(), displayName: z.string(), language: z.string() })) }),
      text: (r) => r.kernelspecs.map((k) => `${k.name}${k.name === r.default ? ' (default)' : ''}\t${k.displayName}\t${k.language}`).join('\n'),
      async run(ctx, input) {
        const r = (await (await reader(ctx, input))('/api/kernelspecs', 1024 * 1024)) as { default?: string; kernelspecs?: Record<string, { name?: string; spec?: { display_name?: string; language?: string } }> };
        return {
          default: String(r.default ?? ''),
          kernelspecs: Object.entries(r.kernelspecs ?? {}).map(([name, k]) => ({ name: k.name ?? name, displayName: String(k.spec?.display_name ?? ''), language: String(k.spec?.language ?? '') })),
        };
      },
    }),
    kernels: operation({
      summary: 'The running kernels and their state',
      input: z.object(auth),
      output: z.object({ kernels: z.array(kernelOut) }),
      text: (r) => r.kernels.map((k) => `${k.id}\t${k.name}\t${k.executionState ?? ''}`).join('\n') || 'no kernels running',
      run: async (ctx, input) => ({ kernels: asList(await (await reader(ctx, input))('/api/kernels', 1024 * 1024), 'kernels').map(kernelJson) }),
    }),
    sessions: operation({
      summary: 'The sessions (notebooks and consoles) and their kernels',
      input: z.object(auth),
      output: z.object({ sessions: z.array(z.object({ id: z.string(), path: z.string(), name: z.string(), type: z.string(), kernel: kernelOut.nullable() })) }),
      text: (r) => r.sessions.map((s) => `${s.id}\t${s.type}\t${s.path}\t${s.kernel?.name ?? ''}`).join('\n') || 'no sessions',
      run: async (ctx, input) => ({
        sessions: asList(await (await reader(ctx, input))('/api/sessions', 1024 * 1024), 'sessions').map((s) => ({
          id: String(s.id),
          path: String(s.path ?? ''),
          name: String(s.name ?? ''),
          type: String(s.type ?? ''),
          kernel: s.kernel ? kernelJson(s.kernel as Record<string, unknown>) : null,
        })),
      }),
    }),
    contents: operation({
      summary: 'A directory listing or a file of the server\'s contents (text, or base64 for binary files)',
      input: z.object({ ...auth, path: z.string().max(4096).default('').describe('Path under the server root; empty for the root'), maxResponseBytes }),
      output: z.object({
        type: z.string(),
        path: z.string(),
        lastModified: z.string().optional(),
        entries: z.array(z.object({ name: z.string(), path: z.string(), type: z.string(), size: z.number().nullable(), lastModified: z.string().optional() })).optional(),
        format: z.string().nullable().optional(),
        mimetype: z.string().nullable().optional(),
        text: z.string().optional(),
        base64: z.string().optional(),
        size: z.number().nullable().optional(),
      }),
      text: (r) => (r.entries ? r.entries.map((e) => `${e.type === 'directory' ? 'd' : '-'}\t${e.size ?? ''}\t${e.path}`).join('\n') : (r.text ?? `(${r.format} ${r.size ?? ''} bytes)`)),
      async run(ctx, input) {
        const c = (await (await reader(ctx, input))(`${contentsPath(input.path)}?content=1`, input.maxResponseBytes)) as Record<string, unknown>;
        const base = { type: String(c.type), path: String(c.path ?? input.path), ...(typeof c.last_modified === 'string' ? { lastModified: c.last_modified } : {}) };
        if (c.type === 'directory' && Array.isArray(c.content)) {
          return {
            ...base,
            entries: (c.content as Record<string, unknown>[]).map((e) => ({ name: String(e.name), path: String(e.path), type: String(e.type), size: typeof e.size === 'number' ? e.size : null, ...(typeof e.last_modified === 'string' ? { lastModified: e.last_modified } : {}) })),
          };
        }
        const format = typeof c.format === 'string' ? c.format : null;
        const content = typeof c.content === 'string' ? c.content : c.content === null || c.content === undefined ? undefined : JSON.stringify(c.content);
        const size = typeof c.size === 'number' ? c.size : null;
        if (format === 'base64' && content !== undefined) {
          const bytes = fromBase64(content);
          let text: string | undefined;
          try {
            text = fromUtf8(bytes, true);
          } catch {
            text = undefined;
          }
          return { ...base, format, mimetype: (c.mimetype as string | null) ?? null, size, ...(text !== undefined ? { text } : { base64: content }) };
        }
        return { ...base, format, mimetype: (c.mimetype as string | null) ?? null, size, ...(content !== undefined ? { text: content } : {}) };
      },
    }),
    execute: operation({
      summary: 'Runs code in a kernel on the target (starting one, and shutting it down after, unless kernelId is given): stdout, stderr, results, errors with traceback. This runs code on the target',
      runsCode: true,
      input: z.object({
        ...auth,
        code: z.string().min(1, 'code is required').max(1024 * 1024).meta({ examples: ['print(sum(range(10)))'] }),
        ...kernelInput,
        maxOutputBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(1024 * 1024).describe('Outputs kept at most; more is cut and flagged truncated'),
      }),
      output: z.object({
        kernel: z.object({ id: z.string(), name: z.string(), started: z.boolean() }),
        status: z.string().describe('ok, error or aborted (execute_reply)'),
        executionCount: z.number().nullable(),
        stdout: z.string(),
        stderr: z.string(),
        outputs: z.array(outputOut),
        truncated: z.boolean(),
      }),
      defaultTimeoutMs: 30_000,
      maxTimeoutMs: 300_000,
      text: (r) => r.outputs.map(outputText).join(''),
      run: (ctx, input) =>
        withKernel(ctx, input, input, async (channel, kernel) => {
          const x = await channel.execute(input.code, input.maxOutputBytes);
          const stream = (name: string) => x.outputs.filter((o): o is Output & { type: 'stream' } => o.type === 'stream' && o.name === name).map((o) => o.text).join('');
          return { kernel, status: x.status, executionCount: x.executionCount, stdout: stream('stdout'), stderr: stream('stderr'), outputs: x.outputs, truncated: x.truncated };
        }),
    }),
    run: operation({
      summary: 'A session on a kernel: run code cells and see each output as it arrives. This runs code on the target',
      messages: 'Client: {"type":"execute","code":...} runs a cell; server: each output of the cell as it arrives.',
      runsCode: true,
      input: z.object({ ...auth, ...kernelInput }),
      output: z.object({ cells: z.number(), kernel: z.object({ id: z.string(), name: z.string(), started: z.boolean() }) }),
      session: (ctx, input, channel) =>
        withKernel(ctx, input, input, async (kernelChannel, kernel) => {
          channel.send({ type: 'kernel', kernel });
          let cells = 0;
          for (;;) {
            const m = await channel.receive();
            if (m === null) return { cells, kernel };
            if (m instanceof Uint8Array || m.type !== 'execute' || typeof m.code !== 'string' || m.code.length === 0) {
              channel.send({ type: 'error', error: { code: 'invalid_input', message: 'send {"type":"execute","code":"..."}' } });
              continue;
            }
            cells++;
            const x = await kernelChannel.execute(m.code, 16 * 1024 * 1024, (o) => channel.send({ type: 'output', cell: cells, output: o }));
            channel.send({ type: 'done', cell: cells, status: x.status, executionCount: x.executionCount });
          }
        }),
    }),
  },
});
