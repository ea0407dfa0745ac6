import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { call, openSession } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { servicesFacts } from '../../../lab/servers/services-b.ts';

const chromium = { host: '127.0.0.1', port: ports['services-b'].chromium };
const node = { host: '127.0.0.1', port: ports['services-b'].nodeInspector };

/** The first pixel of a PNG (row 0's first pixel is stored raw whatever the filter). */
function firstPixel(png: Buffer): number[] {
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length; ) {
    const len = png.readUInt32BE(at);
    if (png.toString('latin1', at + 4, at + 8) === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + len));
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  return [...raw.subarray(1, 4)];
}

test('cdp: /json/version and targets of Chromium and of Node', async () => {
  const c = await call('cdp', 'version', chromium);
  assert.equal(c.status, 200, JSON.stringify(c.body));
  assert.match(c.body.result.browser, /^Chrome\/156\./);
  assert.equal(c.body.result.protocolVersion, '1.3');
  const n = await call('cdp', 'version', node);
  assert.equal(n.body.result.browser, `node.js/${process.version}`);
  const t = await call('cdp', 'targets', node);
  assert.equal(t.body.result.targets.length, 1);
  assert.equal(t.body.result.targets[0].type, 'node');
  const pages = await call('cdp', 'targets', chromium);
  assert.ok(pages.body.result.targets.some((x: { type: string }) => x.type === 'page'));
});

test('cdp: evaluate in the page and in Node, promises awaited, exceptions in the target\'s words', async () => {
  const sum = await call('cdp', 'evaluate', { ...chromium, expression: 'Promise.resolve([1, 2, 3].reduce((a, b) => a + b))' });
  assert.equal(sum.status, 200, JSON.stringify(sum.body));
  assert.deepEqual({ type: sum.body.result.type, value: sum.body.result.value }, { type: 'number', value: 6 });
  const ua = await call('cdp', 'evaluate', { ...chromium, expression: 'navigator.userAgent' });
  assert.match(ua.body.result.value, /HeadlessChrome/);
  const state = await call('cdp', 'evaluate', { ...node, expression: 'globalThis.harbour' });
  assert.deepEqual(state.body.result.value, { ships: 3, name: 'Portolan' });
  const title = await call('cdp', 'evaluate', { ...node, expression: 'process.title' });
  assert.equal(title.body.result.value, servicesFacts.node.title);
  const thrown = await call('cdp', 'evaluate', { ...node, expression: 'null.harbour' });
  assert.equal(thrown.status, 502);
  assert.equal(thrown.body.error.code, 'server_error');
  assert.match(thrown.body.error.message, /^TypeError: Cannot read properties of null/);
});

test('cdp: navigate to a page and read its title; a refused URL is the browser\'s net error', async () => {
  const nav = await call('cdp', 'navigate', { ...chromium, url: 'data:text/html,<title>Portolan harbour</title><h1>Lighthouse</h1>' });
  assert.equal(nav.status, 200, JSON.stringify(nav.body));
  assert.equal(nav.body.result.title, 'Portolan harbour');
  const h1 = await call('cdp', 'evaluate', { ...chromium, target: nav.body.result.target, expression: 'document.querySelector("h1").textContent' });
  assert.equal(h1.body.result.value, 'Lighthouse');
  const refused = await call('cdp', 'navigate', { ...chromium, url: `http://127.0.0.1:${ports.foundation.closedPort}/` });
  assert.equal(refused.body.error.code, 'server_error');
  assert.match(refused.body.error.message, /ERR_CONNECTION_REFUSED/);
});

test('cdp: screenshot is a PNG of the page as drawn', async () => {
  const r = await call('cdp', 'screenshot', { ...chromium, url: 'data:text/html,<body style="margin:0;background:rgb(208,16,16)"></body>' });
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
  const png = Buffer.from(r.body.result.base64, 'base64');
  assert.equal(png.length, r.body.result.bytes);
  assert.equal(png.readUInt32BE(16), r.body.result.width);
  assert.equal(r.body.result.width, 800);
  assert.deepEqual(firstPixel(png), [0xd0, 0x10, 0x10]);
});

test('cdp: a console session shows Node\'s console.log ticks and a page\'s console calls and exceptions', async () => {
  const s = await openSession('cdp', 'console', node);
  await s.next((m) => m.type === 'attached');
  const tick = await s.next((m) => m.type === 'console' && /^tick \d+$/.test(m.text), 5000);
  assert.equal(tick.level, 'log');
  s.close();
  await s.done;

  const page = await openSession('cdp', 'console', chromium);
  const attached = await page.next((m) => m.type === 'attached');
  await call('cdp', 'evaluate', { ...chromium, target: attached.target.id, expression: 'console.warn("portolan", 42); setTimeout(() => { throw new Error("harbour closed") }); 1' });
  const warn = await page.next((m) => m.type === 'console' && m.text === 'portolan 42');
  assert.equal(warn.level, 'warning');
  const ex = await page.next((m) => m.type === 'exception');
  assert.match(ex.text, /Error: harbour closed/);
  page.close();
  await page.done;
});

test('cdp: a port that is not a DevTools endpoint is named as such', async () => {
  const r = await call('cdp', 'version', { host: '127.0.0.1', port: ports['services-b'].jupyter });
  assert.ok(['server_error', 'protocol_error'].includes(r.body.error.code), JSON.stringify(r.body));
});
