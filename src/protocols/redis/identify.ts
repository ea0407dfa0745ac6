import { type Finding, type Identification, firstLine, high, medium, textPayload } from '../../core/identify.ts';

/** Redis INFO's `key:value` lines. */
function redisInfo(text: string): Omit<Finding, 'service' | 'confidence'> {
  const version = /^redis_version:(\S+)/m.exec(text)?.[1];
  const mode = /^redis_mode:(\S+)/m.exec(text)?.[1];
  return { product: mode === 'sentinel' ? 'Redis Sentinel' : 'Redis', version, info: mode ? `mode ${mode}` : undefined };
}

export const identification: Identification = {
  probes: [
    {
      name: 'redis-ping',
      cost: 2,
      ports: [6379, 26379],
      payload: textPayload('PING\r\nINFO server\r\n'),
      recognize(_b, t) {
        if (/^\+PONG\r\n/.test(t)) return high('redis', /redis_version:/.test(t) ? redisInfo(t) : { product: 'Redis' });
        if (/^-(NOAUTH|WRONGPASS|DENIED)\b/.test(t)) return high('redis', { product: 'Redis', info: firstLine(t).slice(1, 100) });
        return null;
      },
    },
  ],
  // A Redis server answers a command it does not know (another protocol's probe) with -ERR.
  answers: (_b, t) => (/^-ERR\b/.test(t) ? medium('redis', { info: firstLine(t).slice(0, 100) }) : null),
};
