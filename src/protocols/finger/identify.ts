import { type Identification, high, textPayload } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'finger-list',
      cost: 5,
      ports: [79],
      // An empty line asks for the list of users (RFC 1288 2.3).
      payload: textPayload('\r\n'),
      // "Login:" and user lists are common words: only an answer to this empty line counts.
      ownRepliesOnly: true,
      recognize: (_b, t) => (/^(Login\s+Name|No one logged on|Login:\s)/m.test(t) ? high('finger') : null),
    },
  ],
};
