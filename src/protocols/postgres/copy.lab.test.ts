// COPY through workerd's API on the file-transfer contract: COPY TO STDOUT streamed as the response body (a
// 200k-row table as CSV compared with the bytes expected from the generated rows, binary starting with the
// PGCOPY signature), COPY FROM STDIN from a multipart upload (CSV, text, binary, read back), and a malformed
// row refused with the server's words and line number, the table unchanged.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ports } from '../../../lab/index.ts';
import { sqlFacts } from '../../../lab/servers/databases-sql.ts';
import { curlUpload, ensureTransferDir, scratchName, streamDownload } from '../../../test/files.ts';
import { authHeaders, call, workerUrl } from '../../../test/harness.ts';

const facts = sqlFacts.postgres;
const scram = { host: '127.0.0.1', port: ports.databases.postgres, database: facts.database, user: facts.users.scram.user, password: facts.users.scram.password };
const url = () => workerUrl('dev');

function uniq(name: string): string {
  return `${name}_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
}

async function sql(text: string) {
  const r = await call('postgres', 'query', { ...scram, sql: text, maxRows: 100_000 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.result.results as { command: string; rowCount: number | null; rows: unknown[][] }[];
}

/** A whole streamed body (for small downloads whose bytes a test looks at). */
async function fetchBody(operation: string, input: Record<string, unknown>): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  const res = await fetch(`${url()}/api/postgres/${operation}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/octet-stream', ...authHeaders('dev') },
    body: JSON.stringify(input),
  });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

/**
 * Rows of the big table: id, a name (some with a comma and quotes, which CSV quotes), a flag, some NULLs. The
 * server may place a short row in an earlier page's free space; CLUSTER puts the rows in id order.
 */
const BIG_ROWS = 200_000;
const BIG_SQL = (t: string) => `CREATE TABLE ${t} (id integer PRIMARY KEY, name text, flag boolean);
  INSERT INTO ${t} SELECT g, CASE WHEN g % 1000 = 0 THEN 'ship ' || g || ', "big"' WHEN g % 777 = 0 THEN NULL ELSE 'ship ' || g END, g % 3 = 0 FROM generate_series(1, ${BIG_ROWS}) g;
  CLUSTER ${t} USING ${t}_pkey`;

