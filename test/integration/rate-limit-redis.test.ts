import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisRateLimiter } from '../../gateway/rate-limit';

// The machine's Redis, under a key prefix of this test's own, removed at the end.
const prefix = `acp-test-${randomUUID()}:`;
const replicas = [
  new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 2 }),
  new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 2 }),
];
afterAll(async () => {
  const keys = await replicas[0]!.keys(`${prefix}*`);
  if (keys.length) await replicas[0]!.del(...keys);
  await Promise.all(replicas.map((r) => r.quit()));
});

test('two replicas taking from one key at once never allow more than its capacity', async () => {
  // Each test has its own key space under the prefix, so the count below holds in any order.
  const space = `${prefix}capacity:`;
  const [a, b] = replicas.map((r) => new RedisRateLimiter(r, space));
  const takes = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a! : b!).take('p:acme:ci', 10, 60)));
  expect(takes.filter((t) => t.allowed)).toHaveLength(10);
  for (const t of takes.filter((x) => !x.allowed)) expect(t.retryAfterSeconds).toBeGreaterThanOrEqual(1);
  for (const t of takes.filter((x) => !x.allowed)) expect(t.retryAfterSeconds).toBeLessThanOrEqual(60);
  // Another key has its own count, and every counter lives under the prefix with an expiry.
  expect((await a!.take('p:acme:other', 10, 60)).allowed).toBe(true);
  const keys = await replicas[0]!.keys(`${space}*`);
  expect(keys).toHaveLength(2);
  for (const k of keys) expect(await replicas[0]!.pttl(k)).toBeGreaterThan(0);
});

test('a key whose window has passed is allowed again', async () => {
  const limiter = new RedisRateLimiter(replicas[0]!, `${prefix}window:`);
  expect((await limiter.take('t:short', 1, 1)).allowed).toBe(true);
  expect(await limiter.take('t:short', 1, 1)).toEqual({ allowed: false, retryAfterSeconds: 1 });
  await new Promise((resolve) => setTimeout(resolve, 1100));
  expect((await limiter.take('t:short', 1, 1)).allowed).toBe(true);
});
