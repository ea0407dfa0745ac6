// Chrome DevTools Protocol and Node's inspector: the discovery endpoints, then evaluate, screenshot, navigate and
// a console session over the target's WebSocket.
import * as z from 'zod';
import { fromBase64 } from '../../core/bytes.ts';
import { PortolanError, ServerError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { CdpSession, consoleText, discovery, listTargets, pickTarget, pngSize, remoteValue, type CdpEvent } from './client.ts';

const targetField = z.string().max(256).optional().describe('Target id from targets; default: the first page (Chromium) or the Node process');
const targetOut = z.object({ id: z.string(), type: z.string(), title: z.string(), url: z.string(), webSocketDebuggerUrl: z.string().optional(), description: z.string().optional() });

async function attach(ctx: OperationContext, id: string | undefined, maxMessage = 4 * 1024 * 1024) {
  const target = await pickTarget(ctx, id);
  const session = await CdpSession.attach(ctx, target, maxMessage);
  ctx.timing.mark('attachedMs');
  return { target, session };
}

/** Runtime.evaluate; a thrown exception is the target's own message. */
async function evaluate(session: CdpSession, expression: string, awaitPromise: boolean): Promise<{ type: string; subtype?: string; value: unknown; description?: string }> {
  const r = await session.call<{ result: Record<string, unknown>; exceptionDetails?: Record<string, unknown> }>('Runtime.evaluate', { expression, awaitPromise, returnByValue: true, replMode: false });
  if (r.exceptionDetails) {
    const ex = r.exceptionDetails.exception as Record<string, unknown> | undefined;
    const text = String(ex?.description ?? r.exceptionDetails.text ?? 'exception');
    throw new ServerError(`${text.split('\n')[0]}`, { exception: text, line: r.exceptionDetails.lineNumber, column: r.exceptionDetails.columnNumber });
  }
  const o = r.result;
  return { type: String(o.type), ...(o.subtype ? { subtype: String(o.subtype) } : {}), value: remoteValue(o), ...(o.description ? { description: String(o.description) } : {}) };
}

/** Page.navigate, then the load event; a failed navigation is the browser's net error. */
async function navigate(ctx: OperationContext, session: CdpSession, url: string): Promise<{ frameId: string; loaderId?: string }> {
  session.keep.add('Page.loadEventFired');
  await session.call('Page.enable');
  const nav = await session.call<{ frameId: string; loaderId?: string; errorText?: string }>('Page.navigate', { url });
  if (nav.errorText) throw new ServerError(`navigation to ${url} failed: ${nav.errorText}`);
  // Same-document navigations (a #fragment) have no loader and fire no load event.
  if (nav.loaderId) {
    for (;;) {
      const e = await session.event();
      if (e === null) throw new PortolanError('closed', 'the target closed the DevTools connection during navigation');
      if (e.method === 'Page.loadEventFired') break;
    }
  }
  ctx.timing.mark('loadedMs');
  return nav;
}

function consoleMessage(e: CdpEvent): { type: string; [key: string]: unknown } | null {
  const p = e.params;
  if (e.method === 'Runtime.consoleAPICalled') return { type: 'console', level: p.type, text: consoleText(p.args), timestamp: p.timestamp };
  if (e.method === 'Runtime.exceptionThrown') {
    const d = p.exceptionDetails as Record<string, unknown>;
    return { type: 'exception', text: String((d.exception as Record<string, unknown> | undefined)?.description ?? d.text), timestamp: p.timestamp };
  }
  if (e.method === 'Log.entryAdded') {
    const entry = p.entry as Record<string, unknown>;
    return { type: 'log', level: entry.level, source: entry.source, text: entry.text, url: entry.url, timestamp: entry.timestamp };
  }
  return null;
}

export default defineProtocol({
  id: 'cdp',
  title: 'Chrome DevTools Protocol',
  category: 'remote',
  summary: "Drives a browser's or Node's remote debugging port: version and targets over HTTP, then evaluate JavaScript, take a PNG screenshot, navigate, and watch the console over the target's WebSocket. evaluate runs code on the target.",
  ports: [{ port: 9222, transport: 'tcp', label: 'Chromium --remote-debugging-port' }, { port: 9229, transport: 'tcp', label: 'node --inspect' }],
  specs: ['Chrome DevTools Protocol 1.3', 'RFC 6455'],
  over: ['http', 'websocket'],
  rating: {
    stars: 5,
    reason:
      '/json/version and /json/list over HTTP; over the target WebSocket Runtime.evaluate (values by value, promises awaited, exceptions in the target\'s words), Page.captureScreenshot as a PNG with its size, Page.navigate to the load event (net errors named), and a console session with console calls, exceptions and log entries; discovery bodies and WebSocket messages capped; lab-tested against headless Chromium 156 and Node 20\'s inspector. No tab creation, network interception or DOM inspection.',
  },
  verifiedAgainst: 'Chromium 156 headless (Debian) and Node.js 20 inspector',
  defaultOperation: 'version',
  identify: { unprobed: 'runs over HTTP: named http' },
  operations: {
    version: operation({
      summary: '/json/version: the browser or runtime, its protocol version and user agent',
      input: z.object({}),
      output: z.object({ browser: z.string(), protocolVersion: z.string(), userAgent: z.string().optional(), v8: z.string().optional(), webSocketDebuggerUrl: z.string().optional() }),
      text: (r) => `${r.browser} (DevTools protocol ${r.protocolVersion})${r.userAgent ? `\n${r.userAgent}` : ''}`,
      async run(ctx) {
        const v = (await discovery(ctx, '/json/version')) as Record<string, string>;
        return {
          browser: String(v.Browser ?? ''),
          protocolVersion: String(v['Protocol-Version'] ?? ''),
          ...(v['User-Agent'] ? { userAgent: v['User-Agent'] } : {}),
          ...(v['V8-Version'] ? { v8: v['V8-Version'] } : {}),
          ...(v.webSocketDebuggerUrl ? { webSocketDebuggerUrl: v.webSocketDebuggerUrl } : {}),
        };
      },
    }),
    targets: operation({
      summary: '/json/list: the pages, workers and processes that can be debugged',
      input: z.object({}),
      output: z.object({ targets: z.array(targetOut) }),
      text: (r) => r.targets.map((t) => `${t.id}\t${t.type}\t${t.title}\t${t.url}`).join('\n'),
      run: async (ctx) => ({ targets: await listTargets(ctx) }),
    }),
    evaluate: operation({
      summary: 'Runtime.evaluate: runs a JavaScript expression on the target and returns its value (this runs code on the target)',
      runsCode: true,
      input: z.object({
        expression: z.string().min(1, 'expression is required').max(1024 * 1024).meta({ examples: ['navigator.userAgent'] }),
        target: targetField,
        awaitPromise: z.boolean().default(true).describe('Wait for a returned promise and give its value'),
      }),
      output: z.object({ target: z.string(), type: z.string(), subtype: z.string().optional(), value: z.unknown(), description: z.string().optional() }),
      text: (r) => (typeof r.value === 'string' ? r.value : JSON.stringify(r.value, null, 2) ?? r.description ?? r.type),
      async run(ctx, input) {
        const { target, session } = await attach(ctx, input.target);
        const out = await evaluate(session, input.expression, input.awaitPromise);
        await session.close();
        return { target: target.id, ...out };
      },
    }),
    screenshot: operation({
      summary: 'Page.captureScreenshot: a PNG of the page (after navigating to url, when given)',
      input: z.object({
        target: targetField,
        url: z.string().max(8192).optional().describe('Navigate here first and wait for the load event'),
        maxBytes: z.number().int().min(1024).max(32 * 1024 * 1024).default(8 * 1024 * 1024).describe('A larger screenshot is refused as a protocol error'),
      }),
      output: z.object({ target: z.string(), format: z.literal('png'), width: z.number(), height: z.number(), bytes: z.number(), base64: z.string() }),
      defaultTimeoutMs: 20_000,
      text: (r) => `PNG ${r.width}x${r.height}, ${r.bytes} bytes (base64 in the JSON answer)`,
      async run(ctx, input) {
        const { target, session } = await attach(ctx, input.target, Math.ceil((input.maxBytes * 4) / 3) + 4096);
        if (input.url) await navigate(ctx, session, input.url);
        // Right after a navigation that swapped the renderer, Chromium may answer "Not attached to an active page" for a moment.
        let shot: { data: string } | undefined;
        for (let attempt = 0; !shot; attempt++) {
          try {
            shot = await session.call<{ data: string }>('Page.captureScreenshot', { format: 'png' });
          } catch (e) {
            if (!(e instanceof ServerError && /Not attached to an active page/.test(e.message)) || attempt >= 10) throw e;
            await ctx.sleep(100);
          }
        }
        await session.close();
        const png = fromBase64(shot.data);
        return { target: target.id, format: 'png' as const, ...pngSize(png), bytes: png.length, base64: shot.data };
      },
    }),
    navigate: operation({
      summary: 'Page.navigate: load a URL in the page and wait for its load event; the title and final URL come back',
      input: z.object({ url: z.string().min(1, 'url is required').max(8192).meta({ examples: ['https://example.com/'] }), target: targetField }),
      output: z.object({ target: z.string(), frameId: z.string(), url: z.string(), title: z.string() }),
      defaultTimeoutMs: 20_000,
      text: (r) => `${r.title}\n${r.url}`,
      async run(ctx, input) {
        const { target, session } = await attach(ctx, input.target);
        const nav = await navigate(ctx, session, input.url);
        const page = await session.call<{ result: { value?: { title?: string; url?: string } } }>('Runtime.evaluate', { expression: '({ title: document.title, url: location.href })', returnByValue: true });
        await session.close();
        return { target: target.id, frameId: nav.frameId, url: String(page.result.value?.url ?? input.url), title: String(page.result.value?.title ?? '') };
      },
    }),
    console: operation({
      summary: 'A session that shows the console of a page or Node process: console calls, uncaught exceptions and log entries',
      input: z.object({ target: targetField }),
      output: z.object({ messages: z.number(), ended: z.enum(['client', 'target']) }),
      async session(ctx, input, channel) {
        const { target, session } = await attach(ctx, input.target);
        for (const m of ['Runtime.consoleAPICalled', 'Runtime.exceptionThrown', 'Log.entryAdded', 'Inspector.detached']) session.keep.add(m);
        await session.call('Runtime.enable');
        // Node's inspector has no Log domain.
        await session.call('Log.enable').catch((e) => (e instanceof ServerError ? undefined : Promise.reject(e)));
        channel.send({ type: 'attached', target });
        let messages = 0;
        const fromTarget = (async (): Promise<'target'> => {
          for (;;) {
            const e = await session.event().catch((err) => (err instanceof PortolanError && err.code === 'closed' ? null : Promise.reject(err)));
            if (e === null || e.method === 'Inspector.detached') return 'target';
            const m = consoleMessage(e);
            if (m) {
              messages++;
              channel.send(m);
            }
          }
        })();
        const fromClient = (async (): Promise<'client'> => {
          while ((await channel.receive()) !== null) channel.send({ type: 'error', error: { code: 'invalid_input', message: 'this session only reports; close it to stop' } });
          return 'client';
        })();
        fromTarget.catch(() => undefined);
        const ended = await Promise.race([fromTarget, fromClient]);
        await session.close();
        return { messages, ended };
      },
    }),
  },
});
