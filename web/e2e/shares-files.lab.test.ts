// The file browser on SMB, NFS and rsync in headless Chromium, through the Worker: against Samba, connect to a
// share, drop a file on the listing, download it as a real file whose SHA-256 matches, make a folder, rename and
// delete; against NFS-Ganesha, browse an export, read a file and upload one; against an rsync daemon, browse a
// module's folders and download a file (no upload, rename or delete there).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureLab, ports } from '../../lab/index.ts';
import { rsyncFacts as R } from '../../lab/servers/news.ts';
import { nfsFacts as N } from '../../lab/servers/nfs.ts';
import { sharesFacts } from '../../lab/servers/shares.ts';
import { scratchName } from '../../test/files.ts';
import { workerUrl } from '../../test/harness.ts';
import { dropFiles, launch, screenshot, type Browser } from './browser.ts';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const S = sharesFacts.smb;

describe('share browsers in the browser', { timeout: 300_000 }, () => {
  let b: Browser;
  let folder: string;

  before(async () => {
    await ensureLab(['shares', 'news', 'nfs', 'browser']);
    folder = scratchName('ui-smb');
    mkdirSync(join(S.files.path, folder), { recursive: true });
    chmodSync(join(S.files.path, folder), 0o777);
    b = await launch();
  });

  after(async () => {
    await b?.close();
    rmSync(join(S.files.path, folder), { recursive: true, force: true });
    rmSync(join(N.harbour.path, N.harbour.incoming, `${folder}.bin`), { force: true });
  });

  test('SMB file browser: a share\'s folder, a dropped file uploaded, downloaded with the same SHA-256, a new folder, rename, delete', async () => {
    const page = b.page;
    const data = randomBytes(2 * 1024 * 1024 + 3);
    await page.goto(`${workerUrl()}/#/files/smb?host=127.0.0.1&port=${ports.shares.smb}&username=${S.user.name}&share=${S.files.name}&path=${encodeURIComponent(folder)}`);
    await page.locator('[data-field="password"] input').fill(S.user.password);
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    const table = page.getByRole('table', { name: `Files in /${folder}`, exact: true });
    await table.waitFor();
    assert.equal(await page.getByText('This folder is empty.').count(), 1);
    // No chmod on SMB: the button is not offered.
    assert.equal(await page.getByRole('button', { name: /^Change the mode/ }).count(), 0);

    await dropFiles(page, '[data-testid=dropzone]', [{ name: 'cargo.bin', data }]);
    await page.locator('[data-transfer="cargo.bin"][data-state="done"]').waitFor({ timeout: 60_000 });
    assert.equal(sha256(readFileSync(join(S.files.path, folder, 'cargo.bin'))), sha256(data));
    await table.locator('tr[data-name="cargo.bin"]').waitFor();
    assert.match(await table.locator('tr[data-name="cargo.bin"]').innerText(), /2\.0 MiB/);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download cargo.bin' }).click()]);
    assert.equal(download.suggestedFilename(), 'cargo.bin');
    assert.equal(sha256(readFileSync(await download.path())), sha256(data));

    page.once('dialog', (d) => void d.accept('manifests'));
    await page.getByRole('button', { name: 'New folder' }).click();
    await table.locator('tr[data-name="manifests"]').waitFor();
    assert.ok(statSync(join(S.files.path, folder, 'manifests')).isDirectory());

    page.once('dialog', (d) => void d.accept('cargo-2.bin'));
    await page.getByRole('button', { name: 'Rename cargo.bin' }).click();
    await table.locator('tr[data-name="cargo-2.bin"]').waitFor();
    assert.ok(existsSync(join(S.files.path, folder, 'cargo-2.bin')));

    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete cargo-2.bin' }).click();
    await table.locator('tr[data-name="cargo-2.bin"]').waitFor({ state: 'detached' });
    assert.ok(!existsSync(join(S.files.path, folder, 'cargo-2.bin')));

    // Into the folder and back up by the breadcrumbs.
    await page.getByRole('link', { name: 'manifests' }).click();
    await page.getByRole('table', { name: `Files in /${folder}/manifests`, exact: true }).waitFor();
    await page.getByRole('navigation', { name: 'Breadcrumbs' }).getByRole('link', { name: folder }).click();
    await table.locator('tr[data-name="manifests"]').waitFor();
    await screenshot(page, 'shares-01-smb');
    assert.deepEqual(b.pageErrors.filter((e) => !e.startsWith('Failed to load resource')), []);
  });

  test('rsync file browser: a module\'s folders, into one and up, a file downloaded with the daemon\'s bytes; nothing offered that rsync cannot do', async () => {
    const page = b.page;
    await page.goto('about:blank');
    await page.goto(`${workerUrl()}/#/files/rsync?host=127.0.0.1&port=${ports.news.rsync}&module=${R.public.name}`);
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    const root = page.getByRole('table', { name: 'Files in /', exact: true });
    await root.locator('tr[data-name="logs"]').waitFor();
    assert.deepEqual((await root.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-name')))).sort(), ['charts', 'latest.log', 'logs', 'readme.txt']);
    for (const name of ['Upload files…', 'New folder']) assert.equal(await page.getByRole('button', { name }).count(), 0, name);
    assert.equal(await page.getByRole('button', { name: /^(Rename|Delete|Change the mode)/ }).count(), 0);

    await root.getByRole('link', { name: 'logs/' }).click();
    const logs = page.getByRole('table', { name: 'Files in /logs', exact: true });
    await logs.locator('tr[data-name="2024-02.log"]').waitFor();
    const file = R.files.find((f) => f.path === 'logs/2024-02.log')!;
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download 2024-02.log' }).click()]);
    assert.equal(download.suggestedFilename(), '2024-02.log');
    assert.equal(readFileSync(await download.path(), 'utf8'), file.text);
    await page.getByRole('button', { name: '↑ Up' }).click();
    await root.locator('tr[data-name="readme.txt"]').waitFor();
    assert.deepEqual(b.pageErrors.filter((e) => !e.startsWith('Failed to load resource')), []);
  });

  test('NFS file browser: an export\'s folders and a symlink, a file read, a dropped file written into a folder and read back', async () => {
    const page = b.page;
    const H = N.harbour;
    await page.goto('about:blank');
    await page.goto(`${workerUrl()}/#/files/nfs?host=127.0.0.1&port=${ports.nfs.nfs}&mountPort=${ports.nfs.mount}&export=${encodeURIComponent(H.export)}`);
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    const root = page.getByRole('table', { name: 'Files in /', exact: true });
    await root.locator(`tr[data-name="${H.readme.name}"]`).waitFor();
    assert.match(await root.locator(`tr[data-name="${H.link.name}"]`).innerText(), /→/);
    assert.equal(await page.getByRole('button', { name: /^(Rename|Delete|Change the mode)/ }).count(), 0);

    await root.getByRole('link', { name: `${H.notes.dir}/` }).click();
    const notes = page.getByRole('table', { name: `Files in /${H.notes.dir}`, exact: true });
    await notes.locator(`tr[data-name="${H.notes.name}"]`).waitFor();
    const [got] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: `Download ${H.notes.name}` }).click()]);
    assert.equal(readFileSync(await got.path(), 'utf8'), H.notes.text);

    await page.getByRole('navigation', { name: 'Breadcrumbs' }).getByRole('link', { name: '/' }).click();
    await root.getByRole('link', { name: `${H.incoming}/` }).click();
    const incoming = page.getByRole('table', { name: `Files in /${H.incoming}`, exact: true });
    await incoming.waitFor();
    const data = randomBytes(1024 * 1024 + 11);
    await dropFiles(page, '[data-testid=dropzone]', [{ name: `${folder}.bin`, data }]);
    await page.locator(`[data-transfer="${folder}.bin"][data-state="done"]`).waitFor({ timeout: 60_000 });
    assert.equal(sha256(readFileSync(join(H.path, H.incoming, `${folder}.bin`))), sha256(data));
    await incoming.locator(`tr[data-name="${folder}.bin"]`).waitFor();
    const [back] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: `Download ${folder}.bin` }).click()]);
    assert.equal(sha256(readFileSync(await back.path())), sha256(data));
    assert.deepEqual(b.pageErrors.filter((e) => !e.startsWith('Failed to load resource')), []);
  });
});
