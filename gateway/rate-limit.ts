import type { Redis } from 'ioredis';

/** The answer of a limiter: allowed, or how long to wait. */
export interface Take {
  allowed: boolean;
  /** Seconds until one more request would be allowed (0 when allowed). */
  retryAfterSeconds: number;
}

/** A token bucket per key: `capacity` requests, refilled at capacity per `windowSeconds`. */
export interface RateLimiter {
  take(key: string, capacity: number, windowSeconds: number): Promise<Take>;
}

/** Buckets in this process's memory: right for one gateway replica. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  async take(key: string, capacity: number, windowSeconds: number): Promise<Take> {
    const rate = capacity / (windowSeconds * 1000);
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: capacity, at: t };
    const tokens = Math.min(capacity, b.tokens + (t - b.at) * rate);
    if (tokens >= 1) {
      this.buckets.set(key, { tokens: tokens - 1, at: t });
      return { allowed: true, retryAfterSeconds: 0 };
    }
    this.buckets.set(key, { tokens, at: t });
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / rate / 1000)) };
  }
}

// Refill and take in one atomic step on the Redis server, so replicas share one bucket exactly.
const TAKE = `
local capacity = tonumber(ARGV[1])
local window_ms = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = capacity / window_ms
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or capacity
local at = tonumber(b[2]) or now
tokens = math.min(capacity, tokens + (now - at) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], window_ms * 2)
local wait_ms = 0
if allowed == 0 then wait_ms = math.ceil((1 - tokens) / rate) end
return { allowed, wait_ms }
`;

/** Buckets in Redis, shared by every gateway replica that uses the same Redis and key prefix. */
export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async take(key: string, capacity: number, windowSeconds: number): Promise<Take> {
    const [allowed, waitMs] = (await this.redis.eval(TAKE, 1, `${this.prefix}rl:${key}`, capacity, windowSeconds * 1000)) as [
      number,
      number,
    ];
    return { allowed: allowed === 1, retryAfterSeconds: allowed === 1 ? 0 : Math.max(1, Math.ceil(waitMs / 1000)) };
  }
}
