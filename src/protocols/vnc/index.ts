// VNC, the RFB protocol (RFC 6143 and the RFB protocol document's extensions): probe a server, take a screenshot as a
// PNG, and view and drive a desktop over a WebSocket with updates decoded to RGBA.
import * as z from 'zod';
import { fromBase64, toBase64 } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import { ProtocolError, classify } from '../../core/errors.ts';
import { encodePng } from '../../core/png.ts';
import { defineProtocol, operation, type OperationContext, type SessionChannel, type SessionMessage } from '../../core/protocol.ts';
import { FENCE, RESIZE_STATUS, SecurityType, describePixelFormat, encodeClientCutText, encodeClientFence, encodeKeyEvent, encodePointerEvent, encodeSetDesktopSize, encodingName, securityTypeName, veNCryptSubtypeName, type Screen } from './codec.ts';
import { ENCODING_IDS, RfbClient, exchangeVersions, handshake, listVeNCryptSubtypes, readSecurityTypes, type EncodingName, type Handshake, type SecurityChoice } from './client.ts';
import { Framebuffer, encodeViewUpdate } from './framebuffer.ts';
import type { ServerEvent } from './updates.ts';
import { identification } from './identify.ts';

const SECURITY = ['auto', 'none', 'vnc', 'x509none', 'x509vnc', 'x509plain', 'plain'] as const;
const ENCODINGS = Object.keys(ENCODING_IDS) as [EncodingName, ...EncodingName[]];

const connection = {
  security: z
    .enum(SECURITY)
    .default('auto')
    .describe(
      'Security type: auto (VeNCrypt X509Plain with a username, X509Vnc or VNC Authentication with a password, else None), none, vnc (VNC Authentication), VeNCrypt x509none / x509vnc / x509plain (TLS with the server certificate), plain (VeNCrypt Plain: the password in clear)',
    ),
  password: z.string().max(256).optional().describe('VNC password (VNC Authentication uses its first 8 characters) or the Plain password'),
  username: z.string().max(256).optional().describe('User name for VeNCrypt Plain'),
  version: z.enum(['3.3', '3.7', '3.8']).default('3.8').describe('Highest RFB version to speak'),
  shared: z.boolean().default(true).describe('Share the desktop with other viewers (ClientInit shared-flag)'),
};

const pixelFormatOut = z.object({
  bitsPerPixel: z.number(),
  depth: z.number(),
  bigEndian: z.boolean(),
  trueColour: z.boolean(),
  redMax: z.number(),
  greenMax: z.number(),
  blueMax: z.number(),
  redShift: z.number(),
  greenShift: z.number(),
  blueShift: z.number(),
});

const securityOut = z.object({ type: z.number(), name: z.string(), subtype: z.number().optional(), subtypeName: z.string().optional(), tls: z.boolean() });

const desktopOut = z.object({ name: z.string(), width: z.number(), height: z.number(), pixelFormat: pixelFormatOut, pixelFormatText: z.string() });

type ConnectionInput = { security: (typeof SECURITY)[number]; password?: string; username?: string; version: '3.3' | '3.7' | '3.8'; shared: boolean };

/** Dials, with the TLS upgrade at hand when the security may need it. */
async function dialFor(ctx: OperationContext, security: SecurityChoice): Promise<Conn> {
  const mayTls = security.startsWith('x509') || (security === 'auto' && ctx.capabilities.has('starttls'));
  return ctx.dial(mayTls ? { tls: 'starttls' } : {});
}

async function open(ctx: OperationContext, input: ConnectionInput): Promise<{ conn: Conn; hs: Handshake }> {
  const conn = await dialFor(ctx, input.security);
  const hs = await handshake(conn, { security: input.security, password: input.password, username: input.username, version: Number(input.version.slice(2)) as 3 | 7 | 8, shared: input.shared });
  return { conn, hs };
}

function desktopOf(hs: Handshake) {
  const i = hs.init;
  return { name: i.name, width: i.width, height: i.height, pixelFormat: i.pixelFormat, pixelFormatText: describePixelFormat(i.pixelFormat) };
}

/** Counts of rectangles by encoding, for the answer. */
function tally(counts: Record<string, number>, e: ServerEvent): void {
  const name = e.type === 'pixels' || e.type === 'fill' ? encodingName(e.encoding) : e.type === 'copy' ? 'CopyRect' : e.type === 'jpeg' ? 'Tight JPEG' : undefined;
  if (name) counts[name] = (counts[name] ?? 0) + 1;
}

