// The SSH agent protocol codec (draft-miller-ssh-agent) and the agent that answers forwarded requests.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { fromHex, toHex, utf8 } from '../../core/bytes.ts';
import { webCrypto } from '../../core/crypto.ts';
import { ProtocolError } from '../../core/errors.ts';
import { FrameDecoder } from '../../core/framing.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import {
  AGENT,
  AGENT_FLAGS,
  agentFrame,
  decodeAgentAnswer,
  decodeAgentRequest,
  encodeAgentFailure,
  encodeIdentitiesAnswer,
  encodeRequestIdentities,
  encodeSignRequest,
  encodeSignResponse,
  SshAgent,
} from './agent.ts';
import { parsePrivateKey } from './keys.ts';
import { SshReader } from './wire.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

// Golden bytes, written out by hand from draft-miller-ssh-agent section 3 and 4.
const GOLDEN = {
  requestIdentities: '000000010b',
  failure: '0000000105',
  // SIGN_REQUEST: string key "k", string data "d", uint32 flags 4 (SSH_AGENT_RSA_SHA2_512).
  signRequest: '0000000f0d000000016b000000016400000004',
  // IDENTITIES_ANSWER: one key, blob "kb", comment "c".
  identitiesAnswer: '000000100c00000001000000026b620000000163',
  // SIGN_RESPONSE: string signature "sig".
  signResponse: '000000080e00000003736967',
};

test('messages encode to the golden bytes and decode back', () => {
  assert.equal(toHex(encodeRequestIdentities()), GOLDEN.requestIdentities);
  assert.equal(toHex(encodeAgentFailure()), GOLDEN.failure);
  assert.equal(toHex(encodeSignRequest(utf8('k'), utf8('d'), AGENT_FLAGS.RSA_SHA2_512)), GOLDEN.signRequest);
  assert.equal(toHex(encodeIdentitiesAnswer([{ blob: utf8('kb'), comment: 'c' }])), GOLDEN.identitiesAnswer);
  assert.equal(toHex(encodeSignResponse(utf8('sig'))), GOLDEN.signResponse);

  const all = fromHex(Object.values(GOLDEN).join(''));
  const messages = assertSplitFeed(agentFrame, all);
  assert.deepEqual(
    messages.map((m) => m.type),
    [AGENT.REQUEST_IDENTITIES, AGENT.FAILURE, AGENT.SIGN_REQUEST, AGENT.IDENTITIES_ANSWER, AGENT.SIGN_RESPONSE],
  );
  assert.deepEqual(decodeAgentRequest(messages[0]), { kind: 'identities' });
  assert.deepEqual(decodeAgentRequest(messages[2]), { kind: 'sign', key: utf8('k'), data: utf8('d'), flags: 4 });
  assert.deepEqual(decodeAgentAnswer(messages[1]), { kind: 'failure' });
  assert.deepEqual(decodeAgentAnswer(messages[3]), { kind: 'identities', keys: [{ blob: utf8('kb'), comment: 'c' }] });
  assert.deepEqual(decodeAgentAnswer(messages[4]), { kind: 'signature', signature: utf8('sig') });
});

test('wrong bytes throw ProtocolError naming the field', () => {
  assert.throws(() => new FrameDecoder(agentFrame).feed(fromHex('00000000')), /length: 0/);
  assert.throws(() => new FrameDecoder(agentFrame).feed(fromHex('7fffffff0d')), /exceeds 262144/);
  // A SIGN_REQUEST cut before its flags, and one with bytes after them.
  assert.throws(() => decodeAgentRequest({ type: AGENT.SIGN_REQUEST, body: fromHex('000000016b0000000164') }), (e: unknown) => e instanceof ProtocolError && /flags/.test(e.message));
  assert.throws(() => decodeAgentRequest({ type: AGENT.SIGN_REQUEST, body: fromHex('000000016b000000016400000004ff') }), /SIGN_REQUEST: 1 bytes after the last field/);
  // A key blob claiming 4 GiB.
  assert.throws(() => decodeAgentRequest({ type: AGENT.SIGN_REQUEST, body: fromHex('ffffffff') }), ProtocolError);
  assert.throws(() => decodeAgentAnswer({ type: AGENT.IDENTITIES_ANSWER, body: fromHex('ffffffff') }), /nkeys: 4294967295 exceeds/);
  assert.throws(() => decodeAgentAnswer({ type: 99, body: new Uint8Array(0) }), /agent answer type: 99/);
});

