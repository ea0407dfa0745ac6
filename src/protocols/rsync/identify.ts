import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  // rsyncd greets with its protocol version: "@RSYNCD: 31.0".
  greeting(_b, text) {
    const m = /^@RSYNCD: ([\d.]+)/.exec(text);
    return m ? high('rsync', { version: m[1] }) : null;
  },
};
