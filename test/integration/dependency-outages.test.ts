import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Pool } from 'pg';
import { createToolRegistry } from '../../activities/tools';
import { AgentRegistry } from '../../agents/registry';
import { loadSettings } from '../../config/settings';
import { createApp } from '../../gateway/app';
import { readiness } from '../../gateway/readiness';
import { Authenticator, hashApiKey } from '../../gateway/auth';
import { GovernanceStore, pgSql } from '../../governance/store';
import { createLogger } from '../../observability/logger';
import { freePort } from '../../temporal/dev-server';
import { openTestStore, type TestStore } from '../support/governance';
import { startLifecyclePlatform } from '../support/lifecycle-platform';
import { conformsTo, type OpenApiDoc } from '../support/openapi';
import { eventually, http, startPlatform, uniqueQueue, waitForRun, type TestPlatform } from '../support/platform';

// Issue #9, points 3, 4 and 5: a dependency that is down gets a quick 503 naming it (with Retry-After),
// an Update with no worker to take it (an approval, a takeover) is answered within its bound, and /readyz checks every dependency
// with a short timeout each and names the one that failed.
jest.setTimeout(120_000);

const timed = async <T>(work: () => Promise<T>) => {
  const started = Date.now();
  const value = await work();
  return { value, seconds: (Date.now() - started) / 1000 };
};

/** A governance store whose PostgreSQL is not there (a port nothing listens on). */
async function downStore(): Promise<GovernanceStore> {
  return new GovernanceStore(
    pgSql(new Pool({ connectionString: `postgres://postgres@127.0.0.1:${await freePort()}/test`, connectionTimeoutMillis: 1_000 })),
  );
}

describe('readiness', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await startPlatform();
  });
  afterAll(() => platform?.stop());

  test('ready when Temporal, the governance store and a worker all answer', async () => {
    // Until the new worker's first poll reaches the server, Temporal lists no poller: not ready, rightly.
    const ready = await eventually(async () => {
      const res = await http(platform, 'GET', '/readyz');
      return res.status === 200 ? res : undefined;
    });
    expect([ready.status, ready.body]).toEqual([200, { status: 'ready', checks: { temporal: 'ok', governance: 'ok', worker: 'ok' } }]);
  });

  test('not ready, naming the governance store, when PostgreSQL is down; answered within the check bound', async () => {
    const down = await startPlatform({ audit: await downStore(), withWorker: false, taskQueue: platform.taskQueue });
    try {
      const { value: res, seconds } = await timed(() => http(down, 'GET', '/readyz'));
      expect(res.status).toBe(503);
      expect(res.body.checks).toEqual({ temporal: 'ok', governance: expect.stringMatching(/^unreachable: /), worker: 'ok' });
      // Each check is bounded at 2 s; without the bound the pg driver waits on its connect timeout.
      // 6 s leaves a loaded CI machine room and still catches an unbounded check.
      expect(seconds).toBeLessThan(6);
    } finally {
      await down.stop();
    }
  });

  test('not ready, naming the worker, when nothing polls the task queue', async () => {
    const idle = await startPlatform({ withWorker: false, taskQueue: uniqueQueue('idle') });
    try {
      const res = await http(idle, 'GET', '/readyz');
      expect(res.status).toBe(503);
      expect(res.body.checks).toMatchObject({ temporal: 'ok', governance: 'ok', worker: expect.stringContaining('no worker polling') });
    } finally {
      await idle.stop();
    }
  });
});

