import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromHex, toHex, utf8 } from '../../core/bytes.ts';
import { sequence, octetString, integer, enumerated, tlv } from '../../core/ber.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import {
  bindRequest,
  decodeMessage,
  decodePagedResults,
  encodeMessage,
  messageFrame,
  pagedResultsControl,
  searchRequest,
  passwordModifyValue,
  decodePasswordModifyResponse,
} from './codec.ts';
import { encodeFilter, filterError, filterToString, parseFilter, FilterSyntaxError } from './filter.ts';
import { entryToLdif, toCsv, toLdif } from './ldif.ts';
import { parseAttributeType, parseObjectClass } from './schema.ts';
import { parseLdapUrl } from './search.ts';

const hex = (b: Uint8Array) => toHex(b);

test('filters: the examples of RFC 4515 §4 parse and print back', () => {
  const examples = [
    '(cn=Babs Jensen)',
    '(!(cn=Tim Howes))',
    '(&(objectClass=Person)(|(sn=Jensen)(cn=Babs J*)))',
    '(o=univ*of*mich*)',
    '(seeAlso=)',
    '(cn:caseExactMatch:=Fred Flintstone)',
    '(cn:=Betty Rubble)',
    '(sn:dn:2.4.6.8.10:=Barney Rubble)',
    '(o:dn:=Ace Industry)',
    '(:1.2.3:=Wilma Flintstone)',
    '(:DN:2.4.6.8.10:=Dino)',
  ];
  for (const f of examples) assert.equal(filterToString(parseFilter(f)), f.replace(':DN:', ':dn:'), f);
  assert.equal(filterToString(parseFilter('(o=Parens R Us \\28for all your parenthetical needs\\29)')), '(o=Parens R Us \\28for all your parenthetical needs\\29)');
  const star = parseFilter('(cn=*\\2A*)');
  assert.deepEqual(star, { type: 'substrings', attribute: 'cn', initial: undefined, any: [utf8('*')], final: undefined });
  assert.deepEqual(parseFilter('(filename=C:\\5cMyFile)'), { type: 'equal', attribute: 'filename', value: utf8('C:\\MyFile') });
  assert.deepEqual(parseFilter('(sn=Lu\\c4\\8di\\c4\\87)'), { type: 'equal', attribute: 'sn', value: utf8('Lučić') });
  assert.deepEqual(parseFilter('(1.3.6.1.4.1.1466.0=\\04\\02\\48\\69)'), { type: 'equal', attribute: '1.3.6.1.4.1.1466.0', value: Uint8Array.of(4, 2, 0x48, 0x69) });
  assert.deepEqual(parseFilter('(sn=Lučić)'), { type: 'equal', attribute: 'sn', value: utf8('Lučić') });
});

