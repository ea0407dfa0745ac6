// The IMAP message view in headless Chromium, against the lab's Dovecot through the Worker: a multipart/mixed message
// (quoted-printable ISO-8859-1 text, base64 HTML full of hostile markup, a cid: image, a binary attachment) is
// APPENDed through the API and opened in the UI: the headers and the text read decoded, the HTML renders in a
// sandboxed iframe with nothing that runs, submits, embeds or loads left in its DOM, the "remote" image host hears
// nothing until "Show remote images" is switched on, and the attachment downloads with its exact bytes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureLab, ports } from '../../lab/index.ts';
import { mailFacts } from '../../lab/servers/mail.ts';
import { call, workerUrl } from '../../test/harness.ts';
import { launch, screenshot, screenshotDir, type Browser } from './browser.ts';

const { dave } = mailFacts.users;
const target = { host: '127.0.0.1', port: ports.mail.imap, username: dave.address, password: dave.password };

/** A 1x1 PNG, the message's own cid: image. */
const PIXEL = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

/** Listens on a free port below the ephemeral range, counting the requests it gets. */
async function remoteHost(): Promise<{ server: Server; port: number; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.from(PIXEL, 'base64'));
  });
  for (let i = 0; ; i++) {
    const port = 20000 + Math.floor(Math.random() * 10000);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => (server.off('error', reject), resolve()));
      });
      return { server, port, hits };
    } catch (e) {
      if (i > 20) throw e;
    }
  }
}

function message(remote: string, attachment: Buffer, tag: string): string {
  const html = [
    '<html><head><style>p.lead { color: #135; }</style><script>document.title = "ran"</script></head><body>',
    `<p class="lead" id="greeting">Hello from the HTML part ${tag}</p>`,
    '<img id="bad" src="x:broken" onerror="parent.postMessage(\'pwned\', \'*\')">',
    '<script>document.body.innerHTML = "scripted"</script>',
    '<form action="http://127.0.0.1:1/steal" method="post"><input name="password" value="hunter2"><button>Send</button></form>',
    '<iframe src="about:blank" srcdoc="<p>inner</p>"></iframe>',
    '<object data="x.swf"></object><embed src="x.swf">',
    `<p><img id="remote" alt="tracker" src="${remote}/pixel.png?${tag}"></p>`,
    '<p><img id="own" alt="logo" src="cid:logo@lab"></p>',
    '<a id="link" href="javascript:alert(1)" onclick="alert(2)">click</a> <a id="web" href="https://example.org/">site</a>',
    '</body></html>',
  ].join('\r\n');
  const b64 = (b: Buffer) => b.toString('base64').replace(/(.{76})/g, '$1\r\n');
  return [
    'From: =?utf-8?q?Zo=C3=AB_Lab?= <alice@lab.portolan.test>',
    'To: Dave <dave@lab.portolan.test>',
    'Cc: carol@lab.portolan.test',
    `Subject: =?utf-8?b?${Buffer.from(`Grüße, the view test ${tag}`).toString('base64')}?=`,
    'Date: Sat, 05 Dec 2026 09:00:00 +0000',
    `Message-ID: <view-${tag}@lab.portolan.test>`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="mixed-b"',
    '',
    '--mixed-b',
    'Content-Type: multipart/alternative; boundary="alt-b"',
    '',
    '--alt-b',
    'Content-Type: text/plain; charset=iso-8859-1',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    `Gr=FC=DFe from the plain part ${tag},=20`,
    'a soft=',
    'break and =3D sign.',
    '--alt-b',
    'Content-Type: multipart/related; boundary="rel-b"',
    '',
    '--rel-b',
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    b64(Buffer.from(html)),
    '--rel-b',
    'Content-Type: image/png; name="logo.png"',
    'Content-Transfer-Encoding: base64',
    'Content-ID: <logo@lab>',
    'Content-Disposition: inline',
    '',
    b64(Buffer.from(PIXEL, 'base64')),
    '--rel-b--',
    '--alt-b--',
    '--mixed-b',
    'Content-Type: application/octet-stream; name="secret.bin"',
    'Content-Transfer-Encoding: base64',
    'Content-Disposition: attachment; filename="secret.bin"',
    '',
    b64(attachment),
    '--mixed-b--',
    '',
  ].join('\r\n');
}

