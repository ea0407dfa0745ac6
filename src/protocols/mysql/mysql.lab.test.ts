import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { sqlFacts } from '../../../lab/servers/databases-sql.ts';

const facts = sqlFacts.mariadb;
const u = facts.users;
const tlsTarget = { host: '127.0.0.1', port: ports.databases.mariadb, database: facts.database };
const plainTarget = { host: '127.0.0.1', port: ports.databases.mariadbPlain, database: facts.database };
const native = { ...tlsTarget, user: u.native.user, password: u.native.password };

async function sql(input: Record<string, unknown>, transcript = false) {
  return call('mysql', 'query', input, { transcript });
}

function uniq(name: string): string {
  return `${name}_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
}

test('mysql: mysql_native_password and client_ed25519 (by auth switch) log in', async () => {
  const n = await sql({ ...native, sql: 'SELECT CURRENT_USER(), 6 * 7' });
  assert.equal(n.status, 200, JSON.stringify(n.body));
  assert.deepEqual(n.body.result.results[0].rows, [[`${u.native.user}@%`, 42]]);
  assert.deepEqual(n.body.result.server.authPlugins, ['mysql_native_password']);
  assert.match(n.body.result.server.version, /^10\.11\.\d+-MariaDB/);
  const e = await sql({ ...tlsTarget, user: u.ed25519.user, password: u.ed25519.password, sql: 'SELECT CURRENT_USER()' });
  assert.equal(e.status, 200, JSON.stringify(e.body));
  assert.deepEqual(e.body.result.results[0].rows, [[`${u.ed25519.user}@%`]]);
  assert.deepEqual(e.body.result.server.authPlugins, ['mysql_native_password', 'client_ed25519']);
});

test('mysql: wrong password is auth_failed with the server message, for both plugins', async () => {
  for (const user of [u.native.user, u.ed25519.user]) {
    const r = await sql({ ...tlsTarget, user, password: 'wrong', sql: 'SELECT 1' });
    assert.equal(r.status, 502);
    assert.equal(r.body.error.code, 'auth_failed');
    assert.match(r.body.error.message, new RegExp(`1045 \\(28000\\): Access denied for user '${user}'@'127.0.0.1' \\(using password: YES\\)`));
    assert.equal(r.body.error.detail.sqlstate, '28000');
  }
});

test('mysql: TLS by SSLRequest; a REQUIRE SSL user gets in only with it; tls_error where TLS is not offered', async () => {
  const r = await sql({ ...tlsTarget, user: u.tlsOnly.user, password: u.tlsOnly.password, tls: 'starttls', sql: "SHOW SESSION STATUS LIKE 'Ssl_version'" });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.server.tls, true);
  assert.match(r.body.result.results[0].rows[0][1], /^TLSv1\.[23]$/);
  const plain = await sql({ ...tlsTarget, user: u.tlsOnly.user, password: u.tlsOnly.password, sql: 'SELECT 1' });
  assert.equal(plain.body.error.code, 'auth_failed');
  const e = await sql({ ...tlsTarget, user: u.ed25519.user, password: u.ed25519.password, tls: 'starttls', sql: "SHOW SESSION STATUS LIKE 'Ssl_cipher'" });
  assert.equal(e.status, 200, JSON.stringify(e.body));
  assert.notEqual(e.body.result.results[0].rows[0][1], '');
  const none = await sql({ ...plainTarget, user: u.native.user, password: u.native.password, tls: 'starttls', sql: 'SELECT 1' });
  assert.equal(none.status, 502);
  assert.equal(none.body.error.code, 'tls_error');
  assert.match(none.body.error.message, /does not offer it: CLIENT_SSL/);
});

test('mysql: several statements and result sets, DDL and DML; write rows and read them back', async () => {
  const t = uniq('ships');
  const r = await sql({
    ...native,
    sql: `CREATE TABLE ${t} (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40), tonnage BIGINT UNSIGNED, active BOOL, born DATETIME(3));
          INSERT INTO ${t} (name, tonnage, active, born) VALUES ('Santa Maria', 100, TRUE, '1460-01-02 03:04:05.678'), ('Pinta', 18446744073709551615, FALSE, NULL), ('Niña', NULL, NULL, NULL);
          UPDATE ${t} SET name = CONCAT(name, '!') WHERE id = 1;
          SELECT id, name, tonnage, active, born FROM ${t} ORDER BY id;
          SELECT COUNT(*) AS n FROM ${t};
          DROP TABLE ${t}`,
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const res = r.body.result.results;
  assert.equal(res.length, 6);
  assert.deepEqual([res[1].affectedRows, res[1].lastInsertId, res[1].info], [3, 1, 'Records: 3  Duplicates: 0  Warnings: 0']);
  assert.equal(res[2].affectedRows, 1);
  assert.deepEqual(res[3].rows, [
    [1, 'Santa Maria!', 100, 1, '1460-01-02T03:04:05.678'],
    [2, 'Pinta', '18446744073709551615', 0, null],
    [3, 'Niña', null, null, null],
  ]);
  assert.deepEqual(res[3].columns.map((c: { name: string; type: string }) => [c.name, c.type]), [['id', 'long'], ['name', 'var_string'], ['tonnage', 'longlong'], ['active', 'tiny'], ['born', 'datetime']]);
  assert.deepEqual(res[4].rows, [[3]]);
});

test('mysql: BLOB with NUL and non-UTF-8 bytes and multibyte text, through a prepared statement and back (binary and text rows)', async () => {
  const t = uniq('blobs');
  const hex = '00ff80fe0a0d5c2700c3';
  const text = 'ünïcødé ✓ 日本 🚢';
  await sql({ ...native, sql: `CREATE TABLE ${t} (id INT, data BLOB, note VARCHAR(64), price DECIMAL(10,3), ratio DOUBLE, d DATE, tm TIME)` });
  try {
    const ins = await sql({ ...native, sql: `INSERT INTO ${t} VALUES (?, ?, ?, ?, ?, ?, ?)`, params: [7, { hex }, text, '12345.678', 0.25, '2024-02-29', '-01:02:03'] });
    assert.equal(ins.status, 200, JSON.stringify(ins.body));
    assert.equal(ins.body.result.prepared, true);
    assert.equal(ins.body.result.results[0].affectedRows, 1);
    const bin = await sql({ ...native, sql: `SELECT data, note, price, ratio, d, tm, LENGTH(data), data IS NULL FROM ${t} WHERE id = ?`, params: [7] });
    assert.deepEqual(bin.body.result.results[0].rows, [[{ hex }, text, '12345.678', 0.25, '2024-02-29', '-01:02:03', 10, 0]]);
    const txt = await sql({ ...native, sql: `SELECT data, note, price, ratio, d, tm, NULL FROM ${t}` });
    assert.deepEqual(txt.body.result.results[0].rows, [[{ hex }, text, '12345.678', 0.25, '2024-02-29', '-01:02:03', null]]);
  } finally {
    await sql({ ...native, sql: `DROP TABLE ${t}` });
  }
});

test('mysql: SQL error is server_error with SQLSTATE, errno and position; the completed statements are listed', async () => {
  const r = await sql({ ...native, sql: 'SELECT 1; SELEC oops; SELECT 3' });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'server_error');
  assert.equal(r.body.error.detail.errno, 1064);
  assert.equal(r.body.error.detail.sqlstate, '42000');
  assert.equal(r.body.error.detail.position, 11);
  assert.equal(r.body.error.detail.line, 1);
  assert.deepEqual(r.body.error.detail.completed, [{ columns: 1, rows: 1, affectedRows: null }]);
  const missing = await sql({ ...native, sql: 'SELECT * FROM no_such_table' });
  assert.deepEqual([missing.body.error.detail.errno, missing.body.error.detail.sqlstate], [1146, '42S02']);
  assert.match(missing.body.error.message, /Table 'portolan.no_such_table' doesn't exist/);
  const dup = await sql({ ...native, sql: "INSERT INTO harbours VALUES (1, 'again', 1, 'PT')" });
  assert.deepEqual([dup.body.error.detail.errno, dup.body.error.detail.sqlstate], [1062, '23000']);
  const prep = await sql({ ...native, sql: 'SELECT * FROM no_such_table WHERE id = ?', params: [1] });
  assert.equal(prep.body.error.detail.sqlstate, '42S02');
});

test('mysql: a large result is read whole, and limits truncate with a flag naming the limit', async () => {
  const big = 'SELECT seq, MD5(seq) FROM seq_1_to_50000';
  const all = await sql({ ...native, sql: big, maxRows: 50000, maxBytes: 32 * 1024 * 1024 });
  assert.equal(all.status, 200, JSON.stringify(all.body).slice(0, 500));
  const set = all.body.result.results[0];
  assert.equal(set.rows.length, 50000);
  assert.equal(set.rows[49999][0], 50000);
  assert.match(set.rows[49999][1], /^[0-9a-f]{32}$/);
  assert.equal(all.body.result.truncated, false);
  const cut = await sql({ ...native, sql: 'SELECT seq FROM seq_1_to_5000; SELECT 2 AS after', maxRows: 100 });
  assert.equal(cut.body.result.truncated, true);
  assert.equal(cut.body.result.limit, 'maxRows 100');
  assert.equal(cut.body.result.results[0].rows.length, 100);
  assert.equal(cut.body.result.results[0].rowsReceived, 5000);
  assert.equal(cut.body.result.results[1].rowsReceived, 1, 'the second statement still ran');
  assert.deepEqual(cut.body.result.results[1].rows, [[2]], 'the row limit is per statement: the second keeps its row');
  const two = await sql({ ...native, sql: 'SELECT seq FROM seq_1_to_3; SELECT seq FROM seq_1_to_2500' });
  assert.deepEqual(two.body.result.results.map((r: { rows: unknown[]; rowsReceived: number }) => [r.rows.length, r.rowsReceived]), [[3, 3], [1000, 2500]]);
  const spent = await sql({ ...native, sql: "SELECT REPEAT('x', 1000) FROM seq_1_to_20; SELECT 2 AS after", maxBytes: 10_000 });
  assert.equal(spent.body.result.limit, 'maxBytes 10000');
  assert.equal(spent.body.result.results[1].rows.length, 0);
  assert.equal(spent.body.result.results[1].rowsReceived, 1);
  const bytes = await sql({ ...native, sql: "SELECT REPEAT('x', 1000) FROM seq_1_to_100", maxBytes: 10_000 });
  assert.equal(bytes.body.result.limit, 'maxBytes 10000');
  assert.ok(bytes.body.result.results[0].rows.length < 10);
  const prepCut = await sql({ ...native, sql: 'SELECT seq FROM seq_1_to_1000 WHERE seq > ?', params: [0], maxRows: 5 });
  assert.deepEqual(prepCut.body.result.results[0].rows, [[1], [2], [3], [4], [5]]);
  assert.equal(prepCut.body.result.limit, 'maxRows 5');
});

test('mysql: schema browsing lists databases and tables, then columns and indexes', async () => {
  const r = await call('mysql', 'schema', native);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(r.body.result.databases.some((d: { name: string; charset: string }) => d.name === 'portolan' && d.charset === 'utf8mb4'));
  const h = r.body.result.tables.find((t: { name: string }) => t.name === 'harbours');
  assert.deepEqual([h.schema, h.type, h.engine, h.comment], ['portolan', 'BASE TABLE', 'InnoDB', 'Seeded by the Portolan lab']);
  const d = await call('mysql', 'schema', { ...native, table: 'harbours' });
  assert.equal(d.status, 200, JSON.stringify(d.body));
  assert.deepEqual(
    d.body.result.table.columns.map((c: { name: string; type: string; nullable: boolean; key: string }) => [c.name, c.type, c.nullable, c.key]),
    [['id', 'int(11)', false, 'PRI'], ['name', 'varchar(64)', false, ''], ['depth', 'decimal(6,2)', true, ''], ['country', 'char(2)', false, 'MUL']],
  );
  assert.deepEqual(d.body.result.table.indexes, [
    { name: 'harbours_country', unique: false, primary: false, type: 'BTREE', columns: ['country'] },
    { name: 'PRIMARY', unique: true, primary: true, type: 'BTREE', columns: ['id'] },
  ]);
  const seeded = await sql({ ...native, sql: 'SELECT id, name, depth, country FROM harbours ORDER BY id' });
  assert.deepEqual(seeded.body.result.results[0].rows, facts.harbours.map((x) => [x.id, x.name, x.depth, x.country]));
});

test('mysql: probe reads version, capabilities, auth plugin and TLS support without credentials', async () => {
  const p = await call('mysql', 'probe', { host: '127.0.0.1', port: ports.databases.mariadb });
  assert.equal(p.status, 200, JSON.stringify(p.body));
  const r = p.body.result;
  assert.match(r.serverVersion, /^10\.11\.\d+-MariaDB/);
  assert.deepEqual([r.protocolVersion, r.mariadb, r.authPlugin, r.tlsOffered], [10, true, 'mysql_native_password', true]);
  for (const cap of ['PROTOCOL_41', 'SSL', 'PLUGIN_AUTH', 'MULTI_RESULTS']) assert.ok(r.capabilities.includes(cap), cap);
  const plain = await call('mysql', 'probe', { host: '127.0.0.1', port: ports.databases.mariadbPlain });
  assert.equal(plain.body.result.tlsOffered, false);
  assert.ok(!plain.body.result.capabilities.includes('SSL'));
  const tls = await call('mysql', 'probe', { host: '127.0.0.1', port: ports.databases.mariadb, tls: 'starttls' });
  assert.equal(tls.body.result.tlsUsed, true);
});

test('mysql: the password never reaches the transcript', async () => {
  const r = await sql({ ...tlsTarget, user: u.ed25519.user, password: u.ed25519.password, sql: 'SELECT 1' }, true);
  assert.equal(r.status, 200);
  const text = JSON.stringify(r.body.transcript);
  assert.ok(!text.includes(u.ed25519.password));
  assert.ok(!text.includes(Buffer.from(u.ed25519.password).toString('hex')));
  assert.match(text, /server switches authentication to client_ed25519/);
});

test('mysql: the server\'s warnings (SHOW WARNINGS) come beside the result of the statement that raised them', async () => {
  const r = await sql({ ...native, sql: "SELECT CAST('12abc' AS SIGNED) AS n, 1/0 AS d" });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const set = r.body.result.results[0];
  assert.deepEqual(set.rows, [[12, null]]);
  assert.equal(set.warnings, 2);
  assert.deepEqual(set.warningList.map((w: { level: string; code: number }) => [w.level, w.code]), [['Warning', 1292], ['Warning', 1365]]);
  assert.match(set.warningList[0].message, /Truncated incorrect INTEGER value: '12abc'/);
  assert.equal(set.warningList[1].message, 'Division by 0');
  const clean = await sql({ ...native, sql: 'SELECT 1' });
  assert.equal(clean.body.result.results[0].warningList, undefined);
});

test('mysql: LOAD DATA LOCAL INFILE sends the given file when the server asks for it by name, and nothing else', async () => {
  const table = uniq('infile');
  const plainNative = { ...plainTarget, user: u.native.user, password: u.native.password };
  assert.equal((await sql({ ...plainNative, sql: `CREATE TABLE ${table} (id INT PRIMARY KEY, name VARCHAR(40)) CHARACTER SET utf8mb4` })).status, 200);
  const load = `LOAD DATA LOCAL INFILE 'harbours.csv' INTO TABLE ${table} CHARACTER SET utf8mb4 FIELDS TERMINATED BY ','`;
  // Over several 64 KiB packets: 20,000 lines.
  const lines = Array.from({ length: 20_000 }, (_, i) => `${i + 1},${i === 2 ? 'Ålesund' : `harbour-${i + 1}`}`);
  const loaded = await sql({ ...plainNative, sql: load, localInfile: { name: 'harbours.csv', content: `${lines.join('\n')}\n` } }, true);
  assert.equal(loaded.status, 200, JSON.stringify(loaded.body).slice(0, 400));
  assert.equal(loaded.body.result.results[0].affectedRows, 20_000);
  assert.match(loaded.body.result.results[0].info, /^Records: 20000\s+Deleted: 0\s+Skipped: 0\s+Warnings: 0$/);
  assert.ok(loaded.body.transcript.entries.some((e: { decode?: string }) => e.decode === 'LOCAL INFILE "harbours.csv": end'));
  const back = await sql({ ...plainNative, sql: `SELECT COUNT(*), SUM(id), (SELECT name FROM ${table} WHERE id = 3) FROM ${table}` });
  assert.deepEqual(back.body.result.results[0].rows, [[20_000, '200010000', 'Ålesund']]);

  // Not opted in: the client does not offer LOCAL, and the server refuses in its own words.
  const refused = await sql({ ...plainNative, sql: load });
  assert.equal(refused.body.error.code, 'server_error');
  assert.match(refused.body.error.message, /local infile|not allowed/i);
  // Another name than the file given: an empty file is sent, and the answer says so.
  const other = await sql({ ...plainNative, sql: load.replace('harbours.csv', '/etc/passwd'), localInfile: { name: 'harbours.csv', content: '1,x\n' } });
  assert.equal(other.status, 400);
  assert.equal(other.body.error.message, 'localInfile.name: the server asked for "/etc/passwd", not "harbours.csv", the file given: it was sent an empty file');
  await sql({ ...plainNative, sql: `DROP TABLE ${table}` });
});

test('mysql: a REQUIRE X509 user logs in with a client certificate over TLS; without one the server refuses', async () => {
  const clientCertificate = { certPem: readFileSync(facts.clientCertPath, 'utf8'), keyPem: readFileSync(facts.clientKeyPath, 'utf8') };
  const x509 = { ...tlsTarget, tls: 'starttls', user: u.x509.user };
  const r = await sql({ ...x509, clientCertificate, sql: "SELECT CURRENT_USER(), (SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_version')" });
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 400));
  assert.equal(r.body.result.results[0].rows[0][0], `${u.x509.user}@%`);
  assert.match(String(r.body.result.results[0].rows[0][1]), /^TLSv1\.[23]$/);
  const none = await sql({ ...x509, sql: 'SELECT 1' });
  assert.equal(none.body.error.code, 'auth_failed');
  assert.match(none.body.error.message, /Access denied for user 'portolan_x509'/);
});

test('mysql: every column type goes in through a prepared statement and comes back the same in binary and text rows', async () => {
  const t = uniq('types');
  const columns: [string, string, unknown][] = [
    ['ti', 'TINYINT', -128],
    ['tu', 'TINYINT UNSIGNED', 255],
    ['si', 'SMALLINT', -32768],
    ['mi', 'MEDIUMINT', 8388607],
    ['ii', 'INT', -2147483648],
    ['iu', 'INT UNSIGNED', 4294967295],
    ['bi', 'BIGINT', '-9223372036854775808'],
    ['bu', 'BIGINT UNSIGNED', '18446744073709551615'],
    ['fl', 'FLOAT', 1.5],
    ['db', 'DOUBLE', -2.25e-300],
    ['de', 'DECIMAL(30,10)', '-12345678901234567890.0123456789'],
    ['dt', 'DATE', '2024-02-29'],
    ['dtm', 'DATETIME(6)', '2024-02-29 23:59:58.123456'],
    ['ts', 'TIMESTAMP(3) NULL', '2038-01-19 03:14:07.999'],
    ['tm', 'TIME(6)', '-838:59:58.999999'],
    ['yr', 'YEAR', 2155],
    ['ch', 'CHAR(4)', 'ab'],
    ['vc', 'VARCHAR(20)', 'naïve 🚢'],
    ['bn', 'BINARY(4)', { hex: 'ff00' }],
    ['vb', 'VARBINARY(8)', { hex: '00ff80' }],
    ['tb', 'TINYBLOB', { hex: 'c328' }],
    ['mb', 'MEDIUMBLOB', { hex: '00' }],
    ['lb', 'LONGBLOB', { hex: 'deadbeef' }],
    ['tx', 'TEXT', 'line\nnext'],
    ['en', "ENUM('a','b')", 'b'],
    ['st', "SET('x','y','z')", 'x,z'],
    ['bt', 'BIT(10)', 513],
    ['js', 'JSON', '{"a": [1, 2]}'],
    ['i6', 'INET6', '2001:db8::1'],
    ['uu', 'UUID', '123e4567-e89b-12d3-a456-426614174000'],
  ];
  await sql({ ...native, sql: `CREATE TABLE ${t} (${columns.map(([n, type]) => `${n} ${type}`).join(', ')})` });
  try {
    const ins = await sql({ ...native, sql: `INSERT INTO ${t} VALUES (${columns.map(() => '?').join(', ')})`, params: columns.map(([, , v]) => v) });
    assert.equal(ins.status, 200, JSON.stringify(ins.body));
    assert.equal(ins.body.result.results[0].warnings, 0, JSON.stringify(ins.body.result.results[0].warningList));
    const names = columns.map(([n]) => n).join(', ');
    const bin = await sql({ ...native, sql: `SELECT ${names} FROM ${t} WHERE 1 = ?`, params: [1] });
    const txt = await sql({ ...native, sql: `SELECT ${names} FROM ${t}` });
    const binRow = bin.body.result.results[0].rows[0];
    const txtRow = txt.body.result.results[0].rows[0];
    const byName = (row: unknown[]) => Object.fromEntries(columns.map(([n], i) => [n, row[i]]));
    assert.deepEqual(byName(binRow), byName(txtRow), 'binary and text rows agree');
    // As inserted; dates and times in ISO form, BINARY padded with zeros as the server stores it, BIT as its bytes.
    assert.deepEqual(byName(binRow), {
      ...Object.fromEntries(columns.map(([n, , v]) => [n, v])),
      dtm: '2024-02-29T23:59:58.123456',
      ts: '2038-01-19T03:14:07.999',
      bn: { hex: 'ff000000' },
      bt: { hex: '0201' },
    });
  } finally {
    await sql({ ...native, sql: `DROP TABLE ${t}` });
  }
});
