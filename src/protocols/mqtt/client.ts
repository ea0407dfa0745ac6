// MQTT client driver over a Conn (MQTT 3.1.1 and 5.0 §4: operational behaviour): CONNECT/CONNACK,
// publishing with the QoS 1 and QoS 2 flows (§4.3), SUBSCRIBE/SUBACK, incoming PUBLISH acknowledged as
// the QoS asks, PINGREQ, and DISCONNECT.
//
// How publishing works: `publishMany` keeps up to `window` messages in flight (never more than the
// server's Receive Maximum, 5.0 §4.9), writes each round of PUBLISH packets (and PUBRELs) in one write,
// then reads acknowledgements until the window has room again. QoS 2 messages move PUBREC → PUBREL →
// PUBCOMP; a v5 reason code of 0x80 or more on an acknowledgement fails the message.
import { concat } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import { AuthError, PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import {
  describePacket,
  encodeAck,
  encodeConnect,
  encodeDisconnect,
  encodePingreq,
  encodePublish,
  encodeSubscribe,
  encodeUnsubscribe,
  packetFrame,
  reasonName,
  type ConnectPacket,
  type MqttProperties,
  type MqttVersion,
  type Packet,
  type PublishFields,
  type Subscription,
} from './codec.ts';

export type PublishPacket = Extract<Packet, { type: 'publish' }>;
export type ConnackPacket = Extract<Packet, { type: 'connack' }>;

/** CONNACK codes that mean the credentials or the client were refused (3.1.1 §3.2.2.3, 5.0 §3.2.2.2). */
const AUTH_CODES_V4 = new Set([4, 5]);
const AUTH_CODES_V5 = new Set([0x86, 0x87, 0x8a, 0x8c]);

export interface AckOutcome {
  code: number;
  reason: string;
  reasonString?: string;
}

export class MqttClient {
  private readonly frame;
  private nextId = 1;
  /** Incoming QoS 2 messages that got PUBREC and wait for PUBREL (5.0 §4.3.3). */
  private readonly pendingRel = new Set<number>();
  /** The server's limits from CONNACK (5.0 §3.2.2.3). */
  receiveMaximum = 65535;
  maximumQos = 2;
  maximumPacketSize = 0;
  packetsIn = 0;
  packetsOut = 0;

  constructor(
    readonly conn: Conn,
    readonly version: MqttVersion,
    maxPacket = 16 * 1024 * 1024,
  ) {
    this.frame = packetFrame(version, maxPacket);
  }

  async next(): Promise<Packet> {
    const p = await this.conn.readFrame(this.frame, 'MQTT packet', (x) => describePacket(x, this.version));
    this.packetsIn++;
    if (p.type === 'disconnect') {
      const text = p.properties.reasonString ? `: ${p.properties.reasonString}` : '';
      throw new ServerError(`the broker disconnected: ${p.code} (${reasonName(p.code, this.version, 'disconnect')})${text}`, { reasonCode: p.code, reason: reasonName(p.code, this.version, 'disconnect'), reasonString: p.properties.reasonString ?? null });
    }
    return p;
  }

  async send(bytes: Uint8Array, decode: string, secret = false): Promise<void> {
    this.packetsOut++;
    await this.conn.write(bytes, { decode, secret });
  }

  packetId(): number {
    const id = this.nextId;
    this.nextId = this.nextId === 65535 ? 1 : this.nextId + 1;
    return id;
  }

  async connect(p: Omit<ConnectPacket, 'type' | 'version'>): Promise<ConnackPacket> {
    const packet: ConnectPacket = { type: 'connect', version: this.version, ...p };
    await this.send(encodeConnect(packet), describePacket(packet), p.password !== undefined);
    let ack: Packet;
    try {
      ack = await this.next();
    } catch (e) {
      // 3.1.1 §3.2.2.3 servers may close instead of answering a v5 CONNECT; mosquitto answers v5 only when it speaks it.
      if (e instanceof PortolanError && e.code === 'closed' && this.conn.bytesIn === 0) {
        throw new PortolanError('closed', `the server closed the connection without a CONNACK: not an MQTT broker, or it refused MQTT ${this.version === 5 ? '5.0' : '3.1.1'}, the client id or the credentials without saying why`);
      }
      throw e;
    }
    if (ack.type !== 'connack') throw new ProtocolError(`expected CONNACK, got ${describePacket(ack, this.version)} [MQTT-3.2.0-1]`);
    if (ack.code !== 0) {
      const reason = reasonName(ack.code, this.version, 'connack');
      const detail = { reasonCode: ack.code, reason, reasonString: ack.properties.reasonString ?? null, serverReference: ack.properties.serverReference ?? null };
      const text = `the broker refused the connection: ${ack.code} (${reason})${ack.properties.reasonString ? `: ${ack.properties.reasonString}` : ''}`;
      if ((this.version === 4 ? AUTH_CODES_V4 : AUTH_CODES_V5).has(ack.code)) throw new AuthError(text, detail);
      throw new ServerError(text, detail);
    }
    if (ack.properties.receiveMaximum !== undefined) this.receiveMaximum = ack.properties.receiveMaximum;
    if (ack.properties.maximumQos !== undefined) this.maximumQos = ack.properties.maximumQos;
    if (ack.properties.maximumPacketSize !== undefined) this.maximumPacketSize = ack.properties.maximumPacketSize;
    return ack;
  }

  /**
   * Publishes `count` messages (made by `make(i)`) with up to `window` in flight. Resolves with the
   * acknowledgement outcomes in order; a refused acknowledgement (v5 reason ≥ 0x80) throws ServerError
   * once every message in flight has been answered. Incoming PUBLISHes meanwhile go to `onMessage`.
   */
  async publishMany(count: number, make: (i: number) => PublishFields, window: number, onMessage?: (p: PublishPacket) => void): Promise<{ acks: AckOutcome[] }> {
    const limit = Math.max(1, Math.min(window, this.receiveMaximum));
    const acks: AckOutcome[] = [];
    // packet id → index of the message, for QoS > 0 messages in flight.
    const inflight = new Map<number, { index: number; qos: 1 | 2 }>();
    let sent = 0;
    let failure: ServerError | undefined;
    const outcome = (code: number, props: MqttProperties): AckOutcome => ({ code, reason: reasonName(code, this.version), ...(props.reasonString ? { reasonString: props.reasonString } : {}) });
    const fail = (index: number, kind: string, o: AckOutcome) => {
      failure ??= new ServerError(`the broker refused message ${index + 1} with ${kind} ${o.code} (${o.reason})${o.reasonString ? `: ${o.reasonString}` : ''}`, { reasonCode: o.code, reason: o.reason, reasonString: o.reasonString ?? null, message: index + 1 });
    };
    while (sent < count || inflight.size > 0) {
      const out: Uint8Array[] = [];
      const notes: string[] = [];
      while (sent < count && inflight.size < limit && !failure) {
        const m = make(sent);
        if (m.qos > this.maximumQos) throw new ServerError(`the broker accepts at most QoS ${this.maximumQos} (CONNACK Maximum QoS, MQTT 5.0 §3.2.2.3.4)`);
        const fields = m.qos > 0 ? { ...m, packetId: this.packetId() } : m;
        out.push(encodePublish(this.version, fields));
        if (notes.length < 20) notes.push(describePacket({ type: 'publish', dup: false, retain: !!m.retain, qos: m.qos, topic: m.topic, packetId: fields.packetId, properties: m.properties ?? {}, payload: m.payload }, this.version));
        if (m.qos > 0) inflight.set(fields.packetId!, { index: sent, qos: m.qos as 1 | 2 });
        else acks[sent] = { code: 0, reason: 'not acknowledged (QoS 0)' };
        sent++;
      }
      if (out.length > 0) {
        this.packetsOut += out.length;
        await this.conn.write(out.length === 1 ? out[0] : concat(out), { decode: notes.length === out.length ? notes.join('; ') : `${out.length} PUBLISH packets: ${notes.join('; ')} …` });
      }
      if (inflight.size === 0) {
        if (failure || sent >= count) break;
        continue;
      }
      if (failure && sent < count) sent = count;
      // Read until the window has room (or everything is answered once all are sent).
      const rel: Uint8Array[] = [];
      const relNotes: string[] = [];
      do {
        const p = await this.next();
        if (p.type === 'puback' || p.type === 'pubcomp') {
          const at = inflight.get(p.packetId);
          if (!at) throw new ProtocolError(`${p.type.toUpperCase()} for packet id ${p.packetId}, which is not in flight`);
          inflight.delete(p.packetId);
          const o = outcome(p.code, p.properties);
          acks[at.index] = o;
          if (p.code >= 0x80) fail(at.index, p.type.toUpperCase(), o);
        } else if (p.type === 'pubrec') {
          const at = inflight.get(p.packetId);
          if (!at) throw new ProtocolError(`PUBREC for packet id ${p.packetId}, which is not in flight`);
          if (p.code >= 0x80) {
            // 5.0 §4.3.3: a PUBREC with a failure code ends the exchange: no PUBREL.
            inflight.delete(p.packetId);
            acks[at.index] = outcome(p.code, p.properties);
            fail(at.index, 'PUBREC', acks[at.index]);
          } else {
            rel.push(encodeAck(this.version, 'pubrel', p.packetId));
            relNotes.push(`PUBREL id ${p.packetId}`);
          }
        } else await this.handleOther(p, onMessage);
      } while (this.conn.buffered > 0 && inflight.size > 0);
      if (rel.length > 0) {
        this.packetsOut += rel.length;
        await this.conn.write(concat(rel), { decode: relNotes.slice(0, 50).join('; ') });
      }
    }
    if (failure) throw failure;
    return { acks };
  }

  /** Packets that may arrive at any time: a PUBLISH for a subscription, the second half of an incoming QoS 2 flow, PINGRESP. */
  async handleOther(p: Packet, onMessage?: (p: PublishPacket) => void): Promise<void> {
    switch (p.type) {
      case 'publish':
        await this.acknowledge(p);
        onMessage?.(p);
        return;
      case 'pubrel':
        this.pendingRel.delete(p.packetId);
        await this.send(encodeAck(this.version, 'pubcomp', p.packetId), `PUBCOMP id ${p.packetId}`);
        return;
      case 'pingresp':
        return;
      default:
        throw new ProtocolError(`unexpected ${describePacket(p, this.version)}`);
    }
  }

  /** 5.0 §4.3: QoS 1 gets PUBACK, QoS 2 gets PUBREC (and later PUBCOMP for the PUBREL). */
  async acknowledge(p: PublishPacket): Promise<void> {
    if (p.qos === 1) await this.send(encodeAck(this.version, 'puback', p.packetId!), `PUBACK id ${p.packetId}`);
    else if (p.qos === 2) {
      this.pendingRel.add(p.packetId!);
      await this.send(encodeAck(this.version, 'pubrec', p.packetId!), `PUBREC id ${p.packetId}`);
    }
  }

  /** SUBSCRIBE and its SUBACK; messages that arrive before it (retained ones) go to `onMessage`. */
  async subscribe(subs: Subscription[], onMessage: (p: PublishPacket) => void, properties?: MqttProperties): Promise<{ codes: number[]; properties: MqttProperties }> {
    const id = this.packetId();
    await this.send(encodeSubscribe(this.version, id, subs, properties), describePacket({ type: 'subscribe', packetId: id, subscriptions: subs, properties: properties ?? {} }, this.version));
    for (;;) {
      let p: Packet;
      try {
        p = await this.next();
      } catch (e) {
        if (!(e instanceof PortolanError) || e.code !== 'closed') throw e;
        throw new ServerError(`the broker closed the connection in answer to SUBSCRIBE ${subs.map((s) => s.filter).join(', ')} instead of sending SUBACK: it refused the subscription without a reason code (RabbitMQ does this when a filter is not authorized)`, { refused: subs.map((s) => ({ filter: s.filter, reasonCode: null })) });
      }
      if (p.type === 'suback' && p.packetId === id) {
        if (p.codes.length !== subs.length) throw new ProtocolError(`SUBACK with ${p.codes.length} codes for ${subs.length} filters [MQTT-3.9.3-1]`);
        return { codes: p.codes, properties: p.properties };
      }
      await this.handleOther(p, onMessage);
    }
  }

  async unsubscribe(filters: string[], onMessage?: (p: PublishPacket) => void): Promise<number[]> {
    const id = this.packetId();
    await this.send(encodeUnsubscribe(this.version, id, filters), describePacket({ type: 'unsubscribe', packetId: id, filters, properties: {} }, this.version));
    for (;;) {
      const p = await this.next();
      if (p.type === 'unsuback' && p.packetId === id) return p.codes;
      await this.handleOther(p, onMessage);
    }
  }

  async ping(): Promise<void> {
    await this.send(encodePingreq(), 'PINGREQ');
  }

  /** DISCONNECT (normal), then close: the broker drops the will message [MQTT-3.14.4-3]. */
  async disconnect(): Promise<void> {
    try {
      await this.send(encodeDisconnect(this.version), 'DISCONNECT');
    } finally {
      await this.conn.close();
    }
  }
}

/** A SUBACK code that refused the subscription: 0x80 in 3.1.1, any code of 0x80 or more in 5.0. */
export function subscriptionRefused(code: number): boolean {
  return code >= 0x80;
}
