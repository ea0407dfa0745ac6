// VNC frames per second: a 1280×800 desktop whose whole screen changes every frame (the lab's paint.py shows two
// images in turn on the benchmark Xvnc), viewed in headless Chromium through workerd — the `view` session decodes
// every update to RGBA in the Worker and the page draws it with the UI's painter — beside noVNC, which decodes in the
// page, connected through websockify to the same server. The two run in turn, round after round, in the same run.
// Figures: frames per second of each (paired ratio, goal ≥ 1× noVNC), with the encoder settings noVNC uses by default
// (Tight, JPEG quality 6, compression 2) and with lossless Tight; CPU per frame in workerd.
// Run: npx tsx bench/desktop.ts   (BENCH_TINY=1: one short round)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import net from 'node:net';
import { build } from 'esbuild';
import { ensureLab, ports } from '../lab/index.ts';
import { PYTHON, desktopFacts, labPixel, paintScript, ppm } from '../lab/servers/desktop.ts';
import { freePort } from '../test/harness.ts';
import { launch } from '../web/e2e/browser.ts';
import { cpuMs, treeCpuMs } from './lib/proc.ts';
import { finish, machine, median, pairedRatio, report, say, tiny } from './lib/report.ts';
import { BENCH_VARS, buildBundle, removeBundle, startWorkerd } from './lib/workerd.ts';

const ROUNDS = tiny ? 1 : 4;
const WINDOW_MS = tiny ? 2000 : 6000;
const WARMUP_FRAMES = 3;
const { width, height } = desktopFacts.bench;
const display = `:${desktopFacts.displays.vncBench}`;
const vncPort = ports.desktop.vncBench;

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const up = await new Promise<boolean>((r) => net.connect(port, '127.0.0.1').on('connect', function (this: net.Socket) { this.destroy(); r(true); }).on('error', () => r(false)));
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

/** Two full-screen frames: the lab image tiled, and tiled again from another origin, so every tile changes. */
function frames(dir: string): [string, string] {
  const image = (dx: number, dy: number) => {
    const rgb = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rgb.set(labPixel((x + dx) % desktopFacts.screen.width, (y + dy) % desktopFacts.screen.height), (y * width + x) * 3);
    return ppm(width, height, rgb);
  };
  const a = join(dir, 'a.ppm');
  const b = join(dir, 'b.ppm');
  writeFileSync(a, image(0, 0));
  writeFileSync(b, image(37, 23));
  return [a, b];
}

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.html': 'text/html', '.map': 'application/json' };

