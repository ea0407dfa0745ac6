// Every protocol through a proxy hop (`via`), through workerd: PostgreSQL (plain and TLS), Redis and SSH
// through Dante (SOCKS5 without and with authentication, SOCKS4), Squid (HTTP CONNECT without and
// with Basic authentication) and tinyproxy; and the deployment policy judging both the proxy and the target.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { callNode, useNodeHost } from '../../../test/node-host.ts';
import { ports } from '../../../lab/index.ts';
import { edgeFacts } from '../../../lab/servers/edge.ts';
import { sqlFacts } from '../../../lab/servers/databases-sql.ts';
import { kvFacts } from '../../../lab/servers/databases-kv.ts';
import { sshFacts } from '../../../lab/servers/ssh.ts';

const node = useNodeHost();
const s = edgeFacts.socks;
const q = edgeFacts.squid;

const hops = {
  socks5: { type: 'socks5', host: '127.0.0.1', port: s.port },
  'socks5 with username/password': { type: 'socks5', host: '127.0.0.1', port: s.authPort, username: s.user, password: s.password },
  socks4: { type: 'socks4', host: '127.0.0.1', port: s.port },
  'http (Squid)': { type: 'http', host: '127.0.0.1', port: q.port },
  'http with Basic (Squid)': { type: 'http', host: '127.0.0.1', port: q.authPort, username: q.user, password: q.password },
  'http (tinyproxy)': { type: 'http', host: '127.0.0.1', port: edgeFacts.tinyproxy.port },
} as const;

const pg = { host: '127.0.0.1', database: sqlFacts.postgres.database, user: sqlFacts.postgres.users.scram.user, password: sqlFacts.postgres.users.scram.password };
const redis = { host: '127.0.0.1', port: ports['databases-kv'].redis, password: kvFacts.redis.password };
const ssh = { host: '127.0.0.1', port: sshFacts.port, username: sshFacts.users.password.user, password: sshFacts.users.password.password };

