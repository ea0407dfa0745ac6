import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  // RFC 6143 7.1.1: "RFB xxx.yyy\n".
  greeting(_b, text) {
    const m = /^RFB (\d{3})\.(\d{3})\n/.exec(text);
    return m ? high('vnc', { info: `RFB ${Number(m[1])}.${Number(m[2])}` }) : null;
  },
};