describe('IMAP message view in the browser', { timeout: 240_000 }, () => {
  let b: Browser;
  let remote: Awaited<ReturnType<typeof remoteHost>>;
  let uid: number;
  const tag = `${Date.now().toString(36)}${process.pid}`;
  const attachment = randomBytes(70_000);

  before(async () => {
    await ensureLab(['mail', 'browser']);
    remote = await remoteHost();
    const r = await call('imap', 'append', { ...target, raw: message(`http://127.0.0.1:${remote.port}`, attachment, tag) });
    assert.equal(r.status, 200, JSON.stringify(r.body.error));
    uid = r.body.result.uid;
    assert.ok(uid > 0);
    b = await launch();
  });

  after(async () => {
    await b?.close();
    remote?.server.close();
    if (uid) {
      await call('imap', 'store', { ...target, uids: String(uid), mode: 'add', flags: ['\\Deleted'] });
      await call('imap', 'expunge', { ...target, uids: String(uid) });
    }
  });

  test('the API reads the message: headers decoded, text parts decoded, cid: image, parts listed', async () => {
    const r = await call('imap', 'message', { ...target, uid });
    assert.equal(r.status, 200, JSON.stringify(r.body.error));
    const m = r.body.result;
    assert.equal(m.envelope.subject, `Grüße, the view test ${tag}`);
    assert.equal(m.envelope.from[0].name, 'Zoë Lab');
    assert.deepEqual(m.texts.map((t: any) => [t.section, t.subtype, t.charset]), [['1.1', 'plain', 'iso-8859-1'], ['1.2.1', 'html', 'utf-8']]);
    assert.equal(m.texts[0].text, `Grüße from the plain part ${tag}, \r\na softbreak and = sign.`);
    assert.match(m.texts[1].text, /<script>/, 'the API hands the HTML as the message has it');
    assert.deepEqual(m.inline.map((p: any) => [p.section, p.contentId, p.base64]), [['1.2.2', 'logo@lab', PIXEL]]);
    assert.deepEqual(m.attachments.map((a: any) => [a.section, a.type, a.filename]), [['1.2.2', 'image/png', 'logo.png'], ['2', 'application/octet-stream', 'secret.bin']]);
    assert.ok(!m.flags.includes('\\Seen'), 'reading leaves \\Seen alone');
  });

  test('opened in the UI: text, sanitized HTML in a sandbox, no remote load until asked, the attachment downloads exactly', async () => {
    const page = b.page;
    await page.goto(`${workerUrl()}/#/run/imap/message?${new URLSearchParams({ host: target.host, port: String(target.port), username: target.username, uid: String(uid) })}`);
    await page.locator('[data-field="password"] input').fill(target.password);
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const view = page.getByTestId('imap-message');
    await view.waitFor({ timeout: 60_000 });
    assert.equal(await view.locator('[data-header="Subject"]').innerText(), `Grüße, the view test ${tag}`);
    assert.equal(await view.locator('[data-header="From"]').innerText(), 'Zoë Lab <alice@lab.portolan.test>');
    assert.equal(await view.locator('[data-header="Cc"]').innerText(), 'carol@lab.portolan.test');

    // The MIME tree, collapsible: every part with its section.
    const tree = view.getByRole('tree');
    assert.deepEqual(await tree.locator('[data-section]').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-section')} ${e.getAttribute('data-type')}`)), [
      ' multipart/mixed',
      '1 multipart/alternative',
      '1.1 text/plain',
      '1.2 multipart/related',
      '1.2.1 text/html',
      '1.2.2 image/png',
      '2 application/octet-stream',
    ]);
    await tree.locator('[data-section="1"] > button').click();
    assert.equal(await tree.locator('[data-section="1.1"]').count(), 0, 'collapsed');
    await tree.locator('[data-section="1"] > button').click();
    assert.equal(await tree.locator('[data-section="1.1"]').count(), 1);

    // The HTML part: in an iframe sandboxed with nothing allowed, under a CSP that loads nothing remote.
    const iframe = view.locator('iframe[title="HTML part 1.2.1"]');
    assert.equal(await iframe.getAttribute('sandbox'), '');
    assert.match((await iframe.getAttribute('srcdoc')) ?? '', /default-src 'none'; img-src data:;/);
    const frame = (await (await iframe.elementHandle())!.contentFrame())!;
    await frame.locator('#greeting').waitFor();
    assert.equal(await frame.locator('#greeting').innerText(), `Hello from the HTML part ${tag}`);
    for (const sel of ['script', 'form', 'input', 'button', 'iframe', 'object', 'embed', 'meta[http-equiv="refresh"]']) assert.equal(await frame.locator(sel).count(), 0, `${sel} removed`);
    const handlers = await frame.locator('*').evaluateAll((els) => els.flatMap((e) => [...e.attributes].filter((a) => /^on/i.test(a.name) || /javascript:/i.test(a.value)).map((a) => `${e.localName}.${a.name}`)));
    assert.deepEqual(handlers, [], 'no event handler or javascript: URL left');
    assert.equal(await frame.locator('#remote').getAttribute('src'), null, 'the remote image has no source');
    assert.match((await frame.locator('#own').getAttribute('src')) ?? '', /^data:image\/png;base64,iVBOR/, 'the cid: image is the message\'s own part');
    assert.ok(await frame.locator('#own').evaluate((img) => (img as HTMLImageElement).naturalWidth === 1), 'the cid: image rendered');
    assert.equal(await frame.locator('#web').getAttribute('href'), 'https://example.org/');
    assert.equal(await frame.locator('#link').getAttribute('href'), null);
    assert.notEqual(await page.title(), 'ran');
    assert.match(await view.getByTestId('sanitized').innerText(), /removed/);
    // The sandboxed frame paints in its own process a moment after its DOM is ready: only the pictures wait for it.
    await page.waitForTimeout(2000);
    await screenshot(page, 'imap-message-01-html');
    await iframe.screenshot({ path: join(screenshotDir, 'imap-message-01-iframe.png') });
    assert.deepEqual(remote.hits, [], 'the remote host heard nothing');

    // The plain part, decoded from quoted-printable ISO-8859-1.
    await view.getByRole('tab', { name: 'Plain text' }).click();
    assert.equal(await view.getByTestId('plain-text').textContent(), `Grüße from the plain part ${tag}, \r\na softbreak and = sign.`);
    await view.getByRole('tab', { name: 'HTML' }).click();

    // Remote images on: now the remote host is asked for the picture.
    await view.getByLabel('Show remote images').check();
    const frame2 = (await (await view.locator('iframe[title="HTML part 1.2.1"]').elementHandle())!.contentFrame())!;
    await frame2.locator('#remote[src]').waitFor();
    for (let i = 0; i < 100 && remote.hits.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(remote.hits, [`/pixel.png?${tag}`]);
    assert.equal(await frame2.locator('script').count(), 0, 'still sanitized');
    await page.waitForTimeout(2000);
    await view.locator('iframe[title="HTML part 1.2.1"]').screenshot({ path: join(screenshotDir, 'imap-message-02-iframe-remote.png') });

    // The attachment: a real download through the streamed FETCH (BINARY) transfer, byte for byte.
    const [download] = await Promise.all([page.waitForEvent('download'), view.getByRole('button', { name: 'Download secret.bin' }).click()]);
    assert.equal(download.suggestedFilename(), 'secret.bin');
    assert.ok(readFileSync(await download.path()).equals(attachment), 'the attachment\'s exact bytes');
    await screenshot(page, 'imap-message-02-remote');
  });

  test('reachable from a fetch result: Open shows the message', async () => {
    const page = b.page;
    await page.goto('about:blank');
    await page.goto(`${workerUrl()}/#/run/imap/fetch?${new URLSearchParams({ host: target.host, port: String(target.port), username: target.username, uids: String(uid) })}`);
    await page.locator('[data-field="password"] input').fill(target.password);
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.getByRole('button', { name: `Open message ${uid}` }).click();
    const view = page.getByTestId('imap-message');
    await view.waitFor({ timeout: 60_000 });
    assert.equal(await view.locator('[data-header="Subject"]').innerText(), `Grüße, the view test ${tag}`);
    assert.equal(await view.locator('iframe[title="HTML part 1.2.1"]').count(), 1);
  });
});
