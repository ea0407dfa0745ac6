// The file browser and file forms in headless Chromium, against vsftpd through the Worker: connect, drop two files
// on the listing (drag and drop), watch their transfers finish, download one as a real file whose SHA-256 matches,
// rename, chmod and delete; and the upload form's "Load file" keeps the file it loaded when it fills the fields around.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureLab, ports } from '../../lab/index.ts';
import { ftpFacts } from '../../lab/servers/ftp.ts';
import { ensureTransferDir, scratchName } from '../../test/files.ts';
import { workerUrl } from '../../test/harness.ts';
import { dropFiles, launch, screenshot, type Browser } from './browser.ts';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('files in the browser', { timeout: 300_000 }, () => {
  let b: Browser;
  let dir: string;

  before(async () => {
    await ensureLab(['ftp', 'browser']);
    dir = join(ensureTransferDir(), scratchName('ui'));
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    b = await launch();
  });

  after(async () => {
    await b?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('FTP file browser: drop two files, they upload with progress; download one as a file with the same SHA-256; rename, chmod, delete', async () => {
    const page = b.page;
    const one = randomBytes(3 * 1024 * 1024 + 5);
    const two = randomBytes(200_000);
    await page.goto(`${workerUrl()}/#/files/ftp?host=127.0.0.1&port=${ports.ftp.ftp}&user=${ftpFacts.user}&path=${encodeURIComponent(dir)}`);
    await page.locator('[data-field="password"] input').fill(ftpFacts.password);
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    const table = page.getByRole('table', { name: `Files in ${dir}` });
    await table.waitFor();
    assert.equal(await page.getByText('This folder is empty.').count(), 1);

    // Drag and drop: a DataTransfer holding two files, dropped on the listing.
    await dropFiles(page, '[data-testid=dropzone]', [
      { name: 'one.bin', data: one },
      { name: 'two.bin', data: two },
    ]);
    await page.locator('[data-transfer="one.bin"][data-state="done"]').waitFor({ timeout: 60_000 });
    await page.locator('[data-transfer="two.bin"][data-state="done"]').waitFor({ timeout: 60_000 });
    assert.match(await page.locator('[data-transfer="one.bin"]').innerText(), /3\.0 MiB of 3\.0 MiB/);
    assert.equal(sha256(readFileSync(join(dir, 'one.bin'))), sha256(one));
    assert.equal(sha256(readFileSync(join(dir, 'two.bin'))), sha256(two));
    await table.locator('tr[data-name="two.bin"]').waitFor();
    // The listing is read again after each upload ends; the one after the last upload shows one.bin whole (an
    // earlier one may have caught it half written).
    await table.locator('tr[data-name="one.bin"]', { hasText: '3.0 MiB' }).waitFor({ timeout: 10_000 });
    assert.match(await table.locator('tr[data-name="one.bin"]').innerText(), /3\.0 MiB/);
    await screenshot(page, 'files-01-uploaded');

    // Download as a real file: the browser's own download, saved to disk.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download one.bin' }).click()]);
    assert.equal(download.suggestedFilename(), 'one.bin');
    const saved = await download.path();
    assert.equal(sha256(readFileSync(saved)), sha256(one));
    await page.locator('[data-transfer="one.bin"][data-state="done"]').nth(1).waitFor();

    // Sort by size: the larger file first when descending.
    await page.getByRole('button', { name: /^Size/ }).click();
    await page.getByRole('button', { name: /^Size/ }).click();
    assert.deepEqual(await table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-name'))), ['one.bin', 'two.bin']);

    page.once('dialog', (d) => void d.accept('renamed.bin'));
    await page.getByRole('button', { name: 'Rename two.bin' }).click();
    await table.locator('tr[data-name="renamed.bin"]').waitFor();
    assert.ok(existsSync(join(dir, 'renamed.bin')));
    page.once('dialog', (d) => void d.accept('600'));
    await page.getByRole('button', { name: 'Change the mode of renamed.bin' }).click();
    await page.waitForFunction(() => document.querySelector('tr[data-name="renamed.bin"]')?.textContent?.includes('rw-------'));
    assert.equal(statSync(join(dir, 'renamed.bin')).mode & 0o777, 0o600);
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete renamed.bin' }).click();
    await table.locator('tr[data-name="renamed.bin"]').waitFor({ state: 'detached' });
    assert.ok(!existsSync(join(dir, 'renamed.bin')));
    await screenshot(page, 'files-02-after-actions');
    assert.deepEqual(b.pageErrors.filter((e) => !e.startsWith('Failed to load resource')), []);
  });

  test('the upload form: "Load file" fills the content and its encoding and path together, and the upload is byte-identical', async () => {
    const page = b.page;
    const content = randomBytes(50_000);
    await page.goto('about:blank');
    await page.goto(`${workerUrl()}/#/run/ftp/upload?host=127.0.0.1&port=${ports.ftp.ftp}&user=${ftpFacts.user}`);
    await page.locator('[data-field="password"] input').fill(ftpFacts.password);
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByRole('button', { name: 'Load file (as base64)…' }).click()]);
    await chooser.setFiles({ name: 'loaded.bin', mimeType: 'application/octet-stream', buffer: content });
    await page.waitForFunction(() => (document.querySelector('[data-field="content"] textarea') as HTMLTextAreaElement | null)?.value.length === 66668);
    assert.equal(await page.locator('[data-field="path"] input').inputValue(), 'loaded.bin');
    await page.locator('[data-field="path"] input').fill(join(dir, 'loaded.bin'));
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.locator('.result-head .badge.ok').waitFor();
    assert.equal(sha256(readFileSync(join(dir, 'loaded.bin'))), sha256(content));
  });
});
