// The file contract of the API (docs/files.md) through workerd, carried by FTP and SSH: multipart bodies in the
// wrong shape answered 400 naming the part, the content types refused where they do not apply, and the
// WebSocket transfer both ways: credits, progress at least every 250 ms, resume, cancel, a client over its window.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { ensureLab, ports } from '../lab/index.ts';
import { ftpFacts } from '../lab/servers/ftp.ts';
import { bigFile, MiB, scratchName, sha256File, transferDir } from './files.ts';
import { workerUrl } from './harness.ts';

const ftp = { host: '127.0.0.1', port: ports.ftp.ftp, user: ftpFacts.user, password: ftpFacts.password };
const url = () => workerUrl('dev');

before(() => ensureLab(['ftp']));

async function multipart(op: string, parts: [string, string | Blob][], protocol = 'ftp'): Promise<{ status: number; body: any }> {
  const form = new FormData();
  for (const [name, value] of parts) form.append(name, value);
  const res = await fetch(`${url()}/api/${protocol}/${op}`, { method: 'POST', body: form });
  return { status: res.status, body: await res.json() };
}

test('multipart uploads in the wrong shape are 400 naming the part; the content types are refused where they do not apply', async () => {
  const name = join(transferDir, `${scratchName('mp')}.bin`);
  const input = JSON.stringify({ ...ftp, path: name });
  const file = new Blob([new Uint8Array(100_000)]);
  const first = await multipart('upload', [
    ['file', file],
    ['input', input],
  ]);
  assert.equal(first.status, 400);
  assert.equal(first.body.error.detail.issues[0].field, 'input');
  assert.match(first.body.error.message, /input: must be the first part \(the JSON input\); part 1 is "file"/);
  const noFile = await multipart('upload', [['input', input]]);
  assert.equal(noFile.status, 400);
  assert.match(noFile.body.error.message, /^file: is missing/);
  const badJson = await multipart('upload', [
    ['input', '{"host":'],
    ['file', file],
  ]);
  assert.equal(badJson.status, 400);
  assert.equal(badJson.body.error.message, 'input: is not valid JSON');
  const inlineToo = await multipart('upload', [
    ['input', JSON.stringify({ ...ftp, path: name, content: 'aGk=' })],
    ['file', file],
  ]);
  assert.equal(inlineToo.status, 400);
  assert.match(inlineToo.body.error.message, /^content: give the file either inline or as the streamed file/);
  const two = await multipart('upload', [
    ['input', input],
    ['file', file],
    ['file', file],
  ]);
  assert.equal(two.status, 400);
  assert.match(two.body.error.message, /^file: part 3 \("file"\) follows the file: send one file per request/);
  // Refused before the body is read: the Worker reads the rest (up to 64 MiB) before it answers, or the
  // client fails on the send and never sees the answer (8 MiB: more than the sockets hold on the way).
  const big = new Blob([new Uint8Array(8 * 1024 * 1024)]);
  const wrongOp = await multipart('list', [
    ['input', JSON.stringify(ftp)],
    ['file', big],
  ]);
  assert.equal(wrongOp.status, 400);
  assert.match(wrongOp.body.error.message, /^content-type: ftp list takes a JSON body/);
  const noSuchOp = await multipart('nosuch', [
    ['input', JSON.stringify(ftp)],
    ['file', big],
  ]);
  assert.equal(noSuchOp.status, 400);
  assert.match(noSuchOp.body.error.message, /^operation: ftp has no operation "nosuch"/);
  rmSync(name, { force: true });
  const accept = await fetch(`${url()}/api/ftp/list`, { method: 'POST', headers: { accept: 'application/octet-stream' }, body: JSON.stringify(ftp) });
  assert.equal(accept.status, 400);
  assert.match((await accept.json()).error.message, /^accept: ftp list answers JSON; application\/octet-stream is for download operations/);
});

/** A WebSocket transfer client: JSON control messages and binary data, kept in order with their arrival time. */
async function transfer(op: string, start: Record<string, unknown>, protocol = 'ftp') {
  const ws = new WebSocket(`${url().replace(/^http/, 'ws')}/api/${protocol}/${op}`);
  ws.binaryType = 'arraybuffer';
  const messages: { at: number; msg: any }[] = [];
  const data: Uint8Array[] = [];
  let onData: ((d: Uint8Array) => void) | undefined;
  let wake: (() => void) | undefined;
  const closed = new Promise<number>((r) => ws.addEventListener('close', (e) => (wake?.(), r(e.code))));
  ws.addEventListener('message', (e) => {
    if (typeof e.data === 'string') messages.push({ at: performance.now(), msg: JSON.parse(e.data) });
    else {
      const d = new Uint8Array(e.data as ArrayBuffer);
      data.push(d);
      onData?.(d);
    }
    wake?.();
  });
  await new Promise((r, j) => (ws.addEventListener('open', r), ws.addEventListener('error', j)));
  ws.send(JSON.stringify({ type: 'start', ...start }));
  const next = async (type: string, ms = 60_000) => {
    const until = performance.now() + ms;
    for (;;) {
      const i = messages.findIndex((m) => m.msg.type === type || m.msg.type === 'error');
      if (i >= 0) return messages.splice(i, 1)[0].msg;
      if (performance.now() > until) throw new Error(`no ${type} message; got ${JSON.stringify(messages.map((m) => m.msg.type))}`);
      await new Promise<void>((r) => ((wake = r), setTimeout(r, 200)));
    }
  };
  return { ws, messages, data, next, closed, set onData(f: (d: Uint8Array) => void) { onData = f; } };
}

