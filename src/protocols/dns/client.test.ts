// Transport and operation tests without a network: the HTTP/1.1 codec, the zone-transfer state machine,
// and the operations run by the real runner against in-memory servers that answer what they are asked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { concat, fromLatin1, toHex, utf8 } from '../../core/bytes.ts';
import type { Capability, DialOptions, Transport } from '../../core/conn.ts';
import type { DatagramTransport } from '../../core/datagram.ts';
import { webCrypto } from '../../core/crypto.ts';
import { PortolanError, ProtocolError } from '../../core/errors.ts';
import { FrameDecoder } from '../../core/framing.ts';
import { runOperation, type HostEnv } from '../../core/runner.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { decodeMessage, encodeMessage, frameTcp, tcpMessageFrame, type DnsMessage, type DnsRecord } from './codec.ts';
import { decodeMdns } from './mdns.ts';
import { encodeRequest, responseFrame } from './http.ts';
import dns, { resolveTransport, transportPort } from './index.ts';
import { dohWireResolver } from './resolver.ts';
import { ZoneTransfer, serialLess } from './transfer.ts';

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));

// HTTP/1.1

test('HTTP request: POST with Host, headers and Content-Length', () => {
  const bytes = encodeRequest({ method: 'POST', target: '/dns-query', host: '127.0.0.1:10443', headers: [['Accept', 'application/dns-message']], body: Uint8Array.from([1, 2, 3]) });
  assert.equal(fromLatin1(bytes), 'POST /dns-query HTTP/1.1\r\nHost: 127.0.0.1:10443\r\nAccept: application/dns-message\r\nContent-Length: 3\r\n\r\n\x01\x02\x03');
  assert.throws(() => encodeRequest({ method: 'GET', target: '/x', host: 'h', headers: [['X', 'a\r\nInjected: 1']] }), ProtocolError);
});

const FIXED = utf8('HTTP/1.1 200 OK\r\nContent-Type: application/dns-message\r\nContent-Length: 5\r\n\r\nhello');
const CHUNKED = utf8('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/dns-message\r\n\r\n3;ext=1\r\nhel\r\n2\r\nlo\r\n0\r\nTrailer: x\r\n\r\n');

test('HTTP response: Content-Length and chunked bodies, fed whole, byte by byte and split', () => {
  const [a] = assertSplitFeed(responseFrame(), FIXED);
  assert.equal(a.status, 200);
  assert.equal(fromLatin1(a.body!), 'hello');
  const [b] = assertSplitFeed(responseFrame(), CHUNKED);
  assert.equal(fromLatin1(b.body!), 'hello');
  assert.deepEqual(b.headers[0], ['transfer-encoding', 'chunked']);
  const two = assertSplitFeed(responseFrame(), concat([utf8('HTTP/1.1 100 Continue\r\n\r\n'), FIXED]));
  assert.deepEqual(two.map((r) => r.status), [100, 200]);
  const [c] = new FrameDecoder(responseFrame()).feed(utf8('HTTP/1.0 200 OK\r\nContent-Type: x\r\n\r\nrest'));
  assert.equal(c.body, null, 'no length: body runs until close');
});

test('HTTP response: malformed framing is a ProtocolError', () => {
  const bad = [
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n',
    'SMTP 220 hello\r\n\r\n',
    'HTTP/1.1 200 OK\r\n folded: x\r\n\r\n',
  ];
  for (const text of bad) assert.throws(() => new FrameDecoder(responseFrame()).feed(utf8(text)), ProtocolError, text);
  assertFuzzSafe(responseFrame(), { seeds: [FIXED, CHUNKED] });
});

// Zone transfers

function messages(bytes: Uint8Array): DnsMessage[] {
  return new FrameDecoder(tcpMessageFrame).feed(bytes).map((v) => v.message);
}

const limits = { maxRecords: 100_000, maxMessages: 1000 };