test('filters: encoded as RFC 4511 §4.5.1.7 says, nothing widened', () => {
  // equalityMatch [3] { "cn", "Babs Jensen" }
  assert.equal(hex(encodeFilter(parseFilter('(cn=Babs Jensen)'))), 'a311' + '0402636e' + '040b42616273204a656e73656e');
  // substrings [4] { "o", { initial "univ", any "of", any "mich" } } — the trailing * adds no final
  assert.equal(hex(encodeFilter(parseFilter('(o=univ*of*mich*)'))), 'a415' + '04016f' + '3010' + '8004756e6976' + '81026f66' + '81046d696368');
  // present [7] "cn"; not [2] { equality }; and [0] { ... } ; or [1]
  assert.equal(hex(encodeFilter(parseFilter('(cn=*)'))), '8702636e');
  assert.equal(hex(encodeFilter(parseFilter('(!(a=b))'))), 'a208' + 'a306040161040162');
  assert.equal(hex(encodeFilter(parseFilter('(&(a=b)(|(c>=1)(d<=2)(e~=3)))'))), 'a022' + 'a306040161040162' + 'a118' + 'a506040163040131' + 'a606040164040132' + 'a806040165040133');
  // extensibleMatch [9] { matchingRule [1] "2.4.6.8.10", type [2] "sn", matchValue [3] "x", dnAttributes [4] TRUE }
  assert.equal(hex(encodeFilter(parseFilter('(sn:dn:2.4.6.8.10:=x)'))), 'a916' + '810a322e342e362e382e3130' + '8202736e' + '830178' + '8401ff');
  // the empty AND of RFC 4526 (absolute true)
  assert.equal(hex(encodeFilter(parseFilter('(&)'))), 'a000');
  // (cn=a*) is initial only; (cn=*a) final only; (cn=a*b*c) initial, any, final
  assert.deepEqual(parseFilter('(cn=a*)'), { type: 'substrings', attribute: 'cn', initial: utf8('a'), any: [], final: undefined });
  assert.deepEqual(parseFilter('(cn=*a)'), { type: 'substrings', attribute: 'cn', initial: undefined, any: [], final: utf8('a') });
  assert.deepEqual(parseFilter('(cn=a*b*c)'), { type: 'substrings', attribute: 'cn', initial: utf8('a'), any: [utf8('b')], final: utf8('c') });
  assert.deepEqual(parseFilter('(cn;lang-en=x)'), { type: 'equal', attribute: 'cn;lang-en', value: utf8('x') });
});

test('filters: malformed ones are refused naming the 1-based position', () => {
  const cases: [string, number, RegExp][] = [
    ['cn=a', 1, /expected '\('/],
    ['(cn=a', 6, /ends where '\)' was expected/],
    ['(&(cn=a)(sn=b)', 15, /ends where '\)'/],
    ['(cn=a\\zz)', 6, /two hex digits/],
    ['(cn=a\\4)', 6, /two hex digits/],
    ['(cn=a(b)', 6, /unescaped '\('/],
    ['(=a)', 2, /attribute description/],
    ['(cn~a)', 5, /'=' after '~'/],
    ['(cn=a**b)', 7, /two '\*'/],
    ['(cn>=a*)', 7, /'\*' in a >= value/],
    ['(cn=a))', 7, /unexpected "\)" after the end/],
    ['(:=x)', 2, /needs a matching rule/],
    ['(cn:dn:=x*)', 10, /'\*' in an extensible/],
    ['(01.2=x)', 2, /leading zero/],
    ['', 1, /empty filter/],
    ['(|(a=1)(!b=2))', 10, /expected '\('/],
  ];
  for (const [text, position, message] of cases) {
    assert.throws(() => parseFilter(text), (e: unknown) => e instanceof FilterSyntaxError && e.position === position && message.test(e.message) && e.code === 'invalid_input', `${text}: ${filterError(text)?.message}`);
  }
  assert.equal(filterError('(cn=ok)'), null);
  assert.match(filterError('(cn=a')!.message, /at position 6$/);
  let deep = '';
  for (let i = 0; i < 100; i++) deep += '(!';
  assert.throws(() => parseFilter(`${deep}(a=b)${')'.repeat(100)}`), /nested deeper than 64/);
});

