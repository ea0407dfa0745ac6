import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { foundationFacts } from '../../../lab/servers/foundation.ts';

const target = { host: '127.0.0.1', port: ports.foundation.finger };
const facts = foundationFacts.finger;

test("finger: the lab user's real name and plan", async () => {
  const r = await call('finger', 'query', { ...target, user: facts.user });
  assert.equal(r.status, 200);
  assert.equal(r.body.result.query, facts.user);
  assert.match(r.body.result.text, new RegExp(facts.realName));
  assert.match(r.body.result.text, new RegExp(facts.plan.replace('.', '\\.')));
});

test('finger: /W asks for the long form', async () => {
  const r = await call('finger', 'query', { ...target, user: facts.user, verbose: true });
  assert.equal(r.body.result.query, `/W ${facts.user}`);
  assert.match(r.body.result.text, new RegExp(facts.plan.replace('.', '\\.')));
});

test('finger: an unknown user gets the server\'s own answer', async () => {
  const r = await call('finger', 'query', { ...target, user: 'nosuchuserxyz' });
  assert.equal(r.status, 200);
  assert.match(r.body.result.text, /no such user/i);
});
