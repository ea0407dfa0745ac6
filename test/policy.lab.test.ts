// The deployment policy through workerd: loopback in every spelling is refused before any packet
// leaves; the rate limit answers 429. Only loopback spellings are sent, so even a broken guard
// sends nothing off the machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEPLOYMENT_TOKEN, authHeaders, call, workerUrl } from './harness.ts';
import { ports } from '../lab/index.ts';

const spellings = ['127.0.0.1', '127.1', '2130706433', '0x7f000001', '0177.0.0.1', '0x7f.0.0.1', '127.0.1', '::1', '[::1]', '::ffff:127.0.0.1', '::ffff:7f00:1', 'localhost'];

test('deployment policy: every loopback spelling is target_blocked (403), naming the range', async () => {
  for (const host of spellings) {
    const r = await call('echo', 'send', { host, port: ports.foundation.echo }, { kind: 'deployment' });
    assert.equal(r.status, 403, `${host}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.code, 'target_blocked');
    assert.match(r.body.error.message, /loopback|local/i, host);
  }
  const short = await fetch(`${workerUrl('deployment')}/ping/127.0.0.1:${ports.foundation.echo}`, { headers: authHeaders('deployment') });
  assert.equal(short.status, 403);
  assert.match(await short.text(), /^error: target_blocked/);
});

test('deployment policy: port 25 is refused with the platform reason', async () => {
  const r = await call('banner', 'grab', { host: '93.184.215.14', port: 25 }, { kind: 'deployment' });
  assert.equal(r.status, 403);
  assert.match(r.body.error.message, /25/);
});

test('access token: a private deployment answers 401 without it, and with a wrong one', async () => {
  for (const headers of [{}, { authorization: 'Bearer wrong' }] as Record<string, string>[]) {
    const res = await fetch(`${workerUrl('deployment')}/api/protocols`, { headers });
    assert.equal(res.status, 401);
    assert.match((await res.json()).error.message, /access token/);
  }
  const ok = await fetch(`${workerUrl('deployment')}/api/protocols?token=test-deployment-token`);
  assert.equal(ok.status, 200);
  assert.ok((await ok.json()).protocols.length > 0, "the registry, read to its end");
});

test('hostnames: resolved through DNS over HTTPS once, then judged; a lab name reaches loopback only where loopback is allowed', async () => {
  const dev = await call('echo', 'send', { host: 'ns1.lab.portolan.test', port: ports.foundation.echo, data: 'by name' });
  assert.equal(dev.status, 200, JSON.stringify(dev.body));
  assert.equal(dev.body.result.text, 'by name');
  const deployed = await call('echo', 'send', { host: 'ns1.lab.portolan.test', port: ports.foundation.echo }, { kind: 'deployment' });
  assert.equal(deployed.status, 403);
  assert.equal(deployed.body.error.code, 'target_blocked');
  const missing = await call('echo', 'send', { host: 'nosuchname.lab.portolan.test', port: ports.foundation.echo });
  assert.equal(missing.status, 502);
  assert.match(missing.body.error.message, /could not resolve/);
});

/** The first error a session on the deployment Worker sends (its token goes in the query: a WebSocket has no headers). */
async function sessionError(protocol: string, operation: string, input: Record<string, unknown>): Promise<{ code: string; message: string }> {
  const ws = new WebSocket(`${workerUrl('deployment').replace(/^http/, 'ws')}/api/${protocol}/${operation}?token=${DEPLOYMENT_TOKEN}`);
  const error = new Promise<{ code: string; message: string }>((resolve, reject) => {
    ws.addEventListener('message', (ev) => {
      const m = JSON.parse(String(ev.data));
      if (m.type === 'error') resolve(m.error);
    });
    ws.addEventListener('close', () => reject(new Error(`${protocol} ${operation}: closed without an error message`)));
  });
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true });
    ws.addEventListener('error', () => reject(new Error(`cannot open the ${protocol} ${operation} session`)), { once: true });
  });
  ws.send(JSON.stringify({ type: 'start', input }));
  try {
    return await error;
  } finally {
    ws.close();
  }
}

test('deployment policy: CODE_EXECUTION=off refuses every operation that runs code on the target, naming the setting', async () => {
  const { protocols } = await import('../src/protocols/all.ts');
  const runsCode = protocols.flatMap((p) => Object.values(p.operations).filter((op) => op.runsCode).map((op) => ({ protocol: p.id, op })));
  const names = runsCode.map((x) => `${x.protocol} ${x.op.name}`);
  for (const expected of ['jupyter execute', 'jupyter run', 'cdp evaluate', 'rserve eval', 'docker exec']) assert.ok(names.includes(expected), `${expected} is not marked runsCode (${names.join(', ')})`);
  for (const { protocol, op } of runsCode) {
    assert.match(op.summary, /runs code on the target|code execution on the target/, `${protocol} ${op.name} summary`);
    if (op.session) {
      const error = await sessionError(protocol, op.name, { host: '127.0.0.1' });
      assert.equal(error.code, 'target_blocked', `${protocol} ${op.name}`);
      assert.match(error.message, /runs code on the target.*CODE_EXECUTION=off/);
    } else {
      const r = await call(protocol, op.name, { host: '127.0.0.1' }, { kind: 'deployment' });
      assert.equal(r.status, 403, `${protocol} ${op.name}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, 'target_blocked');
      assert.match(r.body.error.message, /runs code on the target.*CODE_EXECUTION=off/);
    }
  }
  const runtime = await (await fetch(`${workerUrl('deployment')}/api/runtime`, { headers: authHeaders('deployment') })).json();
  assert.equal(runtime.policy.codeExecution, 'off');
  const described = await (await fetch(`${workerUrl('deployment')}/api/protocols`, { headers: authHeaders('deployment') })).json();
  const rserveEval = described.protocols.find((p: { id: string }) => p.id === 'rserve').operations.find((o: { name: string }) => o.name === 'eval');
  assert.equal(rserveEval.runsCode, true);
});

// Last: it empties the test client's bucket.
test('rate limit: the deployment answers 429 with Retry-After once a client exceeds its bucket', async () => {
  let limited: Response | undefined;
  for (let i = 0; i < 40 && !limited; i++) {
    // Its own client address, so other test files sharing this Worker keep their buckets.
    const headers = { ...authHeaders('deployment'), 'cf-connecting-ip': '198.51.100.77' };
    const res = await fetch(`${workerUrl('deployment')}/api/echo/send`, { method: 'POST', headers, body: JSON.stringify({ host: '127.0.0.1', port: 7 }) });
    if (res.status === 429) limited = res;
    else await res.body?.cancel();
  }
  assert.ok(limited, 'no 429 within 40 requests');
  assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  const body = await limited.json();
  assert.equal(body.error.code, 'rate_limited');
  // Another client is unaffected.
  const other = await call('echo', 'send', { host: '127.0.0.1', port: 7 }, { kind: 'deployment' });
  assert.equal(other.status, 403);
});
