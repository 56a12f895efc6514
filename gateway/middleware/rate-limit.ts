import type { RequestHandler } from 'express';
import type { RateLimiter } from '../rate-limit';
import { HttpProblem } from '../problem';
import { principal } from '../locals';

export interface RateLimitSettings {
  limiter: RateLimiter;
  principalPerMinute: number;
  tenantPerMinute: number;
}

/** Refuses a request over the caller's or its tenant's rate (429 with Retry-After). */
export function rateLimited({ limiter, principalPerMinute, tenantPerMinute }: RateLimitSettings): RequestHandler {
  return async (_req, res, next) => {
    const p = principal(res);
    for (const [key, capacity, what] of [
      [`p:${p.tenant}:${p.subject}`, principalPerMinute, `${principalPerMinute} requests a minute for ${p.subject}`],
      [`t:${p.tenant}`, tenantPerMinute, `${tenantPerMinute} requests a minute for tenant ${p.tenant}`],
    ] as const) {
      const take = await limiter.take(key, capacity, 60);
      if (!take.allowed) {
        res.set('Retry-After', String(take.retryAfterSeconds));
        throw new HttpProblem(
          429,
          'rate-limited',
          'Too many requests',
          `Rate limit reached: ${what}. Retry after ${take.retryAfterSeconds} s.`,
          {
            retry_after_seconds: take.retryAfterSeconds,
          },
        );
      }
    }
    next();
  };
}
