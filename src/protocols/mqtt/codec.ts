// MQTT 3.1.1 (OASIS, 2014) and MQTT 5.0 (OASIS, 2019): control packets (§2, §3), the variable byte
// integer (§1.5.5 / 5.0 §1.5.5), v5 properties (5.0 §2.2.2), reason codes (5.0 §2.4) and topic rules (§4.7).
//
// How it works: `packetFrame(version, max)` reads a fixed header, rejects a remaining length longer than
// four bytes or larger than `max` before any body is buffered, and decodes the packet into a typed value.
// Encoders build every packet a client sends; decoders read every packet type, so codec tests round-trip.
import { ByteReader, ByteWriter, fromUtf8, toHex, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export type MqttVersion = 4 | 5;

export const PacketType = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
  AUTH: 15,
} as const;

const TYPE_NAMES = ['reserved', 'CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP', 'SUBSCRIBE', 'SUBACK', 'UNSUBSCRIBE', 'UNSUBACK', 'PINGREQ', 'PINGRESP', 'DISCONNECT', 'AUTH'];

/** §1.5.5: four bytes of 7 bits each. */
export const MAX_REMAINING_LENGTH = 268_435_455;

/** 5.0 §2.4 reason codes; the same byte means different things in different packets, so names are per use. */
const REASONS: Record<number, string> = {
  0x00: 'Success',
  0x01: 'Granted QoS 1',
  0x02: 'Granted QoS 2',
  0x04: 'Disconnect with Will Message',
  0x10: 'No matching subscribers',
  0x11: 'No subscription existed',
  0x18: 'Continue authentication',
  0x19: 'Re-authenticate',
  0x80: 'Unspecified error',
  0x81: 'Malformed Packet',
  0x82: 'Protocol Error',
  0x83: 'Implementation specific error',
  0x84: 'Unsupported Protocol Version',
  0x85: 'Client Identifier not valid',
  0x86: 'Bad User Name or Password',
  0x87: 'Not authorized',
  0x88: 'Server unavailable',
  0x89: 'Server busy',
  0x8a: 'Banned',
  0x8b: 'Server shutting down',
  0x8c: 'Bad authentication method',
  0x8d: 'Keep Alive timeout',
  0x8e: 'Session taken over',
  0x8f: 'Topic Filter invalid',
  0x90: 'Topic Name invalid',
  0x91: 'Packet Identifier in use',
  0x92: 'Packet Identifier not found',
  0x93: 'Receive Maximum exceeded',
  0x94: 'Topic Alias invalid',
  0x95: 'Packet too large',
  0x96: 'Message rate too high',
  0x97: 'Quota exceeded',
  0x98: 'Administrative action',
  0x99: 'Payload format invalid',
  0x9a: 'Retain not supported',
  0x9b: 'QoS not supported',
  0x9c: 'Use another server',
  0x9d: 'Server moved',
  0x9e: 'Shared Subscriptions not supported',
  0x9f: 'Connection rate exceeded',
  0xa0: 'Maximum connect time',
  0xa1: 'Subscription Identifiers not supported',
  0xa2: 'Wildcard Subscriptions not supported',
};

/** 3.1.1 §3.2.2.3: CONNACK return codes. */
const CONNACK_V4: Record<number, string> = {
  0: 'Connection Accepted',
  1: 'unacceptable protocol version',
  2: 'identifier rejected',
  3: 'Server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
};

export function reasonName(code: number, version: MqttVersion, packet?: 'connack' | 'suback' | 'disconnect'): string {
  if (version === 4 && packet === 'connack') return CONNACK_V4[code] ?? `return code ${code}`;
  if (version === 4 && packet === 'suback') return code === 0x80 ? 'Failure' : `Granted QoS ${code}`;
  if (code === 0 && packet === 'disconnect') return 'Normal disconnection';
  if (code === 0 && packet === 'suback') return 'Granted QoS 0';
  return REASONS[code] ?? `reason 0x${code.toString(16).padStart(2, '0')}`;
}

// 5.0 §2.2.2.2: property identifiers and their types.
type PropType = 'byte' | 'u16' | 'u32' | 'varint' | 'string' | 'binary' | 'pair';

