// A gRPC bidirectional call driven from the browser's session view against the lab's @grpc/grpc-js server:
// each request typed into the message line goes out as it is sent, each answer shows as it arrives, and the
// half-close ends the call with its status.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { grpcFacts } from '../../lab/grpc/facts.ts';
import { ports } from '../../lab/ports.ts';
import { workerUrl } from '../../test/harness.ts';
import { launch, screenshot, type Browser } from './browser.ts';

describe('gRPC streaming session in the browser', { timeout: 120_000 }, () => {
  let b: Browser;

  before(async () => {
    b = await launch();
  });

  after(async () => {
    await b?.close();
  });

  test('a Convoy call: requests sent from the message line, answers shown as they arrive, half-close and status', async () => {
    const page = b.page;
    await page.goto(`${workerUrl()}/#/run/grpc/stream?host=127.0.0.1&port=${ports.http.grpc}&method=${encodeURIComponent(`${grpcFacts.service}/Convoy`)}`);
    await page.getByRole('button', { name: 'Start session' }).click();
    await page.locator('[data-testid=session][data-state=open]').waitFor();
    const logText = () => page.getByRole('log', { name: 'Session messages' }).innerText();
    await page.waitForFunction(() => document.querySelector('[aria-label="Session messages"]')?.textContent?.includes('open'));
    // The hint names the session's own messages.
    assert.match(await page.locator('[data-testid=session]').innerText(), /\{"type":"end"\} \(half-close\)/);

    await page.getByLabel('Message to send').fill('{"type":"send","message":{"text":"ahoy"}}');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /"seq":1/.test(document.querySelector('[aria-label="Session messages"]')?.textContent ?? ''));
    assert.match(await logText(), /← message[^\n]*"text":"ahoy","seq":1/);
    // The answer to the first request is on screen before the second is sent.
    await page.getByLabel('Message to send').fill('{"type":"send","message":{"text":"second","repeat":2}}');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /"seq":3/.test(document.querySelector('[aria-label="Session messages"]')?.textContent ?? ''));
    await page.getByLabel('Message to send').fill('{"type":"end"}');
    await page.keyboard.press('Enter');
    await page.locator('[data-testid=session][data-state=ended]').waitFor();
    assert.match(await logText(), /← status[^\n]*"name":"OK"/);
    const result = page.locator('[data-testid=result][data-outcome=ok]');
    await result.waitFor();
    const summary = await result.innerText();
    assert.match(summary, /sent\s*2/);
    assert.match(summary, /received\s*3/);
    await screenshot(page, 'grpc-stream-session');
    assert.deepEqual(b.pageErrors.filter((e) => !e.startsWith('Failed to load resource')), []);
    assert.deepEqual(b.offMachine, []);
  });
});
