import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  // The 32-byte ID string: "Rsrv", the protocol version, "QAP1", then attributes.
  greeting: (_b, text) => (/^Rsrv\d{4}QAP1/.test(text) ? high('rserve', { info: text.slice(0, 12) }) : null),
};
