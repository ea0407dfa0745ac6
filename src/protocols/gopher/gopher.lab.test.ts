import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { foundationFacts } from '../../../lab/servers/foundation.ts';

const target = { host: '127.0.0.1', port: ports.foundation.gopher };
const facts = foundationFacts.gopher;

test('gopher: the root menu lists the lab items', async () => {
  const r = await call('gopher', 'fetch', target);
  assert.equal(r.status, 200);
  for (const want of facts.menu) {
    const item = r.body.result.items.find((i: { selector: string }) => i.selector === want.selector);
    assert.ok(item, `menu lacks ${want.selector}`);
    assert.equal(item.type, want.type);
    assert.equal(item.display, want.name);
  }
});

test('gopher: a text file and a submenu item with known content', async () => {
  const about = await call('gopher', 'fetch', { ...target, type: '0', selector: '/about.txt' });
  assert.equal(about.body.result.text.trimEnd(), facts.files['/about.txt'].trimEnd());
  const sub = await call('gopher', 'fetch', { ...target, type: '1', selector: '/harbour' });
  const lighthouse = sub.body.result.items.find((i: { selector: string }) => i.selector.endsWith('lighthouse.txt'));
  assert.ok(lighthouse, 'submenu lacks lighthouse.txt');
  const text = await call('gopher', 'fetch', { ...target, type: '0', selector: lighthouse.selector });
  assert.equal(text.body.result.text.trimEnd(), facts.files['/harbour/lighthouse.txt'].trimEnd());
});

test('gopher: binary items come back as base64 of the exact bytes', async () => {
  const r = await call('gopher', 'fetch', { ...target, type: '9', selector: '/about.txt' });
  assert.equal(Buffer.from(r.body.result.base64, 'base64').toString(), facts.files['/about.txt']);
});

test('gopher: the same menu over TLS (pygopherd offers TLS on its port)', async () => {
  const r = await call('gopher', 'fetch', { ...target, tls: 'implicit' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(r.body.result.items.some((i: { selector: string }) => i.selector === '/about.txt'));
});
