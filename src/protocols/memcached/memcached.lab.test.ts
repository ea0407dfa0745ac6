// Memcached against Debian's memcached in the lab (plain, TLS, and a SASL instance), through the HTTP API of workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { kvFacts } from '../../../lab/servers/databases-kv.ts';

const p = ports['databases-kv'];
const target = { host: '127.0.0.1', port: p.memcached };
const sasl = { host: '127.0.0.1', port: p.memcachedSasl };
/** The upstream version of Debian's memcached, e.g. 1.6.18 from 1.6.18-1+deb12u1. */
const version = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'memcached'], { encoding: 'utf8' }).replace(/-.*$/, '');

const uniq = (name: string) => `${name}:${process.pid}:${Math.floor(Math.random() * 1e9)}`;
const b64 = (bytes: number[]) => Buffer.from(bytes).toString('base64');

async function mc(op: string, input: Record<string, unknown>, to: Record<string, unknown> = target) {
  const r = await call('memcached', op, { ...to, ...input });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.result;
}

test('memcached: set then get keeps NUL and non-UTF-8 bytes, multibyte text, flags', async () => {
  const key = uniq('bin');
  const bytes = [0x00, 0xff, 0x0d, 0x0a, 0x45, 0x4e, 0x44, 0x0d, 0x0a, 0x00]; // contains "\r\nEND\r\n"
  assert.deepEqual(await mc('set', { key, value: { base64: b64(bytes) }, flags: 0xdeadbeef, exptime: 300 }), { stored: true, response: 'STORED' });
  const got = await mc('get', { keys: [key] });
  assert.deepEqual(got.items, [{ key: { text: key }, flags: 0xdeadbeef, length: 10, cas: null, value: { base64: b64(bytes) } }]);
  assert.deepEqual(got.missing, []);
  const hex = await mc('get', { keys: [key], encoding: 'hex' });
  assert.equal(hex.items[0].value.hex, Buffer.from(bytes).toString('hex'));

  const mkey = uniq('ключ-⚓');
  const text = 'héllo 世界 🚢';
  await mc('set', { key: mkey, value: text });
  const back = await mc('get', { keys: [mkey, uniq('absent')] });
  assert.equal(back.items[0].value.text, text);
  assert.equal(back.items[0].length, Buffer.byteLength(text));
  assert.equal(back.items[0].key.text, mkey);
  assert.equal(back.missing.length, 1);
});

test('memcached: add/replace/append/prepend answer STORED or NOT_STORED as the server decides', async () => {
  const key = uniq('modes');
  assert.equal((await mc('set', { key, value: 'b', mode: 'replace' })).response, 'NOT_STORED');
  assert.equal((await mc('set', { key, value: 'b', mode: 'add' })).response, 'STORED');
  assert.equal((await mc('set', { key, value: 'x', mode: 'add' })).response, 'NOT_STORED');
  assert.equal((await mc('set', { key, value: 'c', mode: 'append' })).response, 'STORED');
  assert.equal((await mc('set', { key, value: 'a', mode: 'prepend' })).response, 'STORED');
  assert.equal((await mc('get', { keys: [key] })).items[0].value.text, 'abc');
  assert.equal((await mc('set', { key, value: 'z', mode: 'replace' })).response, 'STORED');
  assert.equal((await mc('get', { keys: [key] })).items[0].value.text, 'z');
});

