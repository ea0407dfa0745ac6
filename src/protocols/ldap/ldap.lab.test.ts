// LDAP against OpenLDAP slapd through workerd (plain, StartTLS, LDAPS) and the Node host (SASL EXTERNAL with a client certificate).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ports } from '../../../lab/index.ts';
import { directoryFacts } from '../../../lab/servers/directory.ts';
import { call } from '../../../test/harness.ts';
import { callNode, useNodeHost } from '../../../test/node-host.ts';

const L = directoryFacts.ldap;
const target = { host: '127.0.0.1', port: ports.directory.ldap };
const admin = { bindDn: L.admin.dn, password: L.admin.password };
const alice = { bindDn: L.people.alice.dn, password: L.people.alice.password };
const bob = { bindDn: L.people.bob.dn, password: L.people.bob.password };
const node = useNodeHost();
const run = `${process.pid}-${Date.now()}`;

type Entry = { dn: string; attributes: Record<string, string[]>; binary?: string[] };

test('ldap: the root DSE names the naming context, controls, extensions, SASL mechanisms and vendor', async () => {
  const r = await call('ldap', 'rootDse', target);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const d = r.body.result;
  assert.deepEqual(d.namingContexts, [L.suffix]);
  assert.equal(d.subschemaSubentry, 'cn=Subschema');
  assert.deepEqual(d.supportedLDAPVersion, ['3']);
  assert.ok(d.supportedControl.some((c: { oid: string; name: string }) => c.oid === '1.2.840.113556.1.4.319' && /paged/.test(c.name)));
  const ext = d.supportedExtension.map((c: { oid: string }) => c.oid);
  for (const oid of ['1.3.6.1.4.1.1466.20037', '1.3.6.1.4.1.4203.1.11.1', '1.3.6.1.4.1.4203.1.11.3']) assert.ok(ext.includes(oid), oid);
  assert.ok(d.supportedSASLMechanisms.includes('PLAIN'));
  assert.equal(d.boundAs, 'anonymous');
});