test('IXFR from BIND: one change set, serial 1000 -> 1001, the TXT that changed', () => {
  const xfr = new ZoneTransfer('IXFR', 'lab.portolan.test.', limits, 1000);
  const ms = messages(fixture('ixfr-lab.bin'));
  ms.forEach((m, i) => assert.equal(xfr.accept(m), i === ms.length - 1));
  const r = xfr.result();
  assert.equal(r.style, 'incremental');
  assert.equal(r.serial, 1001);
  assert.equal(r.diffs.length, 1);
  const [d] = r.diffs;
  assert.deepEqual([d.fromSerial, d.toSerial], [1000, 1001]);
  const txt = (list: DnsRecord[]) => list.filter((x) => x.type === 'TXT').map((x) => x.data.strings);
  assert.deepEqual(txt(d.deleted), [['version 1']]);
  assert.deepEqual(txt(d.added), [['version 2']]);
});

test('AXFR state machine: done at the closing SOA, over several messages; errors are typed', () => {
  const ms = messages(fixture('axfr-lab.bin'));
  const all = ms.flatMap((m) => m.answers);
  // Re-split the records over many small messages, as a server may.
  const pieces: DnsMessage[] = [];
  for (let i = 0; i < all.length; i += 7) pieces.push({ ...ms[0], answers: all.slice(i, i + 7) });
  const xfr = new ZoneTransfer('AXFR', 'lab.portolan.test.', { maxRecords: 50, maxMessages: 1000 });
  pieces.forEach((m, i) => assert.equal(xfr.accept(m), i === pieces.length - 1, `message ${i}`));
  const r = xfr.result();
  assert.equal(r.recordCount, all.length - 1);
  assert.equal(r.records.length, 50);
  assert.equal(r.truncated, true);
  // A record after the closing SOA.
  const extra = new ZoneTransfer('AXFR', 'lab.portolan.test.', limits);
  assert.throws(() => extra.accept({ ...ms[0], answers: [...all, all[1]] }), /after the closing SOA/);
  // Wrong first record.
  assert.throws(() => new ZoneTransfer('AXFR', 'lab.portolan.test.', limits).accept({ ...ms[0], answers: all.slice(1) }), /not the SOA/);
  // REFUSED is an answer.
  const refused = new ZoneTransfer('AXFR', 'x.', limits);
  assert.equal(refused.accept({ ...ms[0], rcode: 'REFUSED', answers: [] }), true);
  assert.equal(refused.result().style, 'refused');
  // IXFR answered with one SOA not newer than ours: up to date.
  const current = new ZoneTransfer('IXFR', 'lab.portolan.test.', limits, 1001);
  assert.equal(current.accept({ ...ms[0], answers: [all[0]] }), true);
  assert.equal(current.result().style, 'up-to-date');
  // IXFR answered AXFR-style.
  const full = new ZoneTransfer('IXFR', 'lab.portolan.test.', limits, 1);
  assert.equal(full.accept({ ...ms[0], answers: all }), true);
  assert.equal(full.result().style, 'axfr');
  assert.ok(serialLess(0xffffffff, 1) && !serialLess(1, 0xffffffff), 'RFC 1982 wrap-around');
});

// Operations through the runner, against in-memory servers

type Answerer = (query: DnsMessage) => DnsMessage | DnsMessage[] | null;