/** Serves the two pages: ours (bundled here) and noVNC's modules from node_modules, as a browser loads them. */
async function pages(dir: string): Promise<{ url: string; close(): void }> {
  await build({ entryPoints: [resolve('bench/_desktop-page.ts')], bundle: true, format: 'esm', outfile: join(dir, 'ours.js'), logLevel: 'error' });
  writeFileSync(join(dir, 'ours.html'), '<!doctype html><body style="margin:0"><canvas id="screen"></canvas><script type="module" src="/ours.js"></script></body>');
  writeFileSync(
    join(dir, 'novnc.html'),
    `<!doctype html><body style="margin:0"><div id="screen" style="width:${width}px;height:${height}px"></div><script type="module">
import RFB from '/novnc/core/rfb.js';
const rfb = new RFB(document.getElementById('screen'), new URLSearchParams(location.search).get('ws'));
const state = { frames: 0, pixels: 0, error: null };
window.bench = state;
// Every complete FramebufferUpdate ends in Display.flip(); every rectangle is painted by one of the four below.
const display = rfb._display;
const flip = display.flip.bind(display);
display.flip = (...a) => { state.frames++; return flip(...a); };
for (const [name, w, h] of [['fillRect', 2, 3], ['copyImage', 4, 5], ['imageRect', 2, 3], ['blitImage', 2, 3]]) {
  const f = display[name].bind(display);
  display[name] = (...a) => { state.pixels += a[w] * a[h]; return f(...a); };
}
rfb.addEventListener('disconnect', (e) => { state.error = 'disconnected: ' + JSON.stringify(e.detail); });
</script></body>`,
  );
  const novnc = resolve('node_modules/@novnc/novnc');
  const port = await freePort();
  const server = http.createServer((req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    const file = path.startsWith('/novnc/') ? join(novnc, path.slice(7)) : join(dir, path.slice(1));
    if (!file.startsWith(novnc) && !file.startsWith(dir)) return res.writeHead(403).end();
    if (!existsSync(file) || !statSync(file).isFile()) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

async function main() {
  await ensureLab(['desktop', 'browser', 'bench']);
  say(await machine());
  if (spawnSync('which', ['websockify']).status !== 0) throw new Error('websockify is not installed (lab area "bench" installs it)');
  const dir = mkdtempSync(join(tmpdir(), 'portolan-desktop-bench-'));
  const [a, b] = frames(dir);
  const site = await pages(dir);
  const bundle = buildBundle();
  const workerd = await startWorkerd(bundle, { vars: BENCH_VARS });
  const wsPort = await freePort();
  const websockify = spawn('websockify', [`127.0.0.1:${wsPort}`, `127.0.0.1:${vncPort}`], { stdio: 'ignore' });
  const animate: ChildProcess[] = [];
  const browser = await launch({ viewport: { width: width + 40, height: height + 40 } });
  try {
    await waitForPort(wsPort);
    const totalSeconds = Math.ceil(((ROUNDS * 3 * (WINDOW_MS + 4000)) / 1000) * 1.5) + 60;
    animate.push(spawn(PYTHON, [paintScript, 'animate', a, b, '60', String(totalSeconds)], { env: { ...process.env, DISPLAY: display }, stdio: 'ignore' }));
    const ws = workerd.url.replace(/^http/, 'ws');
    const novncJpeg = { host: '127.0.0.1', port: vncPort, encodings: ['copyrect', 'tight', 'zrle', 'hextile', 'raw'], jpegQuality: 6, compressLevel: 2 };
    const lossless = { host: '127.0.0.1', port: vncPort, encodings: ['copyrect', 'tight', 'zrle', 'hextile', 'raw'] };
    const paths = {
      ours: { url: `${site.url}/ours.html?ws=${encodeURIComponent(`${ws}/api/vnc/view`)}&input=${encodeURIComponent(JSON.stringify(novncJpeg))}`, workerd: true },
      oursLossless: { url: `${site.url}/ours.html?ws=${encodeURIComponent(`${ws}/api/vnc/view`)}&input=${encodeURIComponent(JSON.stringify(lossless))}`, workerd: true },
      novnc: { url: `${site.url}/novnc.html?ws=${encodeURIComponent(`ws://127.0.0.1:${wsPort}/`)}`, workerd: false },
    };
    const fps: Record<keyof typeof paths, number[]> = { ours: [], oursLossless: [], novnc: [] };
    const cpuPerFrame: Record<'ours' | 'oursLossless', number[]> = { ours: [], oursLossless: [] };
    const websockifyCpu: number[] = [];
    const updates: Record<keyof typeof paths, number[]> = { ours: [], oursLossless: [], novnc: [] };
    const keys = Object.keys(paths) as (keyof typeof paths)[];
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < keys.length; i++) {
        const key = keys[(i + round) % keys.length];
        const page = browser.page;
        await page.goto(paths[key].url);
        const none = { frames: 0, pixels: 0, error: null as unknown };
        // Undefined until the page's module has run.
        const count = async () => (await page.evaluate(() => (window as unknown as { bench?: { frames: number; pixels: number; error: unknown } }).bench)) ?? none;
        const until = Date.now() + 20_000;
        for (;;) {
          const s = await count().catch(() => none);
          if (s.error) throw new Error(`${key}: ${JSON.stringify(s.error)}`);
          if (s.frames >= WARMUP_FRAMES) break;
          if (Date.now() > until) throw new Error(`${key}: fewer than ${WARMUP_FRAMES} frames in 20 s`);
          await new Promise((r) => setTimeout(r, 50));
        }
        const s0 = await count();
        const c0 = cpuMs(workerd.pid);
        const w0 = treeCpuMs(websockify.pid!);
        const t0 = performance.now();
        await new Promise((r) => setTimeout(r, WINDOW_MS));
        const s1 = await count();
        const seconds = (performance.now() - t0) / 1000;
        // Full-screen frames: the pixels painted, in screens. An update may cover part of the screen only.
        const n = (s1.pixels - s0.pixels) / (width * height);
        fps[key].push(n / seconds);
        updates[key].push((s1.frames - s0.frames) / seconds);
        if (key !== 'novnc') cpuPerFrame[key].push((cpuMs(workerd.pid) - c0) / Math.max(1, n));
        else websockifyCpu.push((treeCpuMs(websockify.pid!) - w0) / Math.max(1, n));
        await page.goto('about:blank');
        // Let the server notice the viewer left before the next one connects.
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    say(`${ROUNDS} rounds of ${WINDOW_MS / 1000} s each; ${width}×${height}, every frame a full-screen change; Xvnc ${vncPort}; a frame is one screen's worth of pixels painted (ours: on the canvas; noVNC: its Display's fill, copy, image and blit calls)`);
    say(`updates per second: ours ${median(updates.ours).toFixed(1)}, lossless ${median(updates.oursLossless).toFixed(1)}, noVNC ${median(updates.novnc).toFixed(1)}`);
    const ratio = pairedRatio(fps.ours, fps.novnc);
    report({ name: 'VNC frames per second, workerd view (Tight, JPEG quality 6, compression 2: noVNC\'s defaults)', value: median(fps.ours), unit: 'fps', baseline: { name: 'noVNC through websockify', value: median(fps.novnc) }, ratio, goal: '≥ 1× noVNC', pass: ratio >= 1, note: `per round: ${fps.ours.map((v) => v.toFixed(1)).join(', ')} vs ${fps.novnc.map((v) => v.toFixed(1)).join(', ')}` });
    report({ name: 'VNC frames per second, workerd view, lossless Tight (no JPEG)', value: median(fps.oursLossless), unit: 'fps', baseline: { name: 'noVNC through websockify (JPEG)', value: median(fps.novnc) }, ratio: pairedRatio(fps.oursLossless, fps.novnc), note: 'informational: lossless against lossy' });
    report({ name: 'workerd CPU per frame (JPEG passed through, the rest decoded to RGBA)', value: median(cpuPerFrame.ours), unit: 'ms', baseline: { name: 'websockify CPU per frame', value: median(websockifyCpu) }, note: 'all workerd threads' });
    report({ name: 'workerd CPU per frame, lossless Tight decoded to RGBA', value: median(cpuPerFrame.oursLossless), unit: 'ms', baseline: { name: 'websockify CPU per frame', value: median(websockifyCpu) } });
  } finally {
    for (const p of animate) p.kill();
    await browser.close();
    websockify.kill();
    await workerd.stop();
    removeBundle(bundle);
    site.close();
    rmSync(dir, { recursive: true, force: true });
  }
  finish();
}

await main();