test('memcached: cas tokens from gets; a stale token is EXISTS and changes nothing', async () => {
  const key = uniq('cas');
  await mc('set', { key, value: 'v1' });
  const first = (await mc('get', { keys: [key], cas: true })).items[0];
  assert.match(first.cas, /^\d+$/);
  assert.deepEqual(await mc('set', { key, value: 'v2', mode: 'cas', cas: first.cas }), { stored: true, response: 'STORED' });
  // the token is now stale: the server refuses
  assert.deepEqual(await mc('set', { key, value: 'v3', mode: 'cas', cas: first.cas }), { stored: false, response: 'EXISTS' });
  const now = (await mc('get', { keys: [key], cas: true })).items[0];
  assert.equal(now.value.text, 'v2');
  assert.notEqual(now.cas, first.cas);
  assert.deepEqual(await mc('set', { key: uniq('gone'), value: 'x', mode: 'cas', cas: '1' }), { stored: false, response: 'NOT_FOUND' });
  const bad = await call('memcached', 'set', { ...target, key, value: 'x', mode: 'cas' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'invalid_input');
});

test('memcached: incr and decr count in 64 bits, decr stops at 0, a missing key is NOT_FOUND', async () => {
  const key = uniq('ctr');
  await mc('set', { key, value: '10' });
  assert.deepEqual(await mc('incr', { key, by: 5 }), { found: true, value: '15' });
  assert.deepEqual(await mc('incr', { key, by: 20, direction: 'decr' }), { found: true, value: '0' });
  await mc('set', { key, value: '18446744073709551610' });
  assert.deepEqual(await mc('incr', { key, by: '5' }), { found: true, value: '18446744073709551615' });
  assert.deepEqual(await mc('incr', { key, by: 1 }), { found: true, value: '0' }, 'wraps at 2^64 as memcached does');
  assert.deepEqual(await mc('incr', { key: uniq('none'), by: 1 }), { found: false, value: null });
  await mc('set', { key, value: 'not a number' });
  const r = await call('memcached', 'incr', { ...target, key, by: 1 });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'server_error');
  assert.equal(r.body.error.message, 'CLIENT_ERROR cannot increment or decrement non-numeric value');
});

test('memcached: delete, touch, gat/gats, noreply, flush_all, version', async () => {
  const key = uniq('life');
  await mc('set', { key, value: 'v', exptime: 100 });
  assert.deepEqual(await mc('touch', { key, exptime: 1000 }), { touched: true, response: 'TOUCHED' });
  const ttl = await mc('meta', { command: 'mg', key, flags: ['t'] });
  assert.ok(Number(ttl.returned.t) > 900, `ttl ${ttl.returned.t}`);
  const gats = await mc('get', { keys: [key], touch: 50, cas: true });
  assert.equal(gats.items[0].value.text, 'v');
  assert.match(gats.items[0].cas, /^\d+$/);
  assert.ok(Number((await mc('meta', { command: 'mg', key, flags: ['t'] })).returned.t) <= 50);
  assert.deepEqual(await mc('delete', { key }), { deleted: true, response: 'DELETED' });
  assert.deepEqual(await mc('delete', { key }), { deleted: false, response: 'NOT_FOUND' });
  assert.deepEqual(await mc('touch', { key, exptime: 10 }), { touched: false, response: 'NOT_FOUND' });
  // noreply is confirmed by mn: the value is there right after
  assert.deepEqual(await mc('set', { key, value: 'quiet', noreply: true }), { stored: null, response: null });
  assert.equal((await mc('get', { keys: [key] })).items[0].value.text, 'quiet');
  assert.deepEqual(await mc('version', {}), { version });
  // flush_all with a delay keeps items until then (the lab instance is shared: no immediate flush here)
  assert.deepEqual(await mc('flushAll', { delay: 3600 }), { response: 'OK' });
  assert.deepEqual(await mc('flushAll', { delay: 0, noreply: true }), { response: null });
});

