import { type Identification, high, textPayload } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'zookeeper-srvr',
      cost: 3,
      ports: [2181],
      payload: textPayload('srvr'),
      recognize(_b, t) {
        const m = /^Zookeeper version: ([\w.-]+)/.exec(t);
        if (m) return high('zookeeper', { product: 'ZooKeeper', version: m[1] });
        return /is not executed because it is not in the whitelist/.test(t) ? high('zookeeper', { product: 'ZooKeeper' }) : null;
      },
    },
  ],
};
