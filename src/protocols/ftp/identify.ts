import { type Identification, firstLine, high } from '../../core/identify.ts';

export const identification: Identification = {
  greeting(_b, text) {
    const first = firstLine(text);
    if (!/^220[ -]/.test(first)) return null;
    const m = /\b(vsFTPd|ProFTPD|Pure-FTPd|FileZilla Server)(?:[ /]v?(\d[\w.]*))?/i.exec(first);
    if (m) return high('ftp', { product: m[1], version: m[2] });
    return /\bFTP\b/i.test(first) ? high('ftp') : null;
  },
};
