// SMPP codec: golden PDUs, bind and submit_sm / deliver_sm bodies, TLVs, data codings, split feed, caps, fuzz.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat, fromHex, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { FrameDecoder } from '../../core/framing.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { CMD, decodeBindResp, decodeGsm7, decodeShortMessage, decodeText, decodeUcs2, encodeBind, encodeGsm7, encodePdu, encodeShortMessage, encodeUcs2, pduFrame, type ShortMessage } from './codec.ts';
import { receiptFields } from './index.ts';

const b = (s: string) => utf8(s);

const sm = (over: Partial<ShortMessage> = {}): ShortMessage => ({
  serviceType: '',
  sourceTon: 1,
  sourceNpi: 1,
  source: '456',
  destTon: 1,
  destNpi: 1,
  destination: '123',
  esmClass: 0,
  protocolId: 0,
  priority: 0,
  scheduleDeliveryTime: '',
  validityPeriod: '',
  registeredDelivery: 1,
  replaceIfPresent: 0,
  dataCoding: 0,
  defaultMsgId: 0,
  message: b('hi'),
  tlvs: [],
  ...over,
});

describe('SMPP PDUs: golden bytes', () => {
  it('enquire_link: a bare 16-byte header', () => {
    assert.deepEqual(encodePdu(CMD.enquire_link, 7), fromHex('00000010 00000015 00000000 00000007'));
  });

  it('bind_transmitter body: system_id, password, system_type, version 0x34, TON, NPI, address_range', () => {
    const body = encodeBind({ systemId: 'esme', password: 'pw', systemType: '', interfaceVersion: 0x34, addrTon: 0, addrNpi: 0, addressRange: '' });
    assert.deepEqual(body, concat([b('esme\0pw\0\0'), new Uint8Array([0x34, 0, 0, 0])]));
    assert.throws(() => encodeBind({ systemId: 'x'.repeat(16), password: '', systemType: '', interfaceVersion: 0x34, addrTon: 0, addrNpi: 0, addressRange: '' }), /system_id is longer than 15/);
  });

  it('submit_sm round-trips; a long message moves to message_payload', () => {
    const golden = encodeShortMessage(sm());
    // service_type "" | 1 1 "456" | 1 1 "123" | esm 0 pid 0 prio 0 | "" "" | rd 1 rip 0 dc 0 id 0 | len 2 "hi"
    assert.deepEqual(golden, fromHex('00 0101 34353600 0101 31323300 000000 00 00 01000000 02 6869'));
    assert.deepEqual(decodeShortMessage(golden), sm());
    const long = new Uint8Array(300).fill(0x41);
    const enc = encodeShortMessage(sm({ message: long }));
    const back = decodeShortMessage(enc);
    assert.deepEqual(back.message, long);
    assert.equal(back.tlvs[0].tag, 0x0424);
  });

  it('PDUs split at any point come back whole', () => {
    const bytes = concat([encodePdu(CMD.deliver_sm, 1, encodeShortMessage(sm())), encodePdu(CMD.enquire_link_resp, 2), encodePdu(CMD.bind_receiver_resp, 3, concat([b('SMSC\0'), fromHex('0210 0001 34')]))]);
    const got = assertSplitFeed(pduFrame(), bytes);
    assert.deepEqual(got.map((p) => [p.commandId, p.sequence]), [[CMD.deliver_sm, 1], [CMD.enquire_link_resp, 2], [CMD.bind_receiver_resp, 3]]);
    assert.deepEqual(decodeBindResp(got[2].body), { systemId: 'SMSC', interfaceVersion: 0x34 });
  });

  it('command_length below 16 or above the cap is refused before the body', () => {
    const one = (bytes: Uint8Array, f = pduFrame()) => new FrameDecoder(f).feed(bytes);
    assert.throws(() => one(fromHex('0000000f')), /shorter than the 16-byte header/);
    assert.throws(() => one(fromHex('7fffffff')), (e: unknown) => e instanceof ProtocolError && /2147483647 exceeds the 65536-byte limit/.test(e.message));
    assert.throws(() => decodeShortMessage(fromHex('00 0101 343536')), ProtocolError);
  });

  it('fuzz: PDU frames and short-message bodies', () => {
    assertFuzzSafe(pduFrame(4096), { seeds: [encodePdu(CMD.deliver_sm, 1, encodeShortMessage(sm()))] });
    assertFuzzSafe(
      (buf) => {
        decodeShortMessage(buf);
        return { value: 0, size: buf.length };
      },
      { seeds: [encodeShortMessage(sm())] },
    );
  });
});

describe('SMPP data codings', () => {
  it('GSM 03.38: basic characters one septet each, the extension table behind ESC', () => {
    assert.deepEqual(encodeGsm7('@£$ Aé'), new Uint8Array([0x00, 0x01, 0x02, 0x20, 0x41, 0x05]));
    assert.deepEqual(encodeGsm7('{€}'), new Uint8Array([0x1b, 0x28, 0x1b, 0x65, 0x1b, 0x29]));
    assert.equal(encodeGsm7('世界'), undefined);
    assert.equal(decodeGsm7(encodeGsm7('Héllo {world} €5 ÄÖÜ')!), 'Héllo {world} €5 ÄÖÜ');
  });
  it('UCS-2 is UTF-16 big endian', () => {
    assert.deepEqual(encodeUcs2('Aé世'), fromHex('0041 00e9 4e16'));
    assert.equal(decodeUcs2(fromHex('0041 00e9 4e16')), 'Aé世');
    assert.throws(() => decodeUcs2(fromHex('00')), /odd number/);
    assert.equal(decodeText(4, fromHex('ff')), undefined);
    assert.equal(decodeText(3, fromHex('e9')), 'é');
  });
  it('delivery receipt text (Appendix B)', () => {
    assert.deepEqual(receiptFields('id:0123456789 sub:001 dlvrd:001 submit date:2412041200 done date:2412041201 stat:DELIVRD err:000 text:hello there'), {
      id: '0123456789',
      sub: '001',
      dlvrd: '001',
      'submit date': '2412041200',
      'done date': '2412041201',
      stat: 'DELIVRD',
      err: '000',
      text: 'hello there',
    });
  });
});