test('filters: any printable filter that parses prints back to one that parses to the same thing (property)', () => {
  const attr = fc.constantFrom('cn', 'sn', 'mail', '2.5.4.3', 'cn;lang-de');
  const val = fc.uint8Array({ minLength: 1, maxLength: 8 });
  const leaf = fc.oneof(
    fc.record({ type: fc.constantFrom('equal', 'approx', 'greaterOrEqual', 'lessOrEqual'), attribute: attr, value: val }),
    fc.record({ type: fc.constant('present'), attribute: attr }),
    fc.record({ type: fc.constant('substrings'), attribute: attr, initial: fc.option(val, { nil: undefined }), any: fc.array(val, { maxLength: 3 }), final: fc.option(val, { nil: undefined }) }).filter((f) => f.initial !== undefined || f.any.length > 0 || f.final !== undefined),
  );
  const tree = fc.letrec((tie) => ({
    node: fc.oneof({ depthSize: 'small' }, leaf, fc.record({ type: fc.constantFrom('and', 'or'), filters: fc.array(tie('node'), { minLength: 1, maxLength: 3 }) }), fc.record({ type: fc.constant('not'), filter: tie('node') })),
  })).node;
  fc.assert(
    fc.property(tree, (f) => {
      const text = filterToString(f as never);
      assert.deepEqual(hex(encodeFilter(parseFilter(text))), hex(encodeFilter(f as never)));
    }),
    { numRuns: 300 },
  );
  fc.assert(fc.property(fc.string({ maxLength: 40 }), (s) => {
    try {
      parseFilter(s);
    } catch (e) {
      if (!(e instanceof FilterSyntaxError)) throw e;
    }
  }), { numRuns: 1000 });
});

// BindResponse success for message 1, as OpenLDAP sends it.
const BIND_OK = fromHex('300c02010161070a010004000400');
// SearchResultEntry for message 2: dn "cn=a,dc=x" with cn: a, jpegPhoto: ff d8 (binary)
const ENTRY = sequence([
  integer(2),
  sequence(
    [
      octetString('cn=a,dc=x'),
      sequence([sequence([octetString('cn'), sequence([octetString('a')], 17)]), sequence([octetString('jpegPhoto'), sequence([octetString(Uint8Array.of(0xff, 0xd8))], 17)])]),
    ],
    4,
    'application',
  ),
]);
// SearchResultDone with a paged-results response control carrying cookie "ck".
const DONE = sequence([
  integer(2),
  sequence([enumerated(0), octetString(''), octetString('')], 5, 'application'),
  sequence([sequence([octetString('1.2.840.113556.1.4.319'), octetString(sequence([integer(0), octetString('ck')]))])], 0, 'context'),
]);
// An invalidCredentials BindResponse with the server's diagnostic.
const BIND_49 = sequence([integer(1), sequence([enumerated(49), octetString(''), octetString('bad password')], 1, 'application')]);
// A referral result with one URL.
const REFERRAL = sequence([integer(3), sequence([enumerated(10), octetString(''), octetString(''), sequence([octetString('ldap://10.0.0.1/dc=x')], 3, 'context')], 5, 'application')]);

test('messages: golden responses decode, whole, byte by byte and at random splits', () => {
  const all = new Uint8Array([...BIND_OK, ...ENTRY, ...DONE, ...BIND_49, ...REFERRAL]);
  const frames = assertSplitFeed(messageFrame(), all);
  const msgs = frames.map(decodeMessage);
  assert.deepEqual(msgs[0], { id: 1, controls: [], response: { op: 'BindResponse', result: { code: 0, name: 'success', matchedDN: '', diagnosticMessage: '', referrals: [] }, serverSaslCreds: undefined } });
  const e = msgs[1].response;
  assert.equal(e.op, 'SearchResultEntry');
  if (e.op === 'SearchResultEntry') {
    assert.equal(e.dn, 'cn=a,dc=x');
    assert.deepEqual(e.attributes.map((a) => [a.type, a.values.map(hex)]), [['cn', ['61']], ['jpegPhoto', ['ffd8']]]);
  }
  assert.equal(msgs[2].response.op, 'SearchResultDone');
  assert.deepEqual(decodePagedResults(msgs[2].controls[0].value!), { size: 0, cookie: utf8('ck') });
  const bad = msgs[3].response;
  assert.ok(bad.op === 'BindResponse' && bad.result.code === 49 && bad.result.name === 'invalidCredentials' && bad.result.diagnosticMessage === 'bad password');
  const ref = msgs[4].response;
  assert.ok(ref.op === 'SearchResultDone' && ref.result.name === 'referral');
  assert.deepEqual(ref.op === 'SearchResultDone' && ref.result.referrals, ['ldap://10.0.0.1/dc=x']);
});

