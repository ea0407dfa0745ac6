import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { authHeaders, call, openSession, workerUrl, type SessionClient } from '../../../test/harness.ts';
import { decodePng, pixelMismatches } from '../../../test/png.ts';
import { ensureLab, labDir, ports } from '../../../lab/index.ts';
import { PYTHON, desktopFacts, eventsScript, labPixel, paintScript } from '../../../lab/servers/desktop.ts';
import { Framebuffer, decodeViewUpdate } from './framebuffer.ts';
import { expandIndexed } from './updates.ts';

const p = ports.desktop;
const tiger = { host: '127.0.0.1', port: p.vnc };
const secure = { host: '127.0.0.1', port: p.vncSecure };
const x11vnc = { host: '127.0.0.1', port: p.x11vnc, password: desktopFacts.vncPassword };
const { width, height } = desktopFacts.screen;

before(() => ensureLab(['desktop']));

async function ok(op: string, input: Record<string, unknown>) {
  const r = await call('vnc', op, input);
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 2000));
  return r.body.result;
}

function assertLabImage(png: Uint8Array, what: string) {
  const img = decodePng(png);
  assert.deepEqual([img.width, img.height], [width, height], what);
  const m = pixelMismatches(img, labPixel);
  assert.equal(m.count, 0, `${what}: ${m.count} pixels differ from the lab image: ${m.first.join('; ')}`);
}

test('vnc probe: TigerVNC speaks RFB 3.8, offers None, and shows its desktop', async () => {
  const r = await ok('probe', tiger);
  assert.equal(r.serverVersion, 'RFB 003.008');
  assert.equal(r.version, '3.8');
  assert.deepEqual(r.securityTypes, [{ type: 1, name: 'None' }]);
  assert.equal(r.security.name, 'None');
  assert.equal(r.desktop.name, desktopFacts.desktopName);
  assert.deepEqual([r.desktop.width, r.desktop.height], [width, height]);
  assert.equal(r.desktop.pixelFormat.bitsPerPixel, 32);
  assert.equal(r.desktop.pixelFormat.depth, 24);
  assert.equal(r.desktop.pixelFormatText, '32 bpp, depth 24, little-endian, true colour R8@16 G8@8 B8@0');
});

test('vnc probe: without a password the secure server lists VeNCrypt with its subtypes and VNC Authentication', async () => {
  const r = await ok('probe', secure);
  assert.deepEqual(r.securityTypes.map((t: { name: string }) => t.name), ['VeNCrypt', 'VNC Authentication']);
  assert.deepEqual(r.veNCryptSubtypes.map((t: { name: string }) => t.name), ['X509Plain', 'X509Vnc', 'VNC Authentication']);
  assert.equal(r.desktop, null);
  assert.match(r.note, /give a password/);
});

test('vnc probe: RFB 3.3 (the server picks VNC Authentication) and 3.7', async () => {
  const r33 = await ok('probe', { ...secure, version: '3.3', password: desktopFacts.vncPassword });
  assert.equal(r33.version, '3.3');
  assert.deepEqual(r33.securityTypes, [{ type: 2, name: 'VNC Authentication' }]);
  assert.equal(r33.desktop.name, desktopFacts.secureDesktopName);
  const r37 = await ok('probe', { ...tiger, version: '3.7' });
  assert.equal(r37.version, '3.7');
  assert.equal(r37.desktop.name, desktopFacts.desktopName);
});

test('vnc: VNC Authentication with the right password, auth_failed with the server\'s reason for a wrong one', async () => {
  const r = await ok('probe', { ...secure, security: 'vnc', password: desktopFacts.vncPassword });
  assert.equal(r.security.name, 'VNC Authentication');
  assert.equal(r.desktop.name, desktopFacts.secureDesktopName);
  const bad = await call('vnc', 'probe', { ...secure, security: 'vnc', password: 'wrong' });
  assert.equal(bad.status, 502);
  assert.equal(bad.body.error.code, 'auth_failed');
  assert.equal(bad.body.error.detail.reason, 'Authentication failure');
  assert.match(bad.body.error.message, /VNC Authentication failed: Authentication failure/);
});

