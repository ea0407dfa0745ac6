// Identification recognizers on golden answers, the ClientHello/ServerHello reading, fuzzing, and registry coverage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { concat, fromHex, utf8 } from '../../core/bytes.ts';
import { loadProtocols } from '../index.ts';
import { productVersion } from '../../core/identify.ts';
import { OUTSIDE_REGISTRY, allProbes, clientHello, isEcho, loadDeclarations, probesFor, readTlsAnswer, recognizeBanner, recognizeReply } from './probes.ts';

await loadDeclarations();
const protocols = await loadProtocols();
const PROBES = allProbes();
const probe = (name: string) => PROBES.find((p) => p.name === name)!;
const fixed = (n: number) => new Uint8Array(n).fill(7);

test('greetings: SSH, SMTP, FTP, IMAP, POP3, ManageSieve, VNC, MySQL and binary hellos are named with product and version', () => {
  assert.deepEqual(recognizeBanner(utf8('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n')), { service: 'ssh', confidence: 'high', product: 'OpenSSH', version: '9.2p1', info: 'protocol 2.0, Debian-2+deb12u3' });
  assert.equal(recognizeBanner(utf8('220 mail.example ESMTP Postfix (Debian/GNU)\r\n'))?.service, 'smtp');
  assert.equal(recognizeBanner(utf8('220 mail.example ESMTP Postfix (Debian/GNU)\r\n'))?.product, 'Postfix');
  assert.deepEqual(recognizeBanner(utf8('220 ProFTPD Server (Debian) [::ffff:127.0.0.1]\r\n')), { service: 'ftp', confidence: 'high', product: 'ProFTPD', version: undefined });
  assert.equal(recognizeBanner(utf8('220 (vsFTPd 3.0.3)\r\n'))?.version, '3.0.3');
  // A 220 line that names nothing: SMTP at medium, so the driver asks LHLO.
  assert.equal(recognizeBanner(utf8('220 host Dovecot (Debian) ready.\r\n'))?.confidence, 'medium');
  assert.equal(recognizeBanner(utf8('* OK [CAPABILITY IMAP4rev1] Dovecot (Debian) ready.\r\n'))?.service, 'imap');
  assert.equal(recognizeBanner(utf8('+OK Dovecot (Debian) ready.\r\n'))?.service, 'pop3');
  assert.equal(recognizeBanner(utf8('"IMPLEMENTATION" "Dovecot (Debian) Pigeonhole"\r\n"SIEVE" "fileinto"\r\nOK "ready"\r\n'))?.service, 'managesieve');
  assert.equal(recognizeBanner(utf8('RFB 003.008\n'))?.info, 'RFB 3.8');
  const maria = fromHex('5b0000000a352e352e352d31302e31312e362d4d6172696144422d302b64656231327531000a000000');
  assert.deepEqual(recognizeBanner(maria), { service: 'mysql', confidence: 'high', product: 'MariaDB', version: '10.11.6', info: '5.5.5-10.11.6-MariaDB-0+deb12u1' });
  assert.equal(recognizeBanner(fromHex('0500000800000001'))?.service, 'openflow');
  assert.equal(recognizeBanner(fromHex('ffffffffffffffffffffffffffffffff001d0104fde800b47f000001000000'))?.service, 'bgp');
  assert.equal(recognizeBanner(fromHex('ff00000000000000017f0300'))?.service, 'zmtp');
  assert.equal(recognizeBanner(fromHex('fffd18fffd20'))?.service, 'telnet');
  const chargen = utf8('!"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh\r\n');
  assert.equal(recognizeBanner(chargen)?.service, 'chargen');
  assert.equal(recognizeBanner(utf8('INFO {"server_id":"x","version":"2.9.20","proto":1}\r\n'))?.version, '2.9.20');
  assert.equal(recognizeBanner(utf8('hello there\r\n')), null);
});