test('a worker that is gone but still listed by Temporal is not ready once its last poll is older than the bound', async () => {
  const platform = await startPlatform({ taskQueue: uniqueQueue('gone') });
  try {
    const deps = { client: platform.client, taskQueue: platform.taskQueue };
    await eventually(async () => ((await readiness(deps)).checks.worker === 'ok' ? true : undefined));
    await platform.stopWorker();
    // Temporal keeps listing the gone worker's pollers for minutes: a check on "any poller" says ok.
    const listed = await platform.client.workflowService.describeTaskQueue({
      namespace: platform.client.options.namespace,
      taskQueue: { name: platform.taskQueue },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    expect(listed.pollers?.length ?? 0).toBeGreaterThan(0);
    // With a 3 s bound (90 s in production) the stale poller no longer counts.
    const checks = await eventually(async () => {
      const r = await readiness({ ...deps, workerFreshMs: 3_000 });
      return r.ready ? undefined : r.checks;
    });
    expect(checks.worker).toMatch(/^no worker has polled task queue .+ for \d+ s$/);
  } finally {
    await platform.stop();
  }
});

describe('Temporal down', () => {
  let server: Server;
  let base: string;
  let store: TestStore;
  let connection: Connection;
  let conforms: ReturnType<typeof conformsTo>;
  const key = 'outage-key';
  beforeAll(async () => {
    const settings = loadSettings({});
    const tools = createToolRegistry({ docsDir: settings.docsDir, ticketsFile: `${process.env.TEST_TMP_DIR!}/outage-tickets.jsonl` });
    store = await openTestStore();
    // A client of a Temporal that is not there: every call fails as it does while a cluster is down.
    connection = Connection.lazy({ address: `127.0.0.1:${await freePort()}` });
    const authenticator = new Authenticator({
      apiKeys: [{ sha256: hashApiKey(key), subject: 'ops', tenant: 'acme', roles: ['dispatcher', 'operator', 'approver'] }],
    });
    const app = createApp({
      client: new Client({ connection }),
      agents: AgentRegistry.load(settings.agentsDir, tools),
      tools,
      taskQueue: uniqueQueue('down'),
      logger: createLogger({ level: 'error', format: 'json' }),
      authenticate: (req) => authenticator.authenticate(req),
      audit: store.store,
    });
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    conforms = conformsTo((await http(base, 'GET', '/openapi.json')).body as OpenApiDoc);
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    // The SDK's retries of the last calls end at their deadline; closing the channel under them would throw.
    await new Promise((resolve) => setTimeout(resolve, 7_000));
    await connection.close();
    await store.close();
  });
  const auth = { authorization: `Bearer ${key}` };

  test.each([
    ['GET', '/v1/runs/run-1', '/v1/runs/{id}', undefined],
    ['GET', '/v1/runs', '/v1/runs', undefined],
    ['POST', '/v1/runs', '/v1/runs', { agent: 'docs-researcher', task: 'while Temporal is down' }],
    ['POST', '/v1/runs/run-1/cancel', '/v1/runs/{id}/cancel', undefined],
    ['POST', '/v1/runs/run-1/approvals/apr-1', '/v1/runs/{id}/approvals/{approval_id}', { decision: 'approve', args_hash: 'a'.repeat(64) }],
  ])(
    '%s %s answers 503 naming Temporal, with Retry-After, within seconds, as the document declares',
    async (method, path, template, body) => {
      const { value: res, seconds } = await timed(() => http(base, method, path, body, auth));
      conforms(method, template, res);
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.headers.get('retry-after')).toBe('5');
      expect(res.body).toMatchObject({ type: 'urn:agent-control-plane:problem:temporal-unavailable', dependency: 'temporal' });
      // The deadline is 5 s; before it, these took the SDK's 19-21 s of retries. 15 s leaves room for a
      // loaded CI machine (9.8 s seen with jest's other workers busy) and still fails the old behaviour.
      expect(seconds).toBeLessThan(15);
    },
  );

  test('readiness names Temporal within the check bound', async () => {
    const { value: res, seconds } = await timed(() => http(base, 'GET', '/readyz'));
    expect(res.status).toBe(503);
    expect(res.body.checks).toMatchObject({ temporal: expect.stringMatching(/^unreachable: /), governance: 'ok' });
    // Bounded at 2 s per check (the SDK alone would retry for ~20 s); room for a loaded machine.
    expect(seconds).toBeLessThan(6);
  });
});

test('a takeover with no worker is answered within its bound, and the same request once a worker is back completes', async () => {
  const platform = await startPlatform({ withWorker: false });
  try {
    const run = await http(platform, 'POST', '/v1/runs', { agent: 'docs-researcher', task: 'nobody polls' });
    expect(run.status).toBe(202);
    const runId = run.body.run_id as string;
    const operator = platform.as({ subject: 'ops', roles: ['operator'] });
    const takeover = { result: 'done by hand', reason: 'no worker' };
    const { value: res, seconds } = await timed(() => http(platform, 'POST', `/v1/runs/${runId}/takeover`, takeover, operator));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.body).toMatchObject({
      type: 'urn:agent-control-plane:problem:worker-unavailable',
      dependency: 'worker',
      outcome: 'unknown',
    });
    expect(seconds).toBeLessThan(15);

    await platform.startWorker();
    const again = await http(platform, 'POST', `/v1/runs/${runId}/takeover`, takeover, operator);
    expect(again.status).toBe(200);
    expect((await waitForRun(platform, runId)).status).toBe('completed');
  } finally {
    await platform.stop();
  }
});

test('an approval with no worker is answered within its bound; the same decision once a worker is back files the ticket once', async () => {
  const lifecycle = await startLifecyclePlatform();
  try {
    const runId = await lifecycle.dispatch('ticket-filer', 'Disk full on db-9');
    const approval = await lifecycle.pendingApproval(runId);
    await lifecycle.platform.stopWorker();
    const approve = () =>
      lifecycle.decide(runId, approval.id, { decision: 'approve', args_hash: approval.args_hash }, lifecycle.people.ALICE);
    const { value: res, seconds } = await timed(approve);
    // Before the bound, executeUpdate waited for a worker with no end (13 minutes seen).
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.body).toMatchObject({
      type: 'urn:agent-control-plane:problem:worker-unavailable',
      dependency: 'worker',
      outcome: 'unknown',
    });
    expect(seconds).toBeLessThan(15);
    expect(await lifecycle.ticketsOf(runId)).toEqual([]);

    await lifecycle.platform.startWorker();
    // The retry the 503 invites: either it is the decision that takes effect (200), or Temporal kept the
    // first one for the run and this is refused as the same approver's second vote (409). Never twice.
    const again = await approve();
    expect([200, 409]).toContain(again.status);
    expect((await waitForRun(lifecycle.platform, runId)).status).toBe('completed');
    expect(await lifecycle.ticketsOf(runId)).toHaveLength(1);
  } finally {
    await lifecycle.stop();
  }
});