test('vnc: VeNCrypt X509Vnc and X509Plain over the runtime\'s TLS (startTls after the go-ahead)', async () => {
  const vnc = await call('vnc', 'probe', { ...secure, password: desktopFacts.vncPassword }, { transcript: true });
  assert.equal(vnc.status, 200, JSON.stringify(vnc.body));
  assert.deepEqual(vnc.body.result.security, { type: 19, name: 'VeNCrypt', tls: true, subtype: 261, subtypeName: 'X509Vnc' });
  const notes = vnc.body.transcript.entries.map((e: { decode?: string }) => e.decode ?? '');
  assert.ok(notes.includes('TLS established'), notes.join('\n'));
  assert.ok(notes.some((n: string) => /masked|\*\*\*\*/.test(n)), 'the response is masked');
  const plain = await ok('probe', { ...secure, username: desktopFacts.plainUser, password: desktopFacts.plainPassword });
  assert.equal(plain.security.subtypeName, 'X509Plain');
  assert.equal(plain.desktop.name, desktopFacts.secureDesktopName);
  const bad = await call('vnc', 'probe', { ...secure, username: desktopFacts.plainUser, password: 'nope' });
  assert.equal(bad.body.error.code, 'auth_failed');
  assert.match(bad.body.error.message, /X509Plain failed: Authentication failure: invalid password or username/);
  // Never a password in clear by default: Plain without TLS must be asked for by name.
  const none = await call('vnc', 'probe', { ...secure, security: 'vnc' });
  assert.equal(none.body.error.code, 'auth_failed');
  assert.match(none.body.error.message, /needs a password/);
});

for (const encoding of ['raw', 'rre', 'hextile', 'zrle', 'tight'] as const) {
  const name = { raw: 'Raw', rre: 'RRE', hextile: 'Hextile', zrle: 'ZRLE', tight: 'Tight' }[encoding];
  test(`vnc screenshot: ${name} from TigerVNC and from x11vnc decodes to the lab image, pixel for pixel`, async () => {
    for (const server of [tiger, x11vnc]) {
      const r = await ok('screenshot', { ...server, encodings: [encoding] });
      assert.ok(r.rectangles[name] > 0, `${name} rectangles: ${JSON.stringify(r.rectangles)}`);
      assert.deepEqual([r.width, r.height], [width, height]);
      assertLabImage(Buffer.from(r.png, 'base64'), `${name} from ${server.port}`);
    }
  });
}

test('vnc screenshot: Accept: image/png answers the image itself', async () => {
  const res = await fetch(`${workerUrl()}/api/vnc/screenshot`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'image/png', ...authHeaders('dev') }, body: JSON.stringify(tiger) });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'image/png');
  assert.match(res.headers.get('content-disposition') ?? '', /screenshot\.png/);
  const png = new Uint8Array(await res.arrayBuffer());
  assert.equal(Number(res.headers.get('content-length')), png.length);
  assertLabImage(png, 'image/png answer');
});

/** Applies every update the session has sent so far to a framebuffer. */
function paint(session: SessionClient, fb: Framebuffer, from = 0): number {
  for (let i = from; i < session.data.length; i++) {
    for (const op of decodeViewUpdate(session.data[i])) {
      if (op.op === 'pixels') fb.putPixels(op, op.rgba);
      else if (op.op === 'fill') fb.fill(op, op.r, op.g, op.b);
      else if (op.op === 'copy') fb.copy(op, op.srcX, op.srcY);
    }
    session.send({ type: 'ack', bytes: session.data[i].length });
  }
  return session.data.length;
}