for (const [name, via] of Object.entries(hops)) {
  test(`via ${name}: PostgreSQL writes a row and reads it back, over TLS too`, async () => {
    const table = `via_${name.replace(/\W+/g, '_')}_${Date.now()}`;
    const r = await call('postgres', 'query', { ...pg, port: ports.databases.postgresPlain, via, sql: `CREATE TEMP TABLE ${table} (v text); INSERT INTO ${table} VALUES ('through ${name}'); SELECT v FROM ${table}` }, { transcript: true });
    assert.equal(r.status, 200, JSON.stringify(r.body.error));
    assert.deepEqual(r.body.result.results.at(-1).rows, [[`through ${name}`]]);
    const json = JSON.stringify(r.body.transcript);
    assert.match(json, new RegExp(`through (SOCKS|HTTP)[^"]* proxy 127\\.0\\.0\\.1:${via.port}`));
    if ('password' in via) assert.ok(!json.includes(via.password), 'the proxy password leaked into the transcript');
    const tls = await call('postgres', 'query', { ...pg, port: ports.databases.postgres, tls: 'starttls', via, sql: 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()' });
    assert.equal(tls.status, 200, JSON.stringify(tls.body.error));
    assert.equal(tls.body.result.server.tls, true);
    assert.deepEqual(tls.body.result.results[0].rows, [[true]]);
  });

  test(`via ${name}: Redis SET then GET`, async () => {
    const key = `via:${name}:${Date.now()}`;
    const set = await call('redis', 'command', { ...redis, via, args: ['SET', key, 'ünïcødé'] });
    assert.equal(set.status, 200, JSON.stringify(set.body.error));
    const get = await call('redis', 'command', { ...redis, via, args: ['GET', key] });
    assert.equal(get.body.result.reply.text, 'ünïcødé');
  });

  test(`via ${name}: SSH runs a command`, async () => {
    const r = await call('ssh', 'exec', { ...ssh, via, command: 'echo "$SSH_CLIENT" | cut -d" " -f1; id -un' });
    assert.equal(r.status, 200, JSON.stringify(r.body.error));
    assert.equal(r.body.result.stdout, `127.0.0.1\n${ssh.username}\n`);
    assert.equal(r.body.result.exitStatus, 0);
  });
}

test('via: the proxy refusing the target is refused with its reply code and text', async () => {
  const closed = await call('redis', 'command', { ...redis, port: ports.foundation.closedPort, via: hops.socks5, args: ['PING'] });
  assert.equal(closed.status, 502);
  assert.equal(closed.body.error.code, 'refused');
  assert.match(closed.body.error.message, /SOCKS5 proxy refused 127\.0\.0\.1:10001: 0x05 connection refused/);
  const ruled = await call('redis', 'command', { ...redis, host: s.blocked, via: hops.socks5, args: ['PING'] });
  assert.equal(ruled.body.error.code, 'refused');
  assert.match(ruled.body.error.message, /0x02 connection not allowed by ruleset/);
  const squid = await call('redis', 'command', { ...redis, host: q.blocked, via: hops['http (Squid)'], args: ['PING'] });
  assert.equal(squid.body.error.code, 'refused');
  assert.match(squid.body.error.message, /HTTP proxy refused CONNECT 127\.0\.0\.2:16379: 403 Forbidden \(ERR_ACCESS_DENIED 0\)/);
  const s4 = await call('redis', 'command', { ...redis, port: ports.foundation.closedPort, via: hops.socks4, args: ['PING'] });
  assert.equal(s4.body.error.code, 'refused');
  assert.match(s4.body.error.message, /SOCKS4 proxy refused 127\.0\.0\.1:10001: 91 request rejected or failed/);
});

test('via: wrong proxy credentials are auth_failed, and none where they are required too', async () => {
  const socks = await call('redis', 'command', { ...redis, via: { ...hops['socks5 with username/password'], password: 'wrong' }, args: ['PING'] });
  assert.equal(socks.body.error.code, 'auth_failed');
  assert.match(socks.body.error.message, /refused username\/password for portolan-socks \(status 1\)/);
  const none = await call('redis', 'command', { ...redis, via: { type: 'socks5', host: '127.0.0.1', port: s.authPort }, args: ['PING'] });
  assert.equal(none.body.error.code, 'auth_failed');
  const http = await call('redis', 'command', { ...redis, via: { ...hops['http with Basic (Squid)'], password: 'wrong' }, args: ['PING'] });
  assert.equal(http.body.error.code, 'auth_failed');
  assert.match(http.body.error.message, /refused the credentials for portolan-proxy \(it asks for Basic in realm "Portolan lab proxy"\)/);
});

test('via: under the deployment policy a private proxy and a private target behind a proxy are target_blocked', async () => {
  // A public target (an IP literal: no lookup) through a proxy on loopback: the proxy is blocked, so nothing is sent anywhere.
  const proxy = await call('redis', 'command', { host: '8.8.8.8', port: 6379, via: hops.socks5, args: ['PING'] }, { kind: 'deployment' });
  assert.equal(proxy.status, 403);
  assert.equal(proxy.body.error.code, 'target_blocked');
  assert.match(proxy.body.error.message, /127\.0\.0\.1/);
  // A target on a private network through a proxy: judged like a direct one (checked before the proxy is dialled).
  for (const target of ['10.1.2.3', '127.0.0.1', '0x7f.1']) {
    const r = await call('redis', 'command', { host: target, port: 6379, via: { type: 'http', host: '192.0.2.10', port: 3128 }, args: ['PING'] }, { kind: 'deployment' });
    assert.equal(r.status, 403, `${target}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.code, 'target_blocked');
  }
});

test('via: a bad hop names the field', async () => {
  const r = await call('redis', 'command', { ...redis, via: { type: 'socks6', host: '127.0.0.1', port: 1080 }, args: ['PING'] });
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /via\.type/);
  const noPort = await call('redis', 'command', { ...redis, via: { type: 'socks5', host: '127.0.0.1' }, args: ['PING'] });
  assert.match(noPort.body.error.message, /via\.port/);
});

test('via on the Node host: PostgreSQL over TLS through SOCKS5 and through Squid, the certificate read through the tunnel', async () => {
  for (const via of [hops.socks5, hops['http (Squid)']]) {
    const r = await callNode(node, 'postgres', 'query', { ...pg, port: ports.databases.postgres, tls: 'starttls', via, sql: 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()' });
    assert.equal(r.status, 200, JSON.stringify(r.body.error));
    assert.deepEqual(r.body.result.results[0].rows, [[true]]);
    // SCRAM-SHA-256-PLUS binds to the server certificate, which the Node host reads through the proxied stream.
    assert.equal(r.body.result.server.authMethod, 'scram-sha-256-plus');
  }
});
