import { fromLatin1 } from '../../core/bytes.ts';
import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  // The protocol's doc, "Handshake": NBDMAGIC, then IHAVEOPT (newstyle) or the old-style magic.
  greeting: (b) => (fromLatin1(b.subarray(0, 8)) === 'NBDMAGIC' ? high('nbd', { info: fromLatin1(b.subarray(8, 16)) === 'IHAVEOPT' ? 'newstyle handshake' : 'oldstyle handshake' }) : null),
};
