// HTTP/2 beyond requests: server push from Apache mod_http2 (H2Push with Link preload headers), RFC 9218
// priorities sent to nginx and Apache, flow-control windows per stream, and the server's GOAWAY by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { httpFacts } from '../../../lab/servers/http.ts';
import { http2FiveFacts as F } from '../../../lab/servers/http2-five.ts';

const nginx = { host: '127.0.0.1', port: ports.http.nginxH2c };
const apache = { host: '127.0.0.1', port: ports['http2-five'].apachePush };
type Entry = { dir: string; decode?: string };
const decodes = (t: { entries: Entry[] }, dir: string) => t.entries.filter((e) => e.dir === dir).map((e) => e.decode ?? '');

async function ok(input: Record<string, unknown>) {
  const r = await call('http2', 'request', input, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 2000));
  return r.body as { result: any; transcript: { entries: Entry[] } };
}

test('http2 push: with ENABLE_PUSH 1, Apache promises the preloaded assets and each pushed body arrives byte for byte', async () => {
  const { result: r, transcript } = await ok({ ...apache, path: F.page.path, enablePush: true, bodyEncoding: 'text' });
  assert.equal(r.responses[0].status, 200);
  assert.equal(r.responses[0].body.text, F.page.text);
  assert.deepEqual(
    r.pushed.map((x: { path: string }) => x.path),
    F.pushed.map((a) => a.path),
  );
  for (const [i, asset] of F.pushed.entries()) {
    const x = r.pushed[i];
    assert.equal(x.promisedBy, 1);
    assert.equal(x.stream, 2 * (i + 1));
    assert.equal(x.status, 200);
    const promised = new Map(x.request);
    assert.equal(promised.get(':method'), 'GET');
    assert.equal(promised.get(':path'), asset.path);
    assert.equal(x.headers.find(([n]: [string, string]) => n === 'content-type')?.[1], asset.type);
    assert.equal(x.body.text, asset.text);
    assert.equal(x.body.bytes, Buffer.byteLength(asset.text));
    assert.equal(x.reset, null);
  }
  const out = decodes(transcript, 'out');
  assert.match(out[0], /ENABLE_PUSH=1/);
  assert.ok(decodes(transcript, 'in').some((d) => /^PUSH_PROMISE\[END_HEADERS\] stream 1, \d+ bytes: promised stream 2$/.test(d)));
  // Our GOAWAY names the last stream the server initiated.
  assert.ok(out.some((d) => /GOAWAY stream 0, 8 bytes: last stream 4, NO_ERROR/.test(d)), out.join('\n'));
});

test('http2 push: past maxPushes the promised stream is cancelled with RST_STREAM CANCEL', async () => {
  const { result: r, transcript } = await ok({ ...apache, path: F.page.path, enablePush: true, maxPushes: 1 });
  assert.equal(r.pushed.length, 2);
  assert.equal(r.pushed[0].body.text, F.pushed[0].text);
  assert.equal(r.pushed[1].path, F.pushed[1].path);
  assert.equal(r.pushed[1].status, null);
  assert.deepEqual(r.pushed[1].reset, { by: 'client', error: 'CANCEL (more promised streams than maxPushes)' });
  assert.ok(decodes(transcript, 'out').some((d) => /RST_STREAM stream 4, 4 bytes: CANCEL/.test(d)));
  assert.equal(r.responses[0].body.text, F.page.text);
});

test('http2 push: over the h2c Upgrade the ENABLE_PUSH setting travels in HTTP2-Settings and Apache pushes on stream 1', async () => {
  const { result: r } = await ok({ ...apache, path: F.page.path, mode: 'upgrade', enablePush: true });
  assert.equal(r.negotiated, 'h2c (HTTP/1.1 Upgrade, 101 Switching Protocols)');
  assert.equal(r.responses[0].body.text, F.page.text);
  assert.deepEqual(
    r.pushed.map((x: { promisedBy: number; status: number; body: { text: string } }) => [x.promisedBy, x.status, x.body.text]),
    F.pushed.map((a) => [1, 200, a.text]),
  );
});

test('http2 push: off by default, Apache promises nothing', async () => {
  const { result: r, transcript } = await ok({ ...apache, path: F.page.path });
  assert.deepEqual(r.pushed, []);
  assert.equal(r.responses[0].body.text, F.page.text);
  assert.match(decodes(transcript, 'out')[0], /ENABLE_PUSH=0/);
  assert.ok(!decodes(transcript, 'in').some((d) => d.startsWith('PUSH_PROMISE')));
});

test('http2 priorities: RFC 9218 priority headers per request and PRIORITY_UPDATE frames, accepted and answered by nginx and Apache', async () => {
  for (const target of [nginx, apache]) {
    const path = target === nginx ? httpFacts.hello.path : F.plain.path;
    const { result: r, transcript } = await ok({
      ...target,
      paths: [path, path],
      priorities: [{ urgency: 0 }, { urgency: 7, incremental: true }],
      reprioritize: { urgency: 2, incremental: true },
      concurrency: 2,
    });
    assert.deepEqual(
      r.responses.map((x: { status: number }) => x.status),
      [200, 200],
    );
    assert.equal(r.goaway, null);
    const out = decodes(transcript, 'out').join('\n');
    assert.match(out, /PRIORITY_UPDATE stream 0, 10 bytes: stream 1 priority "u=2, i"/);
    // SETTINGS ACK, then HEADERS and PRIORITY_UPDATE for stream 1 and for stream 3, in one write.
    assert.match(out, /; … 5 frames\n/);
    assert.deepEqual(r.prioritySignals, []);
  }
  // The priority header carries the per-request value: nginx's echo shows what it received.
  const { result: echo } = await ok({ ...nginx, method: 'POST', path: '/echo', body: 'x', priority: { urgency: 1, incremental: true } });
  const got = JSON.parse(echo.responses[0].body.text);
  assert.deepEqual(
    got.headers.filter(([n]: [string, string]) => n.toLowerCase() === 'priority'),
    [['priority', 'u=1, i']],
  );
});