test('memcached: meta commands mg/ms/md/ma/mn with flags, binary keys, cas and quiet mode', async () => {
  const key = uniq('meta');
  const set = await mc('meta', { command: 'ms', key, value: { base64: b64([0, 1, 2, 0xff]) }, flags: ['T300', 'F17', 'c'] });
  assert.equal(set.code, 'HD');
  const cas = set.returned.c;
  assert.match(cas, /^\d+$/);
  const got = await mc('meta', { command: 'mg', key, flags: ['v', 'c', 'f', 't', 's', 'k'] });
  assert.equal(got.code, 'VA');
  assert.deepEqual(got.value, { base64: b64([0, 1, 2, 0xff]) });
  assert.equal(got.returned.c, cas);
  assert.equal(got.returned.f, '17');
  assert.equal(got.returned.s, '4');
  assert.ok(Number(got.returned.t) > 200);
  assert.deepEqual(got.key, { text: key });
  assert.equal((await mc('meta', { command: 'mg', key: uniq('miss'), flags: ['v'] })).code, 'EN');
  // compare-and-swap with C: a wrong token is EX, the right one HD
  assert.equal((await mc('meta', { command: 'ms', key, value: 'new', flags: [`C${BigInt(cas) + 1000n}`] })).code, 'EX');
  assert.equal((await mc('meta', { command: 'ms', key, value: 'new', flags: [`C${cas}`] })).code, 'HD');
  // mode E (add) on an existing key: NS
  assert.equal((await mc('meta', { command: 'ms', key, value: 'x', flags: ['ME'] })).code, 'NS');
  // a binary key (base64, b flag)
  const binKey = [0x00, 0xff, 0x20, 0x0a];
  assert.equal((await mc('meta', { command: 'ms', key: { base64: b64(binKey) }, value: 'binary key' })).code, 'HD');
  const bin = await mc('meta', { command: 'mg', key: { base64: b64(binKey) }, flags: ['v', 'k'] });
  assert.deepEqual([bin.code, bin.value, bin.key], ['VA', { text: 'binary key' }, { base64: b64(binKey) }]);
  // arithmetic: auto-create with N and J, then decrement
  const ctr = uniq('mctr');
  const a1 = await mc('meta', { command: 'ma', key: ctr, flags: ['N0', 'J40', 'v'] });
  assert.deepEqual([a1.code, a1.value], ['VA', { text: '40' }]);
  const a2 = await mc('meta', { command: 'ma', key: ctr, flags: ['MD', 'D15', 'v'] });
  assert.deepEqual(a2.value, { text: '25' });
  assert.equal((await mc('meta', { command: 'ma', key: uniq('nokey'), flags: [] })).code, 'NF');
  // delete quietly: success stays quiet, mn ends it
  assert.equal((await mc('meta', { command: 'md', key, flags: ['q'] })).code, 'MN');
  assert.equal((await mc('meta', { command: 'md', key, flags: [] })).code, 'NF');
  assert.deepEqual(await mc('meta', { command: 'mn' }), { code: 'MN', flags: [], returned: {}, key: null, value: null });
  // a flag the server rejects comes back as its CLIENT_ERROR
  const bad = await call('memcached', 'meta', { ...target, command: 'mg', key, flags: ['v', 'Zzz'] });
  assert.equal(bad.status, 502);
  assert.equal(bad.body.error.code, 'server_error');
  assert.match(bad.body.error.message, /^CLIENT_ERROR /);
});

test('memcached: stats general, items, slabs and settings are parsed', async () => {
  const key = uniq('stats');
  await mc('set', { key, value: 'x'.repeat(100) });
  await mc('get', { keys: [key] });
  const general = await mc('stats', {});
  assert.equal(general.stats.version, version);
  assert.ok(Number(general.stats.curr_items) >= 1);
  assert.ok(Number(general.stats.get_hits) >= 1);
  assert.ok(Number(general.stats.cmd_set) >= 1);
  assert.equal(general.stats.limit_maxbytes, String(64 * 1024 * 1024));
  const items = await mc('stats', { group: 'items' });
  const slabIds = Object.keys(items.bySlab);
  assert.ok(slabIds.length >= 1);
  assert.ok(slabIds.every((id) => /^\d+$/.test(id)));
  assert.ok(Object.values(items.bySlab).some((s: any) => Number(s.number) >= 1));
  const slabs = await mc('stats', { group: 'slabs' });
  assert.ok(Number(slabs.stats.active_slabs) >= 1);
  assert.match(slabs.stats.total_malloced, /^\d+$/);
  assert.ok(Object.values(slabs.bySlab).every((s: any) => /^\d+$/.test(s.chunk_size)));
  const settings = await mc('stats', { group: 'settings' });
  assert.equal(settings.stats.maxbytes, String(64 * 1024 * 1024));
  assert.equal(settings.stats.maxconns, '1024');
  assert.equal(settings.stats.cas_enabled, 'yes');
  assert.equal(settings.stats.udpport, '0');
});

