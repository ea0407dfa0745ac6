// Codec tests: golden packets (annotated), compression both ways, every record type against BIND's own
// presentation of the lab zone, EDNS options from real servers, split feed, fuzz with compression loops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { fromHex, toHex } from '../../core/bytes.ts';
import { InvalidInput, PortolanError, ProtocolError } from '../../core/errors.ts';
import { FrameDecoder } from '../../core/framing.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { buildQuery, decodeMessage, encodeMessage, frameTcp, recordText, tcpMessageFrame, type DnsMessage, type DnsRecord } from './codec.ts';
import { labelsToText, parseName, readName } from './names.ts';
import { charStringToText, keyTag, rdataText, textToCharString, toBase32Hex, fromBase32Hex, typeCode } from './rdata.ts';
import { decodeMdns, llmnrFlags, mdnsQuery, reverseName } from './mdns.ts';

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));

/** Hex with comments: `#` to end of line is dropped. */
function annotated(text: string): Uint8Array {
  return fromHex(text.replace(/#[^\n]*/g, ''));
}

// Golden packets

const QUERY = annotated(`
  12 34        # ID 0x1234
  01 20        # QR=0 OPCODE=QUERY RD=1 | AD=1
  00 01 00 00 00 00 00 01   # QDCOUNT 1, ARCOUNT 1 (the OPT record)
  07 6578616d706c65 03 6f7267 00   # example.org.
  00 0f 00 01  # MX IN
  00           # OPT owner: the root
  00 29        # TYPE OPT (41)
  04 d0        # CLASS = UDP payload 1232
  00 00 80 00  # TTL: extended RCODE 0, version 0, DO=1
  00 04        # RDLENGTH 4
  00 03 00 00  # NSID, empty (RFC 5001)
`);

test('golden query: MX example.org with DO and NSID', () => {
  const built = buildQuery({ id: 0x1234, name: 'example.org', type: 'MX', rd: true, ad: true, edns: { udpSize: 1232, do: true, nsid: true } });
  assert.equal(toHex(built), toHex(QUERY));
  const m = decodeMessage(QUERY);
  assert.equal(m.id, 0x1234);
  assert.equal(m.qr, false);
  assert.deepEqual(m.questions, [{ name: 'example.org.', type: 'MX', class: 'IN' }]);
  assert.equal(m.flags.rd, true);
  assert.equal(m.flags.ad, true);
  assert.deepEqual(m.edns, { udpSize: 1232, version: 0, do: true, z: 0, options: [{ code: 3, name: 'NSID', data: { text: '' }, hex: '' }] });
});

// A response in which every name after the question is compressed.
const RESPONSE = annotated(`
  12 34 81 80  # ID, QR RD | RA, NOERROR
  00 01 00 02 00 00 00 01  # 1 question, 2 answers, 1 additional
  07 6578616d706c65 03 6f7267 00  00 0f 00 01   # @12 example.org. MX IN
  c0 0c 00 0f 00 01 00 00 0e 10 00 09   # @29 answer 1: name -> 12, MX IN TTL 3600, RDLENGTH 9
  00 0a 04 6d61696c c0 0c               # @41 pref 10, mail + pointer to example.org. (mail.example.org. @43)
  c0 0c 00 0f 00 01 00 00 0e 10 00 08   # @50 answer 2
  00 14 03 6d7832 c0 0c                 # pref 20, mx2.example.org.
  c0 2b 00 01 00 01 00 00 0e 10 00 04   # additional: name -> 43 (mail.example.org.), A IN
  c0 00 02 01                           # 192.0.2.1
`);

test('golden response: pointers to the question and into RDATA decode, and our encoder makes the same bytes', () => {
  const m = decodeMessage(RESPONSE);
  assert.equal(m.rcode, 'NOERROR');
  assert.deepEqual(
    m.answers.map((a) => [a.name, a.type, a.ttl, a.data]),
    [
      ['example.org.', 'MX', 3600, { preference: 10, exchange: 'mail.example.org.' }],
      ['example.org.', 'MX', 3600, { preference: 20, exchange: 'mx2.example.org.' }],
    ],
  );
  assert.deepEqual(m.additional, [{ name: 'mail.example.org.', type: 'A', class: 'IN', ttl: 3600, data: { address: '192.0.2.1' } }]);
  const again = encodeMessage({ id: m.id, qr: true, flags: m.flags, questions: m.questions, answers: m.answers, additional: m.additional });
  assert.equal(toHex(again), toHex(RESPONSE), 'compression on encode picks the same pointers');
});

test('compression on encode: a repeated suffix is written once and every later use points at it', () => {
  const rr = (name: string, host: string): DnsRecord => ({ name, type: 'NS', class: 'IN', ttl: 60, data: { host } });
  const answers = [rr('a.b.example.', 'ns1.b.example.'), rr('c.b.example.', 'ns2.b.example.'), rr('b.example.', 'ns1.b.example.')];
  const wire = encodeMessage({ id: 1, qr: true, questions: [{ name: 'b.example.', type: 'NS', class: 'IN' }], answers });
  const plain = 12 + 11 + 4 + answers.reduce((n, a) => n + 11 + (a.name.length + 1) + (String(a.data.host).length + 1), 0);
  assert.ok(wire.length < plain - 40, `compressed ${wire.length} vs ${plain}`);
  assert.deepEqual(decodeMessage(wire).answers, answers);
  // The third answer's owner is exactly the question name: one pointer to offset 12.
  assert.ok(toHex(wire).includes('c00c0002000100'), 'owner of the third answer is a pointer to the question');
  // A name that is not compressible on the wire (SRV target, RFC 2782) is still written in full.
  const srv = encodeMessage({ id: 1, questions: [{ name: 'x.example.', type: 'SRV', class: 'IN' }], answers: [{ name: 'x.example.', type: 'SRV', class: 'IN', ttl: 1, data: { priority: 1, weight: 2, port: 3, target: 'x.example.' } }] });
  assert.ok(toHex(srv).endsWith('000100020003' + '0178076578616d706c6500'));
});

test('golden RDATA of the newer types, byte for byte', () => {
  const cases: [string, Record<string, unknown>, string, string][] = [
    ['CAA', { flags: 128, tag: 'issue', value: 'ca.example' }, '80 05 6973737565 63612e6578616d706c65', '128 issue "ca.example"'],
    ['SSHFP', { algorithm: 4, fingerprintType: 2, fingerprint: 'ABCD' }, '04 02 abcd', '4 2 ABCD'],
    ['TLSA', { usage: 3, selector: 1, matchingType: 1, data: '00FF' }, '03 01 01 00ff', '3 1 1 00FF'],
    ['DS', { keyTag: 60485, algorithm: 5, digestType: 1, digest: '2BB183AF' }, 'ec45 05 01 2bb183af', '60485 5 1 2BB183AF'],
    ['NSEC3PARAM', { hashAlgorithm: 1, flags: 0, iterations: 0, salt: '-' }, '01 00 0000 00', '1 0 0 -'],
    // SVCB: priority 1, target "." (root), mandatory=alpn, alpn=h2, port=443, ipv4hint=192.0.2.1
    ['SVCB', { priority: 1, target: '.', params: [{ key: 'mandatory', value: ['alpn'] }, { key: 'alpn', value: ['h2'] }, { key: 'port', value: 443 }, { key: 'ipv4hint', value: ['192.0.2.1'] }] },
      '0001 00  0000 0002 0001  0001 0003 02 6832  0003 0002 01bb  0004 0004 c0000201', '1 . mandatory=alpn alpn="h2" port=443 ipv4hint=192.0.2.1'],
    ['NAPTR', { order: 100, preference: 10, flags: 'S', services: 'SIP+D2T', regexp: '', replacement: '_sip._tcp.example.' },
      '0064 000a 01 53 07 5349502b443254 00 045f736970 045f746370 076578616d706c65 00', '100 10 "S" "SIP+D2T" "" _sip._tcp.example.'],
    ['NSEC', { nextDomain: 'host.example.com.', types: ['A', 'MX', 'RRSIG', 'NSEC', 'TYPE1234'] },
      // RFC 4034 §4.3's example bitmap: window 0 (A MX RRSIG NSEC), window 4 (TYPE1234)
      '04686f7374 076578616d706c65 03636f6d 00  00 06 40 01 00 00 00 03  04 1b 000000000000000000000000000000000000000000000000000020', 'host.example.com. A MX RRSIG NSEC TYPE1234'],
  ];
  for (const [type, data, hex, text] of cases) {
    const rr: DnsRecord = { name: 'example.', type, class: 'IN', ttl: 0, data };
    const wire = encodeMessage({ id: 0, answers: [rr] });
    const rdata = wire.subarray(12 + 1 + 8 + 2 + 8);
    assert.equal(toHex(rdata), toHex(annotated(hex)), `${type} RDATA`);
    const back = decodeMessage(wire).answers[0];
    assert.equal(rdataText(type, back.data), text, `${type} text`);
  }
});

// Every record type, from a real server: BIND's AXFR of the lab zone against BIND's own zone-file output.

/** BIND splits long hex and base64 fields with spaces; join them so one line compares with ours. */
function normalizeBindLine(line: string): string {
  const m = /^(\S+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(.*)$/.exec(line.trim());
  if (!m) throw new Error(`unexpected zone line ${line}`);
  const [, name, ttl, cls, type, rdata] = m;
  const fixed: Record<string, number> = { DS: 3, CDS: 3, SSHFP: 2, TLSA: 3, DNSKEY: 3, CDNSKEY: 3, RRSIG: 8 };
  let text = rdata.trim();
  if (type in fixed) {
    const tokens = text.split(/\s+/);
    text = [...tokens.slice(0, fixed[type]), tokens.slice(fixed[type]).join('')].join(' ');
  }
  return `${name}\t${ttl}\t${cls}\t${type}\t${text}`;
}

function zoneLines(file: string): string[] {
  return readFileSync(new URL(`./fixtures/${file}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith(';'))
    .map(normalizeBindLine);
}

function decodeStream(bytes: Uint8Array): DnsMessage[] {
  return new FrameDecoder(tcpMessageFrame).feed(bytes).map((v) => v.message);
}

test('AXFR from BIND: every record type decodes to the text BIND prints for its zone file', () => {
  const messages = decodeStream(fixture('axfr-lab.bin'));
  const records = messages.flatMap((m) => m.answers);
  assert.equal(records[0].type, 'SOA');
  assert.equal(records[records.length - 1].type, 'SOA');
  const ours = records.slice(0, -1).map(recordText).sort();
  const bind = zoneLines('axfr-lab.zone').sort();
  assert.deepEqual(ours, bind);
  const types = new Set(records.map((r) => r.type));
  for (const t of ['A', 'AAAA', 'NS', 'SOA', 'MX', 'TXT', 'CNAME', 'SRV', 'NAPTR', 'CAA', 'SSHFP', 'TLSA', 'DS', 'DNSKEY', 'RRSIG', 'NSEC3', 'NSEC3PARAM', 'SVCB', 'HTTPS', 'HINFO', 'TYPE65280']) {
    assert.ok(types.has(t), `fixture holds ${t}`);
  }
  // DNSKEY key tags computed per RFC 4034 Appendix B match the tags RRSIGs name.
  const tags = records.filter((r) => r.type === 'DNSKEY').map((r) => r.data.keyTag);
  const signers = new Set(records.filter((r) => r.type === 'RRSIG').map((r) => r.data.keyTag));
  for (const s of signers) assert.ok(tags.includes(s), `RRSIG key tag ${s} is one of the DNSKEYs' ${tags}`);
});

test('AXFR of the reverse zone: PTR and NSEC with type bitmaps', () => {
  const records = decodeStream(fixture('axfr-reverse.bin')).flatMap((m) => m.answers);
  assert.deepEqual(records.slice(0, -1).map(recordText).sort(), zoneLines('axfr-reverse.zone').sort());
  assert.ok(records.some((r) => r.type === 'NSEC' && (r.data.types as string[]).includes('PTR')));
});

test('every decoded record re-encodes to a message that decodes the same (RDATA round trip)', () => {
  const records = [...decodeStream(fixture('axfr-lab.bin')), ...decodeStream(fixture('axfr-reverse.bin'))].flatMap((m) => m.answers);
  for (const rr of records) {
    const wire = encodeMessage({ id: 7, qr: true, answers: [rr] });
    assert.deepEqual(decodeMessage(wire).answers[0], rr, `${rr.name} ${rr.type}`);
  }
});

test('split feed: a zone transfer stream decodes the same one byte at a time and at random cuts', () => {
  const bytes = fixture('axfr-reverse.bin');
  const all = assertSplitFeed(tcpMessageFrame, bytes);
  assert.ok(all.length >= 1);
  assertSplitFeed(tcpMessageFrame, fixture('ixfr-lab.bin'));
  assertSplitFeed(tcpMessageFrame, frameTcp(RESPONSE));
});

test('EDNS from real servers: NSID, cookies, extended DNS errors, NSEC3 denial', () => {
  const [bind] = decodeStream(fixture('bind-mx-nsid-cookie.bin'));
  assert.equal(bind.rcode, 'NOERROR');
  assert.equal(bind.flags.aa, true);
  const opt = (m: DnsMessage, name: string) => m.edns!.options.find((o) => o.name === name)!;
  assert.equal(opt(bind, 'NSID').data.text, 'portolan-lab-bind');
  assert.equal(opt(bind, 'COOKIE').data.client, '0102030405060708');
  assert.match(String(opt(bind, 'COOKIE').data.server), /^[0-9a-f]{16,64}$/);
  assert.ok(bind.answers.some((a) => a.type === 'RRSIG' && a.data.typeCovered === 'MX'), 'DO brought the signature');

  const [servfail] = decodeStream(fixture('unbound-servfail-ede.bin'));
  assert.equal(servfail.rcode, 'SERVFAIL');
  assert.equal(opt(servfail, 'NSID').data.text, 'portolan-lab-unbound');
  const ede = opt(servfail, 'EDE').data;
  assert.equal(ede.infoCode, 9);
  assert.equal(ede.purpose, 'DNSKEY Missing');
  assert.match(String(ede.extraText), /bogus\.portolan\.test/);

  const [nx] = decodeStream(fixture('unbound-nxdomain-nsec3.bin'));
  assert.equal(nx.rcode, 'NXDOMAIN');
  assert.equal(nx.flags.ad, true);
  assert.ok(nx.authority.filter((a) => a.type === 'NSEC3').length >= 2, 'NSEC3 records prove the denial');
});

test('extended RCODE: the OPT TTL holds the upper 8 bits (BADVERS = 16)', () => {
  const wire = encodeMessage({ id: 9, qr: true, rcode: 'BADVERS', edns: { udpSize: 1232 } });
  assert.equal(wire[3] & 0x0f, 0, 'header keeps the low 4 bits (0)');
  assert.equal(decodeMessage(wire).rcode, 'BADVERS');
});

test('client subnet, cookie and padding options encode per their RFCs', () => {
  const wire = buildQuery({ id: 1, name: 'a.example', type: 'A', edns: { clientSubnet: '192.0.2.77/24', cookie: '0011223344556677', padBlock: 128 } });
  assert.equal(wire.length % 128, 0, 'padded to a multiple of 128 (RFC 8467 §4.1)');
  const e = decodeMessage(wire).edns!;
  assert.deepEqual(e.options.find((o) => o.name === 'CLIENT-SUBNET')!.data, { family: 4, subnet: '192.0.2.0/24', scopePrefix: 0 });
  assert.equal(e.options.find((o) => o.name === 'CLIENT-SUBNET')!.hex, '00011800C00002');
  assert.equal(e.options.find((o) => o.name === 'COOKIE')!.data.client, '0011223344556677');
  assert.ok(e.options.some((o) => o.name === 'PADDING'));
  assert.throws(() => buildQuery({ id: 1, name: 'a', type: 'A', edns: { clientSubnet: 'nope' } }), (e: InvalidInput) => e.code === 'invalid_input' && /clientSubnet/.test(e.message));
});

// Names

test('names: escapes round-trip, case is kept, limits name the field', () => {
  const labels = parseName('a\\.b.c\\032d.\\\\x.example');
  assert.deepEqual(labels.map((l) => l.length), [3, 3, 2, 7]);
  assert.equal(labelsToText(labels), 'a\\.b.c\\032d.\\\\x.example.');
  assert.equal(labelsToText(parseName('MiXeD.Example.')), 'MiXeD.Example.');
  assert.equal(labelsToText(parseName('bücher.example')), 'xn--bcher-kva.example.');
  const bad = (text: string, pattern: RegExp) =>
    assert.throws(() => parseName(text, 'name'), (e: PortolanError) => e instanceof InvalidInput && /^name: /.test(e.message) && pattern.test(e.message), text);
  bad('a'.repeat(64) + '.example', /at most 63/);
  bad(Array(130).fill('ab').join('.'), /at most 255/);
  bad('a..b', /empty label/);
  bad('.a', /empty label/);
  bad('a b', /space or control/);
  bad('a\\999', /not a byte/);
  // 255 octets exactly is allowed: 4 labels of 63 = 4*64 = 256 > 255; 3*64 + 62+1 + 1 = 256; use 63,63,63,61.
  const max = [63, 63, 63, 61].map((n) => 'x'.repeat(n)).join('.');
  assert.equal(parseName(max).length, 4);
  assert.throws(() => parseName(max + 'y'), /at most 255/);
});

test('type and class names: mnemonics, TYPEnnn, and invalid_input for anything else', () => {
  assert.equal(typeCode('mx'), 15);
  assert.equal(typeCode('TYPE65280'), 65280);
  assert.throws(() => typeCode('BOGUS', 'type'), (e: PortolanError) => e.code === 'invalid_input' && /^type: "BOGUS" is not a record type/.test(e.message));
  assert.throws(() => typeCode('TYPE70000', 'type'), /not a record type/);
});

test('character strings: bytes outside printable ASCII become \\DDD and come back', () => {
  const bytes = Uint8Array.from([0x41, 0x22, 0x5c, 0x09, 0xc3, 0xa9]);
  const text = charStringToText(bytes);
  assert.equal(text, 'A\\"\\\\\\009\\195\\169');
  assert.deepEqual(textToCharString(text), bytes);
  assert.deepEqual(textToCharString('café'), Uint8Array.from([0x63, 0x61, 0x66, 0xc3, 0xa9]));
});

test('base32hex (NSEC3) and key tags', () => {
  const raw = fromHex('0102030405060708090a0b0c0d0e0f1011121314');
  assert.deepEqual(fromBase32Hex(toBase32Hex(raw), 'x'), raw);
  // RFC 4648 §10 test vector: "foobar" -> CPNMUOJ1E8======
  assert.equal(toBase32Hex(new TextEncoder().encode('foobar')), 'CPNMUOJ1E8');
  // RFC 4034 §5.4: the DNSKEY of the example has key tag 60485 (algorithm 5, flags 256).
  const rdata = fromHex(
    '01000305' +
      toHex(
        Uint8Array.from(
          atob('AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw=='),
          (c) => c.charCodeAt(0),
        ),
      ),
  );
  assert.equal(keyTag(rdata), 60485);
});

// Malformed input: typed errors, never a hang

function header(qd: number, an: number): string {
  return `0001 8000 ${qd.toString(16).padStart(4, '0')} ${an.toString(16).padStart(4, '0')} 0000 0000`;
}

test('compression loops and bad pointers end in a ProtocolError naming the field', () => {
  const cases: [string, RegExp][] = [
    [`${header(1, 0)} c00c 0001 0001`, /points forward or at itself/], // pointer to itself
    [`${header(1, 0)} 01 61 c00c 0001 0001`, /points forward or at itself/], // a, then back to the name's own start
    [`${header(1, 0)} c00e 01 61 00 0001 0001`, /points forward/], // forward pointer
    [`${header(1, 1)} 00 0001 0001  c011 0001 0001 00000000 0000`, /points forward or at itself/], // answer owner -> itself
    [`${header(1, 0)} 80 0001 0001`, /label type 0x80/],
    [`${header(1, 0)} 41 00 0001 0001`, /label type 0x40/],
    [`${header(1, 0)} 05 6162 0001 0001`, /runs past the end/],
    [`${header(0, 1)} 00 0001 0001 00000e10 0005 c0000201`, /RDLENGTH 5 runs past|RDATA is 5 octets/],
    [`${header(0, 1)} 00 0001 0001 00000e10 0003 c00002`, /RDATA is 3 octets/],
    [`${header(0, 1)} 00 000f 0001 00000e10 0004 000a c003`, /MX exchange: compression pointer .* points into the header/],
    [`${header(0, 1)} 00 0010 0001 00000e10 0003 05 6162`, /TXT string/],
    [`${header(2, 0)} 00 0001 0001`, /header counts/],
    ['0001 8000 0000', /header alone is 12/],
  ];
  for (const [hex, pattern] of cases) {
    assert.throws(() => decodeMessage(fromHex(hex)), (e: unknown) => e instanceof ProtocolError && pattern.test(e.message), `${hex} -> ${pattern}`);
  }
  // 130 pointers, each pointing at the one before (the first at the root label @12): legal steps, too many.
  const chain: string[] = [header(1, 0), '00'];
  for (let i = 0; i < 130; i++) chain.push((0xc000 | (i === 0 ? 12 : 13 + 2 * (i - 1))).toString(16));
  const bytes = fromHex(chain.join(''));
  assert.equal(readName(bytes, 13 + 2 * 100).labels.length, 0, '101 jumps are fine');
  assert.throws(() => readName(bytes, 13 + 2 * 129), /more than 128 compression pointers/);
});

test('a name longer than 255 octets through pointers is refused', () => {
  // Four 63-octet labels reached through pointers: 4*64+1 = 257 > 255.
  const label = '3f' + '61'.repeat(63);
  // name 1 @12 (ends with 00 @76), name 2 @77 -> 12, name 3 @143 -> 77, name 4 @209 -> 143
  const hex = `${header(0, 0)} ${label} 00 ${label} c00c ${label} c04d ${label} c08f`;
  const bytes = fromHex(hex);
  assert.equal(readName(bytes, 143).labels.length, 3, 'three labels fit');
  assert.throws(() => readName(bytes, 209), /longer than 255/);
});

test('a truncated (TC) UDP answer keeps the whole records and says it is partial', () => {
  const full = encodeMessage({
    id: 5,
    qr: true,
    flags: { tc: true },
    questions: [{ name: 'example.', type: 'TXT', class: 'IN' }],
    answers: [1, 2, 3].map((i) => ({ name: 'example.', type: 'TXT', class: 'IN', ttl: 1, data: { strings: [`record ${i}`] } })),
  });
  const cut = full.subarray(0, full.length - 5);
  const m = decodeMessage(cut);
  assert.equal(m.partial, true);
  assert.equal(m.answers.length, 2);
  // Without TC the same bytes are an error.
  const noTc = cut.slice();
  noTc[2] &= ~0x02;
  assert.throws(() => decodeMessage(noTc), ProtocolError);
});

const seeds = [QUERY, RESPONSE, fixture('bind-mx-nsid-cookie.bin').subarray(2), fixture('unbound-servfail-ede.bin').subarray(2), fixture('unbound-nxdomain-nsec3.bin').subarray(2)];

test('fuzz: the TCP frame decoder throws only ProtocolError on garbage and mutated real answers', () => {
  assertFuzzSafe(tcpMessageFrame, { numRuns: 1500, seeds: [fixture('axfr-reverse.bin'), fixture('bind-mx-nsid-cookie.bin'), frameTcp(RESPONSE)] });
});

test('fuzz: messages full of compression pointers never loop and fail typed', () => {
  const pointerSoup = fc
    .tuple(fc.array(fc.integer({ min: 0, max: 0xff }), { minLength: 0, maxLength: 200 }), fc.array(fc.nat(200), { maxLength: 40 }))
    .map(([body, spots]) => {
      const bytes = Uint8Array.from([0, 1, 0x80, 0, 0, 3, 0, 3, 0, 0, 0, 0, ...body]);
      // Sprinkle pointers (0xC0 xx) at random places, pointing anywhere.
      for (const s of spots) if (12 + s + 1 < bytes.length) bytes[12 + s] = 0xc0 | (bytes[12 + s] & 0x3f);
      return bytes;
    });
  fc.assert(
    fc.property(fc.oneof(pointerSoup, fc.constantFrom(...seeds).chain((s) => fc.tuple(fc.nat(s.length - 1), fc.integer({ min: 0, max: 255 })).map(([i, b]) => {
      const c = s.slice();
      c[i] = b;
      return c;
    }))), (bytes) => {
      try {
        const m = decodeMessage(bytes);
        // Whatever decodes must re-encode without throwing anything but typed errors.
        try {
          encodeMessage({ id: m.id, qr: m.qr, flags: m.flags, questions: m.questions, answers: m.answers, authority: m.authority, additional: m.additional });
        } catch (e) {
          if (!(e instanceof PortolanError)) throw e;
        }
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
    }),
    { numRuns: 3000 },
  );
});

// mDNS, LLMNR, reverse names

test('mDNS: the QU bit in questions and the cache-flush bit in answers (RFC 6762 §18.12–13)', () => {
  const q = mdnsQuery([{ name: 'printer.local', type: 'A', unicastResponse: true }]);
  assert.equal(toHex(q), '0000' + '0000' + '0001000000000000' + '077072696e746572056c6f63616c00' + '0001' + '8001');
  assert.equal(decodeMdns(q).questions[0].unicastResponse, true);
  const answer = encodeMessage({ id: 0, qr: true, flags: { aa: true }, answers: [{ name: 'printer.local.', type: 'A', class: 'IN', ttl: 120, data: { address: '169.254.1.2' }, cacheFlush: true }] }, { mdns: true });
  const m = decodeMdns(answer);
  assert.equal(m.answers[0].cacheFlush, true);
  assert.equal(m.answers[0].class, 'IN');
  // Read as plain DNS, the same record has class 0x8001.
  assert.equal(decodeMessage(answer).answers[0].class, 'CLASS32769');
  assert.throws(() => decodeMdns(encodeMessage({ id: 0, qr: true, rcode: 'SERVFAIL' })), /RCODE SERVFAIL/);
});

test('LLMNR flags sit where DNS has AA and RD; reverse names for v4 and v6', () => {
  const m = decodeMessage(encodeMessage({ id: 3, qr: true, flags: { aa: true, rd: true } }));
  assert.deepEqual(llmnrFlags(m), { conflict: true, truncated: false, tentative: true });
  assert.equal(reverseName('192.0.2.25'), '25.2.0.192.in-addr.arpa.');
  assert.equal(reverseName('2001:db8::1'), '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.');
  assert.throws(() => reverseName('example.org'), /address: "example.org" is not an IPv4 or IPv6 address/);
});