/** Marks the pixels an event paints, so a screenshot knows when every pixel has arrived. */
class Coverage {
  private readonly map: Uint8Array;
  private left: number;
  constructor(private readonly width: number, height: number) {
    this.map = new Uint8Array(width * height);
    this.left = width * height;
  }
  get complete(): boolean {
    return this.left === 0;
  }
  add(e: { x: number; y: number; width: number; height: number }): void {
    for (let y = e.y; y < e.y + e.height; y++) {
      const row = this.map.subarray(y * this.width + e.x, y * this.width + e.x + e.width);
      for (let i = 0; i < row.length; i++) {
        if (!row[i]) {
          row[i] = 1;
          this.left--;
        }
      }
    }
  }
}

const MAX_SCREENSHOT_UPDATES = 16;

const keyMessage = z.object({ type: z.literal('key'), keysym: z.number().int().min(0).max(0xffffffff), down: z.boolean() });
const pointerMessage = z.object({ type: z.literal('pointer'), x: z.number().int().min(0).max(65535), y: z.number().int().min(0).max(65535), buttons: z.number().int().min(0).max(255) });

/** X keysyms of Ctrl-Alt-Del (Control_L, Alt_L, Delete): pressed in that order, released in reverse. */
const CTRL_ALT_DEL = [0xffe3, 0xffe9, 0xffff];

