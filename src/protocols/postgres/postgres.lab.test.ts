import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, openSession } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { sqlFacts } from '../../../lab/servers/databases-sql.ts';
import { callNode, useNodeHost } from '../../../test/node-host.ts';

const facts = sqlFacts.postgres;
const u = facts.users;
const tlsTarget = { host: '127.0.0.1', port: ports.databases.postgres, database: facts.database };
const plainTarget = { host: '127.0.0.1', port: ports.databases.postgresPlain, database: facts.database };
const scram = { ...tlsTarget, user: u.scram.user, password: u.scram.password };
const node = useNodeHost();

async function sql(input: Record<string, unknown>, transcript = false) {
  return call('postgres', 'query', input, { transcript });
}

function uniq(name: string): string {
  return `${name}_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
}

test('postgres: every auth method logs in, and each says which it used', async () => {
  for (const [method, cred] of Object.entries(u)) {
    const r = await sql({ ...tlsTarget, user: cred.user, ...(cred.password ? { password: cred.password } : {}), sql: 'SELECT current_user, 6 * 7 AS answer' });
    assert.equal(r.status, 200, `${method}: ${JSON.stringify(r.body)}`);
    const set = r.body.result.results[0];
    assert.deepEqual(set.rows, [[cred.user, 42]], method);
    assert.deepEqual(set.columns.map((c: { name: string; type: string }) => [c.name, c.type]), [['current_user', 'name'], ['answer', 'int4']]);
    assert.equal(r.body.result.server.authMethod, method === 'scram' ? 'scram-sha-256' : method === 'password' ? 'cleartext' : method);
    assert.match(r.body.result.server.version, /^15\./);
  }
});

test('postgres: SCRAM and the password never reach the transcript', async () => {
  const r = await sql({ ...scram, sql: 'SELECT 1' }, true);
  assert.equal(r.status, 200);
  const text = JSON.stringify(r.body.transcript);
  assert.ok(!text.includes(u.scram.password), 'password in transcript');
  assert.match(text, /SASLInitialResponse SCRAM-SHA-256/);
  assert.match(text, /SCRAM server signature verified/);
  const md5 = await sql({ ...plainTarget, user: u.password.user, password: u.password.password, sql: 'SELECT 1' }, true);
  assert.equal(md5.status, 200);
  const hex = Buffer.from(u.password.password).toString('hex');
  assert.ok(!JSON.stringify(md5.body.transcript).includes(hex), 'cleartext password bytes in transcript');
});

test('postgres: wrong password is auth_failed with the server message', async () => {
  for (const cred of [u.scram, u.md5, u.password]) {
    const r = await sql({ ...tlsTarget, user: cred.user, password: 'wrong', sql: 'SELECT 1' });
    assert.equal(r.status, 502);
    assert.equal(r.body.error.code, 'auth_failed');
    assert.match(r.body.error.message, new RegExp(`28P01: password authentication failed for user "${cred.user}"`));
    assert.equal(r.body.error.detail.sqlstate, '28P01');
  }
  const none = await sql({ ...tlsTarget, user: u.scram.user, sql: 'SELECT 1' });
  assert.equal(none.body.error.code, 'auth_failed');
  assert.match(none.body.error.message, /no password was given/);
});

test('postgres: TLS through SSLRequest, and tls_error where the server has none', async () => {
  const r = await sql({ ...scram, tls: 'starttls', sql: 'SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.server.tls, true);
  assert.equal(r.body.result.results[0].rows[0][0], true);
  assert.match(r.body.result.results[0].rows[0][1], /^TLSv1\.[23]$/);
  const off = await sql({ ...scram, sql: 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()' });
  assert.equal(off.body.result.results[0].rows[0][0], false);
  const plain = await sql({ ...plainTarget, user: u.scram.user, password: u.scram.password, tls: 'starttls', sql: 'SELECT 1' });
  assert.equal(plain.status, 502);
  assert.equal(plain.body.error.code, 'tls_error');
  assert.match(plain.body.error.message, /answered N to SSLRequest/);
});

test('postgres: several statements, DDL and DML, command tags and rows affected; write a row and read it back', async () => {
  const t = uniq('ships');
  const r = await sql({
    ...scram,
    sql: `CREATE TABLE ${t} (id serial PRIMARY KEY, name text, tonnage bigint, active boolean);
          INSERT INTO ${t} (name, tonnage, active) VALUES ('Santa Maria', 100, true), ('Pinta', 60, false), ('Niña', NULL, NULL);
          UPDATE ${t} SET tonnage = tonnage + 1 WHERE tonnage IS NOT NULL;
          SELECT id, name, tonnage, active FROM ${t} ORDER BY id;
          DELETE FROM ${t} WHERE name = 'Pinta';
          DROP TABLE ${t}`,
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const results = r.body.result.results;
  assert.deepEqual(
    results.map((x: { command: string; rowCount: number | null }) => [x.command, x.rowCount]),
    [['CREATE TABLE', null], ['INSERT', 3], ['UPDATE', 2], ['SELECT', 3], ['DELETE', 1], ['DROP TABLE', null]],
  );
  assert.deepEqual(results[3].rows, [[1, 'Santa Maria', 101, true], [2, 'Pinta', 61, false], [3, 'Niña', null, null]]);
  assert.deepEqual(results[3].columns.map((c: { type: string }) => c.type), ['int4', 'text', 'int8', 'bool']);
});

test('postgres: typed results for the common types', async () => {
  const r = await sql({
    ...scram,
    sql: `SELECT 32767::int2, 2147483647::int4, 9007199254740993::int8 AS big, 12::int8 AS small, 123456789012345678901234567890.123456789::numeric AS n,
      1.5::float8, 'NaN'::float8 AS nan, true, 'ünïcødé ✓ 日本'::text, '{"a":[1,2,{"b":null}]}'::jsonb AS j, '[1, "x"]'::json AS js,
      ARRAY[1,2,NULL]::int4[] AS a, ARRAY[['a','b c'],['"q"','NULL']] AS a2, '{}'::text[] AS empty,
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS id, '2024-02-29'::date AS d,
      '2024-02-29 13:14:15.123456'::timestamp AS ts, '2024-02-29 13:14:15+02'::timestamptz AS tz, '1 day 02:00'::interval AS iv`,
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const row = r.body.result.results[0].rows[0];
  assert.deepEqual(row.slice(0, 4), [32767, 2147483647, '9007199254740993', 12]);
  assert.equal(row[4], '123456789012345678901234567890.123456789');
  assert.deepEqual(row.slice(5, 9), [1.5, 'NaN', true, 'ünïcødé ✓ 日本']);
  assert.deepEqual(row[9], { a: [1, 2, { b: null }] });
  assert.deepEqual(row[10], [1, 'x']);
  assert.deepEqual(row[11], [1, 2, null]);
  assert.deepEqual(row[12], [['a', 'b c'], ['"q"', 'NULL']]);
  assert.deepEqual(row[13], []);
  assert.equal(row[14], 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
  assert.equal(row[15], '2024-02-29');
  assert.equal(row[16], '2024-02-29T13:14:15.123456');
  // The session TimeZone is the server's (GMT in the lab).
  assert.equal(row[17], '2024-02-29T11:14:15+00:00');
  assert.equal(row[18], '1 day 02:00:00');
});

test('postgres: bytea with NUL and non-UTF-8 bytes, written with a bind parameter and read back', async () => {
  const t = uniq('blobs');
  const hex = '00ff80fe0a0d5c2700c3';
  await sql({ ...scram, sql: `CREATE TABLE ${t} (id int, data bytea, note text)` });
  try {
    const ins = await sql({ ...scram, sql: `INSERT INTO ${t} VALUES ($1, $2, $3) RETURNING id, data, note`, params: [7, { hex }, 'nul is not allowed in text, so: ✓'] });
    assert.equal(ins.status, 200, JSON.stringify(ins.body));
    assert.equal(ins.body.result.results[0].command, 'INSERT');
    assert.equal(ins.body.result.results[0].rowCount, 1);
    assert.deepEqual(ins.body.result.results[0].rows[0], [7, { hex }, 'nul is not allowed in text, so: ✓']);
    const back = await sql({ ...scram, sql: `SELECT data, length(data), data IS NULL FROM ${t} WHERE id = $1`, params: [7] });
    assert.deepEqual(back.body.result.results[0].rows, [[{ hex }, 10, false]]);
    const viaSimple = await sql({ ...scram, sql: `SELECT data FROM ${t}; SELECT NULL::bytea` });
    assert.deepEqual(viaSimple.body.result.results[0].rows, [[{ hex }]]);
    assert.deepEqual(viaSimple.body.result.results[1].rows, [[null]]);
  } finally {
    await sql({ ...scram, sql: `DROP TABLE ${t}` });
  }
});

test('postgres: bind parameters of several types, NULL and arrays', async () => {
  const r = await sql({ ...scram, sql: 'SELECT $1::int + 1, $2::text, $3::bool, $4::int[], $5::jsonb, $6::text IS NULL', params: [41, "it's", true, [1, null, 3], { k: 'v' }, null] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.result.results[0].rows[0], [42, "it's", true, [1, null, 3], { k: 'v' }, true]);
});

test('postgres: SQL error is server_error with SQLSTATE, position and the completed statements', async () => {
  const r = await sql({ ...scram, sql: 'SELECT 1; SELECT * FROM no_such_table; SELECT 3' });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'server_error');
  assert.equal(r.body.error.detail.sqlstate, '42P01');
  assert.equal(r.body.error.detail.position, 25);
  assert.equal(r.body.error.detail.severity, 'ERROR');
  assert.match(r.body.error.message, /42P01: relation "no_such_table" does not exist \(position 25\)/);
  assert.deepEqual(r.body.error.detail.completed, [{ command: 'SELECT', rowCount: 1 }]);
  const hint = await sql({ ...scram, sql: 'SELECT harbourz FROM harbours' });
  assert.equal(hint.body.error.detail.sqlstate, '42703');
  assert.equal(hint.body.error.detail.position, 8);
  const dup = await sql({ ...scram, sql: "INSERT INTO harbours VALUES (1, 'again', 1, 'PT')" });
  assert.equal(dup.body.error.detail.sqlstate, '23505');
  assert.equal(dup.body.error.detail.constraint, 'harbours_pkey');
  assert.equal(dup.body.error.detail.table, 'harbours');
  assert.equal(dup.body.error.detail.detail, 'Key (id)=(1) already exists.');
});

test('postgres: notices come back with the result', async () => {
  const r = await sql({ ...scram, sql: "DO $$ BEGIN RAISE NOTICE 'hello % from plpgsql', 42 USING HINT = 'a hint'; END $$" });
  assert.equal(r.status, 200);
  assert.equal(r.body.result.notices[0].message, 'hello 42 from plpgsql');
  assert.equal(r.body.result.notices[0].hint, 'a hint');
  assert.equal(r.body.result.notices[0].code, '00000');
  assert.equal(r.body.result.results[0].command, 'DO');
});

test('postgres: a large result is read whole, and a row limit truncates it with a flag naming the limit', async () => {
  const all = await sql({ ...scram, sql: 'SELECT g, md5(g::text) FROM generate_series(1, 50000) g', maxRows: 50000, maxBytes: 32 * 1024 * 1024 });
  assert.equal(all.status, 200);
  const set = all.body.result.results[0];
  assert.equal(set.rows.length, 50000);
  assert.equal(set.rowCount, 50000);
  assert.equal(set.rows[49999][0], 50000);
  assert.match(set.rows[49999][1], /^[0-9a-f]{32}$/);
  assert.equal(set.truncated, false);
  const cut = await sql({ ...scram, sql: 'SELECT g FROM generate_series(1, 5000) g; SELECT 2 AS after', maxRows: 100 });
  assert.equal(cut.status, 200);
  assert.equal(cut.body.result.truncated, true);
  assert.equal(cut.body.result.limit, 'maxRows 100');
  assert.equal(cut.body.result.results[0].rows.length, 100);
  assert.equal(cut.body.result.results[0].rowsReceived, 5000);
  assert.equal(cut.body.result.results[0].rowCount, 5000);
  assert.deepEqual(cut.body.result.results[1].rows, [[2]], 'the row limit is per statement: the second keeps its row');
  assert.equal(cut.body.result.results[1].truncated, false);
  assert.equal(cut.body.result.results[1].command, 'SELECT');
  // As a user meets it: 1,000 rows a statement, the second of 2,500 rows shows 1,000 of them, not 997.
  const two = await sql({ ...scram, sql: 'SELECT g FROM generate_series(1, 3) g; SELECT g FROM generate_series(1, 2500) g' });
  assert.deepEqual(two.body.result.results.map((r: { rows: unknown[]; rowsReceived: number }) => [r.rows.length, r.rowsReceived]), [[3, 3], [1000, 2500]]);
  assert.equal(two.body.result.limit, 'maxRows 1000');
  // The byte limit is the answer's: once spent, a later statement keeps nothing.
  const spent = await sql({ ...scram, sql: "SELECT repeat('x', 1000) FROM generate_series(1, 20); SELECT 2 AS after", maxBytes: 10_000 });
  assert.equal(spent.body.result.limit, 'maxBytes 10000');
  assert.equal(spent.body.result.results[1].rows.length, 0);
  assert.equal(spent.body.result.results[1].rowsReceived, 1);
  const ext = await sql({ ...scram, sql: 'SELECT g FROM generate_series(1, $1::int) g', params: [5000], maxRows: 10 });
  assert.equal(ext.body.result.truncated, true);
  assert.equal(ext.body.result.limit, 'maxRows 10');
  assert.deepEqual(ext.body.result.results[0].rows, [[1], [2], [3], [4], [5], [6], [7], [8], [9], [10]]);
  const bytes = await sql({ ...scram, sql: "SELECT repeat('x', 1000) FROM generate_series(1, 100)", maxBytes: 10_000 });
  assert.equal(bytes.body.result.truncated, true);
  assert.equal(bytes.body.result.limit, 'maxBytes 10000');
  assert.ok(bytes.body.result.results[0].rows.length < 10);
});

test('postgres: cancelAfterMs cancels a running query (57014)', async () => {
  const started = Date.now();
  const r = await sql({ ...scram, sql: 'SELECT pg_sleep(20)', cancelAfterMs: 300, timeoutMs: 15000 });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'server_error');
  assert.equal(r.body.error.detail.sqlstate, '57014');
  assert.match(r.body.error.message, /canceling statement due to user request/);
  assert.ok(Date.now() - started < 10_000);
});

/** Whether a query tagged with `tag` still runs on the server, polled until it stops or `ms` pass. */
async function stillRunning(tag: string, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    const r = await sql({ ...scram, sql: `SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%${tag}%' AND pid <> pg_backend_pid()` });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    if (r.body.result.results[0].rows[0][0] === 0) return false;
    if (Date.now() > until) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

test('postgres: a query whose deadline passes is canceled on the server too (CancelRequest), not left running', async () => {
  const tag = `deadline_${Date.now().toString(36)}`;
  const r = await sql({ ...scram, sql: `SELECT pg_sleep(30) /* ${tag} */`, timeoutMs: 1500 });
  assert.equal(r.status, 504);
  assert.equal(await stillRunning(tag, 5000), false, 'the server still runs the query after the deadline');
});

test('postgres: cancel stops a tagged run on the server (the UI\'s Cancel); an unknown tag cancels nothing; a bad tag names the field', async () => {
  const tag = `t${Date.now().toString(36)}abc`;
  const started = Date.now();
  const running = sql({ ...scram, sql: 'SELECT pg_sleep(30)', tag, timeoutMs: 60_000 });
  let canceled: number[] = [];
  for (let i = 0; i < 50 && canceled.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const c = await call('postgres', 'cancel', { ...scram, tag });
    assert.equal(c.status, 200, JSON.stringify(c.body));
    canceled = c.body.result.canceled;
  }
  assert.equal(canceled.length, 1);
  const r = await running;
  assert.equal(r.status, 502);
  assert.equal(r.body.error.detail.sqlstate, '57014');
  assert.ok(Date.now() - started < 20_000);
  const none = await call('postgres', 'cancel', { ...scram, tag: 'nothing-runs-under-this' });
  assert.deepEqual(none.body.result.canceled, []);
  const bad = await call('postgres', 'cancel', { ...scram, tag: 'x y' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /tag/);
});

test('postgres: schema browsing lists databases, schemas, tables, then columns and indexes of one table', async () => {
  const r = await call('postgres', 'schema', { ...scram });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const res = r.body.result;
  assert.equal(res.database, 'portolan');
  assert.ok(res.databases.some((d: { name: string }) => d.name === 'portolan'));
  assert.ok(res.schemas.some((s: { name: string }) => s.name === 'public'));
  const h = res.tables.find((t: { name: string }) => t.name === 'harbours');
  assert.deepEqual([h.schema, h.kind, h.comment], ['public', 'table', 'Seeded by the Portolan lab']);
  const d = await call('postgres', 'schema', { ...scram, table: 'harbours' });
  assert.equal(d.status, 200, JSON.stringify(d.body));
  assert.deepEqual(
    d.body.result.table.columns.map((c: { name: string; type: string; nullable: boolean }) => [c.name, c.type, c.nullable]),
    [['id', 'integer', false], ['name', 'text', false], ['depth', 'numeric(6,2)', true], ['country', 'character(2)', false]],
  );
  assert.equal(d.body.result.table.columns[3].default, "'PT'::bpchar");
  const idx = d.body.result.table.indexes.map((i: { name: string; primary: boolean; unique: boolean }) => [i.name, i.primary, i.unique]);
  assert.deepEqual(idx, [['harbours_country', false, false], ['harbours_pkey', true, true]]);
  const seeded = await sql({ ...scram, sql: 'SELECT id, name, depth, country FROM harbours ORDER BY id' });
  assert.deepEqual(seeded.body.result.results[0].rows, facts.harbours.map((x) => [x.id, x.name, x.depth, x.country]));
});

test('postgres: probe without credentials tells TLS support and the auth method', async () => {
  const p = await call('postgres', 'probe', { host: '127.0.0.1', port: ports.databases.postgres, user: u.scram.user, database: facts.database });
  assert.equal(p.status, 200, JSON.stringify(p.body));
  assert.deepEqual([p.body.result.tlsOffered, p.body.result.authMethod, p.body.result.saslMechanisms], [true, 'scram-sha-256', ['SCRAM-SHA-256']]);
  const md5 = await call('postgres', 'probe', { host: '127.0.0.1', port: ports.databases.postgresPlain, user: u.md5.user, database: facts.database });
  assert.deepEqual([md5.body.result.tlsOffered, md5.body.result.authMethod], [false, 'md5']);
  const clear = await call('postgres', 'probe', { host: '127.0.0.1', port: ports.databases.postgres, user: u.password.user, database: facts.database, tls: 'starttls' });
  assert.deepEqual([clear.body.result.tlsUsed, clear.body.result.authMethod], [true, 'cleartext']);
  const trust = await call('postgres', 'probe', { host: '127.0.0.1', port: ports.databases.postgres, user: u.trust.user, database: facts.database });
  assert.equal(trust.body.result.authMethod, 'trust');
  assert.match(trust.body.result.serverVersion, /^15\./);
  const nobody = await call('postgres', 'probe', { host: '127.0.0.1', port: ports.databases.postgres, user: 'nobody_here' });
  assert.equal(nobody.status, 200);
  assert.equal(nobody.body.result.serverError.sqlstate, '28000');
  assert.match(nobody.body.result.serverError.message, /no pg_hba.conf entry/);
});

test('postgres: COPY TO STDOUT comes back as text', async () => {
  const r = await sql({ ...scram, sql: 'COPY (SELECT id, name FROM harbours ORDER BY id) TO STDOUT' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.results[0].command, 'COPY');
  assert.equal(r.body.result.results[0].rowCount, 3);
  assert.equal(r.body.result.results[0].copy, facts.harbours.map((h) => `${h.id}\t${h.name}\n`).join(''));
});

test('postgres: listen as a POST collects the notifications of its window', async () => {
  const ch = uniq('harbour_news');
  const listening = call('postgres', 'listen', { ...scram, channels: [ch], durationMs: 8000, maxMessages: 2 });
  let sent = 0;
  let done = false;
  listening.then(
    () => (done = true),
    () => (done = true),
  );
  while (!done && sent < 40) {
    await new Promise((r) => setTimeout(r, 200));
    if (!done) await sql({ ...scram, sql: 'SELECT pg_notify($1, $2)', params: [ch, `ship ${++sent} ✓`] });
  }
  const r = await listening;
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.ended, 'maxMessages');
  assert.equal(r.body.result.count, 2);
  const n = r.body.result.notifications;
  assert.equal(n[0].channel, ch);
  assert.match(n[0].payload, /^ship \d+ ✓$/);
  assert.equal(Number(n[1].payload.split(' ')[1]), Number(n[0].payload.split(' ')[1]) + 1);
  assert.ok(Number.isInteger(n[0].pid) && n[0].pid > 0);
});

test('postgres: a LISTEN WebSocket session streams notifications and takes listen/unlisten/notify', async () => {
  const ch = uniq('ws_news');
  const other = uniq('ws_other');
  const s = await openSession('postgres', 'listen', { ...scram, channels: [ch], timeoutMs: 60_000 });
  assert.deepEqual(await s.next((m) => m.type === 'listening'), { type: 'listening', channels: [ch] });
  s.send({ type: 'notify', channel: ch, payload: 'über ✓ from the socket' });
  const own = await s.next((m) => m.type === 'notification');
  assert.deepEqual([own.channel, own.payload], [ch, 'über ✓ from the socket']);
  await sql({ ...scram, sql: `NOTIFY ${ch}, 'from another session'` });
  const fromOther = await s.next((m) => m.type === 'notification');
  assert.equal(fromOther.payload, 'from another session');
  assert.notEqual(fromOther.pid, own.pid, 'another backend sent it');
  s.send({ type: 'listen', channels: [other] });
  assert.deepEqual((await s.next((m) => m.type === 'listening')).channels.sort(), [ch, other].sort());
  s.send({ type: 'unlisten', channels: [ch] });
  assert.deepEqual(await s.next((m) => m.type === 'listening'), { type: 'listening', channels: [other] });
  s.send({ type: 'notify', channel: ch, payload: 'nobody hears this' });
  s.send({ type: 'notify', channel: other, payload: 'second channel' });
  const second = await s.next((m) => m.type === 'notification');
  assert.deepEqual([second.channel, second.payload], [other, 'second channel']);
  s.send({ type: 'frobnicate' });
  assert.match((await s.next((m) => m.type === 'error')).error.message, /unknown message type/);
  s.send({ type: 'stop' });
  const end = await s.next((m) => m.type === 'end');
  assert.deepEqual([end.result.count, end.result.ended, end.result.listening], [3, 'client', [other]]);
  assert.ok(!s.inbox.some((m) => m.type === 'notification'), 'the unlistened channel stayed silent');
});

test("postgres: direct TLS (PostgreSQL 17 sslnegotiation=direct) with ALPN postgresql: PostgreSQL 15 hangs up on the ClientHello; the runtime's TLS on Workers is 501", async () => {
  const r = await sql({ ...scram, tls: 'implicit', sql: 'SELECT 1' });
  assert.equal(r.status, 502, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'tls_error');
  const runtime = await sql({ ...scram, tls: 'implicit', tlsEngine: 'runtime', sql: 'SELECT 1' });
  assert.equal(runtime.status, 501, JSON.stringify(runtime.body));
  assert.deepEqual(runtime.body.error.detail.missing, ['alpn']);
  assert.match(runtime.body.error.message, /ALPN/);
});

test('postgres: SCRAM-SHA-256-PLUS binds the login to the TLS connection on the Node host (tls-server-end-point)', async () => {
  const bound = await callNode(node, 'postgres', 'query', { ...scram, tls: 'starttls', sql: 'SELECT current_user' }, { transcript: true });
  assert.equal(bound.status, 200, JSON.stringify(bound.body));
  assert.equal(bound.body.result.server.authMethod, 'scram-sha-256-plus');
  assert.deepEqual(bound.body.result.results[0].rows, [[u.scram.user]]);
  assert.match(JSON.stringify(bound.body.transcript), /SASLInitialResponse SCRAM-SHA-256-PLUS p=tls-server-end-point,,n=,r=/);
  const unbound = await callNode(node, 'postgres', 'query', { ...scram, tls: 'starttls', channelBinding: 'disable', sql: 'SELECT 1' });
  assert.equal(unbound.body.result.server.authMethod, 'scram-sha-256');
  // Without TLS the server offers no -PLUS: require refuses to log in.
  const plain = await callNode(node, 'postgres', 'query', { ...scram, port: ports.databases.postgresPlain, channelBinding: 'require', sql: 'SELECT 1' });
  assert.equal(plain.body.error.code, 'auth_failed');
  assert.match(plain.body.error.message, /not SCRAM-SHA-256-PLUS/);
});

test("postgres: channelBinding require refuses md5 before the password goes out; on workerd SCRAM-SHA-256-PLUS binds through Portolan's TLS engine", async () => {
  const md5 = await callNode(node, 'postgres', 'query', { ...tlsTarget, tls: 'starttls', user: u.md5.user, password: u.md5.password, channelBinding: 'require', sql: 'SELECT 1' }, { transcript: true });
  assert.equal(md5.body.error.code, 'auth_failed');
  assert.match(md5.body.error.message, /md5 authentication, which has no channel binding/);
  assert.ok(!JSON.stringify(md5.body.transcript).includes('PasswordMessage'), 'a password was sent');
  const workers = await sql({ ...scram, tls: 'starttls', channelBinding: 'require', sql: 'SELECT current_user' }, true);
  assert.equal(workers.status, 200, JSON.stringify(workers.body));
  assert.equal(workers.body.result.server.authMethod, 'scram-sha-256-plus');
  assert.deepEqual(workers.body.result.results[0].rows, [[u.scram.user]]);
  assert.match(JSON.stringify(workers.body.transcript), /SASLInitialResponse SCRAM-SHA-256-PLUS p=tls-server-end-point/);
  // The runtime's TLS cannot show the certificate: require names it; prefer (the default) logs in with SCRAM-SHA-256.
  const runtime = await sql({ ...scram, tls: 'starttls', tlsEngine: 'runtime', channelBinding: 'require', sql: 'SELECT 1' });
  assert.equal(runtime.status, 501, JSON.stringify(runtime.body));
  assert.deepEqual(runtime.body.error.detail.missing, ['peerCert']);
  const prefer = await sql({ ...scram, tls: 'starttls', tlsEngine: 'runtime', sql: 'SELECT 1' });
  assert.equal(prefer.body.result.server.authMethod, 'scram-sha-256');
});

test('postgres: the server view (pg_stat_activity) shows a running query with its wait event, and this session as self', async () => {
  const marker = uniq('activity');
  const sleeping = sql({ ...scram, sql: `SELECT pg_sleep(3) AS ${marker}`, timeoutMs: 15_000 });
  let seen: Record<string, any> | undefined;
  let self: Record<string, any> | undefined;
  // A backend shows the query as active before pg_sleep starts waiting (parse and plan): look until it waits.
  for (let i = 0; i < 40 && !(seen && seen.waitEvent); i++) {
    const r = await call('postgres', 'activity', { ...scram, idle: false });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    seen = r.body.result.backends.find((b: { query: string }) => b.query.includes(marker));
    self = r.body.result.backends.find((b: { self: boolean }) => b.self);
  }
  assert.ok(seen, 'the sleeping query is listed');
  assert.deepEqual([seen.state, seen.waitEventType, seen.waitEvent, seen.user, seen.database, seen.backendType], ['active', 'Timeout', 'PgSleep', u.scram.user, facts.database, 'client backend']);
  assert.equal(seen.clientAddress, '127.0.0.1');
  assert.deepEqual(seen.blockedBy, []);
  assert.equal(typeof seen.queryMs, 'number');
  assert.ok(self && self.query.includes('pg_stat_activity'), 'this session sees its own query');
  assert.equal((await sleeping).status, 200);
  // Background processes only when asked; to a user without pg_read_all_stats the server hides what they are, and the note says why.
  const all = await call('postgres', 'activity', { ...scram, background: true });
  const clientsOnly = await call('postgres', 'activity', { ...scram });
  assert.equal(all.status, 200, JSON.stringify(all.body));
  assert.ok(clientsOnly.body.result.backends.every((b: { backendType: string }) => b.backendType === 'client backend'));
  const extra = all.body.result.backends.filter((b: { backendType: string | null }) => b.backendType !== 'client backend');
  assert.ok(extra.length >= 3, 'checkpointer, background writer, walwriter, ...');
  assert.ok(extra.every((b: { backendType: string | null; pid: number }) => b.backendType === null && b.pid > 0));
  assert.match(all.body.result.note, /pg_read_all_stats/);
});

test('postgres: binary-format results read into the same JSON as text, type by type', async () => {
  const select = `SELECT true AS b, false AS f, 32767::int2 AS i2, '-2147483648'::int4 AS i4, 9007199254740993::int8 AS big, 42::int8 AS i8, 4294967295::oid AS o,
      1.1::float4 AS f4, 'NaN'::float4 AS f4nan, 0.1::float8 AS f8, '-Infinity'::float8 AS f8inf,
      -12.50::numeric AS n, 'NaN'::numeric AS nnan, '123456789012345678901234567890.000000000000000000001'::numeric AS nbig, 0.00012::numeric AS nsmall, 'Infinity'::numeric AS ninf,
      'é, "x"'::text AS t, 'v'::varchar(3) AS vc, 'ab'::char(4) AS bp, 'pg_class'::name AS nm, '\\x00ff0a'::bytea AS by,
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u, '2024-02-29'::date AS d, '0044-03-15 BC'::date AS dbc, 'infinity'::date AS dinf,
      '04:05:06.789'::time AS tm, '04:05:06-08:30'::timetz AS tz, '2024-01-02 03:04:05.123456'::timestamp AS ts, '2024-01-02 03:04:05+02'::timestamptz AS tstz,
      '1 year 2 mons -3 days 04:05:06.789'::interval AS iv, '-1 days +02:00'::interval AS iv2,
      '{"a": [1, {"b": null}]}'::json AS j, '{"z": 1, "a": "x"}'::jsonb AS jb,
      '192.168.1.5'::inet AS ip, '2001:db8::1/64'::inet AS ip6, '10.0.0.0/8'::cidr AS net,
      ARRAY[[1, 2], [3, NULL]]::int4[] AS a2, ARRAY['a,b', NULL, 'é']::text[] AS at, '{}'::int8[] AS aempty,
      ARRAY['2024-01-02 03:04:05'::timestamptz, NULL] AS atstz, ARRAY['1.50'::numeric, 'NaN'] AS anum, ARRAY['\\x01'::bytea, '\\x'] AS aby,
      ARRAY[true, NULL] AS abool, ARRAY['{"k": 1}'::jsonb] AS ajb,
      '12.34'::money AS m, '08:00:2b:01:02:03'::macaddr AS mac, NULL::int4 AS nul`;
  const text = await sql({ ...scram, sql: select, resultFormat: 'text' });
  const binary = await sql({ ...scram, sql: select, resultFormat: 'binary' }, true);
  assert.equal(text.status, 200, JSON.stringify(text.body));
  assert.equal(binary.status, 200, JSON.stringify(binary.body));
  const [t] = text.body.result.results;
  const [b] = binary.body.result.results;
  assert.deepEqual(b.columns, t.columns);
  t.columns.forEach((c: { name: string }, i: number) => assert.deepEqual(b.rows[0][i], t.rows[0][i], c.name));
  assert.deepEqual(b.rows, t.rows);
  // The transcript says which columns came in binary: all but money and macaddr.
  assert.match(JSON.stringify(binary.body.transcript), new RegExp(`${t.columns.length - 2} of ${t.columns.length} columns in binary`));
  const row = Object.fromEntries(t.columns.map((c: { name: string }, i: number) => [c.name, b.rows[0][i]]));
  assert.equal(row.big, '9007199254740993');
  assert.equal(row.f4, 1.1);
  assert.equal(row.nbig, '123456789012345678901234567890.000000000000000000001');
  assert.deepEqual(row.by, { hex: '00ff0a' });
  assert.equal(row.tstz, '2024-01-02T01:04:05+00:00');
  assert.equal(row.iv, '1 year 2 mons -3 days +04:05:06.789');
  assert.deepEqual(row.a2, [[1, 2], [3, null]]);
  assert.deepEqual(row.aby, [{ hex: '01' }, { hex: '' }]);
  assert.equal(row.ip6, '2001:db8::1/64');
  assert.equal(row.m, '$12.34');

  // With bind parameters, and a table's rows.
  const params = await sql({ ...scram, sql: 'SELECT id, name, depth, country FROM harbours WHERE id <= $1 ORDER BY id', params: [3], resultFormat: 'binary' });
  assert.deepEqual(params.body.result.results[0].rows, facts.harbours.map((h) => [h.id, h.name, h.depth, h.country]));
  // Binary results take one statement (the extended protocol): several are the server's own refusal.
  const two = await sql({ ...scram, sql: 'SELECT 1; SELECT 2', resultFormat: 'binary' });
  assert.equal(two.status, 502);
  assert.match(two.body.error.message, /42601: cannot insert multiple commands into a prepared statement/);
});