async function waitFor(what: string, check: () => boolean, ms = 10_000) {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`no ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('vnc view: the first update draws the lab image; keys and clicks reach the X server', async () => {
  const recorder = spawn(PYTHON, [eventsScript, '20'], { env: { ...process.env, DISPLAY: `:${desktopFacts.displays.vnc}` } });
  const events: Record<string, unknown>[] = [];
  createInterface({ input: recorder.stdout! }).on('line', (l) => events.push(JSON.parse(l)));
  const s = await openSession('vnc', 'view', { ...tiger, encodings: ['tight'] });
  try {
    const init = await s.next((m) => m.type === 'init');
    assert.deepEqual([init.width, init.height, init.name], [width, height, desktopFacts.desktopName]);
    const fb = new Framebuffer(width, height);
    let painted = 0;
    // The updates until the whole screen has arrived (the first may carry only the desktop size or the cursor).
    await waitFor('the whole lab image', () => {
      painted = paint(s, fb, painted);
      return pixelMismatches({ width, height, rgba: fb.rgba }, labPixel).count === 0;
    });
    assert.ok(decodeViewUpdate(s.data[0]).length > 0);
    await waitFor('the event recorder', () => events.some((e) => e.ready));
    // Shift + a = "A"; a click of the right button at (123, 45).
    for (const [keysym, down] of [[0xffe1, true], [0x41, true], [0x41, false], [0xffe1, false]] as const) s.send({ type: 'key', keysym, down });
    s.send({ type: 'pointer', x: 123, y: 45, buttons: 0 });
    s.send({ type: 'pointer', x: 123, y: 45, buttons: 4 });
    s.send({ type: 'pointer', x: 123, y: 45, buttons: 0 });
    await waitFor('the key and the click', () => events.some((e) => e.type === 'button' && e.down === false));
    const keys = events.filter((e) => e.type === 'key' && e.down).map((e) => e.keysym);
    assert.deepEqual(keys, [0xffe1, 0x41], 'Shift_L, then A');
    const press = events.find((e) => e.type === 'button' && e.down);
    assert.deepEqual(press, { type: 'button', down: true, button: 3, x: 123, y: 45 });
  } finally {
    s.close();
    recorder.kill();
  }
});

/**
 * A view of the benchmark's 1280×800 desktop showing the lab image as a tiled background, once the viewer has drawn
 * all of it; `copy` moves a 100×100 square from the corner to (x, y) on the X server.
 */
async function tiledView(input: Record<string, unknown>) {
  const display = { DISPLAY: `:${desktopFacts.displays.vncBench}` };
  execFileSync(PYTHON, [paintScript, 'still', join(labDir, 'xvnc', 'lab-image.ppm')], { env: { ...process.env, ...display } });
  const { width: w, height: h } = desktopFacts.bench;
  const tiled = (x: number, y: number) => labPixel(x % width, y % height);
  const s = await openSession('vnc', 'view', { host: '127.0.0.1', port: p.vncBench, ...input });
  const view = { s, fb: new Framebuffer(w, h), painted: 0 };
  /** Draws what has arrived until the viewer's pixels are `expected` everywhere. */
  const until = (what: string, expected: (x: number, y: number) => [number, number, number], each?: (update: Uint8Array) => void) =>
    waitFor(what, () => {
      for (let i = view.painted; i < s.data.length; i++) each?.(s.data[i]);
      view.painted = paint(s, view.fb, view.painted);
      return pixelMismatches({ width: w, height: h, rgba: view.fb.rgba }, expected).count === 0;
    });
  await s.next((m) => m.type === 'init');
  await until('the tiled lab image', tiled);
  const copy = (x: number, y: number) => {
    execFileSync(PYTHON, [paintScript, 'copy', '0', '0', '100', '100', String(x), String(y)], { env: { ...process.env, ...display } });
    return (px: number, py: number) => (px >= x && px < x + 100 && py >= y && py < y + 100 ? labPixel(px - x, py - y) : tiled(px, py));
  };
  /** Ends the session and answers its closing summary. */
  const end = async () => {
    s.send({ type: 'stop' });
    return (await s.next((m) => m.type === 'end')).result;
  };
  return { s, until, copy, end };
}

test('vnc view: CopyRect — an X client scrolls part of the screen and the viewer copies it from its own pixels', async () => {
  const v = await tiledView({ encodings: ['copyrect', 'raw'] });
  try {
    let copies = 0;
    await v.until('the copied area', v.copy(500, 400), (update) => (copies += decodeViewUpdate(update).filter((o) => o.op === 'copy').length));
    assert.ok(copies > 0, 'the server sent CopyRect');
    // The copy came unasked: TigerVNC announced ContinuousUpdates, the view enabled them and sent no more requests.
    const end = await v.end();
    assert.equal(end.continuous, true);
    assert.ok(end.fences >= 1, `fence requests answered: ${end.fences}`);
  } finally {
    v.s.close();
  }
});

test('vnc view: without continuous updates the view asks for each update, and a change on the screen still arrives', async () => {
  const v = await tiledView({ encodings: ['copyrect', 'raw'], continuousUpdates: false });
  try {
    await v.until('the copied area', v.copy(300, 200));
    const end = await v.end();
    assert.equal(end.continuous, false);
    assert.equal(end.fences, 0);
  } finally {
    v.s.close();
  }
});

/** The height and width a JPEG's frame header (SOF0–SOF2) gives, or undefined when it has none before its scan. */
function jpegSize(data: Uint8Array): { width: number; height: number } | undefined {
  for (let at = 2; at + 9 <= data.length && data[at] === 0xff; ) {
    const marker = data[at + 1];
    const len = (data[at + 2] << 8) | data[at + 3];
    if (marker >= 0xc0 && marker <= 0xc2) return { height: (data[at + 5] << 8) | data[at + 6], width: (data[at + 7] << 8) | data[at + 8] };
    if (marker === 0xda) return undefined;
    at += 2 + len;
  }
  return undefined;
}

test('vnc view: Tight with JPEG — the photographic areas pass through as whole JPEG images of their rectangles, the rest decodes to the lab image', async () => {
  execFileSync(PYTHON, [paintScript, 'still', join(labDir, 'xvnc', 'lab-image.ppm')], { env: { ...process.env, DISPLAY: `:${desktopFacts.displays.vncBench}` } });
  const { width: w, height: h } = desktopFacts.bench;
  const s = await openSession('vnc', 'view', { host: '127.0.0.1', port: p.vncBench, encodings: ['tight'], jpegQuality: 9, compressLevel: 2 });
  try {
    await s.next((m) => m.type === 'init');
    // Every pixel covered once: JPEG rectangles by their area, the rest compared with the tiled lab image.
    const covered = new Uint8Array(w * h);
    let left = w * h;
    const fb = new Framebuffer(w, h);
    const jpegs: { width: number; height: number; bytes: number; size?: { width: number; height: number }; whole: boolean }[] = [];
    let done = 0;
    await waitFor('a whole screen', () => {
      for (; done < s.data.length; done++) {
        for (const op of decodeViewUpdate(s.data[done])) {
          if (op.op === 'cursor') continue;
          if (op.op === 'jpeg') jpegs.push({ width: op.width, height: op.height, bytes: op.data.length, size: jpegSize(op.data), whole: op.data[0] === 0xff && op.data[1] === 0xd8 && op.data.at(-2) === 0xff && op.data.at(-1) === 0xd9 });
          else if (op.op === 'pixels') fb.putPixels(op, op.rgba);
          else if (op.op === 'indexed') fb.putPixels(op, expandIndexed(op, op.width, op.height));
          else if (op.op === 'fill') fb.fill(op, op.r, op.g, op.b);
          else if (op.op === 'copy') fb.copy(op, op.srcX, op.srcY);
          for (let y = op.y; y < op.y + op.height; y++) {
            for (let x = op.x; x < op.x + op.width; x++) {
              if (op.op === 'jpeg') covered[y * w + x] = 2;
              else if (!covered[y * w + x]) covered[y * w + x] = 1;
              else continue;
              left--;
            }
          }
        }
        s.send({ type: 'ack', bytes: s.data[done].length });
      }
      return left <= 0;
    });
    assert.ok(jpegs.length > 0, 'TigerVNC sent part of the tiled image as JPEG');
    for (const j of jpegs) {
      assert.ok(j.whole, `a ${j.width}×${j.height} JPEG of ${j.bytes} bytes starts with SOI and ends with EOI`);
      assert.deepEqual(j.size, { width: j.width, height: j.height }, 'the JPEG is an image of its rectangle');
    }
    // Outside the JPEG areas the pixels are exact.
    let wrong = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (covered[y * w + x] !== 1) continue;
        const [r, g, b] = labPixel(x % width, y % height);
        const o = (y * w + x) * 4;
        if (fb.rgba[o] !== r || fb.rgba[o + 1] !== g || fb.rgba[o + 2] !== b) wrong++;
      }
    }
    assert.equal(wrong, 0, 'pixels outside the JPEG rectangles that differ from the lab image');
    s.send({ type: 'stop' });
    const end = (await s.next((m) => m.type === 'end')).result;
    assert.equal(end.rectangles['Tight JPEG'], jpegs.length);
  } finally {
    s.close();
  }
});

function xclip(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('xclip', ['-selection', 'clipboard', ...args], { env: { ...process.env, DISPLAY: `:${desktopFacts.displays.vnc}` }, timeout: 5000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    if (input !== undefined) child.stdin!.end(input);
  });
}

test("vnc view: clipboard both ways — the viewer's text becomes the X clipboard, an X client's copy reaches the viewer", async () => {
  const s = await openSession('vnc', 'view', tiger);
  try {
    await s.next((m) => m.type === 'init');
    const text = `portolan clipboard ${Date.now()}`;
    s.send({ type: 'clipboard', text });
    let pasted = '';
    for (let i = 0; i < 50 && pasted !== text; i++) {
      pasted = await xclip(['-o']).catch(() => '');
      if (pasted !== text) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(pasted, text);
    // An X client copies: Xvnc sees the new owner and sends the text to its viewers.
    await xclip(['-i'], `${text} from X`);
    const got = await s.next((m) => m.type === 'clipboard' && m.text === `${text} from X`);
    assert.equal(got.text, `${text} from X`);
  } finally {
    s.close();
  }
});

test('vnc view: the desktop resizes on request (ExtendedDesktopSize) and back', async () => {
  const s = await openSession('vnc', 'view', { ...secure, security: 'vnc', password: desktopFacts.vncPassword });
  // Acknowledge what arrives, as a viewer does once it has drawn it: the server answers a resize in an update.
  let acked = 0;
  const acker = setInterval(() => {
    for (; acked < s.data.length; acked++) s.send({ type: 'ack', bytes: s.data[acked].length });
  }, 50);
  try {
    await s.next((m) => m.type === 'init');
    await s.next((m) => m.type === 'resize' && m.reason === 'server');
    s.send({ type: 'resize', width: 320, height: 240 });
    const done = await s.next((m) => m.type === 'resize' && m.reason === 'client');
    assert.deepEqual([done.width, done.height, done.status, done.statusText], [320, 240, 0, 'ok']);
    const probe = await ok('probe', { ...secure, password: desktopFacts.vncPassword });
    assert.deepEqual([probe.desktop.width, probe.desktop.height], [320, 240]);
  } finally {
    s.send({ type: 'resize', width, height });
    await s.next((m) => m.type === 'resize' && m.width === width).catch(() => undefined);
    clearInterval(acker);
    s.close();
  }
  const after = await ok('probe', { ...secure, password: desktopFacts.vncPassword });
  assert.deepEqual([after.desktop.width, after.desktop.height], [width, height]);
});

/** A peer that answers the RFB handshake with what a test gives it (a hostile server, not a VNC implementation). */
async function hostile(serverInit: Buffer, update?: Buffer): Promise<{ port: number; close(): void }> {
  const srv = net.createServer((sock) => {
    sock.write('RFB 003.008\n');
    let stage = 0;
    sock.on('data', () => {
      if (stage === 0) sock.write(Buffer.from([1, 1])); // one security type: None
      if (stage === 1) sock.write(Buffer.from([0, 0, 0, 0])); // SecurityResult OK
      if (stage === 2) sock.write(serverInit);
      if (stage === 3 && update) sock.write(update);
      stage++;
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as net.AddressInfo).port, close: () => srv.close() };
}

function serverInit(w: number, h: number): Buffer {
  const b = Buffer.alloc(24 + 4);
  b.writeUInt16BE(w, 0);
  b.writeUInt16BE(h, 2);
  Buffer.from([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]).copy(b, 4);
  b.writeUInt32BE(4, 20);
  b.write('evil', 24);
  return b;
}

test('vnc: a 65535×65535 desktop or a rectangle outside the framebuffer is a protocol_error', async () => {
  const huge = await hostile(serverInit(65535, 65535));
  try {
    const r = await call('vnc', 'screenshot', { host: '127.0.0.1', port: huge.port, security: 'none' });
    assert.equal(r.body.error.code, 'protocol_error');
    assert.match(r.body.error.message, /65535×65535 exceeds the limit/);
  } finally {
    huge.close();
  }
  // A Raw rectangle 100×100 at (50, 50) in a 64×64 framebuffer.
  const rect = Buffer.from([0, 0, 0, 1, 0, 50, 0, 50, 0, 100, 0, 100, 0, 0, 0, 0]);
  const outside = await hostile(serverInit(64, 64), rect);
  try {
    const r = await call('vnc', 'screenshot', { host: '127.0.0.1', port: outside.port, security: 'none' });
    assert.equal(r.body.error.code, 'protocol_error');
    assert.match(r.body.error.message, /Raw rectangle 100×100 at 50,50 lies outside the 64×64 framebuffer/);
  } finally {
    outside.close();
  }
});
