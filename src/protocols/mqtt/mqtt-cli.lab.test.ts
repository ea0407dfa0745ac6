// `portolan mqtt` as a user runs it against the lab's mosquitto: subscribe prints one line per message until
// Ctrl-C (JSON lines with --json) and ends with DISCONNECT; publish takes its payload from an argument, a file or
// standard input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ports } from '../../../lab/index.ts';
import { mqttFacts } from '../../../lab/servers/messaging-mqtt.ts';
import { BIN } from '../../../test/node-host.ts';

const host = `127.0.0.1:${ports['messaging-mqtt'].mosquitto}`;
const auth = ['--username', mqttFacts.user, '--password', mqttFacts.password];

function start(args: string[], stdin?: Buffer): { child: ChildProcessWithoutNullStreams; out: () => string; err: () => string; done: Promise<number> } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  child.stdin.end(stdin ?? '');
  const done = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  return { child, out: () => out, err: () => err, done };
}

async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('cli: mqtt subscribe -t prints a line per message until Ctrl-C; publish from an argument, a file and stdin', async () => {
  const root = `cli/${process.pid}`;
  const will = `${root}/will`;
  const text = start(['mqtt', 'subscribe', host, '-t', `${root}/data/#`, '--will', JSON.stringify({ topic: will, payload: 'gone' }), ...auth]);
  const json = start(['mqtt', 'subscribe', host, '-t', `${root}/data/#`, '--json', ...auth]);
  const watcher = start(['mqtt', 'subscribe', host, '-t', will, '--json', ...auth]);
  await until('three subscriptions', () => [text, json, watcher].every((s) => s.err().includes('"type":"subscribed"')));

  const pub = async (args: string[], stdin?: Buffer) => {
    const p = start(['mqtt', 'publish', host, ...args, '--qos', '1', ...auth], stdin);
    assert.equal(await p.done, 0, p.err());
    return p.out();
  };
  assert.match(await pub(['--topic', `${root}/data/arg`, '--payload', 'from an argument']), /published 1 message to .*\/arg \(QoS 1\): 1× Success/);
  const dir = mkdtempSync(join(tmpdir(), 'portolan-mqtt-'));
  writeFileSync(join(dir, 'bin'), Buffer.from([0x00, 0xff, 0x41]));
  await pub(['--topic', `${root}/data/file`, '--payload', `@${join(dir, 'bin')}`]);
  await pub(['--topic', `${root}/data/stdin`, '--payload', '-'], Buffer.from('line one\nline two'));

  await until('three lines', () => text.out().split('\n').filter(Boolean).length >= 3);
  assert.deepEqual(text.out().trim().split('\n'), [`${root}/data/arg from an argument`, `${root}/data/file base64:${Buffer.from([0, 0xff, 0x41]).toString('base64')}`, `${root}/data/stdin line one\\nline two`]);
  await until('three JSON lines', () => json.out().split('\n').filter(Boolean).length >= 3);

  // Ctrl-C: the session stops, says DISCONNECT (so the will is not published) and exits 0.
  text.child.kill('SIGINT');
  json.child.kill('SIGINT');
  assert.equal(await text.done, 0, text.err());
  assert.equal(await json.done, 0, json.err());
  assert.match(text.err(), /ok mqtt subscribe/);
  const lines = json.out().trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.slice(0, 3).map((l) => [l.type, l.topic.split('/').pop(), l.size]), [['message', 'arg', 16], ['message', 'file', 3], ['message', 'stdin', 17]]);
  assert.deepEqual(lines[3].result.ended, 'client');
  assert.equal(lines[3].result.count, 3);
  await new Promise((r) => setTimeout(r, 500));
  watcher.child.kill('SIGINT');
  await watcher.done;
  assert.equal(watcher.out().split('\n').filter((l) => l.includes('"type":"message"')).length, 0, 'no will: the subscriber ended with DISCONNECT');
});
