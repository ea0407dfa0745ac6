// noVNC (the npm package, unchanged) in headless Chromium, connected to the lab's TigerVNC through the Worker's tunnel in
// websockify's `binary` subprotocol: the canvas must show the lab's known image. noVNC always sends a JPEG quality level,
// and TigerVNC then sends Tight JPEG: at noVNC's highest quality (9) every pixel lands within a few levels of the lab's
// (the same through websockify), so the check is every pixel within JPEG's rounding (and a mean error under one
// level), not bit-exact: one byte lost or out of order would wreck every tile after it. The Worker runs
// the deployment bundle (`workerd serve`) with its default limits: a VNC screen that stands still sends nothing.
import assert from 'node:assert/strict';
import { createReadStream, existsSync, statSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { extname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { ensureLab, ports } from '../lab/index.ts';
import { desktopFacts, labPixel } from '../lab/servers/desktop.ts';
import { launch, screenshot, type Browser } from '../web/e2e/browser.ts';
import { BENCH_VARS, buildBundle, removeBundle, startWorkerd, type Bundle, type RunningWorkerd } from '../bench/lib/workerd.ts';
import { tunnelUrl } from './tunnel-clients.ts';

const { width, height } = desktopFacts.screen;
const novncDir = resolve('node_modules/@novnc/novnc');

/** The page: noVNC's RFB on a div, told to offer the `binary` subprotocol, as a websockify deployment is used. */
const PAGE = `<!doctype html><body style="margin:0"><div id="screen" style="width:${width}px;height:${height}px"></div><script type="module">
import RFB from '/novnc/core/rfb.js';
const state = { connected: false, disconnected: null, protocol: null, name: null, closed: null };
window.state = state;
const rfb = new RFB(document.getElementById('screen'), new URLSearchParams(location.search).get('ws'), { wsProtocols: ['binary'] });
window.rfb = rfb;
rfb.qualityLevel = 9;
rfb.addEventListener('connect', () => { state.connected = true; state.protocol = rfb._sock._websocket.protocol; rfb._sock._websocket.addEventListener('close', (e) => { state.closed = e.code + ' ' + e.reason; }); });
rfb.addEventListener('desktopname', (e) => { state.name = e.detail.name; });
rfb.addEventListener('disconnect', (e) => { state.disconnected = e.detail; });
</script></body>`;

let server: http.Server;
let site: string;
let b: Browser;
let bundle: Bundle;
let wd: RunningWorkerd;

before(async () => {
  await ensureLab(['desktop', 'browser'], { quiet: true });
  bundle = buildBundle();
  wd = await startWorkerd(bundle, { vars: BENCH_VARS });
  server = http.createServer((req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    if (path === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    const file = join(novncDir, path.replace(/^\/novnc\//, ''));
    if (!path.startsWith('/novnc/') || !file.startsWith(novncDir) || !existsSync(file) || !statSync(file).isFile()) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': extname(file) === '.js' ? 'text/javascript' : 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  site = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  b = await launch({ viewport: { width: width + 40, height: height + 40 } });
});

after(async () => {
  await b?.close();
  server?.close();
  await wd?.stop();
  if (bundle) removeBundle(bundle);
  if (wd) assert.doesNotMatch(wd.output(), /Uncaught/);
});

test('noVNC through the tunnel (binary) draws the lab desktop, every pixel within JPEG\'s rounding', { timeout: 120_000 }, async () => {
  const page = b.page;
  await page.goto(`${site}/?ws=${encodeURIComponent(tunnelUrl(wd.url, ports.desktop.vnc))}`);
  const state = () => page.evaluate(() => (window as unknown as { state?: { connected: boolean; disconnected: unknown; protocol: string | null; name: string | null; closed: string | null } }).state);
  const deadline = Date.now() + 30_000;
  for (let s = await state(); !s?.connected; s = await state()) {
    assert.equal(s?.disconnected ?? null, null, `noVNC disconnected: ${JSON.stringify(s?.disconnected)}`);
    assert.ok(Date.now() < deadline, 'noVNC did not connect within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  const s = await state();
  assert.equal(s!.protocol, 'binary');
  assert.equal(s!.name, desktopFacts.desktopName);
  // Every pixel of noVNC's canvas against the lab image, until they all match (updates arrive in pieces).
  const TOLERANCE = 6;
  let mismatch = 'no frame yet';
  const until = Date.now() + 30_000;
  while (mismatch && Date.now() < until) {
    const px = await page.evaluate(() => {
      const c = document.querySelector('#screen canvas') as HTMLCanvasElement | null;
      if (!c || c.width === 0) return null;
      return { w: c.width, h: c.height, data: Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data) };
    });
    mismatch = '';
    if (!px) mismatch = `no canvas; noVNC: ${JSON.stringify(await state())}`;
    else if (px.w !== width || px.h !== height) mismatch = `canvas ${px.w}x${px.h}`;
    else {
      let bad = 0;
      let sum = 0;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const o = (y * width + x) * 4;
          const lab = labPixel(x, y);
          const err = Math.max(...lab.map((v, k) => Math.abs(px.data[o + k] - v)));
          sum += err;
          if (err > TOLERANCE && !bad++) mismatch = `(${x},${y}) is ${px.data.slice(o, o + 3).join(',')}, the lab has ${lab.join(',')}`;
        }
      }
      const mean = sum / (width * height);
      if (bad) mismatch += `; ${bad} pixels off by more than ${TOLERANCE}`;
      else if (mean > 1) mismatch = `a mean error of ${mean.toFixed(2)} per pixel`;
    }
    if (mismatch) await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(mismatch, '');
  await screenshot(page, 'novnc-through-tunnel');
  await page.evaluate(() => (window as unknown as { rfb: { disconnect(): void } }).rfb.disconnect());
  assert.deepEqual(b.pageErrors, []);
  assert.deepEqual(b.offMachine, []);
});