test('fuzz: random and mutated agent streams end in messages or ProtocolError', () => {
  const seeds = Object.values(GOLDEN).map(fromHex);
  assertFuzzSafe(agentFrame, { seeds });
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 256 }), (type, body) => {
      for (const decode of [decodeAgentRequest, decodeAgentAnswer]) {
        try {
          decode({ type, body });
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
        }
      }
    }),
    { numRuns: 1000 },
  );
});

test('the agent lists its keys, signs with the flags\' algorithm, verifiably, and refuses what it cannot do', async () => {
  const crypto = webCrypto();
  const ed = await parsePrivateKey(crypto, fixture('ed25519'));
  const rsa = await parsePrivateKey(crypto, fixture('rsa1024-pem'));
  let asked = 0;
  const agent = new SshAgent(crypto, [ed, rsa], async () => (asked++, asked !== 3));
  const one = async (bytes: Uint8Array) => decodeAgentAnswer(new FrameDecoder(agentFrame).feed(await agent.answer(new FrameDecoder(agentFrame).feed(bytes)[0]))[0]);

  const ids = await one(encodeRequestIdentities());
  assert.equal(ids.kind, 'identities');
  assert.deepEqual(ids.kind === 'identities' && ids.keys.map((k) => toHex(k.blob)), [toHex(ed.publicBlob), toHex(rsa.publicBlob)]);

  const data = utf8('session id and userauth request');
  for (const [flags, alg] of [
    [AGENT_FLAGS.RSA_SHA2_512, 'rsa-sha2-512'],
    [AGENT_FLAGS.RSA_SHA2_256, 'rsa-sha2-256'],
  ] as const) {
    const a = await one(encodeSignRequest(rsa.publicBlob, data, flags));
    assert.equal(a.kind, 'signature');
    const sig = new SshReader(a.kind === 'signature' ? a.signature : new Uint8Array());
    assert.equal(sig.text(), alg);
    // The RSA public key from its blob (e, n) verifies the signature over the data with the flag's hash.
    const blob = new SshReader(rsa.publicBlob);
    blob.text();
    const e = blob.string();
    const n = blob.string();
    const b64u = (b: Uint8Array) => Buffer.from(b[0] === 0 ? b.subarray(1) : b).toString('base64url');
    const pub = await crypto.subtle.importKey('jwk', { kty: 'RSA', e: b64u(e), n: b64u(n) }, { name: 'RSASSA-PKCS1-v1_5', hash: alg === 'rsa-sha2-512' ? 'SHA-512' : 'SHA-256' }, false, ['verify']);
    assert.ok(await crypto.subtle.verify('RSASSA-PKCS1-v1_5', pub, sig.string() as unknown as BufferSource, data as unknown as BufferSource));
  }
  // The third signature is declined at the prompt: SSH_AGENT_FAILURE, and noted.
  assert.deepEqual(await one(encodeSignRequest(ed.publicBlob, data, 0)), { kind: 'failure' });
  const edSig = await one(encodeSignRequest(ed.publicBlob, data, 0));
  assert.equal(edSig.kind === 'signature' && new SshReader(edSig.signature).text(), 'ssh-ed25519');
  // A key it does not hold, adding a key (ADD_IDENTITY 17), an extension: failure each.
  assert.deepEqual(await one(encodeSignRequest(utf8('not a key'), data, 0)), { kind: 'failure' });
  assert.deepEqual(await one(fromHex('000000021100')), { kind: 'failure' });
  assert.deepEqual(await one(fromHex(`0000001d1b00000018${toHex(utf8('session-bind@openssh.com'))}`)), { kind: 'failure' });
  assert.deepEqual(
    agent.events.map((e) => [e.request, e.algorithm ?? e.detail ?? '', e.answered]),
    [
      ['identities', '', 'identities'],
      ['sign', 'rsa-sha2-512', 'signature'],
      ['sign', 'rsa-sha2-256', 'signature'],
      ['sign', '', 'failure'],
      ['sign', 'ssh-ed25519', 'signature'],
      ['sign', '', 'failure'],
      ['other', 'message 17', 'failure'],
      ['extension', 'session-bind@openssh.com', 'failure'],
    ],
  );
});
