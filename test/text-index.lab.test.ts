// What curl sees at the root, and what the OpenAPI document says about short routes and sessions, on workerd
// and on the Node host.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { protocols } from '../src/protocols/all.ts';
import { workerUrl } from './harness.ts';
import { startNodeHost, type RunningNodeHost } from './node-host.ts';

let node: RunningNodeHost;

before(async () => {
  node = await startNodeHost();
});
after(async () => {
  await node?.stop();
});

for (const [name, base] of [
  ['workerd', () => workerUrl('dev')],
  ['node', () => node.url],
] as const) {
  test(`${name}: GET / without an HTML Accept answers a short text index; a browser gets the UI`, async () => {
    const text = await fetch(`${base()}/`, { headers: { accept: '*/*', 'user-agent': 'curl/8.0' } });
    assert.equal(text.status, 200);
    assert.match(text.headers.get('content-type') ?? '', /^text\/plain/);
    const body = await text.text();
    assert.match(body, new RegExp(`^Portolan: ${protocols.length} protocols over TCP from this (workers|node) host\\.`));
    assert.match(body, /curl http:\/\/127\.0\.0\.1:\d+\/\{protocol\}\/\{host\[:port\]\}/);
    assert.match(body, /^ssh\s+22\/tcp\s+SSH: \/ssh\/HOST runs probe$/m);
    assert.match(body, /^postgres\s+5432\/tcp\s+PostgreSQL: \/postgres\/HOST runs query$/m);
    assert.ok(body.split('\n').length < protocols.length + 20, 'one line per protocol');
    const html = await fetch(`${base()}/`, { headers: { accept: 'text/html,application/xhtml+xml' } });
    assert.equal(html.status, 200);
    assert.match(await html.text(), /<div id="root">/);
  });
}

test('openapi: short routes and interactive sessions are in the document', async () => {
  const doc = (await (await fetch(`${workerUrl('dev')}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, { summary?: string; description?: string; parameters?: { name: string }[] }>> };
  const short = doc.paths['/dns/{target}']?.get;
  assert.ok(short, 'the DNS short route is documented');
  assert.match(short.summary ?? '', /short route to query/);
  assert.ok(short.parameters?.some((p) => p.name === 'target'));
  assert.ok(doc.paths['/']?.get, 'the text index is documented');
  const terminal = doc.paths['/api/ssh/terminal'];
  assert.ok(terminal.post && terminal.get, 'POST and the WebSocket GET');
  assert.match(terminal.get.description ?? '', /\{"type":"resize","cols","rows"\}/);
  // Descriptions for people: the summary holds no wire format.
  assert.doesNotMatch(terminal.get.summary ?? '', /\{"type"/);
  for (const p of protocols) for (const op of Object.values(p.operations)) assert.doesNotMatch(op.summary, /\{"?type"?:/, `${p.id} ${op.name}: its summary names message formats; they belong in messages`);
});

test('short route: an IPv6 target prints as [::1]:port', async () => {
  const r = await fetch(`${workerUrl('dev')}/echo/[::1]:1?data=x`);
  assert.equal(r.status, 502);
  assert.match(await r.text(), /connection refused by \[::1\]:1\b/);
});
