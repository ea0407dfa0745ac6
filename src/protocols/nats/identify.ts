import { type Finding, type Identification, firstLine, high } from '../../core/identify.ts';

export const identification: Identification = {
  // The server speaks first: INFO {json} (NATS client protocol).
  greeting(_b, text) {
    const m = /^INFO (\{.*\})\s*$/.exec(firstLine(text));
    return m ? high('nats', natsInfo(m[1])) : null;
  },
};

function natsInfo(json: string): Omit<Finding, 'service' | 'confidence'> {
  try {
    const info = JSON.parse(json) as { version?: unknown };
    return { product: 'nats-server', version: typeof info.version === 'string' ? info.version : undefined };
  } catch {
    return {};
  }
}