test('memcached: TLS with the lab certificate; TLS against the plain port fails', async () => {
  const key = uniq('tls');
  const tls = { host: '127.0.0.1', port: p.memcachedTls, tls: 'implicit' };
  assert.deepEqual(await mc('set', { key, value: { base64: b64([0, 255, 1]) } }, tls), { stored: true, response: 'STORED' });
  assert.deepEqual((await mc('get', { keys: [key] })).items[0].value, { base64: b64([0, 255, 1]) }, 'written over TLS, read over plain TCP');
  assert.deepEqual(await mc('version', {}, tls), { version });
  const bad = await call('memcached', 'version', { host: '127.0.0.1', port: p.memcached, tls: 'implicit', timeoutMs: 4000 });
  assert.equal(bad.status, 502);
  assert.equal(bad.body.error.code, 'tls_error', JSON.stringify(bad.body));
});

test('memcached: binary probe; SASL PLAIN logs in, a wrong password is auth_failed with the server\'s words', async () => {
  const plain = await mc('binaryProbe', {});
  assert.deepEqual(plain, { binary: true, version, saslMechanisms: null, authenticated: null, authMessage: null, item: null });
  const s = kvFacts.memcachedSasl;
  const mechs = await mc('binaryProbe', {}, sasl);
  assert.deepEqual(mechs.saslMechanisms, ['PLAIN']);
  assert.equal(mechs.authenticated, null);
  const ok = await mc('binaryProbe', { username: s.user, password: s.password, key: uniq('sasl-miss') }, sasl);
  assert.equal(ok.authenticated, true);
  assert.equal(ok.authMessage, 'Authenticated');
  assert.deepEqual(ok.item, { found: false, flags: null, cas: null, value: null });
  const wrong = await call('memcached', 'binaryProbe', { ...sasl, username: s.user, password: 'wrong-password' });
  assert.equal(wrong.status, 502);
  assert.equal(wrong.body.error.code, 'auth_failed');
  assert.equal(wrong.body.error.message, 'Auth failure. (status 0x0020)');
  // without logging in, the SASL instance refuses reads
  const anon = await call('memcached', 'binaryProbe', { ...sasl, key: 'anything' });
  assert.equal(anon.body.error.code, 'auth_failed');
  // and credentials against the server without SASL are refused by name
  const noSasl = await call('memcached', 'binaryProbe', { ...target, username: s.user, password: s.password });
  assert.equal(noSasl.body.error.code, 'server_error');
  assert.match(noSasl.body.error.message, /SASL off/);
});

test('memcached: the SASL password never reaches the transcript', async () => {
  const s = kvFacts.memcachedSasl;
  const r = await call('memcached', 'binaryProbe', { ...sasl, username: s.user, password: s.password }, { transcript: true });
  assert.equal(r.status, 200);
  const text = JSON.stringify(r.body.transcript);
  assert.ok(!text.includes(s.password));
  assert.ok(!text.includes(Buffer.from(s.password).toString('hex')));
  assert.ok(r.body.transcript.entries.some((e: { decode?: string }) => e.decode === `binary saslAuth SASL PLAIN ${s.user} ****`));
});

