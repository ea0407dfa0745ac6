// Rate limits as token buckets in a Durable Object: one object per key (client IP or target).
import { DurableObject } from 'cloudflare:workers';
import type { RateLimiter } from '../../api/app.ts';

export interface BucketConfig {
  capacity: number;
  refillPerSecond: number;
}

export class RateLimitBucket extends DurableObject {
  private tokens = -1;
  private updated = 0;

  /** Takes one token; answers how long to wait when none is left. */
  take(config: BucketConfig): { allowed: boolean; retryAfterSeconds?: number } {
    const now = Date.now();
    if (this.tokens < 0) this.tokens = config.capacity;
    this.tokens = Math.min(config.capacity, this.tokens + ((now - this.updated) / 1000) * config.refillPerSecond);
    this.updated = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: (1 - this.tokens) / config.refillPerSecond };
  }
}

export function durableObjectLimiter(ns: DurableObjectNamespace<RateLimitBucket>, client: BucketConfig, target: BucketConfig): RateLimiter {
  return {
    async take(key) {
      const stub = ns.get(ns.idFromName(key));
      return stub.take(key.startsWith('target:') ? target : client);
    },
  };
}
