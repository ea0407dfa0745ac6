// SNMP over TCP (RFC 3430: BER messages back to back) asked without a credential: SNMPv3 engine discovery (RFC 3414
// 4), a GetRequest with no user, no engine ID and the reportable flag. An agent answers with a Report PDU that
// carries its engine ID (usmStatsUnknownEngineIDs). v1 and v2c agents need a community, which is a credential.
import { BerReader, integer, octetString, sequence } from '../../core/ber.ts';
import { toHex } from '../../core/bytes.ts';
import { type Identification, high } from '../../core/identify.ts';

const REPORT = 8;

export function discoveryRequest(msgId: number): Uint8Array {
  const usm = sequence([octetString(''), integer(0), integer(0), octetString(''), octetString(''), octetString('')]);
  const pdu = sequence([integer(msgId), integer(0), integer(0), sequence([])], 0, 'context');
  return sequence([
    integer(3),
    // msgGlobalData: id, max size, flags (reportable, no auth, no privacy), the user-based security model (3).
    sequence([integer(msgId), integer(65507), octetString(Uint8Array.of(0x04)), integer(3)]),
    octetString(usm),
    sequence([octetString(''), octetString(''), pdu]),
  ]);
}

/** An SNMPv3 Report in answer: the agent's engine ID, boots and time. */
export function readDiscoveryReport(reply: Uint8Array): { engineId: string; boots: number; time: number } | null {
  try {
    const msg = new BerReader(reply, 'SNMP').sequence('message');
    if (msg.int('msgVersion') !== 3) return null;
    msg.sequence('msgGlobalData');
    const usm = new BerReader(msg.octets('msgSecurityParameters'), 'USM').sequence('UsmSecurityParameters');
    const engineId = toHex(usm.octets('msgAuthoritativeEngineID'));
    const boots = usm.int('msgAuthoritativeEngineBoots');
    const time = usm.int('msgAuthoritativeEngineTime');
    const scoped = msg.sequence('scopedPDU');
    scoped.octets('contextEngineID');
    scoped.octets('contextName');
    const pdu = scoped.peek();
    if (!pdu || pdu.cls !== 'context' || pdu.tag !== REPORT) return null;
    return { engineId, boots, time };
  } catch {
    return null;
  }
}

export const identification: Identification = {
  probes: [
    {
      name: 'snmpv3-discovery',
      cost: 2,
      ports: [161, 10161],
      payload: (_host, random) => {
        const id = random(2);
        return discoveryRequest(((id[0] << 8) | id[1]) + 1);
      },
      recognize: (reply) => {
        const r = readDiscoveryReport(reply);
        return r ? high('snmp', { version: 'SNMPv3', info: `engine ID ${r.engineId}, ${r.boots} boots, up ${r.time} s` }) : null;
      },
      ownRepliesOnly: true,
    },
  ],
};