export interface MqttProperties {
  payloadFormatIndicator?: number;
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Uint8Array;
  subscriptionIdentifiers?: number[];
  sessionExpiryInterval?: number;
  assignedClientIdentifier?: string;
  serverKeepAlive?: number;
  authenticationMethod?: string;
  authenticationData?: Uint8Array;
  requestProblemInformation?: number;
  willDelayInterval?: number;
  requestResponseInformation?: number;
  responseInformation?: string;
  serverReference?: string;
  reasonString?: string;
  receiveMaximum?: number;
  topicAliasMaximum?: number;
  topicAlias?: number;
  maximumQos?: number;
  retainAvailable?: number;
  userProperties?: [string, string][];
  maximumPacketSize?: number;
  wildcardSubscriptionAvailable?: number;
  subscriptionIdentifierAvailable?: number;
  sharedSubscriptionAvailable?: number;
}

const PROPS: [number, keyof MqttProperties, PropType][] = [
  [0x01, 'payloadFormatIndicator', 'byte'],
  [0x02, 'messageExpiryInterval', 'u32'],
  [0x03, 'contentType', 'string'],
  [0x08, 'responseTopic', 'string'],
  [0x09, 'correlationData', 'binary'],
  [0x0b, 'subscriptionIdentifiers', 'varint'],
  [0x11, 'sessionExpiryInterval', 'u32'],
  [0x12, 'assignedClientIdentifier', 'string'],
  [0x13, 'serverKeepAlive', 'u16'],
  [0x15, 'authenticationMethod', 'string'],
  [0x16, 'authenticationData', 'binary'],
  [0x17, 'requestProblemInformation', 'byte'],
  [0x18, 'willDelayInterval', 'u32'],
  [0x19, 'requestResponseInformation', 'byte'],
  [0x1a, 'responseInformation', 'string'],
  [0x1c, 'serverReference', 'string'],
  [0x1f, 'reasonString', 'string'],
  [0x21, 'receiveMaximum', 'u16'],
  [0x22, 'topicAliasMaximum', 'u16'],
  [0x23, 'topicAlias', 'u16'],
  [0x24, 'maximumQos', 'byte'],
  [0x25, 'retainAvailable', 'byte'],
  [0x26, 'userProperties', 'pair'],
  [0x27, 'maximumPacketSize', 'u32'],
  [0x28, 'wildcardSubscriptionAvailable', 'byte'],
  [0x29, 'subscriptionIdentifierAvailable', 'byte'],
  [0x2a, 'sharedSubscriptionAvailable', 'byte'],
];
const PROP_BY_ID = new Map(PROPS.map(([id, name, type]) => [id, { name, type }]));
const PROP_BY_NAME = new Map(PROPS.map(([id, name, type]) => [name, { id, type }]));
const MAX_USER_PROPERTIES = 1024;

// Primitive fields (§1.5).

/** §1.5.5: a variable byte integer, at most four bytes. */
export function writeVarint(w: ByteWriter, n: number): ByteWriter {
  if (n < 0 || n > MAX_REMAINING_LENGTH || !Number.isInteger(n)) throw new ProtocolError(`variable byte integer ${n} out of range`);
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    w.u8(b);
  } while (n > 0);
  return w;
}

export function readVarint(r: ByteReader, field: string): number {
  let n = 0;
  let mul = 1;
  for (let i = 0; i < 4; i++) {
    const b = r.u8(field);
    n += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return n;
    mul *= 128;
  }
  throw new ProtocolError(`${field}: variable byte integer longer than 4 bytes [MQTT-1.5.5-1]`);
}

/** §1.5.4: a UTF-8 string with a 2-byte length; no U+0000 [MQTT-1.5.4-2]. */
function writeString(w: ByteWriter, s: string | Uint8Array, field: string): void {
  const b = typeof s === 'string' ? utf8(s) : s;
  if (b.length > 65535) throw new ProtocolError(`${field} is longer than 65535 bytes`);
  w.u16(b.length).bytes(b);
}

function readString(r: ByteReader, field: string): string {
  const s = fromUtf8(r.lengthPrefixed('u16', field), true, field);
  if (s.includes('\u0000')) throw new ProtocolError(`${field} contains U+0000 [MQTT-1.5.4-2]`);
  return s;
}

function writeBinary(w: ByteWriter, b: Uint8Array, field: string): void {
  if (b.length > 65535) throw new ProtocolError(`${field} is longer than 65535 bytes`);
  w.u16(b.length).bytes(b);
}