/** A transport that parses what the client writes (framed DNS, HTTP or datagrams) and answers. */
function fakeServer(kind: 'tcp' | 'http', answer: Answerer, log: Uint8Array[] = []): Transport {
  const queue: Uint8Array[] = [];
  let waiter: (() => void) | undefined;
  let buf: Uint8Array = new Uint8Array(0);
  const push = (b: Uint8Array) => {
    queue.push(b);
    waiter?.();
  };
  return {
    async read() {
      while (queue.length === 0) await new Promise<void>((r) => (waiter = r));
      return queue.shift()!;
    },
    async write(bytes) {
      log.push(bytes.slice());
      buf = concat([buf, bytes]);
      if (kind === 'tcp') {
        for (const { message } of new FrameDecoder(tcpMessageFrame).feed(buf)) {
          const out = answer(message);
          for (const m of [out].flat()) if (m) push(frameTcp(encodeMessage(m as never)));
        }
        buf = new Uint8Array(0);
        return;
      }
      const text = fromLatin1(buf);
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = Number(/content-length: (\d+)/i.exec(text)?.[1] ?? 0);
      if (buf.length < end + 4 + length) return;
      const head = text.slice(0, end);
      const query = head.startsWith('POST') ? buf.subarray(end + 4, end + 4 + length) : Uint8Array.from(atob(/dns=([^ &]+)/.exec(head)![1].replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
      buf = new Uint8Array(0);
      const body = encodeMessage(answer(decodeMessage(query)) as never);
      // Answer chunked, to exercise that path end to end.
      push(concat([utf8(`HTTP/1.1 200 OK\r\nContent-Type: application/dns-message\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n`), body, utf8('\r\n0\r\n\r\n')]));
    },
    async startTls() {
      throw new Error('no');
    },
    async close() {},
    info() {
      return { remoteAddress: 'memory' };
    },
  };
}

/** A UDP server in memory: each datagram sent is answered by zero or more datagrams (bytes and source port). */
function fakeUdp(answer: (query: Uint8Array) => { bytes: Uint8Array; port?: number }[], port = 53): DatagramTransport {
  const queue: { bytes: Uint8Array; from: { address: string; port: number } }[] = [];
  let waiter: (() => void) | undefined;
  return {
    async send(bytes) {
      for (const d of answer(bytes)) queue.push({ bytes: d.bytes, from: { address: '127.0.0.1', port: d.port ?? port } });
      waiter?.();
    },
    async receive() {
      while (queue.length === 0) await new Promise<void>((r) => (waiter = r));
      return queue.shift()!;
    },
    async close() {},
    info() {
      return { remoteAddress: '127.0.0.1' };
    },
  };
}

function host(servers: Transport[], capabilities: Capability[] = ['tcp', 'tls', 'starttls'], udp: DatagramTransport[] = []): HostEnv & { dials: DialOptions[] } {
  const dials: DialOptions[] = [];
  return {
    dials,
    guard: { check: async () => ({}) },
    crypto: webCrypto(),
    dialer: {
      runtime: capabilities.includes('udp') ? 'node' : 'workers',
      capabilities: new Set(capabilities),
      async dial(o) {
        dials.push(o);
        const next = servers.shift();
        if (!next) throw new Error('connect ECONNREFUSED');
        return next;
      },
      ...(capabilities.includes('udp')
        ? {
            async dialUdp() {
              const next = udp.shift();
              if (!next) throw new Error('no UDP socket');
              return next;
            },
          }
        : {}),
    },
  };
}

const A = (name: string, address: string): DnsRecord => ({ name, type: 'A', class: 'IN', ttl: 60, data: { address } });

function reply(q: DnsMessage, over: Partial<DnsMessage> = {}): DnsMessage {
  return { ...q, qr: true, flags: { ...q.flags, ra: true }, answers: [], authority: [], additional: [], edns: undefined, ...over };
}

test('query over TCP: every section, the flags asked for, the transcript decodes both ways', async () => {
  const env = host([fakeServer('tcp', (q) => reply(q, { answers: [A(q.questions[0].name, '192.0.2.7')] }))]);
  const answer = await runOperation(env, dns, dns.operations.query, { host: '127.0.0.1', port: 5353, name: 'www.example', type: 'a', cd: true, do: true, nsid: true }, { transcript: true });
  const r = answer.result as any;
  assert.equal(r.rcode, 'NOERROR');
  assert.deepEqual(r.answers.map((x: any) => x.rdata), ['192.0.2.7']);
  assert.equal(r.flags.cd, true);
  assert.equal(r.transport, 'tcp');
  assert.equal(r.server, '127.0.0.1#5353');
  assert.equal(env.dials[0].tls, 'off');
  const lines = answer.transcript!.entries.map((e) => e.decode ?? '');
  assert.ok(lines.some((l) => /^query id \d+ QUERY www\.example\. IN A \[rd cd\] EDNS udp=1232 do/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^response id \d+ NOERROR .*1 answer \(A\)/.test(l)));
  assert.match(dns.operations.query.text!(r as never, {} as never), /;; ANSWER SECTION:\nwww\.example\.\t60\tIN\tA\t192\.0\.2\.7/);
});

test('NXDOMAIN, SERVFAIL and REFUSED are answers with their rcode, not failures', async () => {
  for (const rcode of ['NXDOMAIN', 'SERVFAIL', 'REFUSED']) {
    const env = host([fakeServer('tcp', (q) => reply(q, { rcode }))]);
    const answer = await runOperation(env, dns, dns.operations.query, { host: '127.0.0.1', name: 'x.example' });
    assert.equal((answer.result as any).rcode, rcode);
  }
});

test('bad input names the field: a long label, an unknown type, a bad class', async () => {
  const env = host([]);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ name: 'a'.repeat(64) + '.example' }, /^name: label .* is 64 octets; a label has at most 63/],
    [{ name: 'a..b' }, /^name: .*empty label/],
    [{ name: 'ok.example', type: 'AAAAA' }, /^type: "AAAAA" is not a record type/],
    [{ name: 'ok.example', class: 'XX' }, /^class: "XX" is not a class/],
    [{ name: Array(100).fill('abc').join('.') }, /^name: name is \d+ octets on the wire; a name has at most 255/],
  ];
  for (const [input, pattern] of cases) {
    await assert.rejects(runOperation(env, dns, dns.operations.query, { host: '127.0.0.1', ...input }), (e: PortolanError) => {
      assert.equal(e.code, 'invalid_input');
      assert.match(e.message, pattern);
      return true;
    });
  }
  assert.equal(env.dials.length, 0, 'nothing was dialed');
});