test('http2 settings: every SETTINGS value the server sends is shown by name', async () => {
  const { result: n } = await ok({ ...nginx, path: httpFacts.hello.path });
  assert.deepEqual(n.serverSettings, [
    { id: 3, name: 'MAX_CONCURRENT_STREAMS', value: 128 },
    { id: 4, name: 'INITIAL_WINDOW_SIZE', value: 65536 },
    { id: 5, name: 'MAX_FRAME_SIZE', value: 16777215 },
  ]);
  const { result: a } = await ok({ ...apache, path: F.plain.path });
  assert.deepEqual(a.serverSettings, [{ id: 3, name: 'MAX_CONCURRENT_STREAMS', value: 100 }]);
});

test('http2 flow control: per-stream windows and every WINDOW_UPDATE in order, for a download and an upload', async () => {
  const { result: d } = await ok({ ...nginx, path: httpFacts.large.path, windowSize: 65535, maxBodyBytes: 4 * 1024 * 1024, bodyEncoding: 'base64' });
  assert.equal(d.responses[0].body.bytes, httpFacts.large.bytes);
  const ups = d.flow.updates;
  assert.deepEqual(ups[0], { t: ups[0].t, dir: 'out', stream: 0, increment: 16 * 1024 * 1024 - 65535 });
  const ts = ups.map((u: { t: number }) => u.t);
  assert.deepEqual(ts, [...ts].sort((a: number, b: number) => a - b));
  const stream1 = ups.filter((u: { dir: string; stream: number }) => u.dir === 'out' && u.stream === 1);
  // Each credit brings the 65,535-byte window back to full, so the credits sum to the bytes received less what is left outstanding.
  const credited = stream1.reduce((n: number, u: { increment: number }) => n + u.increment, 0);
  assert.equal(credited, httpFacts.large.bytes - (65535 - d.responses[0].windows.recv));
  assert.ok(stream1.length >= 40);
  const conn = d.flow.connection;
  assert.equal(conn.send, 65535 + ups.filter((u: { dir: string; stream: number }) => u.dir === 'in' && u.stream === 0).reduce((n: number, u: { increment: number }) => n + u.increment, 0));

  const body = 'portolan '.repeat(20000);
  const { result: u } = await ok({ ...nginx, method: 'POST', path: '/echo', body, headers: { 'content-type': 'text/plain' } });
  assert.equal(JSON.parse(u.responses[0].body.text).bodyBytes, body.length);
  const fromNginx = u.flow.updates.filter((x: { dir: string; stream: number }) => x.dir === 'in' && x.stream === 1);
  assert.ok(fromNginx.length >= 1, JSON.stringify(u.flow.updates));
  // nginx's 65,536-byte stream window, less what we sent, plus what it credited back.
  const credit = fromNginx.reduce((n: number, x: { increment: number }) => n + x.increment, 0);
  assert.equal(u.responses[0].windows.send, 65536 - body.length + credit);
});

test("http2 GOAWAY: nginx's ENHANCE_YOUR_CALM for an oversize header block, named with its last stream", async () => {
  const r = await call('http2', 'request', { ...nginx, path: httpFacts.hello.path, headers: { 'x-big': 'y'.repeat(10000) } });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'server_error');
  assert.equal(r.body.error.message, 'server sent GOAWAY ENHANCE_YOUR_CALM (last stream 1)');
  assert.deepEqual(r.body.error.detail, { h2error: 'ENHANCE_YOUR_CALM', lastStream: 1 });
});

test("http2 RST_STREAM: nginx answers an oversize upload with 413, then stops the unread body with RST_STREAM NO_ERROR (RFC 9113 §8.1), named", async () => {
  // Two streams one after the other: nginx's RST_STREAM for the first arrives while the second is read.
  const { result: r, transcript } = await ok({ ...nginx, method: 'POST', paths: [httpFacts.uploadLimit, httpFacts.uploadLimit], body: 'x'.repeat(100_000), concurrency: 1 });
  assert.equal(r.responses[0].status, 413);
  assert.deepEqual(r.responses[0].reset, { by: 'server', error: 'NO_ERROR' });
  // nginx's 65,536-byte stream window was spent and never credited: the rest of the body was never sent.
  assert.equal(r.responses[0].windows.send, 0);
  assert.ok(decodes(transcript, 'in').includes('RST_STREAM stream 1, 4 bytes: NO_ERROR'));
  assert.equal(r.responses[1].status, 413);
});

test('http2 inspect: with push on, the frame log shows the PUSH_PROMISEs and the pushed responses, with the windows', async () => {
  const r = await call('http2', 'inspect', { ...apache, path: F.page.path, enablePush: true });
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 2000));
  const x = r.body.result;
  assert.deepEqual(
    x.frames.filter((f: { dir: string; type: string }) => f.dir === 'in' && f.type === 'PUSH_PROMISE').map((f: { summary: string }) => f.summary.replace(/, \d+ bytes/, '')),
    ['PUSH_PROMISE[END_HEADERS] stream 1: promised stream 2', 'PUSH_PROMISE[END_HEADERS] stream 1: promised stream 4'],
  );
  assert.deepEqual(
    x.pushed.map((p: { path: string; body: { text: string } }) => [p.path, p.body.text]),
    F.pushed.map((a) => [a.path, a.text]),
  );
  assert.equal(x.response.windows.recv, 1024 * 1024 - Buffer.byteLength(F.page.text));
  assert.equal(x.flow.updates[0].dir, 'out');
});
