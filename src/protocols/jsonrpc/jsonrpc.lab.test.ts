// JSON-RPC 2.0 against Debian's aria2 RPC interface (--rpc-secret), over HTTP and WebSocket, through workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { servicesFacts } from '../../../lab/servers/services-a.ts';

const p = ports['services-a'];
const target = { host: '127.0.0.1', port: p.aria2 };
const token = `token:${servicesFacts.aria2.secret}`;
const upstream = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'aria2'], { encoding: 'utf8' }).replace(/-.*$/, '');

async function ok(op: string, input: Record<string, unknown>) {
  const r = await call('jsonrpc', op, { ...target, ...input });
  assert.equal(r.status, 200, `${op}: ${JSON.stringify(r.body)}`);
  return r.body.result;
}

for (const transport of ['http', 'websocket'] as const) {
  test(`jsonrpc over ${transport}: params by position; the version aria2 reports`, async () => {
    const r = await ok('call', { transport, method: 'aria2.getVersion', params: [token], id: 'v' });
    assert.equal(r.id, 'v');
    assert.equal(r.result.version, upstream);
    assert.ok(r.result.enabledFeatures.length > 0);
    const methods = await ok('call', { transport, method: 'system.listMethods' });
    assert.ok(methods.result.includes('aria2.addUri'));
  });

  test(`jsonrpc over ${transport}: errors with their codes; the wrong secret is auth_failed in aria2's words`, async () => {
    const missing = await call('jsonrpc', 'call', { ...target, transport, method: 'aria2.noSuchMethod', params: [token] });
    assert.equal(missing.body.error.code, 'server_error');
    assert.equal(missing.body.error.detail.code, 1);
    assert.match(missing.body.error.message, /No such method: aria2\.noSuchMethod/);
    const named = await call('jsonrpc', 'call', { ...target, transport, method: 'aria2.getVersion', params: { secret: token } });
    assert.equal(named.body.error.detail.code, -32602, 'aria2 takes params by position only');
    assert.match(named.body.error.message, /Invalid params/);
    const wrong = await call('jsonrpc', 'call', { ...target, transport, method: 'aria2.getVersion', params: ['token:wrong'] });
    assert.equal(wrong.body.error.code, 'auth_failed');
    assert.match(wrong.body.error.message, /Unauthorized/);
  });

  test(`jsonrpc over ${transport}: a batch of calls, a notification and an error, each in place`, async () => {
    const r = await ok('batch', {
      transport,
      calls: [
        { method: 'aria2.getGlobalStat', params: [token] },
        { method: 'aria2.getVersion', params: [token], notification: true },
        { method: 'aria2.noSuchMethod', params: [token], id: 'x' },
        { method: 'system.multicall', params: [[{ methodName: 'aria2.getVersion', params: [token] }, { methodName: 'aria2.tellActive', params: [token] }]] },
      ],
    });
    assert.deepEqual(
      r.results.map((x: { method: string; notification: boolean }) => [x.method, x.notification]),
      [
        ['aria2.getGlobalStat', false],
        ['aria2.getVersion', true],
        ['aria2.noSuchMethod', false],
        ['system.multicall', false],
      ],
    );
    assert.equal(typeof r.results[0].result.numActive, 'string');
    assert.deepEqual([r.results[2].error.code, r.results[2].error.message], [1, 'No such method: aria2.noSuchMethod']);
    assert.equal(r.results[3].result[0][0].version, upstream);
    assert.ok(Array.isArray(r.results[3].result[1][0]));
    // aria2 answers the notification in a batch with an Invalid Request error of id null (it takes no notifications).
    assert.deepEqual(r.unmatched, [{ id: null, error: { code: -32600, message: 'Invalid Request.', meaning: 'Invalid Request' } }]);
  });

  test(`jsonrpc over ${transport}: a notification gets no answer, and a response over the cap is a protocol_error`, async () => {
    if (transport === 'websocket') assert.equal((await ok('call', { transport, method: 'aria2.getVersion', params: [token], notification: true })).result, null);
    else {
      // Over HTTP aria2 answers a notification anyway, with an error: reported, not swallowed.
      const n = await call('jsonrpc', 'call', { ...target, transport, method: 'aria2.getVersion', params: [token], notification: true });
      assert.equal(n.body.error.detail.code, -32600);
    }
    // aria2.getGlobalOption answers every option (several KiB): past a 1 KiB cap nothing more is read.
    const capped = await call('jsonrpc', 'call', { ...target, transport, method: 'aria2.getGlobalOption', params: [token], maxResponseBytes: 1024 });
    assert.equal(capped.body.error.code, 'protocol_error');
  });
}

test('jsonrpc over websocket: aria2 pushes its download notifications while the call is answered', async () => {
  // A download from the lab's own varnish: aria2 announces its start (and its end) on the WebSocket.
  const r = await ok('batch', {
    transport: 'websocket',
    calls: [
      { method: 'aria2.addUri', params: [token, [`http://127.0.0.1:${p.varnishHttp}/spare/nothing`], { 'max-tries': '1' }] },
      { method: 'aria2.getVersion', params: [token] },
    ],
  });
  assert.match(r.results[0].result, /^[0-9a-f]{16}$/);
  const gid = r.results[0].result;
  // The start notification may arrive with the answers or just after: ask until it has come.
  let seen = r.notifications;
  for (let i = 0; i < 20 && !seen.some((m: { method: string }) => m.method === 'aria2.onDownloadStart'); i++) {
    seen = seen.concat((await ok('call', { transport: 'websocket', method: 'aria2.tellStatus', params: [token, gid, ['status']] })).notifications);
  }
  const status = await ok('call', { transport: 'websocket', method: 'aria2.tellStatus', params: [token, gid, ['gid', 'status']] });
  assert.equal(status.result.gid, gid);
  assert.ok(['active', 'error', 'complete', 'waiting'].includes(status.result.status));
});