/** 5.0 §2.2.2: a property length (variable byte integer) followed by the properties. */
export function encodeProperties(props: MqttProperties | undefined): Uint8Array {
  const w = new ByteWriter(64);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined) continue;
    const def = PROP_BY_NAME.get(key as keyof MqttProperties);
    if (!def) throw new ProtocolError(`unknown MQTT property ${key}`);
    const put = (v: unknown) => {
      writeVarint(w, def.id);
      switch (def.type) {
        case 'byte':
          w.u8(v as number);
          break;
        case 'u16':
          w.u16(v as number);
          break;
        case 'u32':
          w.u32(v as number);
          break;
        case 'varint':
          writeVarint(w, v as number);
          break;
        case 'string':
          writeString(w, v as string, key);
          break;
        case 'binary':
          writeBinary(w, v as Uint8Array, key);
          break;
        case 'pair':
          writeString(w, (v as [string, string])[0], key);
          writeString(w, (v as [string, string])[1], key);
          break;
      }
    };
    if (def.type === 'pair' || key === 'subscriptionIdentifiers') for (const v of value as unknown[]) put(v);
    else put(value);
  }
  const body = w.finish();
  return writeVarint(new ByteWriter(body.length + 4), body.length).bytes(body).finish();
}

export function readProperties(r: ByteReader, where: string): MqttProperties {
  const len = readVarint(r, `${where} property length`);
  if (len > r.remaining) throw new ProtocolError(`${where}: property length ${len} exceeds the ${r.remaining} bytes left`);
  const sub = new ByteReader(r.bytesN(len, `${where} properties`));
  const out: MqttProperties = {};
  const o = out as Record<string, unknown>;
  while (!sub.done) {
    const id = readVarint(sub, `${where} property identifier`);
    const def = PROP_BY_ID.get(id);
    if (!def) throw new ProtocolError(`${where}: unknown property identifier 0x${id.toString(16)} (MQTT 5.0 §2.2.2.2)`);
    const field = `${where} ${def.name}`;
    let v: unknown;
    switch (def.type) {
      case 'byte':
        v = sub.u8(field);
        break;
      case 'u16':
        v = sub.u16(field);
        break;
      case 'u32':
        v = sub.u32(field);
        break;
      case 'varint':
        v = readVarint(sub, field);
        break;
      case 'string':
        v = readString(sub, field);
        break;
      case 'binary':
        v = sub.lengthPrefixed('u16', field).slice();
        break;
      case 'pair':
        v = [readString(sub, field), readString(sub, field)];
        break;
    }
    if (def.type === 'pair' || def.name === 'subscriptionIdentifiers') {
      const list = (o[def.name] ??= []) as unknown[];
      if (list.length >= MAX_USER_PROPERTIES) throw new ProtocolError(`${where}: more than ${MAX_USER_PROPERTIES} ${def.name}`);
      list.push(v);
    } else {
      // 5.0 §2.2.2.2: it is a Protocol Error to include a property other than these more than once.
      if (o[def.name] !== undefined) throw new ProtocolError(`${where}: property ${def.name} appears twice (MQTT 5.0 §2.2.2.2)`);
      o[def.name] = v;
    }
  }
  return out;
}

// Topics (§4.7).

/** §4.7.3: a topic name has at least one character and no wildcard [MQTT-3.3.2-2]. Returns the problem, or null. */
export function topicNameProblem(topic: string): string | null {
  if (topic.length === 0) return 'is empty (a topic name has at least one character, MQTT §4.7.3)';
  if (utf8(topic).length > 65535) return 'is longer than 65535 bytes';
  if (/[#+]/.test(topic)) return `"${topic}" contains a wildcard (+ or #): a topic name to publish to may not (MQTT-3.3.2-2)`;
  if (topic.includes('\u0000')) return 'contains U+0000';
  return null;
}

/** §4.7.1: `#` alone as the last level, `+` alone in a level; shared subscriptions as $share/{group}/{filter} (5.0 §4.8.2). */
export function topicFilterProblem(filter: string): string | null {
  if (filter.length === 0) return 'is empty (a topic filter has at least one character, MQTT §4.7.3)';
  if (utf8(filter).length > 65535) return 'is longer than 65535 bytes';
  if (filter.includes('\u0000')) return 'contains U+0000';
  let levels = filter.split('/');
  if (levels[0] === '$share') {
    if (levels.length < 3 || levels[1] === '' || /[#+]/.test(levels[1])) return `"${filter}": a shared subscription is $share/{group}/{filter} with a group name without wildcards (MQTT 5.0 §4.8.2)`;
    levels = levels.slice(2);
  }
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i];
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1)) return `"${filter}": # must be a whole level and the last one, as in sensors/# (MQTT-4.7.1-2)`;
    if (l.includes('+') && l !== '+') return `"${filter}": + must fill a whole level, as in sensors/+/temp (MQTT-4.7.1-3)`;
  }
  return null;
}