test('ldap: a search sends the filter exactly as written and returns what ldapsearch returns', async () => {
  const filter = '(&(objectClass=person)(cn=a*))';
  const r = await call('ldap', 'search', { ...target, base: L.suffix, filter, attributes: ['cn', 'mail'] }, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const got = (r.body.result.entries as Entry[]).map((e) => e.dn).sort();
  const native = execFileSync('ldapsearch', ['-x', '-LLL', '-H', `ldap://127.0.0.1:${ports.directory.ldap}`, '-b', L.suffix, filter, 'dn']).toString();
  const expected = [...native.matchAll(/^dn: (.*)$/gm)].map((m) => m[1]).sort();
  assert.deepEqual(got, expected);
  assert.deepEqual(got, [L.people.alice.dn, L.people.amy.dn].sort());
  const aliceEntry = (r.body.result.entries as Entry[]).find((e) => e.dn === L.people.alice.dn)!;
  assert.deepEqual(aliceEntry.attributes, { cn: [L.people.alice.cn], mail: [L.people.alice.mail] });
  assert.deepEqual(r.body.result.result, { code: 0, name: 'success', matchedDN: '', diagnosticMessage: '', referrals: [] });
  const sent = r.body.transcript.entries.find((e: { dir: string; decode?: string }) => e.dir === 'out' && /SearchRequest/.test(e.decode ?? ''));
  assert.match(sent.decode, /filter \(&\(objectClass=person\)\(cn=a\*\)\)/);
  // and [0] { equality objectClass=person, substrings cn initial "a" }: the bytes of the filter on the wire
  const hex = (s: string) => Buffer.from(s).toString('hex');
  assert.ok(sent.hex.includes('a022' + 'a315' + '040b' + hex('objectClass') + '0406' + hex('person') + 'a409' + '0402636e' + '3003' + '800161'), 'AND of the equality and one initial substring, as written');
});

test('ldap: scope, typesOnly, size limit, and binary attributes as base64', async () => {
  const one = await call('ldap', 'search', { ...target, base: `ou=people,${L.suffix}`, scope: 'one', attributes: ['1.1'] });
  assert.equal(one.body.result.entries.length, Object.keys(L.people).length);
  const types = await call('ldap', 'search', { ...target, base: L.people.alice.dn, scope: 'base', typesOnly: true });
  const e: Entry = types.body.result.entries[0];
  assert.ok('cn' in e.attributes && e.attributes.cn.length === 0);
  assert.ok(!('userPassword' in e.attributes), 'anonymous must not see userPassword (ACL)');
  const photo = await call('ldap', 'search', { ...target, base: L.people.alice.dn, scope: 'base', attributes: ['jpegPhoto'] });
  assert.deepEqual(photo.body.result.entries[0].binary, ['jpegPhoto']);
  assert.equal(photo.body.result.entries[0].attributes.jpegPhoto[0], Buffer.from(L.alicePhoto).toString('base64'));
  const limited = await call('ldap', 'search', { ...target, base: L.bulkBase, scope: 'one', sizeLimit: 7, attributes: ['1.1'] });
  assert.equal(limited.status, 200);
  assert.equal(limited.body.result.entries.length, 7);
  assert.deepEqual([limited.body.result.result.code, limited.body.result.result.name], [4, 'sizeLimitExceeded']);
});

test('ldap: paged results (RFC 2696) read every page, or one page with a cursor to continue', async () => {
  const all = await call('ldap', 'search', { ...target, base: L.bulkBase, scope: 'one', attributes: ['uid'], pageSize: 500 });
  assert.equal(all.status, 200, JSON.stringify(all.body).slice(0, 400));
  assert.equal(all.body.result.entries.length, L.bulkCount);
  assert.equal(all.body.result.pages, L.bulkCount / 500 + (L.bulkCount % 500 === 0 ? 0 : 1));
  assert.equal(all.body.result.cursor, null);
  assert.equal(new Set(all.body.result.entries.map((e: Entry) => e.attributes.uid[0])).size, L.bulkCount);
  const first = await call('ldap', 'search', { ...target, base: L.bulkBase, scope: 'one', attributes: ['uid'], pageSize: 3, allPages: false });
  assert.equal(first.body.result.entries.length, 3);
  assert.ok(first.body.result.cursor);
  // OpenLDAP ties its cookie to the connection that made it: the next call searches again and skips the first page.
  const second = await call('ldap', 'search', { ...target, base: L.bulkBase, scope: 'one', attributes: ['uid'], pageSize: 3, allPages: false, cursor: first.body.result.cursor }, { transcript: true });
  assert.equal(second.status, 200, JSON.stringify(second.body).slice(0, 400));
  assert.deepEqual(second.body.result.entries.map((e: Entry) => e.attributes.uid[0]), ['user00003', 'user00004', 'user00005']);
  assert.equal(second.body.result.resumedBy, 'skip');
  assert.ok(second.body.transcript.entries.some((e: { decode?: string }) => /refused the cookie \(2 protocolError: paged results cookie is invalid\)/.test(e.decode ?? '')));
  const third = await call('ldap', 'search', { ...target, base: L.bulkBase, scope: 'one', attributes: ['uid'], pageSize: 3, allPages: false, cursor: second.body.result.cursor });
  assert.deepEqual(third.body.result.entries.map((e: Entry) => e.attributes.uid[0]), ['user00006', 'user00007', 'user00008']);
  const bad = await call('ldap', 'search', { ...target, base: L.bulkBase, pageSize: 3, cursor: 'bm9wZQ==' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /cursor: not a cursor/);
  const capped = await call('ldap', 'search', { ...target, base: L.bulkBase, scope: 'one', attributes: ['uid'], pageSize: 100, maxEntries: 250 });
  assert.equal(capped.body.result.entries.length, 300);
  assert.equal(capped.body.result.truncated, true);
  assert.ok(capped.body.result.cursor);
});

test('ldap: referrals and continuation references are listed, and followed only when asked, through the guard', async () => {
  const listed = await call('ldap', 'search', { ...target, base: L.suffix, scope: 'one', attributes: ['1.1'] });
  const refs = listed.body.result.references.flat().sort();
  assert.deepEqual(refs, [`${L.referralPrivate.ref}??base`, `${L.referralLocal.ref}??base`].sort());
  assert.equal(listed.body.result.followed, undefined);
  const referral = await call('ldap', 'search', { ...target, base: `ou=x,${L.referralLocal.dn}`, scope: 'base' });
  assert.equal(referral.status, 200);
  assert.equal(referral.body.result.result.name, 'referral');
  assert.deepEqual(referral.body.result.result.referrals, [`ldap://127.0.0.1:${ports.directory.ldap}/ou=x,ou=people,${L.suffix}??base`]);
  const followed = await call('ldap', 'search', { ...target, base: L.suffix, scope: 'one', attributes: ['1.1'], followReferrals: true });
  assert.equal(followed.status, 200, JSON.stringify(followed.body));
  const byUri = Object.fromEntries(followed.body.result.followed.map((f: { uri: string }) => [f.uri, f]));
  const local = byUri[`${L.referralLocal.ref}??base`];
  assert.deepEqual(local.entries.map((e: Entry) => e.dn), [`ou=people,${L.suffix}`]);
  const far = byUri[`${L.referralPrivate.ref}??base`];
  assert.equal(far.error.code, 'target_blocked');
  assert.match(far.error.message, /10\.255\.0\.1/);
  const manage = await call('ldap', 'search', { ...target, base: L.referralLocal.dn, scope: 'base', manageDsaIT: true, attributes: ['ref'] });
  assert.deepEqual(manage.body.result.entries[0].attributes.ref, [L.referralLocal.ref]);
});

test('ldap: ACLs decide what each identity sees; binds show the server\'s result code and words', async () => {
  const anon = await call('ldap', 'search', { ...target, base: L.restricted.dn, scope: 'sub' });
  assert.equal(anon.status, 502);
  assert.equal(anon.body.error.code, 'server_error');
  assert.equal(anon.body.error.detail.resultName, 'noSuchObject');
  const asAlice = await call('ldap', 'search', { ...target, ...alice, base: L.restricted.dn, scope: 'sub', attributes: ['description'] });
  assert.equal(asAlice.status, 200);
  assert.deepEqual(asAlice.body.result.entries.map((e: Entry) => e.dn), [L.restricted.dn, L.restricted.entry]);
  const wrong = await call('ldap', 'whoami', { ...target, bindDn: L.people.alice.dn, password: 'wrong' }, { transcript: true });
  assert.equal(wrong.status, 502);
  assert.equal(wrong.body.error.code, 'auth_failed');
  assert.equal(wrong.body.error.detail.resultCode, 49);
  assert.equal(wrong.body.error.detail.resultName, 'invalidCredentials');
  assert.match(wrong.body.error.message, /49 invalidCredentials/);
  const who = await call('ldap', 'whoami', { ...target, ...alice }, { transcript: true });
  assert.equal(who.body.result.authzId, `dn:${L.people.alice.dn}`);
  assert.ok(!JSON.stringify(who.body.transcript).includes(L.people.alice.password), 'password in transcript');
  assert.ok(!JSON.stringify(who.body.transcript).includes(Buffer.from(L.people.alice.password).toString('hex')), 'password hex in transcript');
  const plain = await call('ldap', 'whoami', { ...target, sasl: 'PLAIN', saslUser: 'alice', password: L.people.alice.password }, { transcript: true });
  assert.equal(plain.status, 200, JSON.stringify(plain.body));
  assert.equal(plain.body.result.authzId, `dn:${L.people.alice.dn}`);
  assert.ok(!JSON.stringify(plain.body.transcript).includes(L.people.alice.password));
  const plainBad = await call('ldap', 'whoami', { ...target, sasl: 'PLAIN', saslUser: 'alice', password: 'nope' });
  assert.equal(plainBad.body.error.code, 'auth_failed');
  assert.match(plainBad.body.error.message, /SASL\(-13\): authentication failure/);
  const anonWho = await call('ldap', 'whoami', target);
  assert.equal(anonWho.body.result.authzId, '');
});

test('ldap: StartTLS and LDAPS through workerd', async () => {
  const st = await call('ldap', 'whoami', { ...target, tls: 'starttls', ...bob }, { transcript: true });
  assert.equal(st.status, 200, JSON.stringify(st.body));
  assert.equal(st.body.result.authzId, `dn:${L.people.bob.dn}`);
  const notes = st.body.transcript.entries.map((e: { decode?: string }) => e.decode ?? '').join('\n');
  assert.match(notes, /StartTLS/);
  assert.match(notes, /TLS established/);
  const ldaps = await call('ldap', 'search', { host: '127.0.0.1', port: ports.directory.ldaps, tls: 'implicit', base: L.people.bob.dn, scope: 'base', attributes: ['mail'] });
  assert.equal(ldaps.status, 200, JSON.stringify(ldaps.body));
  assert.deepEqual(ldaps.body.result.entries[0].attributes.mail, [L.people.bob.mail]);
});

test("ldap: SASL EXTERNAL with a client certificate on the Node host and on workerd (Portolan's TLS engine, LDAPS and StartTLS)", async () => {
  const clientCertificate = { certPem: readFileSync(L.clientCertPath, 'utf8'), keyPem: readFileSync(L.clientKeyPath, 'utf8') };
  for (const [port, tls] of [[ports.directory.ldaps, 'implicit'], [ports.directory.ldap, 'starttls']] as const) {
    const r = await callNode(node, 'ldap', 'whoami', { host: '127.0.0.1', port, tls, sasl: 'EXTERNAL', clientCertificate });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.result.authzId, `dn:${L.people.carol.dn}`);
  }
  const noCert = await callNode(node, 'ldap', 'whoami', { host: '127.0.0.1', port: ports.directory.ldaps, tls: 'implicit', sasl: 'EXTERNAL' });
  assert.equal(noCert.status, 400);
  assert.match(noCert.body.error.message, /clientCertificate/);
  for (const [port, tls] of [[ports.directory.ldaps, 'implicit'], [ports.directory.ldap, 'starttls']] as const) {
    const w = await call('ldap', 'whoami', { host: '127.0.0.1', port, tls, sasl: 'EXTERNAL', clientCertificate });
    assert.equal(w.status, 200, JSON.stringify(w.body));
    assert.equal(w.body.result.authzId, `dn:${L.people.carol.dn}`);
  }
  const runtime = await call('ldap', 'whoami', { host: '127.0.0.1', port: ports.directory.ldaps, tls: 'implicit', tlsEngine: 'runtime', sasl: 'EXTERNAL', clientCertificate });
  assert.equal(runtime.status, 501);
  assert.deepEqual(runtime.body.error.detail.missing, ['clientCert']);
});

test('ldap: add, compare, modify, modify DN, password modify and delete, as admin and as users the ACLs refuse', async () => {
  const dn = `uid=temp-${run},ou=people,${L.suffix}`;
  const add = await call('ldap', 'add', { ...target, ...admin, dn, attributes: { objectClass: ['inetOrgPerson'], uid: [`temp-${run}`], cn: ['Temp Sailor'], sn: ['Sailor'], jpegPhoto: [{ base64: '/9j/4A==' }] } });
  assert.equal(add.status, 200, JSON.stringify(add.body));
  const dup = await call('ldap', 'add', { ...target, ...admin, dn, attributes: { objectClass: ['inetOrgPerson'], cn: ['x'], sn: ['y'] } });
  assert.equal(dup.body.error.detail.resultName, 'entryAlreadyExists');
  const cmp = await call('ldap', 'compare', { ...target, dn, attribute: 'cn', value: 'Temp Sailor' });
  assert.deepEqual([cmp.body.result.matches, cmp.body.result.name], [true, 'compareTrue']);
  const cmpNo = await call('ldap', 'compare', { ...target, dn, attribute: 'cn', value: 'Someone Else' });
  assert.deepEqual([cmpNo.body.result.matches, cmpNo.body.result.name], [false, 'compareFalse']);
  const mod = await call('ldap', 'modify', {
    ...target,
    ...admin,
    dn,
    changes: [
      { operation: 'add', attribute: 'mail', values: ['temp@example.org', 'temp2@example.org'] },
      { operation: 'replace', attribute: 'sn', values: ['Seafarer'] },
      { operation: 'delete', attribute: 'mail', values: ['temp2@example.org'] },
    ],
  });
  assert.equal(mod.status, 200, JSON.stringify(mod.body));
  const read = await call('ldap', 'search', { ...target, base: dn, scope: 'base', attributes: ['mail', 'sn', 'jpegPhoto'] });
  assert.deepEqual(read.body.result.entries[0].attributes, { sn: ['Seafarer'], mail: ['temp@example.org'], jpegPhoto: ['/9j/4A=='] });
  const refused = await call('ldap', 'modify', { ...target, ...bob, dn, changes: [{ operation: 'replace', attribute: 'sn', values: ['Hacked'] }] });
  assert.equal(refused.status, 502);
  assert.equal(refused.body.error.detail.resultCode, 50);
  assert.equal(refused.body.error.detail.resultName, 'insufficientAccessRights');
  const renamed = await call('ldap', 'modifyDn', { ...target, ...admin, dn, newRdn: `uid=moved-${run}`, newSuperior: L.bulkBase });
  assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
  const newDn = `uid=moved-${run},${L.bulkBase}`;
  assert.equal(renamed.body.result.newDn, newDn);
  const pw = await call('ldap', 'passwordModify', { ...target, ...admin, user: newDn, newPassword: 'fresh-secret-9' }, { transcript: true });
  assert.equal(pw.status, 200, JSON.stringify(pw.body));
  assert.ok(!JSON.stringify(pw.body.transcript).includes('fresh-secret-9'));
  const asNew = await call('ldap', 'whoami', { ...target, bindDn: newDn, password: 'fresh-secret-9' });
  assert.equal(asNew.body.result.authzId, `dn:${newDn}`);
  const gen = await call('ldap', 'passwordModify', { ...target, bindDn: newDn, password: 'fresh-secret-9' });
  assert.equal(gen.status, 200, JSON.stringify(gen.body));
  assert.ok(gen.body.result.generatedPassword.length >= 8);
  const asGen = await call('ldap', 'whoami', { ...target, bindDn: newDn, password: gen.body.result.generatedPassword });
  assert.equal(asGen.body.result.authzId, `dn:${newDn}`);
  const nonLeaf = await call('ldap', 'delete', { ...target, ...admin, dn: `ou=people,${L.suffix}` });
  assert.equal(nonLeaf.body.error.detail.resultName, 'notAllowedOnNonLeaf');
  const del = await call('ldap', 'delete', { ...target, ...admin, dn: newDn });
  assert.equal(del.status, 200);
  const gone = await call('ldap', 'search', { ...target, base: newDn, scope: 'base' });
  assert.equal(gone.body.error.detail.resultName, 'noSuchObject');
  assert.equal(gone.body.error.detail.matchedDN, L.bulkBase);
});

test('ldap: schema lists object classes and attribute types from cn=Subschema', async () => {
  const r = await call('ldap', 'schema', { ...target, name: 'inetOrgPerson' });
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
  assert.equal(r.body.result.subschemaSubentry, 'cn=Subschema');
  const oc = r.body.result.objectClasses[0];
  assert.deepEqual([oc.oid, oc.superior, oc.kind], ['2.16.840.1.113730.3.2.2', ['organizationalPerson'], 'STRUCTURAL']);
  assert.ok(oc.may.includes('mail') && oc.may.includes('jpegPhoto'));
  const all = await call('ldap', 'schema', target);
  assert.ok(all.body.result.objectClasses.length > 30);
  const mail = all.body.result.attributeTypes.find((a: { names: string[] }) => a.names.includes('mail'));
  assert.equal(mail.oid, '0.9.2342.19200300.100.1.3');
});

test('ldap: a malformed filter is 400 naming the position, before any connection', async () => {
  const r = await call('ldap', 'search', { host: '127.0.0.1', port: ports.foundation.closedPort, base: L.suffix, filter: '(&(cn=a)(sn=b)' }, { transcript: true });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'invalid_input');
  assert.match(r.body.error.message, /filter: filter ends where '\)' was expected at position 15/);
});

