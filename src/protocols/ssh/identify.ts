import { type Identification, high, productVersion } from '../../core/identify.ts';

export const identification: Identification = {
  // The identification string (RFC 4253 4.2): SSH-protoversion-softwareversion SP comments.
  greeting(_b, text) {
    const m = /^SSH-(\d\.\d+)-(\S+)(?: (.*))?/.exec(text);
    return m ? high('ssh', { ...productVersion(m[2]), info: `protocol ${m[1]}${m[3] ? `, ${m[3].split(/\r?\n/, 1)[0]}` : ''}` }) : null;
  },
};
