import { type Identification, high, productVersion } from '../../core/identify.ts';

export const identification: Identification = {
  // RFC 5804 1.7: the server speaks first with its capabilities, IMPLEMENTATION among them.
  greeting(_b, text) {
    const m = /^"IMPLEMENTATION" "([^"]*)"/m.exec(text);
    return m ? high('managesieve', productVersion(m[1])) : null;
  },
};
