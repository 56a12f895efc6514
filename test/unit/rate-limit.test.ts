import { MemoryRateLimiter } from '../../gateway/rate-limit';

test('a bucket allows its capacity, then refuses with a retry-after, then refills with time', async () => {
  let now = 1_000_000;
  const limiter = new MemoryRateLimiter(() => now);
  const takes = [];
  for (let i = 0; i < 4; i++) takes.push(await limiter.take('k', 3, 60));
  expect(takes.map((t) => t.allowed)).toEqual([true, true, true, false]);
  expect(takes[3]!.retryAfterSeconds).toBe(20); // one token every 20 s at 3 a minute
  now += 20_000;
  expect((await limiter.take('k', 3, 60)).allowed).toBe(true);
  expect((await limiter.take('other', 3, 60)).allowed).toBe(true);
});
