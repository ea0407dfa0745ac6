// X11 (X Window System Protocol, version 11): connection setup with and without MIT-MAGIC-COOKIE-1, the server's
// vendor, release, screens and pixmap formats; its extensions with their opcodes; the root window as a PNG.
//
// How it works: the setup request goes out with the cookie when one is given, and the server answers Success (its whole
// description), Failed or Authenticate with its reason. Requests after that are numbered from 1; replies, errors and
// events come back as 32-byte packets (replies longer), matched to their request by sequence number.
import * as z from 'zod';
import { fromBase64, fromHex, toBase64 } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import { AuthError, InvalidInput, ProtocolError, ServerError } from '../../core/errors.ts';
import { encodePng } from '../../core/png.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { checkFramebufferSize } from '../vnc/codec.ts';
import {
  decodeGetImage,
  decodeListExtensions,
  decodeQueryExtension,
  encodeGetImage,
  encodeListExtensions,
  encodeQueryExtension,
  encodeSetupRequest,
  packetFrame,
  setupReplyFrame,
  zPixmapStride,
  zPixmapToRgba,
  type Packet,
  type SetupSuccess,
} from './codec.ts';
import { identification } from './identify.ts';

const auth = {
  display: z.number().int().min(0).max(59535).optional().describe('Display number: the port is 6000 + display when no port is given'),
  cookie: z
    .string()
    .regex(/^[0-9a-fA-F]{32}$/, 'cookie is 32 hex digits (as `xauth list` shows it)')
    .optional()
    .describe('MIT-MAGIC-COOKIE-1 to authorize with (hex); sent masked in the transcript'),
};

class XClient {
  private seq = 0;
  constructor(
    readonly conn: Conn,
    readonly setup: SetupSuccess,
  ) {}

  /** Sends a request; returns its sequence number. */
  async send(bytes: Uint8Array, decode: string): Promise<number> {
    await this.conn.write(bytes, { decode });
    this.seq = (this.seq + 1) & 0xffff;
    return this.seq;
  }

  /** The reply to request `seq`; its error as ServerError; events in between are skipped. */
  async reply(seq: number, what: string): Promise<Extract<Packet, { kind: 'reply' }>> {
    for (;;) {
      const p = await this.conn.readFrame(packetFrame, what, describePacket);
      if (p.kind === 'event') continue;
      if (p.sequence !== seq) {
        if (p.kind === 'error') throw new ServerError(`X error ${p.name} for request ${p.sequence} while waiting for ${what}`, { ...p });
        continue;
      }
      if (p.kind === 'error') throw new ServerError(`the X server answered ${what} with a ${p.name} error (code ${p.code}, bad value 0x${p.badValue.toString(16)})`, { ...p });
      return p;
    }
  }
}

function describePacket(p: Packet): string {
  if (p.kind === 'reply') return `reply #${p.sequence} (${p.body.length + 8} bytes)`;
  if (p.kind === 'error') return `error ${p.name} #${p.sequence} (major ${p.majorOpcode})`;
  return `event ${p.code}`;
}

async function connect(ctx: OperationContext, input: { cookie?: string }): Promise<XClient> {
  const conn = await ctx.dial();
  const authData = input.cookie ? { name: 'MIT-MAGIC-COOKIE-1', data: fromHex(input.cookie) } : undefined;
  await conn.write(encodeSetupRequest(authData), authData ? { secret: true, decode: 'connection setup, little-endian, X11.0, MIT-MAGIC-COOKIE-1 ****' } : { decode: 'connection setup, little-endian, X11.0, no authorization' });
  const reply = await conn.readFrame(setupReplyFrame, 'connection setup reply', (r) => (r.status === 'success' ? `Success: ${r.vendor} ${r.release}, ${r.screens.length} screen(s)` : `${r.status}: ${r.reason}`));
  if (reply.status === 'success') return new XClient(conn, reply);
  await conn.close();
  // Access control is what refuses a setup: "No protocol specified", "Authorization required...", "Invalid MIT-MAGIC-COOKIE-1 key".
  if (/author|protocol specified|cookie|access|denied/i.test(reply.reason)) throw new AuthError(`the X server refused the connection: ${reply.reason}`, { reason: reply.reason });
  throw new ServerError(`the X server refused the connection (${reply.status}): ${reply.reason}`, { reason: reply.reason });
}

