// NNTP and NNTPS against INN 2.7 from the lab (nnrpd for readers, innd behind it), through workerd's HTTP API.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ensureLab, ports } from '../../../lab/index.ts';
import { newsFacts as F } from '../../../lab/servers/news.ts';
import { call } from '../../../test/harness.ts';

const host = '127.0.0.1';
const p = ports.news;
const login = { username: F.user.name, password: F.user.password };

before(() => ensureLab(['news']));

async function ok(op: string, input: Record<string, unknown>) {
  const { status, body } = await call('nntp', op, { host, port: p.nntp, ...input });
  assert.equal(status, 200, `nntp ${op}: ${JSON.stringify(body.error)}`);
  return body.result;
}

async function fails(op: string, input: Record<string, unknown>) {
  const { status, body } = await call('nntp', op, { host, port: p.nntp, ...input });
  assert.notEqual(status, 200, `nntp ${op} should fail`);
  return body.error;
}

test('capabilities: plain, STARTTLS with AUTHINFO, NNTPS', async () => {
  const plain = await ok('capabilities', {});
  assert.match(plain.greeting, /InterNetNews NNRP server INN 2\.7\.1 ready \(no posting\)/);
  assert.equal(plain.postingAllowed, true, 'INN greets with 200 (posting may follow AUTHINFO) and says "no posting" in words');
  assert.ok(!('POST' in plain.capabilities), 'a guest may not post');
  assert.equal(plain.implementation, F.implementation);
  assert.ok('STARTTLS' in plain.capabilities && 'OVER' in plain.capabilities && 'READER' in plain.capabilities);
  assert.equal(plain.tls, false);

  const st = await ok('capabilities', { tls: 'starttls', ...login });
  assert.equal(st.tls, true);
  assert.ok(!('STARTTLS' in st.capabilitiesAfterStarttls), 'no STARTTLS inside TLS');
  assert.deepEqual(st.capabilitiesAfterStarttls.AUTHINFO, ['USER', 'SASL']);
  assert.equal(st.authMethod, 'USER');
  assert.ok('POST' in st.capabilitiesAfterLogin, 'posting after login');
  assert.ok(!('AUTHINFO' in st.capabilitiesAfterLogin), 'no AUTHINFO once authenticated');

  const nntps = await ok('capabilities', { port: p.nntps, tls: 'implicit', ...login });
  assert.equal(nntps.tls, true);
  assert.equal(nntps.authMethod, 'USER');
  assert.ok('POST' in nntps.capabilitiesAfterLogin);
});

test('AUTHINFO SASL PLAIN, LOGIN, CRAM-MD5 and SCRAM-SHA-256 (Cyrus SASL in nnrpd) give the same rights as AUTHINFO USER', async () => {
  const offered = await ok('capabilities', {});
  assert.deepEqual([...offered.capabilities.SASL].sort(), ['CRAM-MD5', 'LOGIN', 'PLAIN', 'SCRAM-SHA-256']);
  for (const [authMethod, extra] of [
    ['SASL PLAIN', { tls: 'starttls' }],
    ['SASL LOGIN', { port: p.nntps, tls: 'implicit' }],
    ['SASL CRAM-MD5', {}],
    ['SASL SCRAM-SHA-256', {}],
  ] as const) {
    const r = await ok('capabilities', { ...login, authMethod, ...extra });
    assert.equal(r.authMethod, authMethod);
    assert.ok('POST' in r.capabilitiesAfterLogin, authMethod);
    const crew = await ok('group', { ...login, authMethod, ...extra, group: F.crew.name });
    assert.equal(crew.group.name, F.crew.name, authMethod);
  }
  const auto = await ok('capabilities', login);
  assert.equal(auto.authMethod, 'SASL SCRAM-SHA-256', 'a plain connection prefers SCRAM, which never sends the password');
});

test('wrong password: auth_failed with the server words (481)', async () => {
  for (const authMethod of ['USER', 'SASL PLAIN', 'SASL LOGIN', 'SASL CRAM-MD5', 'SASL SCRAM-SHA-256']) {
    const e = await fails('capabilities', { username: F.user.name, password: 'wrong', authMethod });
    assert.equal(e.code, 'auth_failed', authMethod);
    assert.match(e.message, /481 /, authMethod);
  }
});

test('groups: LIST ACTIVE with descriptions; the crew group only after login', async () => {
  const guest = await ok('groups', { wildmat: 'harbour.*' });
  const names = guest.groups.map((g: any) => g.name).sort();
  assert.deepEqual(names, [F.general.name, F.notices.name]);
  const general = guest.groups.find((g: any) => g.name === F.general.name);
  assert.equal(general.description, F.general.description);
  assert.equal(general.status, 'y');
  assert.ok(general.high >= 3);
  assert.equal(guest.groups.find((g: any) => g.name === F.notices.name).status, 'n');

  const member = await ok('groups', { wildmat: 'harbour.*', tls: 'starttls', ...login });
  assert.deepEqual(member.groups.map((g: any) => g.name).sort(), [F.general.name, F.notices.name, F.crew.name].sort());
  assert.equal(member.groups.find((g: any) => g.name === F.crew.name).description, F.crew.description);

  const denied = await fails('group', { group: F.crew.name });
  assert.equal(denied.code, 'auth_failed');
  assert.match(denied.message, /480/);
  const crew = await ok('overview', { group: F.crew.name, tls: 'starttls', ...login });
  assert.equal(crew.articles[0].subject, F.crewArticle.subject);
});

