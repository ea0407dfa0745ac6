// An HTTP/1.0-only peer (Python's http.server, protocol_version HTTP/1.0), through workerd: bodies read to the
// connection's end, no connection reused, and pipelining refused with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { httpFiveFacts } from '../../../lab/servers/http-five.ts';

const f = httpFiveFacts.http10;
const target = { host: '127.0.0.1', port: f.port };
const lines = (n: number) => Array.from({ length: n }, (_, i) => `HTTP/1.0 line ${i}\n`).join('');

async function ok(input: Record<string, unknown>, op = 'request') {
  const r = await call('http', op, { ...target, ...input });
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 2000));
  return r.body.result;
}

test('http/1.0: a body with no Content-Length is read to the end of the connection, which is not kept', async () => {
  const r = await ok({ path: `${f.eof}?lines=5000` });
  assert.equal(r.response.version, '1.0');
  assert.equal(r.response.headers.find(([n]: [string, string]) => n === 'content-length'), undefined);
  assert.match(r.response.framing, /^close: /);
  assert.equal(r.response.body.text, lines(5000));
  assert.equal(r.response.body.truncated, false);
  assert.equal(r.connection.keepAlive, false);
  const file = await ok({ path: f.file });
  assert.equal(file.response.framing, `length ${f.fileText.length}`);
  assert.equal(file.response.body.text, f.fileText);
  assert.equal(file.connection.keepAlive, false);
});

test('http/1.0: a sequence takes a new connection for every request', async () => {
  const r = await ok({ paths: [f.file, `${f.eof}?lines=3`, f.file] }, 'sequence');
  assert.deepEqual(
    r.responses.map((x: any) => [x.body.text, x.connection, x.reused]),
    [
      [f.fileText, 1, false],
      [lines(3), 2, false],
      [f.fileText, 3, false],
    ],
  );
  assert.equal(r.connections, 3);
  assert.deepEqual(r.pipelining, { asked: 1, used: 1, why: null });
});

test('http/1.0: pipelining asked of it says why it cannot, and every request is still answered in order', async () => {
  const paths = [f.file, `${f.eof}?lines=2`, f.file, `${f.eof}?lines=4`];
  const r = await ok({ paths, pipeline: 4 }, 'sequence');
  assert.deepEqual(
    r.responses.map((x: any) => x.body.text),
    [f.fileText, lines(2), f.fileText, lines(4)],
  );
  // Every response on a connection of its own. The server may reset the first connection, with the requests queued
  // behind its response, before that response is read: those requests then go again, one connection each (5 in all).
  assert.equal(new Set(r.responses.map((x: any) => x.connection)).size, 4);
  assert.ok(r.connections === 4 || r.connections === 5, `connections: ${r.connections}`);
  assert.equal(r.pipelining.asked, 4);
  assert.equal(r.pipelining.used, 1);
  assert.match(r.pipelining.why, /^the server answers HTTP\/1\.0 without keep-alive, so it ends the connection after each response .*RFC 9112 §9\.3\.2/);
});
