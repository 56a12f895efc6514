import { mapLimit } from '../../gateway/runs/pool';

// GET /v1/approvals queries runs through mapLimit: a bounded number at once, results in listing order.

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('never more than the limit in flight, all items mapped, order kept', async () => {
  let inFlight = 0;
  let peak = 0;
  const items = Array.from({ length: 30 }, (_, i) => i);
  const out = await mapLimit(items, 8, async (i) => {
    inFlight += 1;
    peak = Math.max(peak, inFlight);
    await tick((i * 7) % 5);
    inFlight -= 1;
    return i * 2;
  });
  expect(out).toEqual(items.map((i) => i * 2));
  expect(peak).toBe(8);
});

test('fewer items than the limit, and none', async () => {
  expect(await mapLimit([1, 2], 8, async (i) => i + 1)).toEqual([2, 3]);
  expect(await mapLimit([], 8, async () => 1)).toEqual([]);
});

test('runs concurrently: 16 calls of 50 ms, 8 at a time, take about two rounds, not sixteen', async () => {
  const started = Date.now();
  await mapLimit(Array.from({ length: 16 }), 8, () => tick(50));
  expect(Date.now() - started).toBeLessThan(16 * 50);
});

test('a rejection rejects the map', async () => {
  await expect(
    mapLimit([1, 2, 3], 2, async (i) => {
      if (i === 2) throw new Error('two');
      return i;
    }),
  ).rejects.toThrow('two');
});