test('memcached: the binary protocol as a command set: store, read, counters, touch, GAT, cas, flags, quiet variants', async () => {
  const k = uniq('bin');
  const ctr = uniq('binctr');
  const r = await mc('binary', {
    commands: [
      { op: 'set', key: k, value: 'World', flags: 0xdeadbeef, exptime: 300 },
      { op: 'get', key: k },
      { op: 'getk', key: k },
      { op: 'add', key: k, value: 'again' },
      { op: 'replace', key: uniq('nothing'), value: 'x' },
      { op: 'append', key: k, value: '!' },
      { op: 'prepend', key: k, value: 'Hello ' },
      { op: 'getk', key: k },
      { op: 'increment', key: ctr, delta: '5', initial: '40' },
      { op: 'increment', key: ctr, delta: '2' },
      { op: 'decrement', key: ctr, delta: '100' },
      { op: 'increment', key: uniq('nokey'), exptime: 0xffffffff },
      { op: 'increment', key: k },
      { op: 'touch', key: k, exptime: 600 },
      { op: 'gatk', key: k, exptime: 900 },
      { op: 'delete', key: uniq('nothing') },
      { op: 'version' },
      { op: 'noop' },
    ],
  });
  const res = r.results;
  assert.equal(r.authenticated, false);
  assert.deepEqual([res[0].answered, res[0].status], [true, 0]);
  assert.deepEqual([res[1].value, res[1].flags, res[1].key], [{ text: 'World' }, 0xdeadbeef, null]);
  assert.deepEqual(res[2].key, { text: k });
  // The server's own words for each failure.
  assert.deepEqual([res[3].status, res[3].message], [2, 'Data exists for key. (status 0x0002)']);
  assert.deepEqual([res[4].status, res[4].message], [1, 'Not found (status 0x0001)']);
  assert.deepEqual(res[7].value, { text: 'Hello World!' });
  assert.equal(res[7].flags, 0xdeadbeef, 'append and prepend keep the flags');
  assert.deepEqual(res.slice(8, 11).map((x: { counter: string }) => x.counter), ['40', '42', '0']);
  assert.equal(res[11].status, 1, 'expiry 0xffffffff: a missing counter is not created');
  assert.deepEqual([res[12].status, res[12].message], [6, 'Non-numeric server-side value for incr or decr (status 0x0006)']);
  assert.equal(res[13].status, 0);
  assert.deepEqual([res[14].status, res[14].value, res[14].key], [0, { text: 'Hello World!' }, { text: k }]);
  assert.equal(res[15].status, 1);
  assert.deepEqual(res[16].value, { text: version });
  assert.equal(res[17].status, 0);
  // The TTL that gatk set, as the text protocol's meta get sees it.
  const ttl = Number((await mc('meta', { command: 'mg', key: k, flags: ['t'] })).returned.t);
  assert.ok(ttl > 600 && ttl <= 900, `ttl ${ttl}`);

  // cas: a stale cas is refused, the current one accepted.
  const cas = res[14].cas;
  assert.match(cas, /^\d+$/);
  const c2 = await mc('binary', {
    commands: [
      { op: 'set', key: k, value: 'stale', cas: String(BigInt(cas) + 1000n) },
      { op: 'set', key: k, value: 'fresh', cas },
      { op: 'get', key: k },
    ],
  });
  assert.deepEqual(c2.results.map((x: { status: number }) => x.status), [2, 0, 0]);
  assert.deepEqual(c2.results[2].value, { text: 'fresh' });
});

test('memcached: binary quiet variants answer only failures and quiet-get hits; the no-op closes the batch', async () => {
  const k = uniq('quiet');
  const missing = uniq('quiet-miss');
  const r = await mc('binary', {
    commands: [
      { op: 'setq', key: k, value: '1' },
      { op: 'addq', key: k, value: 'exists' },
      { op: 'replaceq', key: k, value: '2' },
      { op: 'appendq', key: k, value: '3' },
      { op: 'prependq', key: k, value: '0' },
      { op: 'getq', key: missing },
      { op: 'getkq', key: k },
      { op: 'incrementq', key: k, delta: '1' },
      { op: 'decrementq', key: k, delta: '3' },
      { op: 'gatq', key: k, exptime: 100 },
      { op: 'gatkq', key: missing, exptime: 100 },
      { op: 'deleteq', key: missing },
      { op: 'deleteq', key: k },
      { op: 'getq', key: k },
    ],
  });
  const answered = r.results.map((x: { answered: boolean; status: number | null }) => (x.answered ? x.status : 'quiet'));
  assert.deepEqual(answered, ['quiet', 2, 'quiet', 'quiet', 'quiet', 'quiet', 0, 'quiet', 'quiet', 0, 'quiet', 1, 'quiet', 'quiet']);
  assert.deepEqual(r.results[6].value, { text: '023' });
  assert.deepEqual(r.results[9].value, { text: '21' }, '023 + 1 - 3, written back without the leading zero');
  // stat: a statistics group over the binary protocol; flushq then nothing left
  const s = await mc('binary', { commands: [{ op: 'stat' }, { op: 'stat', key: 'settings' }] });
  assert.equal(s.results[0].stats.version, version);
  assert.ok(Number(s.results[0].stats.curr_connections) >= 1);
  assert.equal(s.results[1].stats.binding_protocol, 'auto-negotiate');
  const bad = await call('memcached', 'binary', { ...target, commands: [{ op: 'get' }] });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /commands\.0\.key/);
  const bad2 = await call('memcached', 'binary', { ...target, commands: [{ op: 'get', key: 'a', value: 'b' }] });
  assert.match(bad2.body.error.message, /commands\.0\.value/);
});