function bigCsv(): Buffer {
  const lines = ['id,name,flag'];
  for (let g = 1; g <= BIG_ROWS; g++) {
    const name = g % 1000 === 0 ? `"ship ${g}, ""big"""` : g % 777 === 0 ? '' : `ship ${g}`;
    lines.push(`${g},${name},${g % 3 === 0 ? 't' : 'f'}`);
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

test('postgres copy-out: a 200k-row table streams as CSV, byte for byte what the rows say, named after the table', async () => {
  const t = uniq('copy_big');
  await sql(BIG_SQL(t));
  try {
    const expected = bigCsv();
    const down = await streamDownload(url(), 'postgres', 'copy-out', { ...scram, table: t, format: 'csv', header: true });
    assert.equal(down.status, 200, JSON.stringify(down.json));
    assert.equal(down.error, null);
    assert.equal(down.headers.get('content-type'), 'text/csv; charset=utf-8');
    assert.equal(down.headers.get('content-disposition'), `attachment; filename="${t}.csv"`);
    assert.equal(down.bytes, expected.length);
    assert.equal(down.sha256, createHash('sha256').update(expected).digest('hex'));
    // The JSON form: the first bytes, capped, with the server's row count.
    const json = await call('postgres', 'copy-out', { ...scram, table: t, header: true, maxBytes: 4096 });
    assert.equal(json.status, 200, JSON.stringify(json.body));
    assert.equal(json.body.result.rowCount, BIG_ROWS);
    assert.equal(json.body.result.bytes, expected.length);
    assert.equal(json.body.result.truncated, true);
    assert.equal(json.body.result.content, expected.subarray(0, 4096).toString());
  } finally {
    await sql(`DROP TABLE ${t}`);
  }
});

test('postgres copy-out: text and a query, binary with the PGCOPY signature, and the JSON form whole', async () => {
  const text = await call('postgres', 'copy-out', { ...scram, table: 'harbours', columns: ['id', 'name', 'depth'], format: 'text' });
  assert.equal(text.status, 200, JSON.stringify(text.body));
  assert.equal(text.body.result.rowCount, 3);
  assert.equal(text.body.result.truncated, false);
  assert.equal(text.body.result.statement, 'COPY "harbours" ("id", "name", "depth") TO STDOUT (FORMAT text)');
  assert.equal(text.body.result.content, facts.harbours.map((h) => `${h.id}\t${h.name}\t${h.depth ?? '\\N'}\n`).join(''));
  const query = await call('postgres', 'copy-out', { ...scram, query: 'SELECT name, country FROM harbours ORDER BY id', delimiter: ';', header: true });
  assert.equal(query.body.result.content, `name;country\n${facts.harbours.map((h) => `${h.name};${h.country}`).join('\n')}\n`);
  const raw = await call('postgres', 'copy-out', { ...scram, copy: "COPY (SELECT 'a,b' AS x) TO STDOUT WITH (FORMAT csv)" });
  assert.equal(raw.body.result.format, 'csv');
  assert.equal(raw.body.result.content, '"a,b"\n');

  // The data in another encoding, and the CSV options spelled out.
  const latin1 = await fetchBody('copy-out', { ...scram, query: 'SELECT name, depth FROM harbours WHERE id = 3', fileEncoding: 'LATIN1', null: 'NULL', quote: "'", delimiter: '|' });
  assert.equal(latin1.status, 200);
  assert.deepEqual(latin1.bytes, Buffer.from('\xc5lesund|NULL\n', 'latin1'));
  const bin = await fetchBody('copy-out', { ...scram, table: 'harbours', format: 'binary' });
  assert.equal(bin.status, 200);
  assert.equal(bin.headers.get('content-disposition'), 'attachment; filename="harbours.pgcopy"');
  // PGCOPY\n\377\r\n\0, flags, header extension length; the trailer is -1 as Int16.
  assert.deepEqual([...bin.bytes.subarray(0, 11)], [...Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')]);
  assert.deepEqual([...bin.bytes.subarray(-2)], [0xff, 0xff]);
  const binJson = await call('postgres', 'copy-out', { ...scram, table: 'harbours', format: 'binary' });
  assert.equal(binJson.body.result.content, null);
  assert.deepEqual(Buffer.from(binJson.body.result.contentBase64, 'base64'), bin.bytes);
});

test('postgres copy-out: errors before the first byte are JSON with the server words; bad input names its field', async () => {
  const missing = await streamDownload(url(), 'postgres', 'copy-out', { ...scram, table: 'no_such_table' });
  assert.equal(missing.status, 502);
  assert.equal(missing.json.error.code, 'server_error');
  assert.match(missing.json.error.message, /42P01: relation "no_such_table" does not exist/);
  const both = await call('postgres', 'copy-out', { ...scram, table: 'harbours', query: 'SELECT 1' });
  assert.equal(both.status, 400);
  assert.match(both.body.error.message, /table: give one of table, query/);
  const notCopy = await call('postgres', 'copy-out', { ...scram, copy: 'SELECT 1' });
  assert.equal(notCopy.status, 400);
  assert.match(notCopy.body.error.message, /copy: must be a COPY … TO STDOUT statement/);
});

test('postgres copy-in: CSV, text and binary uploads stream into tables and read back', async () => {
  const t = uniq('copy_in');
  const dir = ensureTransferDir();
  const csvPath = join(dir, `${scratchName('pg-copy')}.csv`);
  await sql(`CREATE TABLE ${t} (id integer PRIMARY KEY, name text, amount numeric)`);
  try {
    const rows = 50_000;
    const lines = ['id,name,amount'];
    for (let i = 1; i <= rows; i++) lines.push(`${i},"name ${i}${i % 100 === 0 ? ', with comma' : ''}",${i % 10 === 0 ? '' : `${i}.25`}`);
    writeFileSync(csvPath, `${lines.join('\n')}\n`);
    const up = await curlUpload(url(), 'postgres', 'copy-in', { ...scram, table: t, format: 'csv', header: true }, csvPath);
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.equal(up.body.result.rowCount, rows);
    assert.equal(up.body.result.statement, `COPY "${t}" FROM STDIN (FORMAT csv, HEADER true)`);
    const check = await sql(`SELECT count(*)::int, sum(id)::bigint, count(amount)::int, sum(amount)::text FROM ${t}; SELECT name FROM ${t} WHERE id IN (1, 100) ORDER BY id`);
    assert.deepEqual(check[0].rows, [[rows, (rows * (rows + 1)) / 2, rows - rows / 10, String(Array.from({ length: rows }, (_, k) => k + 1).filter((i) => i % 10 !== 0).reduce((a, i) => a + i, 0) + 0.25 * (rows - rows / 10)) + '.00']]);
    assert.deepEqual(check[1].rows, [['name 1'], ['name 100, with comma']]);

    // Text format inline (JSON form), with \N for NULL and a tab separator.
    const inline = await call('postgres', 'copy-in', { ...scram, table: t, columns: ['id', 'name'], format: 'text', content: `900001\tnine\n900002\t\\N\n` });
    assert.equal(inline.status, 200, JSON.stringify(inline.body));
    assert.equal(inline.body.result.rowCount, 2);
    assert.deepEqual((await sql(`SELECT id, name FROM ${t} WHERE id > 900000 ORDER BY id`))[0].rows, [[900001, 'nine'], [900002, null]]);

    // Inline base64 in another encoding: LATIN1 bytes read as LATIN1.
    const latin1 = await call('postgres', 'copy-in', { ...scram, table: t, columns: ['id', 'name'], fileEncoding: 'LATIN1', encoding: 'base64', content: Buffer.from('900003,\xc5lesund\n', 'latin1').toString('base64') });
    assert.equal(latin1.status, 200, JSON.stringify(latin1.body));
    assert.deepEqual((await sql(`SELECT name FROM ${t} WHERE id = 900003`))[0].rows, [['Ålesund']]);

    // Binary: what copy-out wrote goes back into a copy of the table.
    const t2 = uniq('copy_bin');
    await sql(`CREATE TABLE ${t2} (LIKE ${t})`);
    try {
      const bin = await fetchBody('copy-out', { ...scram, table: t, format: 'binary' });
      assert.equal(bin.status, 200);
      const binPath = join(dir, `${scratchName('pg-copy')}.pgcopy`);
      writeFileSync(binPath, bin.bytes);
      try {
        const back = await curlUpload(url(), 'postgres', 'copy-in', { ...scram, table: t2, format: 'binary' }, binPath);
        assert.equal(back.status, 200, JSON.stringify(back.body));
        assert.equal(back.body.result.rowCount, rows + 3);
        assert.equal(back.body.result.bytes, bin.bytes.length);
      } finally {
        rmSync(binPath, { force: true });
      }
      const same = await sql(`SELECT count(*)::int FROM (SELECT * FROM ${t} EXCEPT SELECT * FROM ${t2}) d; SELECT count(*)::int FROM ${t2}`);
      assert.deepEqual(same[0].rows, [[0]]);
      assert.deepEqual(same[1].rows, [[rows + 3]]);
    } finally {
      await sql(`DROP TABLE ${t2}`);
    }
  } finally {
    rmSync(csvPath, { force: true });
    await sql(`DROP TABLE ${t}`);
  }
});

test('postgres copy-in: a malformed row is the server error with its line, and the table is unchanged', async () => {
  const t = uniq('copy_bad');
  const dir = ensureTransferDir();
  const path = join(dir, `${scratchName('pg-copy-bad')}.csv`);
  await sql(`CREATE TABLE ${t} (id integer, name text); INSERT INTO ${t} VALUES (1, 'kept')`);
  try {
    writeFileSync(path, '10,a\n11,b\nnot-a-number,c\n13,d\n');
    const up = await curlUpload(url(), 'postgres', 'copy-in', { ...scram, table: t, format: 'csv' }, path);
    assert.equal(up.status, 502, JSON.stringify(up.body));
    assert.equal(up.body.error.code, 'server_error');
    assert.match(up.body.error.message, /22P02: invalid input syntax for type integer: "not-a-number" \(COPY copy_bad_\d+_\d+, line 3, column id: "not-a-number"\)/);
    assert.equal(up.body.error.detail.sqlstate, '22P02');
    assert.match(up.body.error.detail.where, /line 3/);
    // A large file refused at line 3: the answer comes without the rest of the file going to the server.
    writeFileSync(path, Buffer.concat([Buffer.from('10,a\n11,b\nx,c\n'), Buffer.alloc(32 * 1024 * 1024, '12,filler\n')]));
    const big = await curlUpload(url(), 'postgres', 'copy-in', { ...scram, table: t, format: 'csv' }, path);
    assert.equal(big.status, 502, JSON.stringify(big.body));
    assert.match(big.body.error.message, /22P02: invalid input syntax for type integer: "x" \(COPY copy_bad_\d+_\d+, line 3, column id: "x"\)/);
    const extra = await call('postgres', 'copy-in', { ...scram, table: t, content: '20,x\n21,y,z\n' });
    assert.equal(extra.status, 502);
    assert.match(extra.body.error.message, /extra data after last expected column \(COPY copy_bad_\d+_\d+, line 2: "21,y,z"\)/);
    assert.deepEqual((await sql(`SELECT id, name FROM ${t} ORDER BY id`))[0].rows, [[1, 'kept']]);
    const notCopy = await call('postgres', 'copy-in', { ...scram, copy: `COPY ${t} TO STDOUT`, content: '' });
    assert.equal(notCopy.status, 400);
    assert.match(notCopy.body.error.message, /copy: must be a COPY … FROM STDIN statement/);
  } finally {
    rmSync(path, { force: true });
    await sql(`DROP TABLE ${t}`);
  }
});

test('postgres copy-out: a COPY the server fails after its first rows ends the WebSocket transfer with the server error, never as complete', async () => {
  const ws = new WebSocket(`${url().replace(/^http/, 'ws')}/api/postgres/copy-out`);
  ws.binaryType = 'arraybuffer';
  const messages: any[] = [];
  let bytes = 0;
  const closed = new Promise<number>((resolve) => ws.addEventListener('close', (e) => resolve(e.code)));
  ws.addEventListener('message', (e) => {
    if (typeof e.data === 'string') messages.push(JSON.parse(e.data));
    else {
      bytes += (e.data as ArrayBuffer).byteLength;
      ws.send(JSON.stringify({ type: 'ack', bytes: (e.data as ArrayBuffer).byteLength }));
    }
  });
  await new Promise((resolve, reject) => (ws.addEventListener('open', resolve), ws.addEventListener('error', reject)));
  // Division by zero at g = 150000: the rows before it are already on their way.
  ws.send(JSON.stringify({ type: 'start', input: { ...scram, query: 'SELECT g, 1 / (g - 150000) FROM generate_series(1, 200000) g' } }));
  assert.equal(await closed, 1011);
  const types = messages.map((m) => m.type);
  assert.equal(types[0], 'file');
  assert.equal(messages[0].name, 'query.csv');
  assert.ok(!types.includes('end'), JSON.stringify(types));
  const error = messages.find((m) => m.type === 'error');
  assert.equal(error.error.code, 'server_error');
  assert.match(error.error.message, /22012: division by zero/);
  assert.ok(bytes > 0, 'rows arrived before the error');
});
