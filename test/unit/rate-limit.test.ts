import { MemoryRateLimiter } from '../../gateway/rate-limit';

// rate-limiter-flexible reads Date.now and expires a window with a timer: fake both.
beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
afterEach(() => jest.useRealTimers());

test('a key allows its capacity, then refuses with the rest of its window as retry-after, then allows again', async () => {
  const limiter = new MemoryRateLimiter();
  const takes = [];
  for (let i = 0; i < 3; i++) takes.push(await limiter.take('k', 3, 60));
  jest.advanceTimersByTime(15_000);
  takes.push(await limiter.take('k', 3, 60));
  expect(takes.map((t) => t.allowed)).toEqual([true, true, true, false]);
  expect(takes[3]!.retryAfterSeconds).toBe(45); // the window opened by the first take ends 60 s after it
  expect((await limiter.take('other', 3, 60)).allowed).toBe(true);
  jest.advanceTimersByTime(44_000);
  expect(await limiter.take('k', 3, 60)).toEqual({ allowed: false, retryAfterSeconds: 1 });
  jest.advanceTimersByTime(1_000);
  expect(await limiter.take('k', 3, 60)).toEqual({ allowed: true, retryAfterSeconds: 0 });
});

test('the same key under a different capacity or window is counted apart', async () => {
  const limiter = new MemoryRateLimiter();
  expect((await limiter.take('k', 1, 60)).allowed).toBe(true);
  expect((await limiter.take('k', 1, 60)).allowed).toBe(false);
  expect((await limiter.take('k', 2, 60)).allowed).toBe(true);
  expect((await limiter.take('k', 1, 1)).allowed).toBe(true);
  expect(await limiter.take('k', 1, 1)).toEqual({ allowed: false, retryAfterSeconds: 1 });
});