test('GROUP and LISTGROUP, OVER of the seeded thread', async () => {
  const g = await ok('group', { group: F.general.name });
  assert.equal(g.group.name, F.general.name);
  assert.deepEqual(g.numbers.slice(0, 3), [1, 2, 3]);
  assert.equal(g.group.low, 1);
  const part = await ok('group', { group: F.general.name, range: '2-3' });
  assert.deepEqual(part.numbers, [2, 3]);

  const o = await ok('overview', { group: F.general.name, range: '1-3' });
  assert.equal(o.command, 'OVER');
  assert.deepEqual(
    o.articles.map((a: any) => [a.number, a.subject, a.from, a.messageId]),
    F.seeded.map((a, i) => [i + 1, a.subject, a.from, a.messageId]),
  );
  assert.equal(o.articles[1].references, F.seeded[1].references);
  assert.match(o.articles[0].extra.Xref, new RegExp(`${F.general.name}:1`));
  const newest = await ok('overview', { group: F.general.name, limit: 1 });
  assert.equal(newest.articles.length, 1);
  assert.equal(newest.articles[0].number, newest.group.high);
});

test('ARTICLE, HEAD, BODY, STAT by number and message-id; dot lines unstuffed; missing articles in the server words', async () => {
  const a = F.seeded[1];
  const art = await ok('article', { group: F.general.name, number: 2 });
  assert.equal(art.messageId, a.messageId);
  assert.equal(art.headers.find((h: any) => h.name === 'Subject').value, a.subject);
  assert.ok(art.text.endsWith(`\r\n\r\n${a.body.replace(/\n/g, '\r\n')}`), art.text);

  const body = await ok('article', { messageId: a.messageId, part: 'body' });
  assert.equal(body.text, a.body.replace(/\n/g, '\r\n'));
  assert.equal(body.number, 0, 'by message-id the number is 0 (RFC 3977 6.2.1.2)');
  const head = await ok('article', { messageId: F.seeded[0].messageId, part: 'head' });
  assert.equal(head.headers.find((h: any) => h.name === 'From').value, F.seeded[0].from);
  assert.ok(!head.text.includes('High water'));
  const stat = await ok('article', { group: F.general.name, number: 3, part: 'stat' });
  assert.equal(stat.messageId, F.seeded[2].messageId);

  const missing = await fails('article', { group: F.general.name, number: 9999, part: 'stat' });
  assert.equal(missing.code, 'server_error');
  assert.match(missing.message, /423 No such article number 9999/);
  const unknown = await fails('article', { messageId: '<nobody@nowhere.test>' });
  assert.match(unknown.message, /430/);
  const noGroup = await fails('group', { group: 'no.such.group' });
  assert.match(noGroup.message, /411/);
});

test('POST: refused to guests, accepted after login and read back byte for byte', async () => {
  const guest = await fails('post', { from: 'Guest <guest@portolan.test>', newsgroups: [F.general.name], subject: 'Hello', body: 'hi\n' });
  assert.equal(guest.code, 'auth_failed');
  assert.match(guest.message, /480 Posting not allowed/);

  const stamp = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const text = `First line.\n.Starts with a dot\n..two dots\n.\nLast line (é).\n`;
  const posted = await ok('post', { tls: 'starttls', ...login, from: 'Pilot <pilot@portolan.test>', newsgroups: [F.general.name], subject: `Posted ${stamp} ✓`, body: text, references: F.seeded[0].messageId });
  assert.match(posted.status, /^240 /);
  assert.match(posted.messageId, /^<.+@.+>$/);

  const back = await ok('article', { messageId: posted.messageId, part: 'body' });
  assert.equal(back.text, text.replace(/\n/g, '\r\n'));
  const head = await ok('article', { messageId: posted.messageId, part: 'head' });
  assert.equal(head.headers.find((h: any) => h.name === 'Subject').value, `Posted ${stamp} ✓`);
  const o = await ok('overview', { group: F.general.name, limit: 5 });
  assert.ok(o.articles.some((x: any) => x.messageId === posted.messageId && x.references === F.seeded[0].messageId));
});

test('NEWNEWS and NEWGROUPS since a date', async () => {
  const news = await ok('newnews', { wildmat: 'harbour.general', since: '2000-01-01T00:00:00Z' });
  for (const a of F.seeded) assert.ok(news.messageIds.includes(a.messageId), a.messageId);
  assert.ok(!news.messageIds.includes(F.crewArticle.messageId), 'the crew group is not readable to guests');
  const none = await ok('newnews', { since: new Date(Date.now() + 86_400_000).toISOString() });
  assert.deepEqual(none.messageIds, []);
  const groups = await ok('newgroups', { since: '2000-01-01T00:00:00Z' });
  assert.ok(Array.isArray(groups.groups));
  const bad = await call('nntp', 'newnews', { host, port: p.nntp, since: 'last tuesday' });
  assert.equal(bad.status, 400);
  assert.match(JSON.stringify(bad.body.error), /since/);
});
