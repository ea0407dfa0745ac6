import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { authHeaders, call, workerUrl } from '../../../test/harness.ts';
import { decodePng, pixelMismatches } from '../../../test/png.ts';
import { ensureLab, ports } from '../../../lab/index.ts';
import { desktopFacts, labPixel } from '../../../lab/servers/desktop.ts';

const p = ports.desktop;
const open = { host: '127.0.0.1', port: p.x11 };
const guarded = { host: '127.0.0.1', port: p.x11Cookie };
const cookie = desktopFacts.x11Cookie;

before(() => ensureLab(['desktop']));

async function ok(op: string, input: Record<string, unknown>, transcript = false) {
  const r = await call('x11', op, input, { transcript });
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 2000));
  return transcript ? r.body : r.body.result;
}

test('x11 setup: Xvfb without access control describes itself, its formats and its screen', async () => {
  // The display number picks the port (6000 + display).
  const r = await ok('setup', { host: '127.0.0.1', display: desktopFacts.displays.x11 });
  assert.equal(r.vendor, 'The X.Org Foundation');
  assert.equal(r.protocolVersion, '11.0');
  assert.match(String(r.release), /^121\d{5}$/);
  assert.equal(r.authorization, 'none');
  assert.ok(r.formats.some((f: { depth: number; bitsPerPixel: number }) => f.depth === 24 && f.bitsPerPixel === 32));
  const [s] = r.screens;
  assert.deepEqual([s.width, s.height, s.rootDepth], [desktopFacts.screen.width, desktopFacts.screen.height, 24]);
  assert.equal(s.rootVisual.class, 'TrueColor');
  assert.deepEqual([s.rootVisual.redMask, s.rootVisual.greenMask, s.rootVisual.blueMask], ['0xff0000', '0xff00', '0xff']);
  assert.deepEqual(r.keycodes, { min: 8, max: 255 });
});

test('x11 setup: MIT-MAGIC-COOKIE-1 — refused without it or with a wrong one (the server\'s reason), accepted with it', async () => {
  const none = await call('x11', 'setup', guarded);
  assert.equal(none.status, 502);
  assert.equal(none.body.error.code, 'auth_failed');
  assert.equal(none.body.error.detail.reason, 'Authorization required, but no authorization protocol specified');
  const wrong = await call('x11', 'setup', { ...guarded, cookie: '00'.repeat(16) });
  assert.equal(wrong.body.error.code, 'auth_failed');
  assert.equal(wrong.body.error.detail.reason, 'Invalid MIT-MAGIC-COOKIE-1 key');
  const r = await ok('setup', { ...guarded, cookie }, true);
  assert.equal(r.result.authorization, 'MIT-MAGIC-COOKIE-1');
  assert.equal(r.result.screens[0].width, desktopFacts.screen.width);
  const sent = r.transcript.entries.find((e: { dir: string }) => e.dir === 'out');
  assert.match(sent.decode, /MIT-MAGIC-COOKIE-1 \*\*\*\*/);
  assert.ok(!String(sent.hex ?? '').includes(cookie), 'the cookie stays out of the transcript');
  const bad = await call('x11', 'setup', { ...guarded, cookie: 'xyz' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /cookie/);
});

test('x11 extensions: the list with opcodes, events and errors', async () => {
  const r = await ok('extensions', open);
  const byName = new Map(r.extensions.map((e: { name: string }) => [e.name, e]));
  for (const name of ['BIG-REQUESTS', 'MIT-SHM', 'RANDR', 'RENDER', 'XFIXES', 'XTEST', 'XInputExtension']) assert.ok(byName.has(name), `${name} in ${[...byName.keys()].join(', ')}`);
  const randr = byName.get('RANDR') as { majorOpcode: number; firstEvent: number; firstError: number };
  assert.ok(randr.majorOpcode >= 128, 'extension opcodes start at 128');
  assert.ok(randr.firstEvent > 0 && randr.firstError > 0);
  const withCookie = await ok('extensions', { ...guarded, cookie });
  assert.equal(withCookie.extensions.length, r.extensions.length);
});

test('x11 screenshot: the root window is the lab image, pixel for pixel; Accept: image/png answers the image', async () => {
  const r = await ok('screenshot', { ...guarded, cookie });
  assert.equal(r.visual.split(' ')[0], 'TrueColor');
  const img = decodePng(Buffer.from(r.png, 'base64'));
  const m = pixelMismatches(img, labPixel);
  assert.equal(m.count, 0, m.first.join('; '));
  const res = await fetch(`${workerUrl()}/api/x11/screenshot`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'image/png', ...authHeaders('dev') }, body: JSON.stringify(open) });
  assert.equal(res.headers.get('content-type'), 'image/png');
  const png = decodePng(new Uint8Array(await res.arrayBuffer()));
  assert.equal(pixelMismatches(png, labPixel).count, 0);
  const badScreen = await call('x11', 'screenshot', { ...open, screen: 3 });
  assert.equal(badScreen.status, 400);
  assert.match(badScreen.body.error.message, /1 screen/);
});