test('DoH: RFC 8484 POST and GET over our own HTTP/1.1, ID 0, chunked answers', async () => {
  for (const dohMode of ['post', 'get'] as const) {
    const log: Uint8Array[] = [];
    const env = host([fakeServer('http', (q) => reply(q, { answers: [A(q.questions[0].name, '192.0.2.8')] }), log)]);
    const answer = await runOperation(env, dns, dns.operations.query, { host: '127.0.0.1', port: 10443, name: 'doh.example', transport: 'doh', dohMode });
    const r = answer.result as any;
    assert.deepEqual(r.answers.map((x: any) => x.rdata), ['192.0.2.8']);
    assert.equal(r.id, 0, 'RFC 8484 §4.1: ID 0');
    assert.deepEqual(r.http, { status: 200, version: '1.1', contentType: 'application/dns-message' });
    assert.equal(env.dials[0].tls, 'implicit');
    const request = fromLatin1(concat(log));
    if (dohMode === 'post') assert.match(request, /^POST \/dns-query HTTP\/1\.1\r\nHost: 127\.0\.0\.1:10443\r\nAccept: application\/dns-message\r\n.*Content-Type: application\/dns-message\r\nContent-Length: \d+\r\n\r\n/s);
    else assert.match(request, /^GET \/dns-query\?dns=[A-Za-z0-9_-]+ HTTP\/1\.1\r\n/);
  }
});

test('transport and port: dot and doh take their default ports, tls implicit means DoT', () => {
  assert.deepEqual(resolveTransport({ transport: 'dot', tls: 'off', port: 853 }), { transport: 'dot', port: 853 });
  assert.equal(transportPort({ transport: 'dot' }), 853);
  assert.equal(transportPort({ transport: 'doh' }), 443);
  assert.equal(transportPort({ transport: 'tcp' }), undefined);
  assert.deepEqual(resolveTransport({ transport: 'tcp', tls: 'implicit', port: 853 }), { transport: 'dot', port: 853 });
  assert.deepEqual(resolveTransport({ transport: 'doh', tls: 'off', port: 10443 }), { transport: 'doh', port: 10443 });
  assert.throws(() => resolveTransport({ transport: 'udp', tls: 'implicit', port: 853 }), /tls: DNS over UDP has no TLS/);
});

