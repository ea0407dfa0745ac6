import { utf8 } from '../../core/bytes.ts';
import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'git-upload-pack',
      cost: 3,
      ports: [9418],
      payload: (host) => {
        const body = `git-upload-pack /\0host=${host}\0`;
        return utf8(`${(body.length + 4).toString(16).padStart(4, '0')}${body}`);
      },
      recognize: (_b, t) => (/^[0-9a-f]{4}(ERR |[0-9a-f]{40} )/.test(t) ? high('git', { info: /^[0-9a-f]{4}ERR (.*)/.exec(t)?.[1]?.slice(0, 100) }) : null),
    },
  ],
};
