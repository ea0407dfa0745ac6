import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { ByteWriter, toHex, utf8 } from '../../core/bytes.ts';
import { Commands, encodeCommand, javaName, packetFrame, parseAllClasses, parseIdSizes, parseVersion } from './codec.ts';

const str = (w: ByteWriter, s: string) => w.lengthPrefixed('u32', utf8(s));

test('command packets: length, id, flags 0, command set and command', () => {
  assert.equal(toHex(encodeCommand(1, Commands.Version)), '0000000b00000001000101');
  assert.equal(toHex(encodeCommand(7, Commands.ThreadName, new Uint8Array([0, 0, 0, 0, 0, 0, 0, 9]))), '0000001300000007000b010000000000000009');
});

function versionReply(): Uint8Array {
  const data = new ByteWriter();
  str(data, 'Java Debug Wire Protocol (Reference Implementation) version 17.0');
  data.i32(17).i32(0);
  str(data, '17.0.15');
  str(data, 'OpenJDK 64-Bit Server VM');
  const body = data.finish();
  return new ByteWriter().u32(11 + body.length).u32(1).u8(0x80).u16(0).bytes(body).finish();
}

test('reply packets, whole and byte by byte; an event packet in between is a command', () => {
  const event = new ByteWriter().u32(11 + 5).u32(99).u8(0).u8(64).u8(100).u8(2).u32(0).finish();
  const [reply, evt] = assertSplitFeed(packetFrame, new Uint8Array([...versionReply(), ...event]));
  assert.equal(reply.kind, 'reply');
  assert.deepEqual(parseVersion(reply.data), { description: 'Java Debug Wire Protocol (Reference Implementation) version 17.0', jdwpMajor: 17, jdwpMinor: 0, vmVersion: '17.0.15', vmName: 'OpenJDK 64-Bit Server VM' });
  assert.deepEqual(evt, { kind: 'command', id: 99, commandSet: 64, command: 100, data: new Uint8Array([2, 0, 0, 0, 0]) });
  assert.throws(() => packetFrame(new Uint8Array([0, 0, 0, 5, 0, 0, 0, 1, 0x80, 0, 0])), /shorter than its header/);
  assert.throws(() => packetFrame(new Uint8Array([0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0x80, 0, 0])), /exceeds/);
});

test('IDSizes and AllClasses with 8-byte IDs; names from signatures', () => {
  const sizes = parseIdSizes(new ByteWriter().i32(8).i32(8).i32(8).i32(8).i32(8).finish());
  const w = new ByteWriter().i32(3);
  for (const [tag, sig] of [[1, 'Ljava/lang/String;'], [2, 'Ljava/rmi/Remote;'], [3, '[[I']] as const) {
    w.u8(tag).u64(1n);
    str(w, sig);
    w.i32(7);
  }
  const all = parseAllClasses(w.finish(), sizes, (c) => c.name.startsWith('java.'), 10);
  assert.equal(all.total, 3);
  assert.deepEqual(all.classes.map((c) => [c.kind, c.name]), [['class', 'java.lang.String'], ['interface', 'java.rmi.Remote']]);
  assert.equal(javaName('[[I'), 'int[][]');
  assert.throws(() => parseIdSizes(new ByteWriter().i32(8).i32(8).i32(9).i32(8).i32(8).finish()), /objectID 9/);
  assert.throws(() => parseAllClasses(new ByteWriter().i32(-1).finish(), sizes, () => true, 1), /classes -1/);
});

test('packet decoder: random bytes end in a packet, a wait or a ProtocolError', () => {
  assertFuzzSafe(packetFrame, { seeds: [versionReply()] });
});
