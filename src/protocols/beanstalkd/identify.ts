import { type Identification, high, medium, textPayload } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'beanstalkd-stats',
      cost: 3,
      ports: [11300],
      // "stats" reads the server's counters (beanstalkd protocol.txt): OK <bytes>, then a YAML mapping.
      payload: textPayload('stats\r\n'),
      recognize(_b, t) {
        if (!/^OK \d+\r\n---\r?\n/.test(t)) return null;
        const version = /^version: "?([^"\r\n]+)"?\r?$/m.exec(t)?.[1];
        return high('beanstalkd', { product: 'beanstalkd', version });
      },
    },
  ],
  answers: (_b, t) => (/^UNKNOWN_COMMAND\r\n/.test(t) ? medium('beanstalkd') : null),
};
