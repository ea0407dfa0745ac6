import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolError } from '../../core/errors.ts';
import { buildEnvelope, parseEnvelope, SOAP11_ENV } from './codec.ts';
import { parseXml, toJson } from './xml.ts';

test('xml: namespaces, entities, CDATA, repeated elements as arrays', () => {
  const root = parseXml('<?xml version="1.0"?><!-- c --><a:r xmlns:a="urn:a" xmlns="urn:d"><x k="1&amp;2">t &lt;1&gt; &#x2693;</x><y/><y><![CDATA[<raw>]]></y></a:r>');
  assert.deepEqual([root.local, root.ns, root.children[0].ns, root.children[0].attrs.k], ['r', 'urn:a', 'urn:d', '1&2']);
  assert.deepEqual(toJson(root), { x: 't <1> ⚓', y: ['', '<raw>'] });
});

test('xml: DOCTYPE (entity expansion), undeclared prefixes, bad nesting and deep nesting are refused', () => {
  assert.throws(() => parseXml('<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'), /DOCTYPE/);
  assert.throws(() => parseXml('<p:x/>'), /not declared/);
  assert.throws(() => parseXml('<a><b></a></b>'), /does not close/);
  assert.throws(() => parseXml('<a>'), /never closed/);
  assert.throws(() => parseXml('<a/><b/>'), /second root/);
  assert.throws(() => parseXml('<a>'.repeat(300) + '</a>'.repeat(300)), /deeper than 256/);
  assert.throws(() => parseXml('<x>&bogus;</x>'), /not defined/);
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (s) => {
      try {
        parseXml(s);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
    }),
    { numRuns: 1000 },
  );
});

test('envelopes: a 1.1 request round-trips; faults of both versions decode', () => {
  const env = buildEnvelope('1.1', 'urn:t', 'add', { a: 1, b: [2, 3], c: { d: 'x&y' }, e: null });
  const parsed = parseEnvelope(parseXml(env));
  assert.equal(parsed.version, '1.1');
  assert.deepEqual(parsed.body?.[0], { element: 'add', ns: 'urn:t', value: { a: '1', b: ['2', '3'], c: { d: 'x&y' }, e: null } });
  const f11 = parseEnvelope(parseXml(`<e:Envelope xmlns:e="${SOAP11_ENV}"><e:Body><e:Fault><faultcode>e:Client</faultcode><faultstring>bad</faultstring><detail><why>because</why></detail></e:Fault></e:Body></e:Envelope>`));
  assert.deepEqual(f11.fault, { code: 'e:Client', subcodes: [], reason: 'bad', actor: null, detail: { why: 'because' } });
  const f12 = parseEnvelope(
    parseXml('<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><e:Fault><e:Code><e:Value>e:Sender</e:Value><e:Subcode><e:Value>Lab</e:Value></e:Subcode></e:Code><e:Reason><e:Text xml:lang="en">boom</e:Text></e:Reason></e:Fault></e:Body></e:Envelope>'),
  );
  assert.deepEqual([f12.fault?.code, f12.fault?.subcodes, f12.fault?.reason], ['e:Sender', ['Lab'], 'boom']);
  assert.throws(() => parseEnvelope(parseXml('<html/>')), /not a SOAP envelope/);
  assert.throws(() => buildEnvelope('1.1', 'urn:t', 'bad name', {}), ProtocolError);
});