export default defineProtocol({
  id: 'vnc',
  title: 'VNC (RFB)',
  category: 'remote',
  summary: 'Remote Framebuffer: the server\'s version, security types and desktop; a screenshot as PNG; a live desktop in the browser with keyboard, mouse, clipboard and resize (Raw, CopyRect, RRE, Hextile, ZRLE and Tight decoded to RGBA).',
  ports: [{ port: 5900, transport: 'tcp' }],
  specs: ['RFC 6143', 'RFB protocol community document (Tight, VeNCrypt, ExtendedDesktopSize, LastRect, Cursor, ContinuousUpdates, Fence)'],
  rating: {
    stars: 5,
    reason:
      "Lab-tested through workerd against TigerVNC's Xvnc and x11vnc: RFB 3.3, 3.7 and 3.8; None, VNC Authentication (the server's reason on a wrong password) and VeNCrypt X509Vnc and X509Plain over the runtime's TLS; Raw, RRE, Hextile, ZRLE and Tight decoded pixel for pixel to the lab's known image from both servers, CopyRect from a scroll; TigerVNC's ContinuousUpdates with its Fence requests answered (changes pushed unasked), and the update requests of a view without them; keys and clicks read back from the X server, clipboard both ways, SetDesktopSize; the browser's canvas compared with the lab image in headless Chromium; Tight JPEG passed to the browser whole (each an image of its rectangle) and drawn there within JPEG's error. Not covered: VeNCrypt's anonymous-TLS subtypes (TLSNone/TLSVnc/TLSPlain: no runtime here offers anonymous Diffie-Hellman), RealVNC's RSA-AES, Apple and UltraVNC security types, and the extended (UTF-8) clipboard.",
  },
  verifiedAgainst: 'TigerVNC Xvnc 1.12.0+dfsg-8, x11vnc 0.9.16-9',
  defaultOperation: 'probe',
  identify: identification,
  operations: {
    probe: operation({
      summary: "The server's RFB version, security types (and VeNCrypt subtypes), and — when it lets this client in — its desktop name, size and pixel format",
      input: z.object(connection),
      output: z.object({
        serverVersion: z.string(),
        version: z.string().describe('The version spoken'),
        securityTypes: z.array(z.object({ type: z.number(), name: z.string() })),
        veNCryptSubtypes: z.array(z.object({ type: z.number(), name: z.string() })).nullable(),
        security: securityOut.nullable().describe('The security type used to reach ServerInit'),
        desktop: desktopOut.nullable(),
        note: z.string().nullable(),
      }),
      text: (r) =>
        [
          `${r.serverVersion} (speaking ${r.version})`,
          `security: ${r.securityTypes.map((t) => t.name).join(', ')}`,
          ...(r.veNCryptSubtypes ? [`VeNCrypt: ${r.veNCryptSubtypes.map((t) => t.name).join(', ')}`] : []),
          ...(r.desktop ? [`desktop: "${r.desktop.name}" ${r.desktop.width}×${r.desktop.height}, ${r.desktop.pixelFormatText}`] : []),
          ...(r.note ? [r.note] : []),
        ].join('\n'),
      async run(ctx, input) {
        const conn = await dialFor(ctx, input.security);
        let hs: Handshake | undefined;
        let note: string | null = null;
        let serverVersion = '';
        let version = '';
        let offered: { type: number; name: string }[] = [];
        try {
          hs = await handshake(conn, { ...input, version: Number(input.version.slice(2)) as 3 | 7 | 8 });
          ({ offered } = hs);
          serverVersion = hs.serverVersion.text;
          version = hs.version;
        } catch (e) {
          const err = classify(e);
          if (err.code !== 'auth_failed' || !/give a password/.test(err.message)) throw e;
          note = `${err.message}; the desktop's name, size and pixel format come after authentication`;
        } finally {
          await conn.close();
        }
        if (!hs) {
          // The first connection stopped at the security types: read them again without choosing one.
          const again = await ctx.dial();
          try {
            const v = await exchangeVersions(again, Number(input.version.slice(2)) as 3 | 7 | 8);
            serverVersion = v.server.text;
            version = `3.${v.minor}`;
            offered = (await readSecurityTypes(again, v.minor)).map((t) => ({ type: t, name: securityTypeName(t) }));
          } finally {
            await again.close();
          }
        }
        let subtypes: { type: number; name: string }[] | null = null;
        if (offered.some((t) => t.type === SecurityType.veNCrypt) && version !== '3.3') {
          const c = await ctx.dial();
          try {
            subtypes = (await listVeNCryptSubtypes(c)).map((t) => ({ type: t, name: veNCryptSubtypeName(t) }));
          } finally {
            await c.close();
          }
        }
        return { serverVersion, version, securityTypes: offered, veNCryptSubtypes: subtypes, security: hs?.security ?? null, desktop: hs ? desktopOf(hs) : null, note };
      },
    }),
    screenshot: operation({
      summary: 'One full framebuffer update, decoded and answered as a PNG (Accept: image/png answers the image itself; JSON carries it as base64)',
      input: z.object({
        ...connection,
        encodings: z.array(z.enum(ENCODINGS)).min(1).max(6).default(['tight', 'zrle', 'hextile', 'raw']).describe('Encodings to accept, most preferred first (the server may always send Raw)'),
        pointer: z.boolean().default(false).describe('Include the mouse pointer as the server draws it (otherwise the Cursor pseudo-encoding keeps it out of the image)'),
      }),
      output: z.object({
        name: z.string(),
        width: z.number(),
        height: z.number(),
        png: z.string().describe('The image, PNG as base64'),
        pngBytes: z.number(),
        rectangles: z.record(z.string(), z.number()).describe('Rectangles received, by encoding'),
        updates: z.number(),
        bytesReceived: z.number(),
        security: securityOut,
        serverPixelFormat: z.string(),
      }),
      media: { contentType: 'image/png', body: (r) => fromBase64(r.png), filename: () => 'screenshot.png' },
      text: (r) => `${r.width}×${r.height} "${r.name}", PNG ${r.pngBytes} bytes; rectangles: ${Object.entries(r.rectangles).map(([k, v]) => `${k} ${v}`).join(', ')}`,
      async run(ctx, input) {
        const { conn, hs } = await open(ctx, input);
        const client = new RfbClient(conn, hs);
        await client.setup({ encodings: input.encodings, cursor: !input.pointer });
        const fb = new Framebuffer(client.width, client.height);
        const coverage = new Coverage(client.width, client.height);
        const rectangles: Record<string, number> = {};
        let updates = 0;
        await client.requestUpdate(false);
        while (!coverage.complete) {
          const events = await client.read();
          if (events === null) throw new ProtocolError('the server closed the connection before sending the whole screen');
          for (const e of events) {
            tally(rectangles, e);
            if (e.type === 'jpeg') throw new ProtocolError('the server sent a JPEG rectangle, which was not asked for');
            if (fb.apply(e) && (e.type === 'pixels' || e.type === 'fill' || e.type === 'copy')) coverage.add(e);
            if (e.type === 'update-end') {
              updates++;
              if (!coverage.complete) {
                if (updates >= MAX_SCREENSHOT_UPDATES) throw new ProtocolError(`${updates} updates did not cover the whole screen`);
                await client.requestUpdate(false);
              }
            }
          }
        }
        await conn.close();
        const png = await encodePng(fb.rgba, fb.width, fb.height, { opaque: true });
        return {
          name: hs.init.name,
          width: fb.width,
          height: fb.height,
          png: toBase64(png),
          pngBytes: png.length,
          rectangles,
          updates,
          bytesReceived: conn.bytesIn,
          security: hs.security,
          serverPixelFormat: describePixelFormat(hs.init.pixelFormat),
        };
      },
    }),
    view: operation({
      summary:
        'A live desktop in the page: see the screen, type and point, share the clipboard',
      messages:
        'A live desktop: binary frames are framebuffer updates decoded to RGBA (format in src/protocols/vnc/framebuffer.ts); send {"type":"key","keysym","down"}, {"type":"pointer","x","y","buttons"}, {"type":"clipboard","text"}, {"type":"resize","width","height"}, {"type":"ctrl-alt-del"}, {"type":"refresh"}; acknowledge drawn updates with {"type":"ack","bytes"}',
      input: z.object({
        ...connection,
        encodings: z.array(z.enum(ENCODINGS)).min(1).max(6).default(['copyrect', 'tight', 'zrle', 'hextile', 'raw']).describe('Encodings to accept, most preferred first'),
        jpegQuality: z.number().int().min(0).max(9).optional().describe('Let Tight send JPEG at this quality (0–9; lossy, less data)'),
        compressLevel: z.number().int().min(0).max(9).optional().describe('Tight/ZRLE compression level hint (0–9)'),
        cursor: z.boolean().default(true).describe('Draw the pointer in the browser (Cursor pseudo-encoding)'),
        viewOnly: z.boolean().default(false).describe('Send no keyboard or pointer events'),
        continuousUpdates: z
          .boolean()
          .default(true)
          .describe('Let a server that has them (TigerVNC) push updates as the screen changes (ContinuousUpdates, paced by its Fence round trips), instead of asking for each'),
        window: z
          .number()
          .int()
          .min(64 * 1024)
          .max(64 * 1024 * 1024)
          .default(16 * 1024 * 1024)
          .describe('Bytes of updates the browser may have unacknowledged ({"type":"ack","bytes"}) before the server is read again: about four full 1280×800 screens by default'),
      }),
      output: z.object({
        ended: z.enum(['server', 'client']),
        updates: z.number(),
        rectangles: z.record(z.string(), z.number()),
        continuous: z.boolean().describe('The server pushed updates unasked (ContinuousUpdates)'),
        fences: z.number().describe("The server's fence requests answered"),
        bytesIn: z.number(),
        bytesOut: z.number(),
      }),
      async session(ctx, input, channel) {
        const { conn, hs } = await open(ctx, input);
        const client = new RfbClient(conn, hs);
        await client.setup({ encodings: input.encodings, desktopSize: true, cursor: input.cursor, jpegQuality: input.jpegQuality, compressLevel: input.compressLevel, continuous: input.continuousUpdates });
        channel.send({ type: 'init', name: hs.init.name, width: client.width, height: client.height, version: hs.version, security: hs.security, serverPixelFormat: describePixelFormat(hs.init.pixelFormat) });
        return runView(client, input, channel);
      },
    }),
  },
});