test('memcached: binary commands after SASL PLAIN on the SASL instance; without it the server refuses each in its words', async () => {
  const s = kvFacts.memcachedSasl;
  const k = uniq('sasl-bin');
  const r = await mc('binary', { username: s.user, password: s.password, commands: [{ op: 'set', key: k, value: 'secured' }, { op: 'get', key: k }] }, sasl);
  assert.equal(r.authenticated, true);
  assert.deepEqual(r.results[1].value, { text: 'secured' });
  const anon = await call('memcached', 'binary', { ...sasl, commands: [{ op: 'get', key: k }] });
  assert.equal(anon.body.error.code, 'auth_failed');
  assert.equal(anon.body.error.message, 'Auth failure. (status 0x0020): the server requires SASL and closed the connection');
  const wrong = await call('memcached', 'binary', { ...sasl, username: s.user, password: 'nope', commands: [{ op: 'noop' }] });
  assert.equal(wrong.body.error.code, 'auth_failed');
  const t = await call('memcached', 'binary', { ...sasl, username: s.user, password: s.password, commands: [{ op: 'noop' }] }, { transcript: true });
  assert.ok(!JSON.stringify(t.body.transcript).includes(s.password));
});

test('memcached: every meta flag the server knows, for mg, ms, md and ma', async () => {
  const m = (command: string, key: unknown, flags: string[], value?: unknown) => mc('meta', { command, key, flags, ...(value === undefined ? {} : { value }) });
  const k = uniq('mflags');
  // ms: T ttl, F client flags, c return cas, k return key, O opaque, and the modes of M.
  const set = await m('ms', k, ['T100', 'F5', 'c', 'k', 'O42'], 'mid');
  assert.equal(set.code, 'HD');
  assert.deepEqual([set.returned.k, set.returned.O], [k, '42']);
  const cas = set.returned.c;
  assert.equal((await m('ms', k, ['ME'], 'x')).code, 'NS', 'ME: add only when missing');
  assert.equal((await m('ms', k, ['MA'], '>')).code, 'HD', 'MA: append');
  assert.equal((await m('ms', k, ['MP'], '<')).code, 'HD', 'MP: prepend');
  assert.equal((await m('ms', uniq('none'), ['MR'], 'x')).code, 'NS', 'MR: replace only when present');
  // mg: v value, s size, f flags, t ttl, c cas, k key, O opaque, h hit before, l seconds since last access, u no LRU bump.
  const g1 = await m('mg', k, ['v', 's', 'f', 't', 'k', 'O7', 'h', 'l', 'u']);
  assert.deepEqual(g1.value, { text: '<mid>' });
  assert.deepEqual([g1.returned.s, g1.returned.f, g1.returned.k, g1.returned.O, g1.returned.h], ['5', '5', k, '7', '0']);
  assert.ok(Number(g1.returned.t) > 0 && Number(g1.returned.t) <= 100);
  assert.ok(Number(g1.returned.l) >= 0);
  assert.equal((await m('mg', k, ['h'])).returned.h, '0', 'a read with u does not count as a hit');
  assert.equal((await m('mg', k, ['h'])).returned.h, '1', 'hit before, now that it was read');
  // C compare-and-swap on ms: the cas of the first set is stale after append and prepend.
  assert.equal((await m('ms', k, [`C${cas}`], 'y')).code, 'EX');
  const current = (await m('mg', k, ['c'])).returned.c;
  assert.equal((await m('ms', k, [`C${current}`, 'MS'], 'swapped')).code, 'HD');
  // T on mg touches; q on a hit still answers, on a miss stays quiet (MN).
  assert.equal((await m('mg', k, ['T500', 't'])).returned.t, '500');
  assert.deepEqual((await m('mg', k, ['v', 'q'])).value, { text: 'swapped' });
  assert.equal((await m('mg', uniq('none'), ['v', 'q'])).code, 'MN');
  // N vivifies a miss (W: this client should fill it), the next reader sees Z (someone won already).
  const viv = uniq('viv');
  const w = await m('mg', viv, ['N30', 'v', 't']);
  assert.deepEqual([w.code, 'W' in w.returned, w.returned.t], ['VA', true, '30']);
  assert.ok('Z' in (await m('mg', viv, ['v'])).returned);
  // R: a TTL below the token makes this reader win the recache.
  assert.ok('W' in (await m('mg', k, ['R1000', 'v'])).returned);
  // md: I invalidates (stale, X) with T a new TTL, C compares cas, q quiet, k and O echoed; ms I sets only if stale-able.
  const inv = await m('md', k, ['I', 'T30', 'k', 'O9']);
  assert.deepEqual([inv.code, inv.returned.k, inv.returned.O], ['HD', k, '9']);
  const stale = await m('mg', k, ['v', 'c', 't']);
  assert.ok('X' in stale.returned && 'W' in stale.returned, JSON.stringify(stale.returned));
  assert.equal((await m('md', k, ['C1', 'q'])).code, 'EX', 'q: a failure still answers');
  assert.equal((await m('md', k, ['q'])).code, 'MN', 'q: success stays quiet');
  // b: a binary key, base64 on the wire, returned as its bytes.
  const bin = { base64: Buffer.from([0, 1, 0xfe, 0xff]).toString('base64') };
  assert.equal((await m('ms', bin, ['I'], 'bin')).code, 'HD');
  assert.deepEqual((await m('mg', bin, ['k', 'v'])).key, bin);
  // ma: N vivify with J initial, D delta, MI / M+ increment, MD / M- decrement, T ttl, t, c, v, k, O, q, C.
  const ctr = uniq('mctr');
  const a1 = await m('ma', ctr, ['N0', 'J10', 'D5', 'MI', 'v', 't', 'c', 'k', 'O3']);
  assert.deepEqual([a1.value, a1.returned.t, a1.returned.k, a1.returned.O], [{ text: '10' }, '-1', ctr, '3']);
  assert.deepEqual((await m('ma', ctr, ['M+', 'D5', 'v'])).value, { text: '15' });
  const a3 = await m('ma', ctr, ['M-', 'D3', 'v', 'T99', 't']);
  assert.deepEqual([a3.value, a3.returned.t], [{ text: '12' }, '99']);
  assert.equal((await m('ma', ctr, [`C${a1.returned.c}`, 'v'])).code, 'EX');
  assert.equal((await m('ma', ctr, ['q'])).code, 'MN');
  assert.deepEqual((await m('ma', ctr, ['MD', 'D100', 'v'])).value, { text: '0' }, 'decrement stops at 0');
  // A flag this server does not know: its own words.
  const unknown = await call('memcached', 'meta', { ...target, command: 'md', key: k, flags: ['x'] });
  assert.equal(unknown.body.error.code, 'server_error');
  assert.match(unknown.body.error.message, /CLIENT_ERROR invalid or duplicate flag/);
});

test('memcached: text-protocol authentication (-Y): commands run after it; a wrong password is auth_failed in the server\'s words', async () => {
  const a = kvFacts.memcachedAsciiAuth;
  const auth = { host: '127.0.0.1', port: a.port, username: a.user, password: a.password };
  const k = uniq('ascii-auth');
  assert.deepEqual(await mc('set', { key: k, value: 'behind a password' }, auth), { stored: true, response: 'STORED' });
  assert.deepEqual((await mc('get', { keys: [k] }, auth)).items.map((i: { value: { text: string } }) => i.value.text), ['behind a password']);
  assert.equal((await mc('version', {}, auth)).version, version);
  const wrong = await call('memcached', 'version', { ...auth, password: 'wrong' });
  assert.equal(wrong.body.error.code, 'auth_failed');
  assert.equal(wrong.body.error.message, 'CLIENT_ERROR authentication failure');
  const none = await call('memcached', 'version', { host: '127.0.0.1', port: a.port });
  assert.equal(none.body.error.code, 'server_error');
  assert.match(none.body.error.message, /CLIENT_ERROR unauthenticated/);
  const t = await call('memcached', 'version', auth, { transcript: true });
  assert.ok(!JSON.stringify(t.body.transcript).includes(a.password));
});