test('UDP on Workers: unsupported_runtime with the reason and the alternatives, nothing dialed', async () => {
  const env = host([]);
  await assert.rejects(runOperation(env, dns, dns.operations.query, { host: '127.0.0.1', name: 'x.example', transport: 'udp' }), (e: PortolanError) => {
    assert.equal(e.code, 'unsupported_runtime');
    assert.match(e.message, /no datagram sockets/);
    assert.ok((e.detail!.alternatives as string[]).some((a) => /DNS over TCP, DoT or DoH/.test(a)));
    return true;
  });
  assert.equal(env.dials.length, 0);
  await assert.rejects(runOperation(env, dns, dns.operations.mdns, { host: '127.0.0.1', name: 'printer.local' }), (e: PortolanError) => e.code === 'unsupported_runtime');
});

const answerTo = (query: Uint8Array, over: Partial<DnsMessage>) => encodeMessage(reply(decodeMessage(query), over) as never);

test('UDP: a truncated answer is asked again over TCP (RFC 7766 §5)', async () => {
  const big = (q: DnsMessage) => reply(q, { answers: Array.from({ length: 40 }, (_, i) => A(q.questions[0].name, `192.0.2.${i}`)) });
  const udp = fakeUdp((q) => [{ bytes: answerTo(q, { flags: { aa: false, tc: true, rd: true, ra: true, z: false, ad: false, cd: false } }) }]);
  const env = host([fakeServer('tcp', big)], ['tcp', 'tls', 'udp'], [udp]);
  const answer = await runOperation(env, dns, dns.operations.query, { host: '127.0.0.1', name: 'big.example', transport: 'udp' }, { transcript: true });
  const r = answer.result as any;
  assert.equal(r.retriedOverTcp, true);
  assert.equal(r.transport, 'tcp');
  assert.equal(r.answers.length, 40);
  assert.match(dns.operations.query.text!(r as never, {} as never), /;; Truncated over UDP, retried over TCP\./);
});

test('UDP: datagrams from another port, with another ID, another question, or not DNS at all are dropped', async () => {
  const udp = fakeUdp((q) => {
    const m = decodeMessage(q);
    return [
      { bytes: answerTo(q, { answers: [A('evil.example.', '203.0.113.1')] }), port: 5353 }, // wrong source port
      { bytes: encodeMessage({ ...reply(m), id: (m.id + 1) & 0xffff } as never) }, // wrong ID
      { bytes: answerTo(q, { questions: [{ name: 'other.example.', type: 'A', class: 'IN' }] }) }, // wrong question
      { bytes: Uint8Array.from([1, 2, 3]) }, // not DNS
      { bytes: answerTo(q, { answers: [A(m.questions[0].name, '192.0.2.10')] }) },
    ];
  });
  const env = host([], ['tcp', 'udp'], [udp]);
  const r = (await runOperation(env, dns, dns.operations.query, { host: '127.0.0.1', name: 'good.example', transport: 'udp' })).result as any;
  assert.deepEqual(r.answers.map((a: any) => a.rdata), ['192.0.2.10']);
  assert.equal(r.transport, 'udp');
  assert.equal(r.retriedOverTcp, false);
});

test('batch: queries pipelined on one connection, answers matched by ID even out of order', async () => {
  let held: DnsMessage[] = [];
  const env = host([
    fakeServer('tcp', (q) => {
      held.push(reply(q, { answers: [A(q.questions[0].name, `192.0.2.${held.length + 1}`)] }));
      if (held.length < 3) return null;
      const out = held.reverse();
      held = [];
      return out;
    }),
  ]);
  const answer = await runOperation(env, dns, dns.operations.batch, { host: '127.0.0.1', questions: [{ name: 'a.example' }, { name: 'b.example' }, { name: 'c.example' }] });
  const r = answer.result as any;
  assert.deepEqual(r.results.map((x: any) => [x.name, x.answers[0].rdata]), [['a.example.', '192.0.2.1'], ['b.example.', '192.0.2.2'], ['c.example.', '192.0.2.3']]);
  assert.equal(env.dials.length, 1);
});

