// clamd (ClamAV 1.4, lab area shares, a hand-made signature database) through workerd's API: PING, VERSION with
// its commands, STATS, INSTREAM scans of JSON content and of streamed multipart uploads (a marker at the end of
// 32 MiB is found), the daemon's size limit as its own error.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { ensureLab, ports } from '../../../lab/index.ts';
import { clamavFacts } from '../../../lab/servers/shares.ts';
import { bigFile, curlUpload, MiB, transferDir } from '../../../test/files.ts';
import { call, workerUrl } from '../../../test/harness.ts';

const target = { host: '127.0.0.1', port: ports.shares.clamd };
const C = clamavFacts;

before(() => ensureLab(['shares']));

test('clamd PING, VERSION (and the commands it knows), STATS', async () => {
  const ping = await call('clamav', 'ping', target);
  assert.deepEqual(ping.body.result, { reply: 'PONG', alive: true });
  const v = await call('clamav', 'version', target);
  assert.match(v.body.result.engine, /^1\.\d+\.\d+$/);
  for (const c of ['PING', 'INSTREAM', 'STATS', 'VERSION']) assert.ok(v.body.result.commands.includes(c), c);
  const s = await call('clamav', 'stats', target);
  assert.equal(s.status, 200, JSON.stringify(s.body));
  assert.equal(s.body.result.state, 'VALID PRIMARY');
  assert.equal(s.body.result.threads.max, 4);
  assert.equal(s.body.result.pools, 1);
});

test('clamd INSTREAM from JSON: clean text, the EICAR test file, the custom signature, base64 content', async () => {
  const clean = await call('clamav', 'scan', { ...target, content: 'Fair winds and following seas.' });
  assert.deepEqual([clean.body.result.status, clean.body.result.signature, clean.body.result.bytes], ['clean', null, 30]);
  const eicar = await call('clamav', 'scan', { ...target, content: C.eicar.text });
  assert.equal(eicar.body.result.status, 'infected');
  assert.equal(eicar.body.result.signature, `${C.eicar.signature}.UNOFFICIAL`);
  const custom = await call('clamav', 'scan', { ...target, content: Buffer.from(`\x00\xff${C.custom.marker}\x01`, 'latin1').toString('base64'), encoding: 'base64' });
  assert.equal(custom.body.result.signature, `${C.custom.signature}.UNOFFICIAL`);
});

test('clamd INSTREAM streamed from a multipart upload: 32 MiB clean, then with the marker in its last bytes found', async () => {
  const file = bigFile('clamav-32m.bin', 32 * MiB);
  const clean = await curlUpload(workerUrl('dev'), 'clamav', 'scan', target, file.path);
  assert.equal(clean.status, 200, JSON.stringify(clean.body));
  assert.deepEqual([clean.body.result.status, clean.body.result.bytes], ['clean', 32 * MiB]);
  const marked = join(transferDir, `clamav-marked-${process.pid}.bin`);
  writeFileSync(marked, Buffer.concat([Buffer.alloc(32 * MiB, 0x41), Buffer.from(C.custom.marker)]));
  const found = await curlUpload(workerUrl('dev'), 'clamav', 'scan', target, marked);
  assert.equal(found.body.result.status, 'infected');
  assert.equal(found.body.result.signature, `${C.custom.signature}.UNOFFICIAL`);
  assert.equal(found.body.result.bytes, 32 * MiB + C.custom.marker.length);
  rmSync(marked);
});

test('clamd: a stream past StreamMaxLength is the daemon\'s own error', async () => {
  const big = join(transferDir, `clamav-over-${process.pid}.bin`);
  writeFileSync(big, Buffer.alloc(C.streamMaxLength + MiB));
  const r = await curlUpload(workerUrl('dev'), 'clamav', 'scan', target, big);
  assert.equal(r.body.error.code, 'server_error', JSON.stringify(r.body));
  assert.match(r.body.error.message, /INSTREAM size limit exceeded/);
  rmSync(big);
});