function screenSummary(setup: SetupSuccess) {
  return setup.screens.map((s, i) => {
    const visual = s.depths.flatMap((d) => d.visuals).find((v) => v.id === s.rootVisual);
    return {
      index: i,
      root: `0x${s.root.toString(16)}`,
      width: s.width,
      height: s.height,
      widthMm: s.widthMm,
      heightMm: s.heightMm,
      rootDepth: s.rootDepth,
      rootVisual: visual ? { id: `0x${visual.id.toString(16)}`, class: visual.class, bitsPerRgb: visual.bitsPerRgb, redMask: `0x${visual.redMask.toString(16)}`, greenMask: `0x${visual.greenMask.toString(16)}`, blueMask: `0x${visual.blueMask.toString(16)}` } : null,
      depths: s.depths.map((d) => ({ depth: d.depth, visuals: d.visuals.length })),
      backingStores: s.backingStores,
      saveUnders: s.saveUnders,
    };
  });
}

const screenOut = z.object({
  index: z.number(),
  root: z.string(),
  width: z.number(),
  height: z.number(),
  widthMm: z.number(),
  heightMm: z.number(),
  rootDepth: z.number(),
  rootVisual: z.object({ id: z.string(), class: z.string(), bitsPerRgb: z.number(), redMask: z.string(), greenMask: z.string(), blueMask: z.string() }).nullable(),
  depths: z.array(z.object({ depth: z.number(), visuals: z.number() })),
  backingStores: z.string(),
  saveUnders: z.boolean(),
});

/** GetImage in strips of about this many bytes: replies stay small, however large the screen. */
const STRIP_BYTES = 1 << 20;

