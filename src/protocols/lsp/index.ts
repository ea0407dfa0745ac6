// Language Server Protocol over TCP: a server's capabilities, and hover and completion on a document the
// user gives, the way an editor asks for them.
import * as z from 'zod';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { RpcPeer } from './client.ts';
import { COMPLETION_KINDS, hoverText } from './codec.ts';

const CLIENT_CAPABILITIES = {
  textDocument: {
    hover: { contentFormat: ['markdown', 'plaintext'] },
    completion: { completionItem: { snippetSupport: false, documentationFormat: ['markdown', 'plaintext'] } },
    publishDiagnostics: {},
    synchronization: { didSave: false },
  },
  workspace: { configuration: true },
};

const documentInput = {
  text: z.string().max(1024 * 1024).describe('The document, as an editor would open it').meta({ examples: ['import os\nos.pa'] }),
  languageId: z.string().min(1).max(64).default('python'),
  uri: z.string().min(1).max(2048).default('file:///workspace/document.py').describe('The document URI the server sees'),
  rootUri: z.string().max(2048).nullable().default(null).describe('Workspace root URI (null: none)'),
  line: z.number().int().min(0).max(10_000_000).describe('Zero-based line').meta({ examples: [1] }),
  character: z.number().int().min(0).max(10_000_000).describe('Zero-based character offset (UTF-16 code units)').meta({ examples: [5] }),
};

interface Initialized {
  capabilities: Record<string, unknown>;
  serverInfo: { name: string; version?: string } | null;
}

async function initialize(peer: RpcPeer, rootUri: string | null): Promise<Initialized> {
  const r = (await peer.request('initialize', { processId: null, clientInfo: { name: 'portolan' }, rootUri, capabilities: CLIENT_CAPABILITIES, workspaceFolders: null })) as Partial<Initialized> | null;
  await peer.notify('initialized', {});
  return { capabilities: (r?.capabilities as Record<string, unknown>) ?? {}, serverInfo: r?.serverInfo ?? null };
}

async function withDocument<T>(ctx: OperationContext, input: { text: string; languageId: string; uri: string; rootUri: string | null; line: number; character: number }, fn: (peer: RpcPeer, position: unknown) => Promise<T>) {
  const peer = new RpcPeer(await ctx.dial());
  const init = await initialize(peer, input.rootUri);
  ctx.timing.mark('initializedMs');
  await peer.notify('textDocument/didOpen', { textDocument: { uri: input.uri, languageId: input.languageId, version: 1, text: input.text } });
  const out = await fn(peer, { textDocument: { uri: input.uri }, position: { line: input.line, character: input.character } });
  await peer.request('shutdown').catch(() => undefined);
  await peer.notify('exit').catch(() => undefined);
  const diagnostics = peer.notifications
    .filter((n) => n.method === 'textDocument/publishDiagnostics' && (n.params as { uri?: string })?.uri === input.uri)
    .flatMap((n) => ((n.params as { diagnostics?: unknown[] }).diagnostics ?? []) as { message: string; severity?: number; range: unknown; source?: string }[]);
  return { server: init.serverInfo, ...out, diagnostics };
}

/** The capability names a server declares, with their options kept for the caller. */
function providers(capabilities: Record<string, unknown>): string[] {
  return Object.entries(capabilities).filter(([, v]) => v !== false && v !== null && v !== undefined).map(([k]) => k).sort();
}

const serverOut = z.object({ name: z.string(), version: z.string().optional() }).nullable();
const diagnosticsOut = z.array(z.object({ message: z.string(), severity: z.number().optional(), source: z.string().optional(), range: z.unknown() }));

export default defineProtocol({
  id: 'lsp',
  title: 'Language Server Protocol',
  category: 'remote',
  summary: 'Talks to a language server over TCP: its capabilities, and hover or completion at a position of a document given as input, with the diagnostics it publishes.',
  ports: [{ port: 2087, transport: 'tcp' }],
  specs: ['Language Server Protocol 3.17'],
  rating: {
    stars: 3,
    reason:
      'initialize (capabilities and server info), initialized, didOpen, textDocument/hover and textDocument/completion, publishDiagnostics collected, server requests answered, shutdown and exit; lab-tested against python-lsp-server 1.7 over TCP. No incremental edits, go-to-definition or references, and no stdio servers (only TCP).',
  },
  verifiedAgainst: 'python-lsp-server 1.7.1 (pylsp --tcp)',
  defaultOperation: 'initialize',
  identify: { unprobed: 'an initialize request starts a language server session; not sent' },
  operations: {
    initialize: operation({
      summary: "initialize: the server's name, version and capabilities",
      input: z.object({ rootUri: documentInput.rootUri }),
      output: z.object({ server: serverOut, providers: z.array(z.string()), capabilities: z.record(z.string(), z.unknown()) }),
      text: (r) => `${r.server ? `${r.server.name} ${r.server.version ?? ''}`.trim() : 'language server'}\n${r.providers.join('\n')}`,
      async run(ctx, input) {
        const peer = new RpcPeer(await ctx.dial());
        const init = await initialize(peer, input.rootUri);
        await peer.request('shutdown').catch(() => undefined);
        await peer.notify('exit').catch(() => undefined);
        return { server: init.serverInfo, providers: providers(init.capabilities), capabilities: init.capabilities };
      },
    }),
    hover: operation({
      summary: 'textDocument/hover at a position of a document given as input',
      input: z.object(documentInput),
      output: z.object({ server: serverOut, hover: z.object({ kind: z.string(), value: z.string(), range: z.unknown().optional() }).nullable(), diagnostics: diagnosticsOut }),
      text: (r) => r.hover?.value ?? 'no hover information',
      run: (ctx, input) =>
        withDocument(ctx, input, async (peer, position) => {
          const h = (await peer.request('textDocument/hover', position)) as { contents?: unknown; range?: unknown } | null;
          return { hover: h && h.contents !== undefined ? { ...hoverText(h.contents), ...(h.range ? { range: h.range } : {}) } : null };
        }),
    }),
    completion: operation({
      summary: 'textDocument/completion at a position of a document given as input',
      input: z.object({ ...documentInput, limit: z.number().int().min(1).max(5000).default(100).describe('Items listed at most') }),
      output: z.object({
        server: serverOut,
        isIncomplete: z.boolean(),
        total: z.number(),
        items: z.array(z.object({ label: z.string(), kind: z.string().optional(), detail: z.string().optional(), insertText: z.string().optional() })),
        diagnostics: diagnosticsOut,
      }),
      text: (r) => r.items.map((i) => `${i.label}${i.kind ? `\t${i.kind}` : ''}${i.detail ? `\t${i.detail}` : ''}`).join('\n') || 'no completions',
      run: (ctx, input) =>
        withDocument(ctx, input, async (peer, position) => {
          const r = (await peer.request('textDocument/completion', position)) as { isIncomplete?: boolean; items?: unknown[] } | unknown[] | null;
          const list = Array.isArray(r) ? r : (r?.items ?? []);
          const items = (list as { label: string; kind?: number; detail?: string; insertText?: string }[]).slice(0, input.limit).map((i) => ({
            label: String(i.label),
            ...(i.kind !== undefined ? { kind: COMPLETION_KINDS[i.kind] ?? String(i.kind) } : {}),
            ...(i.detail ? { detail: i.detail } : {}),
            ...(i.insertText ? { insertText: i.insertText } : {}),
          }));
          return { isIncomplete: Array.isArray(r) ? false : r?.isIncomplete === true, total: list.length, items };
        }),
    }),
  },
});
