// PPTP against pptpd through workerd: Start-Control-Connection, Echo, Stop-Control-Connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { edgeFacts } from '../../../lab/servers/edge.ts';

const f = edgeFacts.pptp;

test('pptp probe: pptpd’s version, host name and vendor; an Echo round trip; a clean stop', async () => {
  const r = await call('pptp', 'probe', { host: '127.0.0.1', port: f.port }, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body.error));
  const p = r.body.result;
  assert.equal(p.version, '1.0');
  assert.equal(p.result, 1);
  assert.equal(p.resultText, 'Successful channel establishment');
  assert.equal(p.hostname, f.hostname);
  assert.equal(p.vendor, f.vendor);
  assert.equal(p.maxChannels, 1);
  assert.equal(typeof p.echoRttMs, 'number');
  assert.equal(p.stopped, true);
  assert.match(JSON.stringify(r.body.transcript), /Start-Control-Connection-Reply/);
});

test('pptp: a server that is not PPTP is a protocol_error naming the magic cookie', async () => {
  const r = await call('pptp', 'probe', { host: '127.0.0.1', port: ports.foundation.daytime });
  assert.equal(r.body.error.code, 'protocol_error');
  assert.match(r.body.error.message, /magic cookie/);
});
