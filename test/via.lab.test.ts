// Any operation through an SSH jump host (`via`), through workerd: the jump host is the lab's OpenSSH,
// the targets are the lab's PostgreSQL, MariaDB, Redis and Memcached, reached from the jump host over direct-tcpip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from './harness.ts';
import { ports } from '../lab/index.ts';
import { sshFacts } from '../lab/servers/ssh.ts';
import { sqlFacts } from '../lab/servers/databases-sql.ts';
import { kvFacts } from '../lab/servers/databases-kv.ts';

const via = { host: '127.0.0.1', port: sshFacts.port, username: sshFacts.users.password.user, password: sshFacts.users.password.password };

test('via: PostgreSQL behind an SSH jump host — write a row and read it back', async () => {
  const pg = { host: '127.0.0.1', port: ports.databases.postgresPlain, database: sqlFacts.postgres.database, user: sqlFacts.postgres.users.scram.user, password: sqlFacts.postgres.users.scram.password };
  const table = `via_${Date.now()}`;
  const r = await call('postgres', 'query', { ...pg, via, sql: `CREATE TEMP TABLE ${table} (v text); INSERT INTO ${table} VALUES ('through the bastion'); SELECT v FROM ${table}` }, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body.error));
  assert.deepEqual(r.body.result.results.at(-1).rows, [['through the bastion']]);
  const json = JSON.stringify(r.body.transcript);
  assert.match(json, /through SSH jump host 127\.0\.0\.1/);
  assert.ok(!json.includes(via.password), 'the jump host password leaked into the transcript');
});

test('via: Redis SET then GET through the jump host', async () => {
  const redis = { host: '127.0.0.1', port: ports['databases-kv'].redis, password: kvFacts.redis.password };
  const key = `via:${Date.now()}`;
  const set = await call('redis', 'command', { ...redis, via, args: ['SET', key, 'ünïcødé'] });
  assert.equal(set.status, 200, JSON.stringify(set.body.error));
  const get = await call('redis', 'command', { ...redis, via, args: ['GET', key] });
  assert.equal(get.body.result.reply.text, 'ünïcødé');
});

test('via: MySQL behind the jump host — write a row and read it back', async () => {
  const my = { host: '127.0.0.1', port: ports.databases.mariadbPlain, database: sqlFacts.mariadb.database, user: sqlFacts.mariadb.users.native.user, password: sqlFacts.mariadb.users.native.password };
  const table = `via_${Date.now()}`;
  const r = await call('mysql', 'query', { ...my, via, sql: `CREATE TEMPORARY TABLE ${table} (v varchar(40)); INSERT INTO ${table} VALUES ('över the bastion'); SELECT v, CURRENT_USER() FROM ${table}` }, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body.error));
  assert.deepEqual(r.body.result.results.at(-1).rows, [['över the bastion', `${my.user}@%`]]);
  assert.match(JSON.stringify(r.body.transcript), /through SSH jump host 127\.0\.0\.1/);
});

test('via: Memcached set then get through the jump host, bytes intact', async () => {
  const mc = { host: '127.0.0.1', port: ports['databases-kv'].memcached };
  const key = `via-${Date.now()}`;
  const value = { base64: Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0x2e, 0x0d, 0x0a]).toString('base64') };
  const set = await call('memcached', 'set', { ...mc, via, key, value, flags: 7 });
  assert.equal(set.status, 200, JSON.stringify(set.body.error));
  assert.equal(set.body.result.stored, true);
  const get = await call('memcached', 'get', { ...mc, via, keys: [key] }, { transcript: true });
  assert.match(JSON.stringify(get.body.transcript), /through SSH jump host 127\.0\.0\.1/);
  assert.deepEqual(get.body.result.items.map((i: { flags: number; value: unknown }) => [i.flags, i.value]), [[7, value]]);
});

test('via: a wrong jump-host password is auth_failed; a wrong host key is untrusted_peer', async () => {
  const bad = await call('echo', 'send', { host: '127.0.0.1', port: ports.foundation.echo, via: { ...via, password: 'wrong' } });
  assert.equal(bad.status, 502);
  assert.equal(bad.body.error.code, 'auth_failed');
  const pinned = await call('echo', 'send', { host: '127.0.0.1', port: ports.foundation.echo, via: { ...via, hostKeyFingerprint: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } });
  assert.equal(pinned.body.error.code, 'untrusted_peer');
  const echoed = await call('echo', 'send', { host: '127.0.0.1', port: ports.foundation.echo, data: 'hop', via });
  assert.equal(echoed.body.result.text, 'hop');
});

test('via: the jump host itself is checked by the deployment policy', async () => {
  const r = await call('echo', 'send', { host: '192.0.2.10', port: 7, via }, { kind: 'deployment' });
  assert.equal(r.status, 403);
  assert.match(r.body.error.message, /127\.0\.0\.1/);
});