test('replies: each probe names its protocol; a foreign probe answered in the server\'s own words is named lower', () => {
  const http = probe('http-get');
  const got = recognizeReply(http, http.payload('h', fixed), utf8('HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n\r\n'));
  assert.deepEqual(got, { service: 'http', confidence: 'high', product: 'nginx', version: '1.22.1', info: 'HTTP/1.1 200' });
  assert.equal(recognizeReply(http, http.payload('h', fixed), utf8('HTTP/1.1 400 Bad Request\r\nServer: squid/5.7\r\n\r\n'))?.service, 'httpproxy');
  assert.equal(recognizeReply(http, http.payload('h', fixed), utf8('HTTP/1.0 501 Tor ControlPort is not an HTTP proxy\r\n\r\n'))?.service, 'torcontrol');
  assert.equal(recognizeReply(http, http.payload('h', fixed), fromHex('000006040000000000000300000064'))?.service, 'http2');
  const redis = probe('redis-ping');
  const info = recognizeReply(redis, redis.payload('h', fixed), utf8('+PONG\r\n$30\r\n# Server\r\nredis_version:7.0.15\r\nredis_mode:sentinel\r\n'));
  assert.deepEqual(info, { service: 'redis', confidence: 'high', product: 'Redis Sentinel', version: '7.0.15', info: 'mode sentinel' });
  // Redis answers HTTP with an error line: redis at medium, so its own probe runs next.
  assert.deepEqual(recognizeReply(http, http.payload('h', fixed), utf8("-ERR unknown command 'GET'\r\n"))?.confidence, 'medium');
  const mc = probe('memcached-version');
  assert.equal(recognizeReply(mc, mc.payload('h', fixed), utf8('VERSION 1.6.18\r\n'))?.version, '1.6.18');
  // memcached with ASCII authentication refuses every command, HTTP's too: memcached, asked again in its own words.
  assert.equal(recognizeReply(probe('http-get'), probe('http-get').payload('h', fixed), utf8('CLIENT_ERROR unauthenticated\r\n'))?.service, 'memcached');
  assert.equal(recognizeReply(mc, mc.payload('h', fixed), utf8('CLIENT_ERROR unauthenticated\r\n'))?.confidence, 'high');
  // beanstalkd and gearmand answer memcached's "version" in their own words: named at medium, so their own probes run next.
  assert.deepEqual(recognizeReply(mc, mc.payload('h', fixed), utf8('UNKNOWN_COMMAND\r\n')), { service: 'beanstalkd', confidence: 'medium' });
  assert.deepEqual(recognizeReply(mc, mc.payload('h', fixed), utf8('OK 1.1.20\n')), { service: 'gearman', confidence: 'medium', product: 'gearmand', version: '1.1.20' });
  const stats = probe('beanstalkd-stats');
  assert.deepEqual(recognizeReply(stats, stats.payload('h', fixed), utf8('OK 40\r\n---\ncurrent-jobs-urgent: 0\nversion: "1.12"\n\r\n')), { service: 'beanstalkd', confidence: 'high', product: 'beanstalkd', version: '1.12' });
  const gear = probe('gearman-version');
  assert.deepEqual(recognizeReply(gear, gear.payload('h', fixed), utf8('OK 40\r\n---\n')), { service: 'beanstalkd', confidence: 'medium', product: 'beanstalkd', version: undefined });
  // memcached's ERROR is not a STOMP frame.
  const stomp = probe('stomp-connect');
  assert.equal(recognizeReply(stomp, stomp.payload('h', fixed), utf8('ERROR\r\nERROR\r\n'))?.service, undefined);
  assert.equal(recognizeReply(stomp, stomp.payload('h', fixed), utf8('CONNECTED\nserver:ActiveMQ/5.17.6\nversion:1.2\n\n\0'))?.product, 'ActiveMQ');
  const pg = probe('postgres-sslrequest');
  assert.equal(recognizeReply(pg, pg.payload('h', fixed), utf8('N'))?.confidence, 'medium');
  const startup = probe('postgres-startup');
  assert.equal(recognizeReply(startup, startup.payload('h', fixed), fromHex('520000000c00000005aabbccdd'))?.confidence, 'high');
  assert.equal(recognizeReply(startup, startup.payload('h', fixed), utf8('E\0\0\0\x50SFATAL\0VFATAL\0C28000\0Mno pg_hba.conf entry\0\0'))?.info, 'no pg_hba.conf entry');
  const x11 = probe('x11-setup');
  assert.equal(recognizeReply(x11, x11.payload('h', fixed), fromHex('00160b0000000600'))?.service, 'x11');
  const socks = probe('socks5-greeting');
  assert.equal(recognizeReply(socks, socks.payload('h', fixed), fromHex('0500'))?.service, 'socks');
});