test('ldap: `portolan ldap search HOST -b BASE FILTER cn mail` (and `portolan ldap HOST search ...`) prints LDIF with the entries ldapsearch prints', async () => {
  const { spawnSync } = await import('node:child_process');
  const { BIN } = await import('../../../test/node-host.ts');
  const filter = '(&(objectClass=person)(cn=a*))';
  const host = `127.0.0.1:${ports.directory.ldap}`;
  const r = spawnSync(process.execPath, [BIN, 'ldap', 'search', host, '-b', L.suffix, filter, 'cn', 'mail'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  assert.equal(r.status, 0, r.stderr);
  // The target before the operation works too.
  const targetFirst = spawnSync(process.execPath, [BIN, 'ldap', host, 'search', '-b', L.suffix, filter, 'cn', 'mail'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  assert.equal(targetFirst.status, 0, targetFirst.stderr);
  const records = (text: string) =>
    text
      .split('\n\n')
      .map((block) => block.split('\n').filter((l) => l && !l.startsWith('#')))
      .filter((lines) => lines.length > 0 && lines[0].startsWith('dn: '))
      .map((lines) => lines.join('\n'))
      .sort();
  const native = execFileSync('ldapsearch', ['-x', '-LLL', '-H', `ldap://${host}`, '-b', L.suffix, filter, 'cn', 'mail']).toString();
  assert.deepEqual(records(r.stdout), records(native));
  assert.match(r.stdout, /# result: 0 success/);
  assert.deepEqual(records(targetFirst.stdout), records(native));
  const bad = spawnSync(process.execPath, [BIN, 'ldap', 'search', host, '-b', L.suffix, '(cn=a'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr + bad.stdout, /position 6/);
});
