import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { MemoryRateLimiter, RedisRateLimiter } from '../../gateway/rate-limit';
import { eventually, http, startPlatform, uniqueQueue } from '../support/platform';
import { workflowsAfterSentinel } from '../support/visibility';

// Rate limits and quotas over real HTTP; the shared limit uses the machine's Redis with a key prefix
// of this test's own, removed at the end.
const prefix = `acp-test-${randomUUID()}:`;
const admin = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 2 });
afterAll(async () => {
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length) await admin.del(...keys);
  await admin.quit();
});

test('two gateway replicas sharing one Redis enforce one limit under concurrent requests, answering 429 with Retry-After', async () => {
  // Each replica has its own Redis connection, as separate processes would: nothing is shared but Redis.
  const redisA = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 2 });
  const redisB = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 2 });
  const queue = uniqueQueue('limits');
  const limits = (redis: Redis) => ({ limiter: new RedisRateLimiter(redis, prefix), principalPerMinute: 5, tenantPerMinute: 100 });
  const a = await startPlatform({ taskQueue: queue, withWorker: false, rateLimits: limits(redisA) });
  const b = await startPlatform({ taskQueue: queue, withWorker: false, rateLimits: limits(redisB) });
  try {
    // One principal, known to both replicas by the same key.
    const principal = { subject: `shared-${randomUUID()}` };
    const key = `shared-key-${randomUUID()}`;
    a.as(principal, key);
    b.as(principal, key);
    // All at once, half to each replica: a limiter that reads and then writes would let most through.
    const statuses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        http(i % 2 === 0 ? a : b, 'GET', '/v1/agents', undefined, { authorization: `Bearer ${key}` }).then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
    for (const replica of [a, b]) {
      const limited = await http(replica, 'GET', '/v1/agents', undefined, { authorization: `Bearer ${key}` });
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(limited.body.type).toBe('urn:agent-control-plane:problem:rate-limited');
    }
  } finally {
    await a.stop();
    await b.stop();
    await redisA.quit();
    await redisB.quit();
  }
});

test('a tenant limit covers all of its principals', async () => {
  const p = await startPlatform({
    withWorker: false,
    rateLimits: { limiter: new MemoryRateLimiter(), principalPerMinute: 100, tenantPerMinute: 3 },
  });
  try {
    const tenant = `t-${randomUUID()}`;
    const people = [
      p.as({ subject: 'a', tenant }),
      p.as({ subject: 'b', tenant }),
      p.as({ subject: 'c', tenant }),
      p.as({ subject: 'd', tenant }),
    ];
    const statuses = [];
    for (const h of people) statuses.push((await http(p, 'GET', '/v1/agents', undefined, h)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect((await http(p, 'GET', '/v1/agents', undefined, p.as({ tenant: `other-${randomUUID()}` }))).status).toBe(200);
  } finally {
    await p.stop();
  }
});

test('quotas: concurrent runs and runs per day per tenant → 429 naming the quota, and no run started', async () => {
  const p = await startPlatform({ quotas: { concurrentRuns: 1, runsPerDay: 2 } });
  try {
    const who = p.as({ tenant: `q-${randomUUID()}`, roles: ['dispatcher', 'operator'] });
    const waiting = { agent: 'ticket-filer', task: 'waits for approval', context: { priority: 'low', details: 'd' } };
    const first = await http(p, 'POST', '/v1/runs', waiting, who);
    expect(first.status).toBe(202);
    // Visibility is eventually consistent: the quota sees the run once it is indexed.
    await eventually(
      async () => ((await http(p, 'GET', '/v1/runs?status=running', undefined, who)).body.runs as unknown[]).length === 1 || undefined,
    );
    const second = await http(p, 'POST', '/v1/runs', waiting, who);
    expect([second.status, second.body.quota]).toEqual([429, 'concurrent_runs']);

    await http(p, 'POST', `/v1/runs/${first.body.run_id as string}/cancel`, undefined, who);
    await eventually(
      async () => ((await http(p, 'GET', '/v1/runs?status=running', undefined, who)).body.runs as unknown[]).length === 0 || undefined,
    );
    const third = await http(p, 'POST', '/v1/runs', { agent: 'docs-researcher', task: 'q' }, who);
    expect(third.status).toBe(202);
    await eventually(async () => ((await http(p, 'GET', '/v1/runs', undefined, who)).body.runs as unknown[]).length === 2 || undefined);
    await eventually(
      async () => ((await http(p, 'GET', '/v1/runs?status=running', undefined, who)).body.runs as unknown[]).length === 0 || undefined,
    );
    const fourth = await http(p, 'POST', '/v1/runs', { agent: 'docs-researcher', task: 'q' }, who);
    expect([fourth.status, fourth.body.quota]).toEqual([429, 'runs_per_day']);
    expect(((await http(p, 'GET', '/v1/runs', undefined, who)).body.runs as unknown[]).length).toBe(2);
    // Temporal itself, on this platform's own queue, holds only the two accepted runs (the sentinel,
    // of a tenant of its own so no quota refuses it, is left out).
    const onQueue = await workflowsAfterSentinel(p, `TaskQueue = "${p.taskQueue}"`, { headers: p.as({ tenant: `s-${randomUUID()}` }) });
    expect(onQueue.sort()).toEqual([first.body.run_id, third.body.run_id].sort());
  } finally {
    await p.stop();
  }
});