test('an echo server is named echo for every probe, never the protocol the probe asked for', () => {
  for (const p of PROBES) {
    const sent = p.payload('example.org', fixed);
    const f = recognizeReply(p, sent, sent);
    if (p.name === 'jdwp-handshake') assert.equal(f?.service, 'jdwp');
    else assert.equal(f?.service, 'echo', p.name);
  }
  assert.equal(isEcho(utf8('PING\r\n'), utf8('+PONG\r\n')), false);
});

test('OpenVPN: a reset answer counts only when it acknowledges our session id', () => {
  const p = probe('openvpn-reset');
  const sent = p.payload('h', fixed);
  const answer = fromHex(`001a${'40'}${'1111111111111111'}01${'00000000'}${'0707070707070707'}${'00000000'}`);
  assert.equal(recognizeReply(p, sent, answer)?.service, 'openvpn');
  const other = fromHex(`001a${'40'}${'1111111111111111'}01${'00000000'}${'0808080808080808'}${'00000000'}`);
  assert.equal(recognizeReply(p, sent, other), null);
});

test('ClientHello: a well-formed TLS 1.3 hello with SNI and ALPN; ServerHello read for version and ALPN', () => {
  const hello = clientHello('localhost', fixed);
  assert.equal(hello[0], 0x16);
  assert.equal((hello[3] << 8) | hello[4], hello.length - 5, 'record length');
  assert.equal(hello[5], 1, 'ClientHello');
  assert.equal((hello[6] << 16) | (hello[7] << 8) | hello[8], hello.length - 9, 'handshake length');
  assert.ok(Buffer.from(hello).includes(Buffer.from('localhost')));
  assert.ok(Buffer.from(hello).includes(Buffer.from('http/1.1')));
  assert.ok(!Buffer.from(clientHello('127.0.0.1', fixed)).includes(Buffer.from('127.0.0.1')), 'no SNI for an address (RFC 6066 3)');
  // A TLS 1.2 ServerHello with ALPN h2: extension 16.
  const sh = (exts: string, version = '0303') => {
    const body = `${version}${'00'.repeat(32)}00c02f00${(exts.length / 2).toString(16).padStart(4, '0')}${exts}`;
    const hs = `02${(body.length / 2).toString(16).padStart(6, '0')}${body}`;
    return fromHex(`160303${(hs.length / 2).toString(16).padStart(4, '0')}${hs}`);
  };
  assert.deepEqual(readTlsAnswer(sh('0010000500030268320000')), { kind: 'hello', version: 'TLSv1.2', alpn: 'h2' });
  assert.deepEqual(readTlsAnswer(sh('002b00020304')), { kind: 'hello', version: 'TLSv1.3' });
  assert.deepEqual(readTlsAnswer(fromHex('15030300020246')), { kind: 'alert', alert: 70 });
  assert.equal(readTlsAnswer(utf8('HTTP/1.1 400')), null);
  // Cut short: still TLS.
  assert.deepEqual(readTlsAnswer(sh('002b00020304').subarray(0, 20)), { kind: 'hello' });
});

test('productVersion splits the usual software strings', () => {
  assert.deepEqual(productVersion('nginx/1.22.1'), { product: 'nginx', version: '1.22.1' });
  assert.deepEqual(productVersion('OpenSSH_9.2p1'), { product: 'OpenSSH', version: '9.2p1' });
  assert.deepEqual(productVersion('Apache'), { product: 'Apache' });
});

test('probe order: the port\'s registered protocols first, then the cheapest', () => {
  assert.equal(probesFor(6379)[0].name, 'redis-ping');
  // A port the declaration registers counts as the probe's own: 1883 is MQTT's, 3310 ClamAV's.
  assert.equal(probesFor(1883)[0].name, 'mqtt-connect');
  assert.equal(probesFor(3310)[0].name, 'clamd-ping');
  assert.equal(probesFor(12345)[0].name, 'tls-client-hello');
  assert.equal(probesFor(12345)[1].name, 'http-get');
  assert.equal(probesFor(12345).length, PROBES.length);
});

