import { toHex } from '../../core/bytes.ts';
import { type Identification, high, productVersion } from '../../core/identify.ts';
import { encodeOptions } from './codec.ts';

const serverHeader = (text: string) => /^(?:Server|User-Agent):[ \t]*(.+)$/im.exec(text)?.[1].trim();

export const identification: Identification = {
  probes: [
    {
      // RFC 3261 11: OPTIONS asks a server what it supports; every SIP server answers it (200, or 4xx in SIP's words).
      name: 'sip-options',
      cost: 3,
      ports: [5060, 5061],
      payload: (host, random) => {
        const id = toHex(random(8));
        return encodeOptions({ uri: `sip:${host}`, transport: 'TCP', viaHost: 'portolan.invalid', branch: id, fromTag: id.slice(0, 8), callId: `${id}@portolan.invalid`, cseq: 1, toUri: `sip:${host}`, fromUri: 'sip:identify@portolan.invalid' });
      },
      recognize: (_reply, text) => {
        const m = /^SIP\/2\.0 (\d{3}) ?([^\r\n]*)/.exec(text);
        if (!m) return null;
        const server = serverHeader(text);
        return high('sip', { ...(server ? productVersion(server) : {}), info: `${m[1]} ${m[2]}`.trim() });
      },
    },
  ],
  // A SIP server given another protocol's request answers with a SIP status line (kamailio: 400 Bad Request).
  answers: (_reply, text) => (/^SIP\/2\.0 \d{3} /.test(text) ? high('sip', { ...productVersion(serverHeader(text) ?? '') }) : null),
};
