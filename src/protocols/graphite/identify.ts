import { ByteWriter } from '../../core/bytes.ts';
import { type Identification, high } from '../../core/identify.ts';
import { dumps, loads } from './pickle.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'carbon-cache-query',
      cost: 3,
      ports: [7002],
      // A carbon cache query (length-prefixed pickle) for a metric nobody writes; carbon answers {'datapoints': []}.
      payload() {
        const body = dumps({ type: 'cache-query', metric: 'portolan.identify' });
        return new ByteWriter().u32(body.length).bytes(body).finish();
      },
      recognize(b) {
        if (b.length < 6 || b[0] !== 0 || ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) !== b.length - 4) return null;
        try {
          const reply = loads(b.subarray(4));
          return reply && typeof reply === 'object' && 'datapoints' in reply ? high('graphite', { product: 'carbon', info: 'cache query' }) : null;
        } catch {
          return null;
        }
      },
    },
  ],
};
