import { type Identification, firstLine, high } from '../../core/identify.ts';

export const identification: Identification = {
  // Any request but a login is refused by a pserver in its own words; a login needs a password, so no probe of its own.
  answers: (_b, t) => (/^cvs \[pserver aborted\]: /.test(t) ? high('cvs', { info: firstLine(t).slice(0, 100) }) : null),
};