/**
 * How it works: the next incremental update is requested as soon as one has been read, so the server always has a
 * request to answer; or, with a server that announces ContinuousUpdates (an EndOfContinuousUpdates in answer to
 * SetEncodings), the view enables them for the whole screen and the server sends each change unasked, pacing itself
 * by the round trips of its fence requests, which the view answers in order with the updates. What paces the stream
 * is the session's credit (src/api/websocket.ts): the browser acknowledges the bytes it has drawn, and the connection
 * is not read while `window` bytes are unacknowledged, so a slow browser slows the server through TCP (and its fence
 * answers) instead of filling memory.
 */
async function runView(client: RfbClient, input: { viewOnly: boolean; continuousUpdates: boolean }, channel: SessionChannel) {
  const rectangles: Record<string, number> = {};
  let updates = 0;
  /** Whether the server pushes updates (enabled, and not ended by an EndOfContinuousUpdates since). */
  let continuous = false;
  let pushed = false;
  let fences = 0;
  let resizable = false;
  /** The server's screen layout (ExtendedDesktopSize), reused when asking for a new size. */
  let screens: Screen[] = [];
  await client.requestUpdate(false);
  const fromServer = (async () => {
    let ops: ServerEvent[] = [];
    const flush = () => {
      if (!ops.length) return;
      channel.send(encodeViewUpdate(ops));
      ops = [];
    };
    for (;;) {
      const events = await client.read();
      if (events === null) return 'server' as const;
      for (const e of events) {
        tally(rectangles, e);
        switch (e.type) {
          case 'pixels':
          case 'fill':
          case 'copy':
          case 'jpeg':
          case 'cursor':
            ops.push(e);
            break;
          case 'resize':
            flush();
            if (e.screens.length) {
              resizable = true;
              screens = e.screens;
            }
            channel.send({ type: 'resize', width: e.width, height: e.height, reason: e.reason, status: e.status, statusText: RESIZE_STATUS[e.status] ?? `status ${e.status}`, screens: e.screens });
            // The pushed area follows the screen.
            if (continuous) await client.enableContinuousUpdates(true);
            break;
          case 'end-of-continuous-updates':
            // The first one announces them; a later one says they ended: back to asking.
            if (!pushed && input.continuousUpdates) {
              pushed = continuous = true;
              await client.enableContinuousUpdates(true);
            } else if (continuous) {
              continuous = false;
              await client.requestUpdate(true);
            }
            break;
          case 'fence':
            if (e.flags & FENCE.request) {
              // Answered after every update before it has gone to the browser.
              flush();
              fences++;
              const flags = e.flags & (FENCE.blockBefore | FENCE.blockAfter | FENCE.syncNext);
              await client.conn.write(encodeClientFence(flags, e.payload), { decode: `ClientFence flags 0x${flags.toString(16)}, ${e.payload.length}-byte payload` });
            }
            break;
          case 'desktop-name':
            channel.send({ type: 'name', name: e.name });
            break;
          case 'bell':
            channel.send({ type: 'bell' });
            break;
          case 'cut-text':
            channel.send({ type: 'clipboard', text: e.text });
            break;
          case 'update-end':
            updates++;
            flush();
            if (!continuous) await client.requestUpdate(true);
            break;
        }
      }
    }
  })();
  const fromClient = (async () => {
    for (;;) {
      const m: SessionMessage | null = await channel.receive();
      if (m === null) return 'client' as const;
      if (m instanceof Uint8Array) continue;
      if (m.type === 'stop') return 'client' as const;
      else if (m.type === 'refresh') await client.requestUpdate(false);
      else if (input.viewOnly && ['key', 'pointer', 'ctrl-alt-del'].includes(m.type)) continue;
      else if (m.type === 'key') {
        const k = keyMessage.safeParse(m);
        if (!k.success) channel.send({ type: 'error', error: { code: 'invalid_input', message: 'key needs keysym (X keysym number) and down (boolean)' } });
        else await client.conn.write(encodeKeyEvent(k.data.down, k.data.keysym), { decode: `KeyEvent ${k.data.down ? 'down' : 'up'} 0x${k.data.keysym.toString(16)}` });
      } else if (m.type === 'pointer') {
        const p = pointerMessage.safeParse(m);
        if (!p.success) channel.send({ type: 'error', error: { code: 'invalid_input', message: 'pointer needs x, y and buttons (a mask: 1 left, 2 middle, 4 right, 8/16 wheel)' } });
        else await client.conn.write(encodePointerEvent(p.data.buttons, Math.min(p.data.x, client.width - 1), Math.min(p.data.y, client.height - 1)));
      } else if (m.type === 'ctrl-alt-del') {
        for (const k of CTRL_ALT_DEL) await client.conn.write(encodeKeyEvent(true, k), { decode: `KeyEvent down 0x${k.toString(16)}` });
        for (const k of [...CTRL_ALT_DEL].reverse()) await client.conn.write(encodeKeyEvent(false, k), { decode: `KeyEvent up 0x${k.toString(16)}` });
      } else if (m.type === 'clipboard' && typeof m.text === 'string') {
        await client.conn.write(encodeClientCutText(m.text.slice(0, 1 << 20)), { decode: `ClientCutText ${JSON.stringify(m.text.slice(0, 80))}` });
      } else if (m.type === 'resize' && typeof m.width === 'number' && typeof m.height === 'number') {
        const width = Math.max(1, Math.min(16384, Math.round(m.width)));
        const height = Math.max(1, Math.min(16384, Math.round(m.height)));
        if (!resizable) {
          channel.send({ type: 'error', error: { code: 'invalid_input', message: 'this server has not said it can change the desktop size (ExtendedDesktopSize)' } });
          continue;
        }
        const first = screens[0] ?? { id: 0, flags: 0 };
        await client.conn.write(encodeSetDesktopSize(width, height, [{ id: first.id, flags: first.flags, x: 0, y: 0, width, height }]), { decode: `SetDesktopSize ${width}×${height}` });
      } else channel.send({ type: 'error', error: { code: 'invalid_input', message: `unknown message type ${JSON.stringify(m.type)}: key, pointer, clipboard, resize, ctrl-alt-del, refresh or stop` } });
    }
  })();
  let ended: 'server' | 'client';
  try {
    ended = await Promise.race([fromServer.catch((e) => (classify(e).code === 'closed' ? ('server' as const) : Promise.reject(e))), fromClient]);
  } finally {
    await client.conn.close();
    fromServer.catch(() => {});
    fromClient.catch(() => {});
  }
  return { ended, updates, rectangles, continuous: pushed, fences, bytesIn: client.conn.bytesIn, bytesOut: client.conn.bytesOut };
}
