// WHOIS against recorded registry answers (Debian ships no WHOIS server): the referral chain as a user sees it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runOperation } from '../../core/runner.ts';
import { memoryHost, pipe } from '../../../test/memory.ts';
import whois from './index.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

test('IANA refers to Verisign, whose answer names a registrar server already visited: two hops', async () => {
  const iana = pipe();
  const verisign = pipe();
  iana.push(fixture('iana-com.txt'));
  iana.end();
  verisign.push(fixture('verisign-example.txt'));
  verisign.end();
  const env = memoryHost([iana, verisign]);
  const answer = await runOperation(env, whois, whois.operations.query, { host: 'whois.iana.org', query: 'example.com' }, { transcript: true });
  const result = answer.result as { hops: { server: string; query: string; referral: string | null }[]; text: string };
  assert.deepEqual(
    result.hops.map((h) => [h.server, h.query, h.referral]),
    [
      ['whois.iana.org', 'example.com', 'whois.verisign-grs.com:43'],
      ['whois.verisign-grs.com', 'domain example.com', 'whois.iana.org:43'],
    ],
  );
  assert.match(result.text, /Registry Domain ID: 2336799_DOMAIN_COM-VRSN/);
  assert.deepEqual(env.dials.map((d) => [d.host, d.port]), [['whois.iana.org', 43], ['whois.verisign-grs.com', 43]]);
  assert.equal(new TextDecoder().decode(iana.written[0]), 'example.com\r\n');
  assert.equal(new TextDecoder().decode(verisign.written[0]), 'domain example.com\r\n');
});

test('follow: false stops at the first answer', async () => {
  const iana = pipe();
  iana.push(fixture('iana-com.txt'));
  iana.end();
  const answer = await runOperation(memoryHost([iana]), whois, whois.operations.query, { host: 'whois.iana.org', query: 'com', follow: false });
  assert.equal((answer.result as { hops: unknown[] }).hops.length, 1);
});
