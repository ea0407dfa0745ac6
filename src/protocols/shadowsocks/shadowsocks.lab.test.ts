// Shadowsocks against shadowsocks-libev through workerd: the lab's echo server reached with each AEAD
// cipher; a wrong password gets nothing back; the deployment policy judges the server and the target.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { edgeFacts } from '../../../lab/servers/edge.ts';

const f = edgeFacts.shadowsocks;
const echo = { targetHost: '127.0.0.1', targetPort: ports.foundation.echo };

for (const [method, port] of [
  ['chacha20-ietf-poly1305', f.chachaPort],
  ['aes-256-gcm', f.aesPort],
] as const) {
  test(`shadowsocks ${method}: the echo comes back through the server`, async () => {
    const data = `through shadowsocks ${method} ✓\n`;
    const r = await call('shadowsocks', 'connect', { host: '127.0.0.1', port, method, password: f.password, ...echo, data, waitMs: 1500 }, { transcript: true });
    assert.equal(r.status, 200, JSON.stringify(r.body.error));
    assert.equal(r.body.result.answered, true);
    assert.equal(r.body.result.answer.text, data);
    assert.match(r.body.result.verdict, /the password and .* are right/);
    assert.ok(!JSON.stringify(r.body.transcript).includes(data.trim()), 'the plaintext went over the wire');
  });
}

test('shadowsocks: a wrong password or the wrong cipher gets nothing back', async () => {
  const wrong = await call('shadowsocks', 'connect', { host: '127.0.0.1', port: f.chachaPort, password: 'wrong', ...echo, data: 'x', waitMs: 800 });
  assert.equal(wrong.status, 200, JSON.stringify(wrong.body.error));
  assert.equal(wrong.body.result.answered, false);
  assert.match(wrong.body.result.verdict, /nothing came back within 800 ms.*password or cipher is wrong/);
  const cipher = await call('shadowsocks', 'connect', { host: '127.0.0.1', port: f.aesPort, method: 'chacha20-ietf-poly1305', password: f.password, ...echo, data: 'x', waitMs: 800 });
  assert.equal(cipher.body.result.answered, false);
});

test('shadowsocks: the deployment policy blocks a private server and a private target', async () => {
  const server = await call('shadowsocks', 'connect', { host: '127.0.0.1', port: f.chachaPort, password: f.password, targetHost: '8.8.8.8', targetPort: 53 }, { kind: 'deployment' });
  assert.equal(server.body.error.code, 'target_blocked');
  const target = await call('shadowsocks', 'connect', { host: '8.8.8.8', port: 8388, password: f.password, targetHost: '10.0.0.1', targetPort: 22 }, { kind: 'deployment' });
  assert.equal(target.status, 403);
  assert.match(target.body.error.message, /10\.0\.0\.1/);
});