test('short route: /dns/<server>/<name>/<TYPE>, and an address alone asks for its PTR', () => {
  const route = dns.operations.query.shortRoute!;
  assert.deepEqual(route('example.org/mx', new URLSearchParams()), { name: 'example.org', type: 'MX' });
  assert.deepEqual(route('example.org', new URLSearchParams()), { name: 'example.org' });
  assert.deepEqual(route('192.0.2.1', new URLSearchParams()), { name: '1.2.0.192.in-addr.arpa.', type: 'PTR' });
  assert.throws(() => route('a/b/c', new URLSearchParams()), /path: use/);
});

// The guard's resolver

test('dohWireResolver: A and AAAA by RFC 8484 POST, CNAME chains followed, NXDOMAIN refused', async () => {
  const calls: { url: string; method: string; body: Uint8Array }[] = [];
  const zone: Record<string, DnsRecord[]> = {
    'www.example.': [{ name: 'www.example.', type: 'CNAME', class: 'IN', ttl: 60, data: { target: 'web.example.' } }, A('web.example.', '192.0.2.9')],
  };
  const fetchFn = async (url: string, init: { method: string; headers: Record<string, string>; body?: Uint8Array; signal: AbortSignal }) => {
    calls.push({ url, method: init.method, body: init.body! });
    assert.equal(init.headers['content-type'], 'application/dns-message');
    const q = decodeMessage(init.body!);
    const name = q.questions[0].name;
    const answers = q.questions[0].type === 'A' ? (zone[name] ?? []) : zone[name]?.filter((r) => r.type === 'CNAME') ?? [];
    const body = encodeMessage({ id: q.id, qr: true, rcode: zone[name] ? 'NOERROR' : 'NXDOMAIN', questions: q.questions, answers });
    return { ok: true, status: 200, headers: { get: () => 'application/dns-message' }, arrayBuffer: async () => body.slice().buffer };
  };
  const resolver = dohWireResolver('https://resolver.example/dns-query', fetchFn);
  assert.deepEqual(await resolver.resolve('www.example'), ['192.0.2.9']);
  assert.equal(calls.length, 2, 'one A and one AAAA query');
  assert.deepEqual(calls.map((c) => c.method), ['POST', 'POST']);
  assert.equal(toHex(calls[0].body.subarray(0, 2)), '0000', 'ID 0');
  await assert.rejects(resolver.resolve('nope.example'), (e: PortolanError) => e.code === 'refused' && /NXDOMAIN/.test(e.message));
  await assert.rejects(resolver.resolve('bad..name'), (e: PortolanError) => e.code === 'refused');
});

test('DoH JSON form (Cloudflare/Google style): GET ?name=&type= with accept application/dns-json', async () => {
  const log: Uint8Array[] = [];
  const json = JSON.stringify({
    Status: 0, TC: false, RD: true, RA: true, AD: true, CD: false,
    Question: [{ name: 'example.com.', type: 15 }],
    Answer: [{ name: 'example.com.', type: 15, TTL: 300, data: '0 .' }],
  });
  const canned: Transport = {
    ...fakeServer('tcp', () => null),
    async write(bytes) {
      log.push(bytes.slice());
      queue.push(utf8(`HTTP/1.1 200 OK\r\nContent-Type: application/dns-json; charset=utf-8\r\nContent-Length: ${utf8(json).length}\r\n\r\n${json}`));
    },
    async read() {
      return queue.shift() ?? null;
    },
  };
  const queue: Uint8Array[] = [];
  const env = host([canned]);
  const answer = await runOperation(env, dns, dns.operations.query, { host: '127.0.0.1', port: 10443, name: 'example.com', type: 'MX', transport: 'doh', dohMode: 'json', do: true });
  const r = answer.result as any;
  assert.match(fromLatin1(log[0]), /^GET \/dns-query\?name=example\.com\.&type=MX&do=1 HTTP\/1\.1\r\n.*Accept: application\/dns-json\r\n/s);
  assert.equal(r.flags.ad, true);
  assert.deepEqual(r.answers.map((a: any) => [a.name, a.type, a.ttl, a.rdata]), [['example.com.', 'MX', 300, '0 .']]);
});

