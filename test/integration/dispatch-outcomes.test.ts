import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { answerCuttingProxy, type AnswerCuttingProxy } from '../support/fakes/answer-cutting-proxy';
import { eventually, http, startPlatform, testTemporal, uniqueQueue, type TestPlatform } from '../support/platform';
import { workflowsAfterSentinel } from '../support/visibility';

// What a dispatch answers when Temporal's answer to its start is lost, when too many starts are in
// flight, and when no worker polls its task queue. Whatever it answers, every run in Temporal belongs
// to exactly one 202 (or to the run id a 503 named), and a retry with the same key never starts another.

jest.setTimeout(180_000);

const { address, namespace } = testTemporal();
let direct: Connection;
let temporal: Client;
beforeAll(async () => {
  direct = await Connection.connect({ address });
  temporal = new Client({ connection: direct, namespace });
});
afterAll(async () => {
  await direct.close();
});

/** The ids of the workflows with this id that Temporal lists, once it lists `expected` of them. */
const executionsOf = (runId: string, expected: number) =>
  eventually(
    async () => {
      const n = (await temporal.workflowService.countWorkflowExecutions({ namespace, query: `WorkflowId = "${runId}"` })).count;
      return Number(n) >= expected ? Number(n) : undefined;
    },
    30_000,
    `${runId} to show in visibility`,
  );

describe('a start whose answer is lost', () => {
  let proxy: AnswerCuttingProxy;
  let platform: TestPlatform;
  beforeAll(async () => {
    proxy = await answerCuttingProxy(address);
    platform = await startPlatform({ withWorker: false, taskQueue: uniqueQueue('cut'), gatewayTemporalAddress: proxy.address });
  });
  afterAll(async () => {
    await platform.stop();
    await proxy.close();
  });

  // The SDK's own retries of a start are safe (Temporal dedupes them by request id); what the gateway must
  // handle is a start still unanswered at the request's deadline. Its look-up then finds the run.
  test('no answer to the start within the deadline, Temporal back for the look-up: the caller gets the run (202), once', async () => {
    const tenant = `cut-${randomUUID().slice(0, 8)}`;
    const who = platform.as({ tenant });
    // Closed after the request's 5 s deadline: the start times out, the look-up gets through on a new connection.
    proxy.mode('cut-once', platform.taskQueue, 5_500);
    const res = await http(platform, 'POST', '/v1/runs', { agent: 'docs-researcher', task: 'cut once' }, who);
    expect(res.status).toBe(202);
    const runId = res.body.run_id as string;
    expect(await executionsOf(runId, 1)).toBe(1);
    expect(await workflowsAfterSentinel(platform, `Tenant = "${tenant}"`, { headers: who, started: [runId] })).toEqual([runId]);
  });

  test('no answer at all: 503 naming the run id, which exists; the retry with the same key is that run', async () => {
    const tenant = `hole-${randomUUID().slice(0, 8)}`;
    const who = { ...platform.as({ tenant }), 'idempotency-key': `k-${randomUUID()}` };
    const body = { agent: 'docs-researcher', task: 'answers lost' };
    // The key's look-up goes through; the start (the first request naming the task queue) is where answers stop.
    proxy.mode('blackhole', platform.taskQueue);
    const res = await http(platform, 'POST', '/v1/runs', body, who);
    proxy.mode('pass');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.body).toMatchObject({ type: 'urn:agent-control-plane:problem:temporal-unavailable', dependency: 'temporal' });
    expect(res.body.detail).toMatch(/did not answer whether run run-idem-\S+ started/);
    const runId = res.body.run_id as string;
    expect(runId).toMatch(/^run-idem-/);
    // The caller can look it up: the start had reached Temporal.
    expect((await temporal.workflow.getHandle(runId).describe()).status.name).toBe('RUNNING');
    const retry = await eventually(
      async () => {
        const r = await http(platform, 'POST', '/v1/runs', body, who);
        return r.status === 503 ? undefined : r;
      },
      30_000,
      'the retry to reach Temporal again',
    );
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ run_id: runId, replayed: true });
    expect(await executionsOf(runId, 1)).toBe(1);
    expect(await workflowsAfterSentinel(platform, `Tenant = "${tenant}"`, { headers: platform.as({ tenant }), started: [runId] })).toEqual([
      runId,
    ]);
  });
});

describe('a burst of dispatches over the bound of starts in flight', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await startPlatform({ withWorker: false, taskQueue: uniqueQueue('burst'), maxStartsInFlight: 2 });
  });
  afterAll(async () => {
    await platform.stop();
  });

  test('200 at once: each is a 202 with its run or an immediate 503 overloaded that started nothing', async () => {
    const tenant = `burst-${randomUUID().slice(0, 8)}`;
    const who = platform.as({ tenant });
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => http(platform, 'POST', '/v1/runs', { agent: 'docs-researcher', task: `burst ${i}` }, who)),
    );
    const elapsedMs = Date.now() - started;
    const accepted = answers.filter((a) => a.status === 202).map((a) => a.body.run_id as string);
    const shed = answers.filter((a) => a.status === 503);
    process.stdout.write(`burst: ${accepted.length} accepted, ${shed.length} shed, ${elapsedMs} ms for all 200\n`);
    expect(accepted.length + shed.length).toBe(200);
    expect(accepted.length).toBeGreaterThan(0);
    expect(shed.length).toBeGreaterThan(0);
    for (const a of shed) {
      expect(a.body.type).toBe('urn:agent-control-plane:problem:overloaded');
      expect(a.headers.get('retry-after')).toBe('1');
    }
    expect(new Set(accepted).size).toBe(accepted.length);
    expect((await workflowsAfterSentinel(platform, `Tenant = "${tenant}"`, { headers: who, started: accepted })).sort()).toEqual(
      [...accepted].sort(),
    );
  });

  test('no worker polls the task queue: the 202 says so; once one polls, it does not', async () => {
    const res = await http(platform, 'POST', '/v1/runs', { agent: 'docs-researcher', task: 'nobody home' });
    expect(res.status).toBe(202);
    expect(res.body.warnings).toEqual([expect.stringContaining(`No worker is polling task queue "${platform.taskQueue}"`)]);
    await platform.startWorker();
    await eventually(
      async () => {
        const r = await http(platform, 'POST', '/v1/runs', { agent: 'docs-researcher', task: 'somebody home' });
        expect(r.status).toBe(202);
        return r.body.warnings === undefined ? r : undefined;
      },
      30_000,
      'a dispatch without the warning',
    );
  });
});