test('messages: requests encode as RFC 4511 lays them out', () => {
  // BindRequest v3 "cn=admin" simple "secret"
  assert.equal(hex(encodeMessage(1, bindRequest({ type: 'simple', dn: 'cn=admin', password: utf8('secret') }))), '301a02010160150201030408636e3d61646d696e8006736563726574');
  // SASL EXTERNAL with no credentials-less authzid: [3] { "EXTERNAL", "" }
  assert.equal(hex(bindRequest({ type: 'sasl', dn: '', mechanism: 'EXTERNAL', credentials: new Uint8Array(0) })), '601302010304' + '00' + 'a30c' + '0408' + hex(utf8('EXTERNAL')) + '0400');
  const search = searchRequest({ base: 'dc=x', scope: 'one', deref: 'never', sizeLimit: 5, timeLimit: 0, typesOnly: false, filter: parseFilter('(cn=*)'), attributes: ['cn', 'mail'] });
  assert.equal(hex(search), '6325' + '040464633d78' + '0a0101' + '0a0100' + '020105' + '020100' + '010100' + '8702636e' + '300a0402636e04046d61696c');
  const paged = encodeMessage(2, search, [pagedResultsControl(500, new Uint8Array(0))]);
  const frames = assertSplitFeed(messageFrame(), paged);
  assert.equal(frames.length, 1);
  assert.ok(hex(paged).endsWith('a0' + '24' + '3022' + '0416' + hex(utf8('1.2.840.113556.1.4.319')) + '0408' + '3006' + '020201f4' + '0400'));
  // PasswdModifyRequestValue { userIdentity [0] "u", newPasswd [2] "n" }; response { genPasswd [0] "A" }
  assert.equal(hex(passwordModifyValue({ user: 'u', newPassword: utf8('n') })), '3006' + '800175' + '82016e');
  assert.deepEqual(decodePasswordModifyResponse(fromHex('3003800141')), utf8('A'));
  assert.equal(decodePasswordModifyResponse(fromHex('3000')), undefined);
});

test('hostile servers: a 2^31 length and 10,000-deep nesting are protocol errors at once', () => {
  const frame = messageFrame();
  // SEQUENCE with a four-octet length of 2^31: refused from the header alone, nothing buffered or allocated.
  assert.throws(() => frame(fromHex('3084800000000201')), (e: unknown) => e instanceof ProtocolError && /2147483648 bytes exceeds/.test(e.message));
  // 10,000 nested SEQUENCEs inside a SearchResultEntry's attribute list.
  const depth = 10_000;
  // Build from the inside out with long-form lengths; total stays small (about 60 KB).
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let i = 0; i < depth; i++) {
    const len = size;
    const head = len < 128 ? [0x30, len] : len < 256 ? [0x30, 0x81, len] : len < 65536 ? [0x30, 0x82, len >> 8, len & 255] : [0x30, 0x83, len >> 16, (len >> 8) & 255, len & 255];
    chunks.push(Uint8Array.from(head));
    size += head.length;
  }
  const nested = new Uint8Array(size);
  let at = 0;
  for (let i = chunks.length - 1; i >= 0; i--) {
    nested.set(chunks[i], at);
    at += chunks[i].length;
  }
  const msg = sequence([integer(2), tlv(4, new Uint8Array([...octetString('dc=x'), ...nested]), 'application', true)]);
  const got = frame(msg);
  assert.ok(got);
  // The decoder reads LDAP's fixed structure, never recursing on what the server sends: the first misplaced level is the error.
  const t0 = performance.now();
  assert.throws(() => decodeMessage(got!.value), (e: unknown) => e instanceof ProtocolError && /PartialAttribute/.test(e.message));
  assert.ok(performance.now() - t0 < 50);
  // Not an LDAPMessage at all.
  assert.throws(() => frame(fromHex('0a0100')), /expected a SEQUENCE/);
});

