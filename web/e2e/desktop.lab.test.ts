// The UI's VNC viewer against the lab's TigerVNC: headless Chromium opens the `view` session of `vnc`, and the canvas's
// pixels are compared with the lab's known image; clicks, keys, Ctrl-Alt-Del and the clipboard are read back from the X server.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { ensureLab, labDir, ports } from '../../lab/index.ts';
import { PYTHON, desktopFacts, eventsScript, labPixel, paintScript } from '../../lab/servers/desktop.ts';
import { decodePng } from '../../test/png.ts';
import { workerUrl } from '../../test/harness.ts';
import { launch, screenshot, type Browser } from './browser.ts';

const display = `:${desktopFacts.displays.vnc}`;
const { width, height } = desktopFacts.screen;

/** Key and button events reaching the lab display's root window, as the recorder prints them. */
function record(seconds: number): { events: Record<string, unknown>[]; child: ChildProcess } {
  const child = spawn(PYTHON, [eventsScript, String(seconds)], { env: { ...process.env, DISPLAY: display } });
  const events: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => events.push(JSON.parse(l)));
  return { events, child };
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`no ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function xclip(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('xclip', ['-selection', 'clipboard', ...args], { env: { ...process.env, DISPLAY: display }, timeout: 5000 }, (err, out) => (err ? reject(err) : resolve(out)));
    if (input !== undefined) child.stdin!.end(input);
  });
}

describe('VNC desktop in the browser', { timeout: 180_000 }, () => {
  let b: Browser;
  let base: string;

  before(async () => {
    await ensureLab(['desktop', 'browser'], { quiet: true });
    base = workerUrl();
    b = await launch();
  });

  after(async () => {
    await b?.close();
  });

  test('the canvas shows the lab desktop pixel for pixel; clicks, keys, Ctrl-Alt-Del and the clipboard reach the server', async () => {
    const page = b.page;
    const rec = record(120);
    try {
      await page.goto(`${base}/#/run/vnc/view?host=127.0.0.1&port=${ports.desktop.vnc}`);
      await page.getByRole('button', { name: 'Start session' }).click();
      const canvas = page.getByTestId('desktop');
      await canvas.waitFor();
      await page.locator('[data-testid=session][data-state=open]').waitFor({ timeout: 30_000 });
      await canvas.scrollIntoViewIfNeeded();
      await until('the desktop size', async () => (await canvas.evaluate((c: HTMLCanvasElement) => `${c.width}x${c.height}`)) === `${width}x${height}`);
      // Compare the canvas with the lab image until every pixel matches (updates arrive in pieces).
      let mismatch = '';
      await until('the lab image on the canvas', async () => {
        const px = await canvas.evaluate((c: HTMLCanvasElement) => Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data));
        mismatch = '';
        let bad = 0;
        for (let y = 0; y < height; y++) {
          for (let x = 0; x < width; x++) {
            const o = (y * width + x) * 4;
            const [r, g, bl] = labPixel(x, y);
            if (px[o] !== r || px[o + 1] !== g || px[o + 2] !== bl) {
              if (!bad++) mismatch = `(${x},${y}) is ${px[o]},${px[o + 1]},${px[o + 2]}, the lab has ${r},${g},${bl}`;
            }
          }
        }
        if (bad) mismatch += `; ${bad} pixels differ`;
        return bad === 0;
      });
      assert.equal(mismatch, '');
      await screenshot(page, 'vnc-desktop');

      await until('the event recorder', () => rec.events.some((e) => e.ready));
      // A click where the canvas shows pixel (123, 45), then Shift+a typed into the canvas.
      const box = (await canvas.boundingBox())!;
      await page.mouse.click(box.x + ((123.5 / width) * box.width), box.y + ((45.5 / height) * box.height));
      await page.keyboard.press('Shift+KeyA');
      await until('the click and the key', () => rec.events.some((e) => e.type === 'key' && e.keysym === 0x41 && e.down === false));
      assert.deepEqual(rec.events.find((e) => e.type === 'button' && e.down), { type: 'button', down: true, button: 1, x: 123, y: 45 });
      const typed = rec.events.filter((e) => e.type === 'key' && e.down).map((e) => e.keysym);
      assert.deepEqual(typed, [0xffe1, 0x41]);

      await page.getByRole('button', { name: 'Ctrl-Alt-Del' }).click();
      await until('Ctrl-Alt-Del', () => rec.events.filter((e) => e.type === 'key' && e.down).length >= 5);
      assert.deepEqual(rec.events.filter((e) => e.type === 'key' && e.down).map((e) => e.keysym).slice(2), [0xffe3, 0xffe9, 0xffff]);

      // Clipboard: from the page to the X server, and from an X client to the page.
      const text = `from the browser ${Date.now()}`;
      await page.getByLabel('Text for the remote clipboard').fill(text);
      await page.getByRole('button', { name: 'Send clipboard' }).click();
      await until('the X clipboard', async () => (await xclip(['-o']).catch(() => '')) === text);
      await xclip(['-i'], `${text} and back`);
      await until('the remote clipboard in the page', async () => (await page.getByLabel('Remote clipboard', { exact: true }).inputValue()) === `${text} and back`);
      assert.deepEqual(b.pageErrors, []);
      assert.deepEqual(b.offMachine, []);
    } finally {
      rec.child.kill();
    }
  });

  test('Tight JPEG: the canvas shows the tiled lab image within JPEG\'s error (the page decodes the JPEG rectangles)', async () => {
    execFileSync(PYTHON, [paintScript, 'still', join(labDir, 'xvnc', 'lab-image.ppm')], { env: { ...process.env, DISPLAY: `:${desktopFacts.displays.vncBench}` } });
    const { width: w, height: h } = desktopFacts.bench;
    const page = b.page;
    await page.goto(`${base}/#/run/vnc/view?host=127.0.0.1&port=${ports.desktop.vncBench}&encodings=tight&jpegQuality=9`);
    await page.getByRole('button', { name: 'Start session' }).click();
    const canvas = page.getByTestId('desktop');
    await page.locator('[data-testid=session][data-state=open]').waitFor({ timeout: 30_000 });
    await until('the desktop size', async () => (await canvas.evaluate((c: HTMLCanvasElement) => `${c.width}x${c.height}`)) === `${w}x${h}`);
    // JPEG areas differ a little from the image; a rectangle not drawn (black) differs a lot.
    let report = '';
    await until('the tiled lab image on the canvas', async () => {
      const url = await canvas.evaluate((c: HTMLCanvasElement) => c.toDataURL('image/png'));
      const img = decodePng(Buffer.from(url.slice(url.indexOf(',') + 1), 'base64'));
      let far = 0;
      let sum = 0;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const o = (y * w + x) * 4;
          const want = labPixel(x % width, y % height);
          const d = Math.max(Math.abs(img.rgba[o] - want[0]), Math.abs(img.rgba[o + 1] - want[1]), Math.abs(img.rgba[o + 2] - want[2]));
          sum += d;
          if (d > 48) far++;
        }
      }
      report = `${far} pixels off by more than 48, mean difference ${(sum / (w * h)).toFixed(2)}`;
      return far < (w * h) / 1000 && sum / (w * h) < 4;
    }, 30_000);
    assert.match(report, /^\d+ pixels/);
    assert.deepEqual(b.pageErrors, []);
  });

  test('a screenshot from the form is shown as the picture', async () => {
    const page = b.page;
    await page.goto(`${base}/#/run/vnc/screenshot?host=127.0.0.1&port=${ports.desktop.vnc}`);
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const img = page.getByTestId('result-image');
    await img.waitFor({ timeout: 30_000 });
    const size = await img.evaluate((i: HTMLImageElement) => `${i.naturalWidth}x${i.naturalHeight}`);
    assert.equal(size, `${width}x${height}`);
    // One pixel of each band, read back from the picture the page shows.
    const px = await img.evaluate((i: HTMLImageElement) => {
      const c = document.createElement('canvas');
      c.width = i.naturalWidth;
      c.height = i.naturalHeight;
      const g = c.getContext('2d')!;
      g.drawImage(i, 0, 0);
      return [[10, 10], [101, 150], [333, 250]].map(([x, y]) => Array.from(g.getImageData(x, y, 1, 1).data.slice(0, 3)));
    });
    assert.deepEqual(px, [labPixel(10, 10), labPixel(101, 150), labPixel(333, 250)]);
  });
});
