// Debug Adapter Protocol over TCP: initialize, and the adapter's capabilities and the events it sends first.
// Messages use the LSP base protocol (Content-Length header, JSON body); see ../lsp/codec.ts.
import * as z from 'zod';
import { ProtocolError, ServerError } from '../../core/errors.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { encodeMessage, messageFrame } from '../lsp/codec.ts';

interface DapMessage {
  seq?: number;
  type?: 'request' | 'response' | 'event';
  command?: string;
  event?: string;
  request_seq?: number;
  success?: boolean;
  message?: string;
  body?: unknown;
}

export default defineProtocol({
  id: 'dap',
  title: 'Debug Adapter Protocol',
  category: 'remote',
  summary: "Sends initialize to a debug adapter listening on TCP (debugpy, node's js-debug, netcoredbg, delve in DAP mode) and shows its capabilities and the events it sends first.",
  ports: [{ port: 5678, transport: 'tcp' }],
  specs: ['Debug Adapter Protocol 1.x'],
  rating: {
    stars: 3,
    reason:
      'initialize with the client\'s arguments, the adapter\'s capabilities (supported features, exception breakpoint filters) and its early events, error responses in the adapter\'s words; lab-tested against debugpy 1.6 listening on TCP (its in-process adapter). No attach, launch, breakpoints or stepping.',
  },
  verifiedAgainst: 'debugpy 1.6.3 (debugpy.listen, in-process adapter)',
  defaultOperation: 'initialize',
  identify: { unprobed: 'an initialize request starts a debug session; not sent' },
  operations: {
    initialize: operation({
      summary: "initialize: the adapter's capabilities",
      input: z.object({
        adapterId: z.string().min(1).max(128).default('portolan').describe('adapterID sent in initialize (debugpy accepts any)'),
        eventWaitMs: z.number().int().min(0).max(5000).default(300).describe('How long to keep reading events after the response'),
      }),
      output: z.object({
        supports: z.array(z.string()).describe('Capabilities that are true'),
        capabilities: z.record(z.string(), z.unknown()),
        exceptionBreakpointFilters: z.array(z.object({ filter: z.string(), label: z.string(), default: z.boolean().optional() })),
        events: z.array(z.object({ event: z.string(), body: z.unknown() })),
      }),
      text: (r) => `${r.supports.join('\n')}${r.exceptionBreakpointFilters.length ? `\nexception filters: ${r.exceptionBreakpointFilters.map((f) => f.filter).join(', ')}` : ''}`,
      async run(ctx, input) {
        const conn = await ctx.dial();
        const frame = messageFrame(4 * 1024 * 1024);
        const describe = (m: { body: unknown }) => {
          const d = m.body as DapMessage;
          return d.type === 'event' ? `event ${d.event}` : d.type === 'response' ? `response ${d.command} ${d.success ? 'success' : 'failure'}` : `${d.type} ${d.command}`;
        };
        const args = { clientID: 'portolan', clientName: 'Portolan', adapterID: input.adapterId, pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true, supportsVariableType: true, locale: 'en-US' };
        await conn.write(encodeMessage({ seq: 1, type: 'request', command: 'initialize', arguments: args }), { decode: 'request 1 initialize' });
        const events: { event: string; body: unknown }[] = [];
        // Events kept: at most 100 and 1 MiB of them (an adapter may stream output events without end).
        let eventBytes = 0;
        const keep = (m: { body: unknown; length: number }) => {
          const d = m.body as DapMessage;
          if (d.type !== 'event' || typeof d.event !== 'string' || events.length >= 100 || eventBytes + m.length > 1024 * 1024) return;
          eventBytes += m.length;
          events.push({ event: d.event, body: d.body ?? null });
        };
        let response: DapMessage | undefined;
        const read = async () => {
          for (;;) {
            const raw = await conn.readFrame(frame, 'DAP message', describe);
            const m = raw.body as DapMessage;
            if (typeof m !== 'object' || m === null) throw new ProtocolError('DAP message is not an object');
            if (m.type === 'event') keep(raw);
            else if (m.type === 'response' && m.request_seq === 1) {
              response = m;
              return;
            } else if (m.type === 'request') {
              await conn.write(encodeMessage({ seq: 2, type: 'response', request_seq: m.seq, command: m.command, success: false, message: 'not supported by this client' }), { decode: `response ${m.command} failure` });
            }
          }
        };
        await read();
        if (!response!.success) throw new ServerError(`initialize: ${response!.message ?? 'failed'}`, { body: response!.body });
        // Events the adapter sends right after (initialized, output): read them for a moment.
        if (input.eventWaitMs > 0) {
          await ctx
            .within(input.eventWaitMs, async () => {
              for (;;) {
                keep(await conn.readFrame(frame, 'DAP event', describe));
              }
            })
            .catch((e) => {
              if (!(e instanceof Error && 'code' in e && (e.code === 'io_timeout' || e.code === 'closed'))) throw e;
            });
        }
        const capabilities = (response!.body ?? {}) as Record<string, unknown>;
        const filters = Array.isArray(capabilities.exceptionBreakpointFilters) ? (capabilities.exceptionBreakpointFilters as { filter: string; label: string; default?: boolean }[]) : [];
        return {
          supports: Object.entries(capabilities).filter(([, v]) => v === true).map(([k]) => k).sort(),
          capabilities,
          exceptionBreakpointFilters: filters.map((f) => ({ filter: String(f.filter), label: String(f.label), ...(typeof f.default === 'boolean' ? { default: f.default } : {}) })),
          events,
        };
      },
    }),
  },
});
