// The broker live feed in the browser against the real Worker and the lab's mosquitto and RabbitMQ: MQTT messages
// stream into the feed with topic, size and preview, the topic tree counts them and keeps the last value, the
// payload views switch between text, pretty JSON and hex, filter and pause work, and an AMQP consumer uses the
// same view.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mqttFacts } from '../../lab/servers/messaging-mqtt.ts';
import { rabbitFacts } from '../../lab/servers/messaging-rabbitmq.ts';
import { ports } from '../../lab/ports.ts';
import { call, workerUrl } from '../../test/harness.ts';
import { launch, screenshot, type Browser } from './browser.ts';

const mqtt = { host: '127.0.0.1', port: ports['messaging-mqtt'].mosquitto, username: mqttFacts.user, password: mqttFacts.password };

const rowsOf = (page: Browser['page']) => page.getByRole('table', { name: 'Message feed' }).locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));

describe('broker live feeds', { timeout: 120_000 }, () => {
  let b: Browser;
  let base: string;

  before(async () => {
    base = workerUrl();
    b = await launch();
  });

  after(async () => {
    await b?.close();
  });

  test('an MQTT subscription: rows, topic tree with counts and last values, payload views, filter, pause, and the browser keeps the flow moving', async () => {
    const page = b.page;
    const root = `ui/${process.pid}`;
    // window=1024: without the browser's acknowledgements only a few messages (about 250 bytes of JSON each) could arrive.
    await page.goto(`${base}/#/run/mqtt/subscribe?host=127.0.0.1&port=${mqtt.port}&topics=${root}/%23&username=${mqtt.username}&window=1024&qos=1`);
    await page.locator('input[name=password]').fill(mqtt.password);
    await page.getByRole('button', { name: 'Start session' }).click();
    await page.locator('[data-testid=session][data-state=open]').waitFor();
    await page.getByRole('table', { name: 'Message feed' }).waitFor();

    const publish = async (topic: string, payload: unknown, extra: Record<string, unknown> = {}) => {
      const r = await call('mqtt', 'publish', { ...mqtt, topic: `${root}/${topic}`, payload, qos: 1, ...extra });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    await publish('kitchen/temp', '{"celsius":21.5,"ok":true}');
    await publish('kitchen/temp', '{"celsius":22}');
    await publish('hall/raw', { hex: '00ff10' });
    await publish('hall/light', 'n{n}', { count: 30, numbered: true });
    await page.waitForFunction(() => document.querySelector('[data-testid=feed-stats]')?.textContent?.startsWith('33 messages'));

    const rows = await rowsOf(page);
    assert.equal(rows.length, 33);
    // Newest first: topic, size, preview.
    assert.deepEqual(rows[0].slice(1), [`${root}/hall/light`, '3 B', 'n30']);
    const raw = rows.find((r) => r[1] === `${root}/hall/raw`)!;
    assert.deepEqual(raw.slice(2), ['3 B', '(binary) 00 ff 10']);

    // The topic tree: counts per level and the last value at each topic.
    const node = (topic: string) => page.locator(`[role=treeitem][data-topic="${topic}"] > span`);
    assert.equal(await node(`${root}/kitchen`).locator('[data-count]').innerText(), '2');
    assert.equal(await node(`${root}/hall`).locator('[data-count]').innerText(), '31');
    assert.equal(await node(`${root}/kitchen/temp`).locator('[data-last]').innerText(), '= {"celsius":22}');
    assert.equal(await node(`${root}/hall/light`).locator('[data-last]').innerText(), '= n30');
    await screenshot(page, '20-mqtt-feed');

    // Payload views: JSON pretty in the detail pane, hex in the table.
    await page.getByLabel('Payload view').selectOption('json');
    await page.getByRole('table', { name: 'Message feed' }).locator('tbody tr', { hasText: '{"celsius":22}' }).click();
    assert.equal(await page.getByLabel('Payload', { exact: true }).innerText(), '{\n  "celsius": 22\n}');
    await page.getByLabel('Payload view').selectOption('hex');
    assert.equal(await page.getByLabel('Payload', { exact: true }).innerText(), '7b 22 63 65 6c 73 69 75 73 22 3a 32 32 7d');
    assert.equal((await rowsOf(page)).find((r) => r[1] === `${root}/hall/raw`)![3], '00 ff 10');
    await page.getByLabel('Payload view').selectOption('text');

    // Filter, from a click on the tree.
    await node(`${root}/kitchen`).getByRole('button', { name: 'kitchen', exact: true }).click();
    assert.deepEqual((await rowsOf(page)).map((r) => r[1]), [`${root}/kitchen/temp`, `${root}/kitchen/temp`]);
    await page.getByLabel('Filter messages').fill('');

    // Pause freezes the table; resume says how many came meanwhile.
    await page.getByRole('button', { name: 'Pause' }).click();
    await publish('late', 'after pause');
    await page.waitForFunction(() => document.querySelector('[data-testid=feed-stats]')?.textContent?.startsWith('34 messages'));
    assert.equal((await rowsOf(page)).length, 33);
    await page.getByRole('button', { name: 'Resume (1 new)' }).click();
    assert.equal((await rowsOf(page))[0][1], `${root}/late`);

    await page.getByRole('button', { name: 'Stop' }).click();
    const result = page.locator('[data-testid=result][data-outcome=ok]');
    await result.waitFor();
    const summary = await result.innerText();
    assert.match(summary, /count\s*34/);
    assert.match(summary, /ended\s*client/);
    assert.deepEqual(b.pageErrors.filter((e) => !e.startsWith('Failed to load resource')), []);
    assert.deepEqual(b.offMachine, []);
  });

  test('an AMQP consumer shows its deliveries in the same feed, acknowledged by the browser', async () => {
    const page = b.page;
    const q = `ui.${process.pid}`;
    const amqp = { host: '127.0.0.1', port: ports['messaging-rabbitmq'].amqp, username: rabbitFacts.user, password: rabbitFacts.password };
    assert.equal((await call('amqp', 'declare', { ...amqp, name: q })).status, 200);
    assert.equal((await call('amqp', 'publish', { ...amqp, routingKey: q, payload: 'delivery {n}', numbered: true, count: 3 })).status, 200);
    await page.goto(`${base}/#/run/amqp/consume?host=127.0.0.1&port=${amqp.port}&queue=${q}&username=${amqp.username}&prefetch=1`);
    await page.locator('input[name=password]').fill(amqp.password);
    await page.getByRole('button', { name: 'Start session' }).click();
    // prefetch 1 and ack mode client: the third delivery only comes after the browser acknowledged the first two.
    await page.waitForFunction(() => document.querySelector('[data-testid=feed-stats]')?.textContent?.startsWith('3 messages'));
    assert.deepEqual((await rowsOf(page)).map((r) => [r[1], r[3]]), [
      [`(default)/${q}`, 'delivery 3'],
      [`(default)/${q}`, 'delivery 2'],
      [`(default)/${q}`, 'delivery 1'],
    ]);
    await screenshot(page, '21-amqp-feed');
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.locator('[data-testid=result][data-outcome=ok]').waitFor();
    const left = await call('amqp', 'declare', { ...amqp, name: q, passive: true });
    assert.equal(left.body.result.messageCount, 0, 'every delivery was acknowledged');
    await call('amqp', 'delete', { ...amqp, name: q });
  });
});