test('fuzz: no recognizer throws or hangs on random bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      recognizeBanner(bytes);
      readTlsAnswer(bytes);
      for (const p of PROBES) recognizeReply(p, p.payload('h', fixed), bytes);
    }),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (tail) => {
      // TLS-looking prefixes with random bodies.
      readTlsAnswer(new Uint8Array([0x16, 0x03, 0x03, 0x00, tail.length, ...tail]));
    }),
    { numRuns: 300 },
  );
});

test('every protocol in the registry declares its greeting, a probe, how it answers others, or why it has none', () => {
  const undeclared = protocols.filter((p) => !p.identify || !(p.identify.greeting || p.identify.probes?.length || p.identify.answers || p.identify.unprobed)).map((p) => p.id);
  assert.deepEqual(undeclared, []);
  const both = protocols.filter((p) => p.identify?.unprobed && (p.identify.greeting || p.identify.probes?.length || p.identify.answers)).map((p) => p.id);
  assert.deepEqual(both, [], 'a reason not to identify beside a way to');
  const names = PROBES.map((p) => p.name);
  assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), [], 'probe names are unique');
  for (const id of OUTSIDE_REGISTRY) assert.ok(!protocols.some((p) => p.id === id), `${id} is in the registry now: drop it from OUTSIDE_REGISTRY`);
});

test('greetings: the first high-confidence one in registry order wins over a weaker one', () => {
  // A 220 line naming LMTP: LMTP, not the SMTP that any 220 line suggests.
  assert.equal(recognizeBanner(utf8('220 host LMTP server ready\r\n'))?.service, 'lmtp');
  // DICT's 220 ends in a message id; FTP's names FTP; SNPP's names SNPP.
  assert.equal(recognizeBanner(utf8('220 dict.example dictd 1.12.1/rf on Linux 6.1 <auth.mime> <3.7@dict.example>\r\n'))?.version, '1.12.1');
  assert.equal(recognizeBanner(utf8('220 QuickPage v3.3 SNPP server ready\r\n'))?.service, 'snpp');
  // Text unasked, then the server hangs up: Quote of the Day, at low confidence; the same text on an open connection is nothing.
  assert.deepEqual(recognizeBanner(utf8('"Whatever is worth doing at all is worth doing well."\r\n'), true), { service: 'qotd', confidence: 'low', info: 'text unasked, then closed' });
  assert.equal(recognizeBanner(utf8('"Whatever is worth doing at all is worth doing well."\r\n'), false), null);
  assert.equal(recognizeBanner(Uint8Array.of(0xed, 0x0e, 0x3a, 0x80), true)?.service, 'time');
  // A daytime line then a hang-up reads as Quote of the Day too (low), and as daytime (medium): daytime.
  assert.deepEqual(recognizeBanner(utf8('05 DEC 2026 08:23:29 UTC\r\n'), true), { service: 'daytime', confidence: 'medium' });
});

test('NNTP by its greeting: INN with its version, other servers by the word', () => {
  assert.deepEqual(recognizeBanner(utf8('200 news.example InterNetNews NNRP server INN 2.7.1 ready (posting ok)\r\n')), {
    service: 'nntp',
    confidence: 'high',
    product: 'INN',
    version: '2.7.1',
    info: 'news.example InterNetNews NNRP server INN 2.7.1 ready (posting ok)',
  });
  assert.equal(recognizeBanner(utf8('201 reader.example NNTP Service Ready, posting prohibited\r\n'))?.service, 'nntp');
  // Varnish's CLI banner also starts with 200, and stays varnish.
  assert.equal(recognizeBanner(utf8('200 12      \n-----------\n'))?.service, 'varnish');
});

