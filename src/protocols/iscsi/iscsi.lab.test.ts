// tgt 1.0.85 (tgtd, lab area blocks) through workerd's API: discovery, logins without authentication and with
// CHAP, REPORT LUNS, INQUIRY, READ CAPACITY, a range in JSON and a whole LUN streamed byte-identical with READ(10)
// and READ(16), a resume inside a block, and refusals in the target's words.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, test } from 'node:test';
import { ensureLab, ports } from '../../../lab/index.ts';
import { blockPattern, blocksFacts } from '../../../lab/servers/blocks.ts';
import { streamDownload } from '../../../test/files.ts';
import { call, workerUrl } from '../../../test/harness.ts';

const I = blocksFacts.iscsi;
const portal = { host: '127.0.0.1', port: ports.blocks.iscsi };
const chap = { username: I.chap.username, password: I.chap.password };
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

before(() => ensureLab(['blocks']));

test('iscsi discover: SendTargets lists both targets at the portal; login without and with CHAP; a wrong secret and an unknown target refused', async () => {
  const d = await call('iscsi', 'discover', portal);
  assert.equal(d.status, 200, JSON.stringify(d.body));
  assert.deepEqual(d.body.result.targets, [
    { name: I.open.iqn, addresses: [`127.0.0.1:${ports.blocks.iscsi},1`] },
    { name: I.chap.iqn, addresses: [`127.0.0.1:${ports.blocks.iscsi},1`] },
  ]);
  const open = await call('iscsi', 'login', { ...portal, target: I.open.iqn });
  assert.equal(open.status, 200, JSON.stringify(open.body));
  assert.equal(open.body.result.authMethod, 'None');
  assert.equal(open.body.result.parameters.HeaderDigest, 'None');
  const withChap = await call('iscsi', 'login', { ...portal, target: I.chap.iqn, ...chap }, { transcript: true });
  assert.equal(withChap.status, 200, JSON.stringify(withChap.body));
  assert.equal(withChap.body.result.authMethod, 'CHAP');
  assert.ok(!JSON.stringify(withChap.body.transcript).includes(I.chap.password), 'the secret stays out of the transcript');
  const noChap = await call('iscsi', 'login', { ...portal, target: I.chap.iqn });
  assert.equal(noChap.body.error.code, 'auth_failed');
  assert.match(noChap.body.error.message, /authentication failure/);
  const wrong = await call('iscsi', 'login', { ...portal, target: I.chap.iqn, username: I.chap.username, password: 'not-the-secret' });
  assert.equal(wrong.body.error.code, 'auth_failed');
  const unknown = await call('iscsi', 'login', { ...portal, target: 'iqn.2026-12.dev.portolan.lab:nowhere' });
  assert.equal(unknown.body.error.code, 'server_error');
  assert.match(unknown.body.error.message, /target not found/);
  const half = await call('iscsi', 'discover', { ...portal, username: 'x' });
  assert.equal(half.status, 400);
  assert.match(half.body.error.message, /^password: /);
});

test('iscsi luns and inquiry: REPORT LUNS, INQUIRY of each, READ CAPACITY(16) of the disk', async () => {
  const l = await call('iscsi', 'luns', { ...portal, target: I.chap.iqn, ...chap });
  assert.equal(l.status, 200, JSON.stringify(l.body));
  assert.deepEqual(l.body.result.luns.map((x: { lun: number; inquiry: { deviceType: string } }) => [x.lun, x.inquiry.deviceType]), [[0, 'controller'], [1, 'disk']]);
  const disk = await call('iscsi', 'inquiry', { ...portal, target: I.open.iqn, lun: 1 });
  assert.equal(disk.status, 200, JSON.stringify(disk.body));
  assert.deepEqual([disk.body.result.inquiry.vendor, disk.body.result.inquiry.product], ['IET', 'VIRTUAL-DISK']);
  assert.deepEqual([disk.body.result.capacity.blocks, disk.body.result.capacity.blockSize, disk.body.result.capacity.bytes, disk.body.result.capacity.command], [I.open.size / 512, 512, I.open.size, 'READ CAPACITY(16)']);
});

test('iscsi read: a range in JSON (READ(10) and READ(16)), the whole LUN streamed byte-identical, a resume inside a block, the end', async () => {
  const image = blockPattern(I.open.size, I.open.seed);
  for (const cdb of ['10', '16']) {
    const r = await call('iscsi', 'read', { ...portal, target: I.open.iqn, lun: 1, lba: 100, blocks: 9, cdb });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.result.command, `READ(${cdb})`);
    assert.deepEqual(Buffer.from(r.body.result.base64, 'base64'), image.subarray(100 * 512, 109 * 512));
  }
  const whole = await streamDownload(workerUrl('dev'), 'iscsi', 'read', { ...portal, target: I.open.iqn, lun: 1 });
  assert.equal(whole.status, 200, JSON.stringify(whole.json));
  assert.equal(whole.error, null);
  assert.equal(whole.headers.get('content-length'), String(I.open.size));
  assert.equal(whole.sha256, sha256(image));
  const at = 3 * 1024 * 1024 + 100;
  const rest = await streamDownload(workerUrl('dev'), 'iscsi', 'read', { ...portal, target: I.open.iqn, lun: 1 }, { range: `bytes=${at}-` });
  assert.equal(rest.status, 206, JSON.stringify(rest.json));
  assert.equal(rest.sha256, sha256(image.subarray(at)));
  const vault = await streamDownload(workerUrl('dev'), 'iscsi', 'read', { ...portal, target: I.chap.iqn, lun: 1, ...chap });
  assert.equal(vault.sha256, sha256(blockPattern(I.chap.size, I.chap.seed)));
  const past = await call('iscsi', 'read', { ...portal, target: I.open.iqn, lun: 1, lba: I.open.size / 512 - 2, blocks: 4 });
  assert.equal(past.body.error.code, 'invalid_input');
  assert.match(past.body.error.message, /^blocks: /);
});
