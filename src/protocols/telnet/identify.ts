import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  // A telnetd opens with option negotiation: IAC WILL/WONT/DO/DONT (RFC 854).
  greeting: (b) => (b.length >= 3 && b[0] === 0xff && b[1] >= 0xfb && b[1] <= 0xfe ? high('telnet', { info: 'option negotiation first' }) : null),
};