export default defineProtocol({
  id: 'x11',
  title: 'X11',
  category: 'remote',
  summary: 'X Window System: connection setup (with or without MIT-MAGIC-COOKIE-1) and the server\'s vendor, release, screens and formats; its extensions with opcodes; the root window as a PNG.',
  ports: [{ port: 6000, transport: 'tcp', label: 'display :0 (6000 + display)' }],
  specs: ['X Window System Protocol, version 11 (X Consortium standard)', 'X11 Security: MIT-MAGIC-COOKIE-1 (xauth)'],
  rating: {
    stars: 4,
    reason:
      "Lab-tested through workerd against Xvfb: connection setup without authorization and with MIT-MAGIC-COOKIE-1 (a missing or wrong cookie refused with the server's reason), vendor, release, formats, screens and visuals; ListExtensions with every extension's opcode, first event and first error; GetImage of the root window as PNG, pixel for pixel against the lab image. Not covered: XDM-AUTHORIZATION-1 and other authorization protocols, colour-mapped (PseudoColor, grey) screens, windows other than the root, and the requests of extensions.",
  },
  verifiedAgainst: 'Xvfb (xorg-server 2:21.1.7-3+deb12u13)',
  defaultOperation: 'setup',
  identify: identification,
  operations: {
    setup: operation({
      summary: "Connection setup: the server's vendor, release, protocol version, limits, pixmap formats and screens (or its reason for refusing)",
      input: z.object(auth),
      defaultPort: (input) => 6000 + (typeof input.display === 'number' ? input.display : 0),
      output: z.object({
        protocolVersion: z.string(),
        vendor: z.string(),
        release: z.number(),
        authorization: z.string().describe('MIT-MAGIC-COOKIE-1 or none'),
        maxRequestLength: z.number().describe('In 4-byte units'),
        imageByteOrder: z.string(),
        bitmapBitOrder: z.string(),
        bitmapScanlineUnit: z.number(),
        bitmapScanlinePad: z.number(),
        keycodes: z.object({ min: z.number(), max: z.number() }),
        resourceIdBase: z.string(),
        resourceIdMask: z.string(),
        formats: z.array(z.object({ depth: z.number(), bitsPerPixel: z.number(), scanlinePad: z.number() })),
        screens: z.array(screenOut),
      }),
      text: (r) =>
        [
          `${r.vendor} release ${r.release}, X${r.protocolVersion}, authorization ${r.authorization}`,
          `formats: ${r.formats.map((f) => `${f.depth}/${f.bitsPerPixel}bpp`).join(', ')}`,
          ...r.screens.map((s) => `screen ${s.index}: ${s.width}×${s.height} (${s.widthMm}×${s.heightMm} mm), depth ${s.rootDepth}, ${s.rootVisual?.class ?? '?'}`),
        ].join('\n'),
      async run(ctx, input) {
        const x = await connect(ctx, input);
        await x.conn.close();
        const s = x.setup;
        return {
          protocolVersion: s.protocolVersion,
          vendor: s.vendor,
          release: s.release,
          authorization: input.cookie ? 'MIT-MAGIC-COOKIE-1' : 'none',
          maxRequestLength: s.maxRequestLength,
          imageByteOrder: s.imageByteOrder,
          bitmapBitOrder: s.bitmapBitOrder,
          bitmapScanlineUnit: s.bitmapScanlineUnit,
          bitmapScanlinePad: s.bitmapScanlinePad,
          keycodes: { min: s.minKeycode, max: s.maxKeycode },
          resourceIdBase: `0x${s.resourceIdBase.toString(16)}`,
          resourceIdMask: `0x${s.resourceIdMask.toString(16)}`,
          formats: s.formats,
          screens: screenSummary(s),
        };
      },
    }),
    extensions: operation({
      summary: 'ListExtensions, then QueryExtension for each: the major opcode, first event and first error of every extension',
      input: z.object(auth),
      defaultPort: (input) => 6000 + (typeof input.display === 'number' ? input.display : 0),
      output: z.object({ vendor: z.string(), extensions: z.array(z.object({ name: z.string(), majorOpcode: z.number(), firstEvent: z.number(), firstError: z.number() })) }),
      text: (r) => r.extensions.map((e) => `${e.name.padEnd(24)} opcode ${e.majorOpcode}${e.firstEvent ? `, events from ${e.firstEvent}` : ''}${e.firstError ? `, errors from ${e.firstError}` : ''}`).join('\n'),
      async run(ctx, input) {
        const x = await connect(ctx, input);
        const names = decodeListExtensions(await x.reply(await x.send(encodeListExtensions(), 'ListExtensions'), 'ListExtensions'));
        if (names.length > 255) throw new ProtocolError(`${names.length} extensions`);
        // Every QueryExtension at once; the replies come back in order.
        const seqs: number[] = [];
        for (const n of names) seqs.push(await x.send(encodeQueryExtension(n), `QueryExtension ${n}`));
        const extensions = [];
        for (let i = 0; i < names.length; i++) {
          const q = decodeQueryExtension(await x.reply(seqs[i], `QueryExtension ${names[i]}`));
          extensions.push({ name: names[i], majorOpcode: q.majorOpcode, firstEvent: q.firstEvent, firstError: q.firstError });
        }
        await x.conn.close();
        return { vendor: x.setup.vendor, extensions: extensions.sort((a, b) => a.name.localeCompare(b.name)) };
      },
    }),
    screenshot: operation({
      summary: 'GetImage of a screen\'s root window, answered as a PNG (Accept: image/png answers the image itself; JSON carries it as base64)',
      input: z.object({ ...auth, screen: z.number().int().min(0).max(255).default(0).describe('Screen number') }),
      defaultPort: (input) => 6000 + (typeof input.display === 'number' ? input.display : 0),
      output: z.object({ width: z.number(), height: z.number(), depth: z.number(), visual: z.string(), png: z.string().describe('The image, PNG as base64'), pngBytes: z.number(), requests: z.number() }),
      media: { contentType: 'image/png', body: (r) => fromBase64(r.png), filename: () => 'root-window.png' },
      text: (r) => `${r.width}×${r.height}, depth ${r.depth}, ${r.visual}; PNG ${r.pngBytes} bytes`,
      async run(ctx, input) {
        const x = await connect(ctx, input);
        const s = x.setup.screens[input.screen];
        if (!s) throw InvalidInput.field('screen', `the server has ${x.setup.screens.length} screen(s)`);
        checkFramebufferSize(s.width, s.height, 'the screen');
        const visual = s.depths.flatMap((d) => d.visuals).find((v) => v.id === s.rootVisual);
        const format = x.setup.formats.find((f) => f.depth === s.rootDepth);
        if (!visual || !format) throw new ProtocolError(`the setup describes no visual 0x${s.rootVisual.toString(16)} or format for depth ${s.rootDepth}`);
        const rgba = new Uint8Array(s.width * s.height * 4);
        const rows = Math.max(1, Math.floor(STRIP_BYTES / zPixmapStride(s.width, format)));
        let requests = 0;
        for (let y = 0; y < s.height; y += rows) {
          const h = Math.min(rows, s.height - y);
          const seq = await x.send(encodeGetImage(s.root, 0, y, s.width, h), `GetImage ZPixmap ${s.width}×${h} at 0,${y}`);
          const img = decodeGetImage(await x.reply(seq, 'GetImage'));
          requests++;
          zPixmapToRgba(img.data, s.width, h, format, visual, x.setup.imageByteOrder, rgba, y, s.width);
        }
        await x.conn.close();
        const png = await encodePng(rgba, s.width, s.height, { opaque: true });
        return { width: s.width, height: s.height, depth: s.rootDepth, visual: `${visual.class} 0x${visual.id.toString(16)}`, png: toBase64(png), pngBytes: png.length, requests };
      },
    }),
  },
});