test('WebSocket download: the file message, data within the window, progress at least every 250 ms, the end; resume at an offset', async () => {
  const file = bigFile('ws-16m.bin', 16 * MiB);
  const t = await transfer('download', { input: { ...ftp, path: file.path }, window: 256 * 1024 });
  const hash = createHash('sha256');
  let unacked = 0;
  let maxUnacked = 0;
  // A slow client: each message is acknowledged 5 ms late, so the transfer takes a while and credits bind.
  t.onData = (d) => {
    hash.update(d);
    unacked += d.length;
    maxUnacked = Math.max(maxUnacked, unacked);
    setTimeout(() => {
      unacked -= d.length;
      t.ws.send(JSON.stringify({ type: 'ack', bytes: d.length }));
    }, 5);
  };
  const info = await t.next('file');
  assert.deepEqual([info.name, info.size, info.offset], ['ws-16m.bin', 16 * MiB, 0]);
  const end = await t.next('end', 120_000);
  assert.equal(end.result.bytes, 16 * MiB);
  assert.equal(hash.digest('hex'), file.sha256);
  assert.ok(maxUnacked <= 256 * 1024, `never more than the window unacknowledged (${maxUnacked})`);
  const progress = t.messages.filter((m) => m.msg.type === 'progress');
  assert.ok(progress.length >= 3, `${progress.length} progress messages`);
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i].msg.bytes >= progress[i - 1].msg.bytes);
  assert.equal(progress.at(-1)!.msg.bytes, 16 * MiB);
  assert.equal(progress.at(-1)!.msg.size, 16 * MiB);
  // Sent every 250 ms; a loaded machine delays some, so the check is on the average, not on each gap.
  const span = progress.at(-1)!.at - progress[0].at;
  assert.ok(span / (progress.length - 1) < 1000, `${progress.length} progress messages over ${span.toFixed(0)} ms (sent every 250 ms)`);
  assert.equal(await t.closed, 1000);

  const r = await transfer('download', { input: { ...ftp, path: file.path }, offset: 10 * MiB });
  const rest = createHash('sha256');
  r.onData = (d) => (rest.update(d), r.ws.send(JSON.stringify({ type: 'ack', bytes: d.length })));
  const resumed = await r.next('file');
  assert.equal(resumed.offset, 10 * MiB);
  await r.next('end');
  assert.equal(rest.digest('hex'), await sha256File(file.path, 10 * MiB));
});

test('WebSocket download: cancel stops it with closed, naming the client', async () => {
  const file = bigFile('ws-cancel.bin', 64 * MiB);
  const t = await transfer('download', { input: { ...ftp, path: file.path }, window: 64 * 1024 });
  await t.next('file');
  t.ws.send(JSON.stringify({ type: 'cancel' }));
  const err = await t.next('error');
  assert.equal(err.type, 'error');
  assert.equal(err.error.code, 'closed');
  assert.equal(err.error.message, 'cancelled by the client');
  assert.equal(await t.closed, 1011);
});

test('WebSocket upload: ready with the window, data within it, acks as the server takes it, eof, the end; byte-identical on disk', async () => {
  const file = bigFile('ws-up.bin', 8 * MiB + 3);
  const target = join(transferDir, `${scratchName('ws-up')}.bin`);
  const bytes = readFileSync(file.path);
  const t = await transfer('upload', { input: { ...ftp, path: target }, window: 1024 * 1024, size: bytes.length });
  const ready = await t.next('ready');
  assert.equal(ready.window, 1024 * 1024);
  let sent = 0;
  let acked = 0;
  while (sent < bytes.length) {
    while (sent - acked >= ready.window - 64 * 1024) acked += (await t.next('ack')).bytes;
    const piece = bytes.subarray(sent, sent + 64 * 1024);
    t.ws.send(piece);
    sent += piece.length;
  }
  t.ws.send(JSON.stringify({ type: 'eof' }));
  const end = await t.next('end', 120_000);
  try {
    assert.equal(end.result.bytes, bytes.length);
    assert.equal(end.result.sizeOnServer, bytes.length);
    assert.equal(await sha256File(target), file.sha256);
  } finally {
    rmSync(target, { force: true });
  }
});

test('WebSocket upload: a client that sends past its window is cut off (4003)', async () => {
  const target = join(transferDir, `${scratchName('ws-over')}.bin`);
  const t = await transfer('upload', { input: { ...ftp, path: target }, window: 64 * 1024 });
  await t.next('ready');
  for (let i = 0; i < 4; i++) t.ws.send(new Uint8Array(64 * 1024));
  assert.equal(await t.closed, 4003);
  rmSync(target, { force: true });
});