test('trace: a silent name server is given up after hopTimeoutMs and the next one is asked; lame referrals are skipped', async () => {
  const NS = (zone: string, host: string): DnsRecord => ({ name: zone, type: 'NS', class: 'IN', ttl: 60, data: { host } });
  const root = fakeServer('tcp', (q) => reply(q, { authority: [NS('example.', 'a.ns.example.'), NS('example.', 'b.ns.example.')], additional: [A('a.ns.example.', '192.0.2.53'), A('b.ns.example.', '192.0.2.54')] }));
  const silent = fakeServer('tcp', () => null);
  const good = fakeServer('tcp', (q) => reply(q, { flags: { ...q.flags, aa: true }, answers: [A('www.example.', '192.0.2.80')] }));
  const env = host([root, silent, good]);
  const answer = await runOperation(env, dns, dns.operations.trace, { host: '127.0.0.1', name: 'www.example', hopTimeoutMs: 150 });
  const r = answer.result as any;
  assert.equal(r.rcode, 'NOERROR');
  assert.deepEqual(r.steps.map((s: any) => [s.server.address, s.error?.code ?? null]), [['127.0.0.1', null], ['192.0.2.53', 'io_timeout'], ['192.0.2.54', null]]);
  assert.deepEqual(r.answers.map((a: any) => a.rdata), ['192.0.2.80']);
  assert.deepEqual(env.dials.slice(1).map((d) => d.host), ['192.0.2.53', '192.0.2.54']);
  // A referral upwards (to a zone that is not below the one asked) is lame.
  const up = fakeServer('tcp', (q) => reply(q, { authority: [NS('.', 'a.root.')], additional: [A('a.root.', '192.0.2.1')] }));
  const env2 = host([fakeServer('tcp', (q) => reply(q, { authority: [NS('example.', 'ns.example.')], additional: [A('ns.example.', '192.0.2.2')] })), up]);
  const lame = (await runOperation(env2, dns, dns.operations.trace, { host: '127.0.0.1', name: 'www.example' })).result as any;
  assert.equal(lame.complete, false);
  assert.match(lame.steps[1].error.message, /lame referral to \./);
});

test('mDNS and LLMNR operations on a datagram host: QU query, cache-flush answer; LLMNR C and T flags', async () => {
  let sent: DnsMessage | undefined;
  const mdnsResponder = fakeUdp((q) => {
    sent = decodeMdns(q);
    const answer = encodeMessage({ id: sent.id, qr: true, flags: { aa: true }, answers: [{ name: 'printer.local.', type: 'A', class: 'IN', ttl: 120, data: { address: '169.254.7.7' }, cacheFlush: true }] }, { mdns: true });
    return [{ bytes: answer }];
  }, 5353);
  const env = host([], ['tcp', 'udp'], [mdnsResponder]);
  const r = (await runOperation(env, dns, dns.operations.mdns, { host: '127.0.0.1', name: 'printer.local' })).result as any;
  assert.equal(sent!.questions[0].unicastResponse, true);
  assert.equal(r.answers[0].cacheFlush, true);
  assert.equal(r.answers[0].rdata, '169.254.7.7');
  const llmnrResponder = fakeUdp((q) => [{ bytes: encodeMessage({ ...decodeMessage(q), qr: true, flags: { aa: true, rd: true }, answers: [A('host.', '192.0.2.5')] }) }], 5355);
  const l = (await runOperation(host([], ['tcp', 'udp'], [llmnrResponder]), dns, dns.operations.llmnr, { host: '127.0.0.1', name: 'host' })).result as any;
  assert.deepEqual(l.llmnr, { conflict: true, truncated: false, tentative: true });
  assert.equal(l.answers[0].rdata, '192.0.2.5');
});
