import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { foundationFacts } from '../../../lab/servers/foundation.ts';

const target = { host: '127.0.0.1', port: ports.foundation.dict };
const facts = foundationFacts.dict;

test('dict: DEFINE returns the lab definition with its database', async () => {
  const r = await call('dict', 'define', { ...target, word: 'portolan' });
  assert.equal(r.status, 200);
  const d = r.body.result.definitions.find((x: { database: string }) => x.database === 'portolan');
  assert.ok(d, JSON.stringify(r.body.result));
  assert.match(d.text, new RegExp(facts.definitions.portolan));
  assert.equal(d.description, facts.databases.portolan);
});

test('dict: DEFINE in one database, and no match is an empty answer', async () => {
  const r = await call('dict', 'define', { ...target, word: 'finger', database: 'ports' });
  assert.equal(r.body.result.definitions.length, 1);
  assert.match(r.body.result.definitions[0].text, /79\/tcp, RFC 1288/);
  const none = await call('dict', 'define', { ...target, word: 'zzzznotaword' });
  assert.equal(none.status, 200);
  assert.deepEqual(none.body.result.definitions, []);
});

test('dict: MATCH with prefix strategy, SHOW DB, SHOW STRAT, SHOW INFO', async () => {
  const m = await call('dict', 'match', { ...target, word: 'li', strategy: 'prefix' });
  assert.deepEqual(m.body.result.matches, [{ database: 'portolan', word: 'lighthouse' }]);
  const dbs = await call('dict', 'databases', target);
  assert.deepEqual(
    dbs.body.result.databases.map((d: { name: string }) => d.name).sort(),
    Object.keys(facts.databases).sort(),
  );
  const strats = await call('dict', 'strategies', target);
  const names = strats.body.result.strategies.map((s: { name: string }) => s.name);
  for (const s of ['exact', 'prefix']) assert.ok(names.includes(s), `no ${s} strategy`);
  const info = await call('dict', 'info', { ...target, database: 'portolan' });
  assert.equal(info.status, 200);
  assert.ok(info.body.result.text.length > 0);
});

test('dict: a quoted multi-word lookup is sent quoted', async () => {
  const r = await call('dict', 'define', { ...target, word: 'no such "thing"' }, { transcript: true });
  assert.equal(r.status, 200);
  const sent = r.body.transcript.entries.find((e: { dir: string; decode?: string }) => e.dir === 'out' && e.decode?.startsWith('DEFINE'));
  assert.equal(sent.decode, 'DEFINE * "no such \\"thing\\""');
});

test('dict: AUTH with the shared secret succeeds; a wrong secret is auth_failed with the server reply', async () => {
  const ok = await call('dict', 'define', { ...target, word: 'harbour', auth: { user: facts.authUser, secret: facts.authSecret } }, { transcript: true });
  assert.equal(ok.status, 200);
  assert.match(ok.body.result.definitions[0].text, /sheltered stretch of water/);
  const json = JSON.stringify(ok.body.transcript);
  assert.ok(!json.includes(facts.authSecret), 'secret leaked into the transcript');
  const bad = await call('dict', 'define', { ...target, word: 'harbour', auth: { user: facts.authUser, secret: 'wrong' } });
  assert.equal(bad.status, 502);
  assert.equal(bad.body.error.code, 'auth_failed');
  assert.match(bad.body.error.message, /531/);
});

test('dict: an unknown database is the server\'s error, with its code', async () => {
  const r = await call('dict', 'define', { ...target, word: 'harbour', database: 'nosuchdb' });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'server_error');
  assert.match(r.body.error.message, /550/);
});