/** §4.7.2: whether a topic name matches a filter; `$` topics match no filter starting with a wildcard [MQTT-4.7.2-1]. */
export function topicMatches(filter: string, topic: string): boolean {
  let f = filter.split('/');
  if (f[0] === '$share') f = f.slice(2);
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '#' || f[0] === '+')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

// Packets.

export interface Will {
  topic: string;
  payload: Uint8Array;
  qos: 0 | 1 | 2;
  retain: boolean;
  properties?: MqttProperties;
}

export interface ConnectPacket {
  type: 'connect';
  version: MqttVersion;
  clientId: string;
  cleanStart: boolean;
  keepAlive: number;
  username?: string;
  password?: Uint8Array;
  will?: Will;
  properties?: MqttProperties;
}

export interface Subscription {
  filter: string;
  qos: 0 | 1 | 2;
  /** v5 subscription options (5.0 §3.8.3.1). */
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: 0 | 1 | 2;
}

export type Packet =
  | ConnectPacket
  | { type: 'connack'; sessionPresent: boolean; code: number; properties: MqttProperties }
  | { type: 'publish'; dup: boolean; qos: 0 | 1 | 2; retain: boolean; topic: string; packetId?: number; properties: MqttProperties; payload: Uint8Array }
  | { type: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'; packetId: number; code: number; properties: MqttProperties }
  | { type: 'subscribe'; packetId: number; subscriptions: Subscription[]; properties: MqttProperties }
  | { type: 'suback' | 'unsuback'; packetId: number; codes: number[]; properties: MqttProperties }
  | { type: 'unsubscribe'; packetId: number; filters: string[]; properties: MqttProperties }
  | { type: 'pingreq' | 'pingresp' }
  | { type: 'disconnect' | 'auth'; code: number; properties: MqttProperties };

/** Fixed header (§2.1) + remaining length + body. */
function packet(first: number, body: Uint8Array): Uint8Array {
  const w = new ByteWriter(body.length + 5);
  w.u8(first);
  writeVarint(w, body.length);
  return w.bytes(body).finish();
}

export function encodeConnect(p: Omit<ConnectPacket, 'type'>): Uint8Array {
  const v5 = p.version === 5;
  const w = new ByteWriter(128);
  writeString(w, 'MQTT', 'protocol name');
  w.u8(p.version);
  // §3.1.2.3 connect flags.
  let flags = 0;
  if (p.username !== undefined) flags |= 0x80;
  if (p.password !== undefined) flags |= 0x40;
  if (p.will) flags |= 0x04 | (p.will.qos << 3) | (p.will.retain ? 0x20 : 0);
  if (p.cleanStart) flags |= 0x02;
  w.u8(flags).u16(p.keepAlive);
  if (v5) w.bytes(encodeProperties(p.properties));
  writeString(w, p.clientId, 'client id');
  if (p.will) {
    if (v5) w.bytes(encodeProperties(p.will.properties));
    writeString(w, p.will.topic, 'will topic');
    writeBinary(w, p.will.payload, 'will payload');
  }
  if (p.username !== undefined) writeString(w, p.username, 'username');
  if (p.password !== undefined) writeBinary(w, p.password, 'password');
  return packet(PacketType.CONNECT << 4, w.finish());
}

export interface PublishFields {
  topic: string;
  payload: Uint8Array;
  qos: 0 | 1 | 2;
  retain?: boolean;
  dup?: boolean;
  packetId?: number;
  properties?: MqttProperties;
}

export function encodePublish(version: MqttVersion, p: PublishFields): Uint8Array {
  const w = new ByteWriter(p.payload.length + p.topic.length + 16);
  writeString(w, p.topic, 'topic');
  if (p.qos > 0) {
    if (!p.packetId) throw new ProtocolError('a QoS 1 or 2 PUBLISH needs a non-zero packet identifier [MQTT-2.3.1-1]');
    w.u16(p.packetId);
  }
  if (version === 5) w.bytes(encodeProperties(p.properties));
  w.bytes(p.payload);
  return packet((PacketType.PUBLISH << 4) | (p.dup ? 0x08 : 0) | (p.qos << 1) | (p.retain ? 1 : 0), w.finish());
}

/** PUBACK, PUBREC, PUBREL (flags 0b0010, §3.6.1) and PUBCOMP. v5 omits a Success code with no properties (5.0 §3.4.2.1). */
export function encodeAck(version: MqttVersion, type: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp', packetId: number, code = 0, properties?: MqttProperties): Uint8Array {
  const t = { puback: PacketType.PUBACK, pubrec: PacketType.PUBREC, pubrel: PacketType.PUBREL, pubcomp: PacketType.PUBCOMP }[type];
  const w = new ByteWriter(8).u16(packetId);
  const props = properties && Object.keys(properties).length > 0;
  if (version === 5 && (code !== 0 || props)) {
    w.u8(code);
    if (props) w.bytes(encodeProperties(properties));
  }
  return packet((t << 4) | (type === 'pubrel' ? 0x02 : 0), w.finish());
}

export function encodeSubscribe(version: MqttVersion, packetId: number, subs: Subscription[], properties?: MqttProperties): Uint8Array {
  const w = new ByteWriter(64).u16(packetId);
  if (version === 5) w.bytes(encodeProperties(properties));
  for (const s of subs) {
    writeString(w, s.filter, 'topic filter');
    let opts = s.qos;
    if (version === 5) opts |= (s.noLocal ? 0x04 : 0) | (s.retainAsPublished ? 0x08 : 0) | ((s.retainHandling ?? 0) << 4);
    w.u8(opts);
  }
  // §3.8.1: SUBSCRIBE fixed header flags are 0b0010 [MQTT-3.8.1-1].
  return packet((PacketType.SUBSCRIBE << 4) | 0x02, w.finish());
}

export function encodeUnsubscribe(version: MqttVersion, packetId: number, filters: string[], properties?: MqttProperties): Uint8Array {
  const w = new ByteWriter(64).u16(packetId);
  if (version === 5) w.bytes(encodeProperties(properties));
  for (const f of filters) writeString(w, f, 'topic filter');
  return packet((PacketType.UNSUBSCRIBE << 4) | 0x02, w.finish());
}

export function encodePingreq(): Uint8Array {
  return Uint8Array.of(0xc0, 0x00);
}

export function encodeDisconnect(version: MqttVersion, code = 0, properties?: MqttProperties): Uint8Array {
  const props = properties && Object.keys(properties).length > 0;
  if (version === 4 || (code === 0 && !props)) return Uint8Array.of(0xe0, 0x00);
  const w = new ByteWriter(8).u8(code);
  if (props) w.bytes(encodeProperties(properties));
  return packet(PacketType.DISCONNECT << 4, w.finish());
}

// Decoding.

/** §2.1.3: the flags each packet type must carry (PUBLISH's are its own). */
const REQUIRED_FLAGS: Record<number, number> = { 1: 0, 2: 0, 4: 0, 5: 0, 6: 2, 7: 0, 8: 2, 9: 0, 10: 2, 11: 0, 12: 0, 13: 0, 14: 0, 15: 0 };

export function decodePacket(version: MqttVersion, first: number, body: Uint8Array): Packet {
  const type = first >> 4;
  const flags = first & 0x0f;
  const name = TYPE_NAMES[type];
  if (type === 0) throw new ProtocolError('control packet type 0 is reserved (MQTT §2.1.2)');
  if (type === PacketType.AUTH && version === 4) throw new ProtocolError('AUTH (type 15) is reserved in MQTT 3.1.1');
  if (type !== PacketType.PUBLISH && REQUIRED_FLAGS[type] !== flags) throw new ProtocolError(`${name} with fixed-header flags 0x${flags.toString(16)} (must be 0x${REQUIRED_FLAGS[type].toString(16)}, MQTT §2.1.3)`);
  const r = new ByteReader(body);
  const v5 = version === 5;
  const done = <P extends Packet>(p: P): P => {
    if (!r.done) throw new ProtocolError(`${name}: ${r.remaining} bytes left over after the packet`);
    return p;
  };
  switch (type) {
    case PacketType.CONNECT: {
      const proto = readString(r, 'CONNECT protocol name');
      const level = r.u8('CONNECT protocol level');
      if (proto !== 'MQTT' || (level !== 4 && level !== 5)) throw new ProtocolError(`CONNECT for protocol ${proto} level ${level}`);
      const f = r.u8('CONNECT flags');
      const keepAlive = r.u16('CONNECT keep alive');
      const properties = level === 5 ? readProperties(r, 'CONNECT') : undefined;
      const clientId = readString(r, 'CONNECT client id');
      let will: Will | undefined;
      if (f & 0x04) {
        const wp = level === 5 ? readProperties(r, 'CONNECT will') : undefined;
        const topic = readString(r, 'will topic');
        const payload = r.lengthPrefixed('u16', 'will payload').slice();
        will = { topic, payload, qos: ((f >> 3) & 3) as 0 | 1 | 2, retain: (f & 0x20) !== 0, ...(wp ? { properties: wp } : {}) };
      }
      const username = f & 0x80 ? readString(r, 'username') : undefined;
      const password = f & 0x40 ? r.lengthPrefixed('u16', 'password').slice() : undefined;
      return done({ type: 'connect', version: level as MqttVersion, clientId, cleanStart: (f & 0x02) !== 0, keepAlive, ...(username !== undefined ? { username } : {}), ...(password ? { password } : {}), ...(will ? { will } : {}), ...(properties ? { properties } : {}) });
    }
    case PacketType.CONNACK: {
      const ackFlags = r.u8('CONNACK acknowledge flags');
      if (ackFlags & 0xfe) throw new ProtocolError(`CONNACK acknowledge flags 0x${ackFlags.toString(16)}: bits 7-1 are reserved [MQTT-3.2.2-1]`);
      const code = r.u8('CONNACK return code');
      return done({ type: 'connack', sessionPresent: (ackFlags & 1) === 1, code, properties: v5 && !r.done ? readProperties(r, 'CONNACK') : {} });
    }
    case PacketType.PUBLISH: {
      const qos = (flags >> 1) & 3;
      if (qos === 3) throw new ProtocolError('PUBLISH with QoS 3 [MQTT-3.3.1-4]');
      const topic = readString(r, 'PUBLISH topic');
      const packetId = qos > 0 ? r.u16('PUBLISH packet identifier') : undefined;
      if (packetId === 0) throw new ProtocolError('PUBLISH with packet identifier 0 [MQTT-2.3.1-1]');
      const properties = v5 ? readProperties(r, 'PUBLISH') : {};
      if (topic === '' && properties.topicAlias === undefined) throw new ProtocolError('PUBLISH with an empty topic and no topic alias');
      return { type: 'publish', dup: (flags & 8) !== 0, qos: qos as 0 | 1 | 2, retain: (flags & 1) === 1, topic, ...(packetId !== undefined ? { packetId } : {}), properties, payload: r.rest().slice() };
    }
    case PacketType.PUBACK:
    case PacketType.PUBREC:
    case PacketType.PUBREL:
    case PacketType.PUBCOMP: {
      const packetId = r.u16(`${name} packet identifier`);
      const code = v5 && !r.done ? r.u8(`${name} reason code`) : 0;
      const properties = v5 && !r.done ? readProperties(r, name) : {};
      return done({ type: name.toLowerCase() as 'puback', packetId, code, properties });
    }
    case PacketType.SUBSCRIBE: {
      const packetId = r.u16('SUBSCRIBE packet identifier');
      const properties = v5 ? readProperties(r, 'SUBSCRIBE') : {};
      const subscriptions: Subscription[] = [];
      while (!r.done) {
        const filter = readString(r, 'SUBSCRIBE topic filter');
        const o = r.u8('SUBSCRIBE options');
        subscriptions.push(v5 ? { filter, qos: (o & 3) as 0 | 1 | 2, noLocal: (o & 4) !== 0, retainAsPublished: (o & 8) !== 0, retainHandling: ((o >> 4) & 3) as 0 | 1 | 2 } : { filter, qos: (o & 3) as 0 | 1 | 2 });
      }
      return { type: 'subscribe', packetId, subscriptions, properties };
    }
    case PacketType.SUBACK:
    case PacketType.UNSUBACK: {
      const packetId = r.u16(`${name} packet identifier`);
      const properties = v5 ? readProperties(r, name) : {};
      const codes = Array.from(r.rest());
      return { type: name.toLowerCase() as 'suback', packetId, codes, properties };
    }
    case PacketType.UNSUBSCRIBE: {
      const packetId = r.u16('UNSUBSCRIBE packet identifier');
      const properties = v5 ? readProperties(r, 'UNSUBSCRIBE') : {};
      const filters: string[] = [];
      while (!r.done) filters.push(readString(r, 'UNSUBSCRIBE topic filter'));
      return { type: 'unsubscribe', packetId, filters, properties };
    }
    case PacketType.PINGREQ:
    case PacketType.PINGRESP:
      return done({ type: type === PacketType.PINGREQ ? 'pingreq' : 'pingresp' });
    default: {
      // DISCONNECT and AUTH: v5 carries a reason code and properties (both may be omitted); 3.1.1 has no body.
      const code = v5 && !r.done ? r.u8(`${name} reason code`) : 0;
      const properties = v5 && !r.done ? readProperties(r, name) : {};
      return done({ type: name.toLowerCase() as 'disconnect', code, properties });
    }
  }
}

/**
 * One packet from the stream. The remaining length is checked against `maxPacket` as soon as its bytes
 * are in, so a 2^28-byte claim fails before anything of that size is buffered.
 */
export function packetFrame(version: MqttVersion, maxPacket = 16 * 1024 * 1024): Frame<Packet> {
  return (buf) => {
    if (buf.length < 2) return undefined;
    let remaining = 0;
    let mul = 1;
    let at = 1;
    for (;;) {
      if (at >= buf.length) return undefined;
      const b = buf[at++];
      remaining += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) break;
      if (at > 4) throw new ProtocolError(`remaining length longer than 4 bytes (a length of 2^28 or more) [MQTT-1.5.5-1]`);
      mul *= 128;
    }
    if (remaining + at > maxPacket) throw new ProtocolError(`${TYPE_NAMES[buf[0] >> 4]} of ${remaining + at} bytes exceeds the ${maxPacket}-byte packet limit`);
    if (buf.length < at + remaining) return undefined;
    return { value: decodePacket(version, buf[0], buf.subarray(at, at + remaining)), size: at + remaining };
  };
}

