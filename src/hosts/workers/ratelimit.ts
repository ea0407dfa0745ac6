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

/** Limits per client and per target; a kind whose config is undefined is not limited. */
export function durableObjectLimiter(ns: DurableObjectNamespace<RateLimitBucket>, client: BucketConfig | undefined, target: BucketConfig | undefined): RateLimiter {
  return {
    async take(key) {
      const config = key.startsWith('target:') ? target : client;
      if (!config) return { allowed: true };
      return ns.get(ns.idFromName(key)).take(config);
    },
  };
}
