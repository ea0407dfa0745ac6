import { type Identification, low } from '../../core/identify.ts';

export const identification: Identification = {
  // RFC 865: text unasked, then the server hangs up; little else does that.
  greeting: (b, _t, closed) => (closed && b.length > 0 && b.every((x) => x === 9 || x === 10 || x === 13 || (x >= 0x20 && x < 0x7f)) ? low('qotd', { info: 'text unasked, then closed' }) : null),
};
