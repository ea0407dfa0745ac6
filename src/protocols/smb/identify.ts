import { concat } from '../../core/bytes.ts';
import { type Identification, high, medium } from '../../core/identify.ts';
import { COMMAND, DIALECTS, decodeNegotiateResponse, dialectName, encodeHeader, negotiateBody, transportFrame } from './codec.ts';

export const identification: Identification = {
  probes: [
    {
      // SMB2 NEGOTIATE (MS-SMB2 §2.2.3) for 2.0.2–3.0.2: the server answers with the dialect it picked, before any
      // session; an SMB1-only server answers in SMB1.
      name: 'smb2-negotiate',
      cost: 3,
      ports: [445, 139],
      payload: (_host, random) =>
        transportFrame(
          concat([
            encodeHeader({ command: COMMAND.negotiate, creditCharge: 0, credits: 1, messageId: 0n }).finish(),
            negotiateBody({ dialects: [DIALECTS['2.0.2'], DIALECTS['2.1'], DIALECTS['3.0'], DIALECTS['3.0.2']], securityMode: 1, capabilities: 0, clientGuid: random(16), salt: new Uint8Array(0), ciphers: [], signing: [] }),
          ]),
        ),
      recognize(reply) {
        if (reply.length < 8 || reply[0] !== 0 || reply[6] !== 0x4d || reply[7] !== 0x42 || reply[5] !== 0x53) return null;
        if (reply[4] === 0xff) return high('smb', { info: 'answers in SMB1 only' });
        if (reply[4] !== 0xfe) return null;
        try {
          const message = reply.subarray(4);
          const n = decodeNegotiateResponse(message);
          return high('smb', { version: dialectName(n.dialect), info: `SMB ${dialectName(n.dialect)}, signing ${n.securityMode & 2 ? 'required' : 'enabled'}` });
        } catch {
          return medium('smb', { info: 'an SMB2 header' });
        }
      },
    },
  ],
};