function propsText(p: MqttProperties): string {
  const parts = Object.entries(p).map(([k, v]) => `${k}=${v instanceof Uint8Array ? `0x${toHex(v.subarray(0, 16))}` : JSON.stringify(v)}`);
  return parts.length ? ` {${parts.join(', ')}}`.slice(0, 200) : '';
}

/** One line per packet for transcripts; the password is never shown. */
export function describePacket(p: Packet, version: MqttVersion = 5): string {
  switch (p.type) {
    case 'connect':
      return `CONNECT v${p.version === 5 ? '5.0' : '3.1.1'} client "${p.clientId}" keepalive ${p.keepAlive}${p.cleanStart ? ' clean' : ''}${p.username !== undefined ? ` user "${p.username}"` : ''}${p.password ? ' password ***' : ''}${p.will ? ` will "${p.will.topic}"` : ''}${propsText(p.properties ?? {})}`;
    case 'connack':
      return `CONNACK ${p.code} (${reasonName(p.code, version, 'connack')})${p.sessionPresent ? ' session present' : ''}${propsText(p.properties)}`;
    case 'publish':
      return `PUBLISH "${p.topic}" qos ${p.qos}${p.packetId ? ` id ${p.packetId}` : ''}${p.retain ? ' retain' : ''}${p.dup ? ' dup' : ''} ${p.payload.length} bytes${propsText(p.properties)}`;
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return `${p.type.toUpperCase()} id ${p.packetId}${p.code ? ` ${p.code} (${reasonName(p.code, version)})` : ''}${propsText(p.properties)}`;
    case 'subscribe':
      return `SUBSCRIBE id ${p.packetId} ${p.subscriptions.map((s) => `"${s.filter}" qos ${s.qos}`).join(', ')}`;
    case 'suback':
    case 'unsuback':
      return `${p.type.toUpperCase()} id ${p.packetId} [${p.codes.map((c) => `${c} (${reasonName(c, version, p.type === 'suback' ? 'suback' : undefined)})`).join(', ')}]${propsText(p.properties)}`;
    case 'unsubscribe':
      return `UNSUBSCRIBE id ${p.packetId} ${p.filters.map((f) => `"${f}"`).join(', ')}`;
    case 'pingreq':
    case 'pingresp':
      return p.type.toUpperCase();
    default:
      return `${p.type.toUpperCase()} ${p.code} (${reasonName(p.code, version, p.type === 'disconnect' ? 'disconnect' : undefined)})${propsText(p.properties)}`;
  }
}