test('NFS: the NULL call of program 100003 v3, accepted by an NFS server, PROG_MISMATCH from a server of other NFS versions', () => {
  const nfs = PROBES.find((p) => p.name === 'nfs-null')!;
  const xid = Uint8Array.of(5, 6, 7, 8);
  const sent = nfs.payload('h', () => xid);
  assert.deepEqual([...sent], [0x80, 0, 0, 40, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0x86, 0xa3, 0, 0, 0, 3, ...new Array(20).fill(0)]);
  const reply = (acceptStat: number) => Uint8Array.of(0x80, 0, 0, 24, 5, 6, 7, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, acceptStat);
  assert.equal(recognizeReply(nfs, sent, reply(0))?.service, 'nfs');
  assert.equal(recognizeReply(nfs, sent, reply(2))?.service, 'nfs');
  assert.deepEqual(recognizeReply(nfs, sent, reply(1)), { service: 'rpc', confidence: 'medium', info: 'ONC RPC: PROG_UNAVAIL for the NFS program' });
});

test('ONC RPC: the NULL call of the portmapper program, accepted by rpcbind, PROG_UNAVAIL from another RPC server', () => {
  const rpc = PROBES.find((p) => p.name === 'rpc-null')!;
  const xid = Uint8Array.of(1, 2, 3, 4);
  const sent = rpc.payload('h', () => xid);
  // Record mark (last fragment, 40 bytes), xid, CALL, RPC 2, program 100000, version 2, procedure 0, AUTH_NONE twice.
  assert.deepEqual([...sent], [0x80, 0, 0, 40, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0x86, 0xa0, 0, 0, 0, 2, ...new Array(20).fill(0)]);
  const reply = (acceptStat: number) => Uint8Array.of(0x80, 0, 0, 24, 1, 2, 3, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, acceptStat);
  assert.equal(recognizeReply(rpc, sent, reply(0))?.service, 'portmapper');
  assert.deepEqual(recognizeReply(rpc, sent, reply(1)), { service: 'rpc', confidence: 'medium', info: 'ONC RPC: PROG_UNAVAIL for the portmapper program' });
  // Another xid is not an answer to this call.
  const other = reply(0);
  other[7] = 9;
  assert.notEqual(recognizeReply(rpc, sent, other)?.service, 'portmapper');
});

test('NBD by its greeting; 9P by its answer to Tversion', () => {
  const newstyle = concat([utf8('NBDMAGIC'), utf8('IHAVEOPT'), Uint8Array.of(0, 3)]);
  assert.deepEqual(recognizeBanner(newstyle), { service: 'nbd', confidence: 'high', info: 'newstyle handshake' });
  const ninep = PROBES.find((p) => p.name === '9p-version')!;
  const sent = ninep.payload('h', () => new Uint8Array(0));
  // size[4] Tversion(100) NOTAG msize[4] "9P2000.L"
  assert.deepEqual([...sent], [21, 0, 0, 0, 100, 0xff, 0xff, 0, 0x20, 0, 0, 8, 0, ...utf8('9P2000.L')]);
  const rversion = Uint8Array.of(21, 0, 0, 0, 101, 0xff, 0xff, 0, 0x20, 0, 0, 8, 0, ...utf8('9P2000.L'));
  assert.deepEqual(recognizeReply(ninep, sent, rversion), { service: '9p', confidence: 'high', version: '9P2000.L' });
  const rlerror = Uint8Array.of(11, 0, 0, 0, 7, 0xff, 0xff, 5, 0, 0, 0);
  assert.equal(recognizeReply(ninep, sent, rlerror)?.confidence, 'medium');
});

test('SMB by its answer to an SMB2 NEGOTIATE: the dialect Samba picked', () => {
  const smb = PROBES.find((p) => p.name === 'smb2-negotiate')!;
  const sent = smb.payload('h', (n) => new Uint8Array(n));
  // Transport header, then the SMB2 header's magic and the NEGOTIATE command.
  assert.deepEqual([...sent.subarray(4, 8)], [0xfe, 0x53, 0x4d, 0x42]);
  assert.equal(sent[4 + 12], 0);
  const reply = fromHex(readFileSync(new URL('../smb/fixtures/samba-negotiate-response.hex', import.meta.url), 'utf8').trim());
  assert.deepEqual(recognizeReply(smb, sent, reply), { service: 'smb', confidence: 'high', version: '3.1.1', info: 'SMB 3.1.1, signing enabled' });
  assert.equal(recognizeReply(smb, sent, Uint8Array.of(0, 0, 0, 4, 0xff, 0x53, 0x4d, 0x42))?.info, 'answers in SMB1 only');
});
