import { randomUUID } from 'node:crypto';
import { eventually, http, startPlatform, uniqueQueue, waitForRun, type TestPlatform } from '../support/platform';

// Listing, steps, readiness, idempotent dispatch and tenant isolation over real HTTP. Each test uses
// its own tenant (dev principal header), so listings only ever see that test's runs.
let platform: TestPlatform;
beforeAll(async () => {
  platform = await startPlatform();
});
afterAll(async () => {
  await platform.stop();
});

const tenant = () => ({ 'x-dev-subject': 'svc', 'x-dev-tenant': `t-${randomUUID().slice(0, 8)}` });
const body = (task: string) => ({ agent: 'docs-researcher', task });

describe('idempotent dispatch', () => {
  test('same key and body → the original run (200); same key, other body → 409; other tenant → its own run', async () => {
    const who = { ...tenant(), 'idempotency-key': `order-${randomUUID()}` };
    const first = await http(platform.baseUrl, 'POST', '/v1/runs', body('idempotent'), who);
    expect(first.status).toBe(202);
    const again = await http(platform.baseUrl, 'POST', '/v1/runs', body('idempotent'), who);
    expect(again.status).toBe(200);
    expect(again.body.run_id).toBe(first.body.run_id);
    await waitForRun(platform.baseUrl, first.body.run_id as string, 30_000, who);
    const afterDone = await http(platform.baseUrl, 'POST', '/v1/runs', body('idempotent'), who);
    expect([afterDone.status, afterDone.body.run_id]).toEqual([200, first.body.run_id]);
    const conflict = await http(platform.baseUrl, 'POST', '/v1/runs', body('something else'), who);
    expect(conflict.status).toBe(409);
    expect(conflict.body.type).toBe('urn:agent-control-plane:problem:idempotency-key-reused');
    const otherTenant = await http(platform.baseUrl, 'POST', '/v1/runs', body('idempotent'), {
      ...tenant(),
      'idempotency-key': who['idempotency-key'],
    });
    expect(otherTenant.status).toBe(202);
    expect(otherTenant.body.run_id).not.toBe(first.body.run_id);
  });

  test('concurrent retries with one key start exactly one run', async () => {
    const who = { ...tenant(), 'idempotency-key': `burst-${randomUUID()}` };
    const answers = await Promise.all(Array.from({ length: 8 }, () => http(platform.baseUrl, 'POST', '/v1/runs', body('burst'), who)));
    expect(new Set(answers.map((a) => a.body.run_id)).size).toBe(1);
    expect(answers.filter((a) => a.status === 202).length).toBeLessThanOrEqual(1);
    expect(answers.every((a) => a.status === 202 || a.status === 200)).toBe(true);
  });

  test('a malformed key is a 400 and starts nothing', async () => {
    const res = await http(platform.baseUrl, 'POST', '/v1/runs', body('x'), { ...tenant(), 'idempotency-key': 'has spaces and / slashes' });
    expect(res.status).toBe(400);
  });
});

describe('GET /v1/runs', () => {
  test('lists the tenant’s runs with filters and pages through them with the page token', async () => {
    const who = tenant();
    const ids: string[] = [];
    for (const task of ['a', 'b', 'c']) ids.push((await http(platform.baseUrl, 'POST', '/v1/runs', body(task), who)).body.run_id as string);
    for (const id of ids) await waitForRun(platform.baseUrl, id, 30_000, who);
    const all = await eventually(async () => {
      const res = await http(platform.baseUrl, 'GET', '/v1/runs?agent=docs-researcher&status=completed', undefined, who);
      return (res.body.runs as unknown[]).length === 3 ? (res.body.runs as { run_id: string; agent: unknown; state: string }[]) : undefined;
    });
    expect(all.map((r) => r.run_id).sort()).toEqual([...ids].sort());
    expect(all[0]).toMatchObject({ agent: { name: 'docs-researcher', version: '1.0.0' }, state: 'Complete', status: 'completed' });

    const seen: string[] = [];
    let token: string | undefined;
    do {
      const res = await http(platform.baseUrl, 'GET', `/v1/runs?page_size=1${token ? `&page_token=${token}` : ''}`, undefined, who);
      expect(res.status).toBe(200);
      seen.push(...(res.body.runs as { run_id: string }[]).map((r) => r.run_id));
      token = res.body.next_page_token as string | undefined;
    } while (token);
    expect(seen.sort()).toEqual([...ids].sort());

    const none = await http(platform.baseUrl, 'GET', '/v1/runs?agent=ticket-filer', undefined, who);
    expect(none.body.runs).toEqual([]);
    const otherTenant = await http(platform.baseUrl, 'GET', '/v1/runs', undefined, tenant());
    expect(otherTenant.body.runs).toEqual([]);
  });

  test.each([['unknown=1'], ['page_size=0'], ['status=done'], ['started_after=yesterday'], ['agent=BAD%20NAME'], ['page_token=%24%24']])(
    'bad query %s → 400 naming the parameter',
    async (qs) => {
      const res = await http(platform.baseUrl, 'GET', `/v1/runs?${qs}`, undefined, tenant());
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    },
  );
});

describe('steps and readiness', () => {
  test('GET /v1/runs/{id}/steps returns the numbered steps', async () => {
    const who = tenant();
    const id = (await http(platform.baseUrl, 'POST', '/v1/runs', body('steps'), who)).body.run_id as string;
    await waitForRun(platform.baseUrl, id, 30_000, who);
    const res = await http(platform.baseUrl, 'GET', `/v1/runs/${id}/steps`, undefined, who);
    expect(res.status).toBe(200);
    expect((res.body.steps as { index: number }[]).map((s) => s.index)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  test('/readyz is 200 with a worker polling, 503 naming the problem without one', async () => {
    const ready = await http(platform.baseUrl, 'GET', '/readyz');
    expect([ready.status, ready.body.checks]).toEqual([200, { temporal: 'ok', worker: 'ok' }]);
    const idle = await startPlatform({ withWorker: false, taskQueue: uniqueQueue('idle') });
    try {
      const res = await http(idle.baseUrl, 'GET', '/readyz');
      expect(res.status).toBe(503);
      expect(res.body.checks).toMatchObject({ temporal: 'ok', worker: expect.stringContaining('no worker polling') });
    } finally {
      await idle.stop();
    }
  });
});

describe('tenant isolation', () => {
  test('another tenant’s run is a 404 on every run endpoint, exactly like a missing run', async () => {
    const owner = tenant();
    const id = (await http(platform.baseUrl, 'POST', '/v1/runs', body('mine'), owner)).body.run_id as string;
    const stranger = { ...tenant(), 'x-dev-roles': 'operator,approver,admin' };
    const calls: [string, string, unknown?][] = [
      ['GET', `/v1/runs/${id}`],
      ['GET', `/v1/runs/${id}/steps`],
      ['POST', `/v1/runs/${id}/cancel`],
      ['POST', `/v1/runs/${id}/takeover`, { result: 1, reason: 'r' }],
      ['POST', `/v1/runs/${id}/approvals/apr-1`, { decision: 'approve', args_hash: 'a'.repeat(64) }],
    ];
    for (const [method, path, b] of calls) {
      const theirs = await http(platform.baseUrl, method, path, b, stranger);
      const missing = await http(platform.baseUrl, method, path.replace(id, `run-${randomUUID()}`), b, stranger);
      expect([path, theirs.status, theirs.body.type]).toEqual([path, 404, missing.body.type]);
    }
    expect((await http(platform.baseUrl, 'GET', `/v1/runs/${id}`, undefined, owner)).status).toBe(200);
  });
});