test('messages: decoders survive fuzz (return, ask for more, or ProtocolError)', () => {
  const frame = messageFrame(1 << 20);
  const decodeAll = (buf: Uint8Array) => {
    const f = frame(buf);
    if (f) decodeMessage(f.value);
    return f;
  };
  assertFuzzSafe(decodeAll, { seeds: [BIND_OK, ENTRY, DONE, BIND_49, REFERRAL], numRuns: 2000 });
});

test('LDIF: safe strings plain, the rest base64, long lines folded; CSV quotes', () => {
  const e = { dn: 'uid=alice,ou=people,dc=example,dc=org', attributes: { cn: ['Alice Ng'], description: [' leading space', 'Grüße', 'x'.repeat(100)], jpegPhoto: ['/9g='] }, binary: ['jpegPhoto'] };
  const ldif = entryToLdif(e);
  const lines = ldif.split('\n');
  assert.equal(lines[0], 'dn: uid=alice,ou=people,dc=example,dc=org');
  assert.equal(lines[1], 'cn: Alice Ng');
  assert.equal(lines[2], `description:: ${Buffer.from(' leading space').toString('base64')}`);
  assert.equal(lines[3], `description:: ${Buffer.from('Grüße').toString('base64')}`);
  assert.equal(lines[4].length, 76);
  assert.ok(lines[5].startsWith(' x'));
  assert.equal(lines[6], 'jpegPhoto:: /9g=');
  assert.ok(toLdif([e], { version: true }).startsWith('version: 1\n\ndn: '));
  assert.equal(toCsv([e], ['cn', 'description']), `dn,cn,description\r\n"uid=alice,ou=people,dc=example,dc=org",Alice Ng, leading space; Grüße; ${'x'.repeat(100)}\r\n`);
});

test('schema descriptions (RFC 4512 §4.1) and LDAP URLs (RFC 4516)', () => {
  const oc = parseObjectClass("( 2.5.6.6 NAME 'person' DESC 'RFC2256: a person' SUP top STRUCTURAL MUST ( sn $ cn ) MAY ( userPassword $ telephoneNumber $ seeAlso $ description ) )");
  assert.deepEqual(oc, { oid: '2.5.6.6', names: ['person'], description: 'RFC2256: a person', superior: ['top'], kind: 'STRUCTURAL', must: ['sn', 'cn'], may: ['userPassword', 'telephoneNumber', 'seeAlso', 'description'], obsolete: false });
  const at = parseAttributeType("( 2.5.4.3 NAME ( 'cn' 'commonName' ) DESC 'RFC4519: common name(s) for which the entity is known by' SUP name )");
  assert.deepEqual([at.names, at.superior, at.singleValue], [['cn', 'commonName'], 'name', false]);
  const uid = parseAttributeType("( 1.3.6.1.1.1.1.0 NAME 'uidNumber' EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )");
  assert.deepEqual([uid.equality, uid.ordering, uid.syntax, uid.singleValue], ['integerMatch', 'integerOrderingMatch', '1.3.6.1.4.1.1466.115.121.1.27', true]);
  const op = parseAttributeType("( 2.5.18.1 NAME 'createTimestamp' EQUALITY generalizedTimeMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.24 SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )");
  assert.deepEqual([op.noUserModification, op.usage], [true, 'directoryOperation']);
  assert.deepEqual(parseLdapUrl('ldap://ldap.example.com:3389/ou=x,dc=example,dc=com??one?(cn=a%20b)'), { tls: 'off', host: 'ldap.example.com', port: 3389, dn: 'ou=x,dc=example,dc=com', scope: 'one', filter: '(cn=a b)' });
  assert.deepEqual(parseLdapUrl('ldaps://[::1]/dc=x'), { tls: 'implicit', host: '::1', port: 636, dn: 'dc=x', scope: undefined, filter: undefined });
  assert.throws(() => parseLdapUrl('http://x/'), ProtocolError);
});
