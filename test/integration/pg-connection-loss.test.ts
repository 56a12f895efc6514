import { rmSync } from 'node:fs';
import { eventually, http, waitForRun } from '../support/platform';
import { ensureBuilt, pgSchema, processEnv, scratchDir, spawnScript, type Proc } from '../support/processes';

// Issue #9, point 1: a dropped PostgreSQL connection (a database restart, a failover, an idle-connection
// reaper) must not end the worker or the gateway. The built entry points run as an operator runs them,
// against a schema of this test's own; the test terminates their backends and checks both processes are
// still up and write to the store again.
jest.setTimeout(360_000);

const procs: Proc[] = [];
afterAll(() => procs.forEach((p) => p.kill()));

test('the worker and the gateway stay up when their PostgreSQL connections are terminated, and use the store again', async () => {
  await ensureBuilt();
  const db = await pgSchema();
  const dir = scratchDir('pg-loss');
  try {
    const { env, port, key } = await processEnv(dir);
    const worker = spawnScript('start-worker', { ...env, GOVERNANCE_DATABASE_URL: db.url('worker') });
    const gateway = spawnScript('start-gateway', { ...env, GOVERNANCE_DATABASE_URL: db.url('gateway') });
    procs.push(worker, gateway);
    await Promise.all([worker.waitFor('worker polling'), gateway.waitFor('gateway listening')]);
    const base = `http://127.0.0.1:${port}`;
    const auth = { authorization: `Bearer ${key}` };
    // A run that waits for an approval: the worker has just written its rows (approval.request), the
    // gateway has just read them, so both hold an idle pooled connection (pg keeps them 10 s).
    const res = await http(
      base,
      'POST',
      '/v1/runs',
      { agent: 'ticket-filer', task: 'disk full', context: { priority: 'low', details: 'd' } },
      auth,
    );
    expect(res.status).toBe(202);
    const runId = res.body.run_id as string;
    const actions = async () =>
      ((await http(base, 'GET', `/v1/runs/${runId}/audit`, undefined, auth)).body.entries as { action: string }[]).map((e) => e.action);
    await eventually(async () => ((await actions()).includes('approval.request') ? true : undefined), 60_000, 'the approval row');
    const terminated = await db.admin.query<{ application_name: string }>(
      'SELECT application_name, pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE $1',
      [`${db.schema}_%`],
    );
    expect(new Set(terminated.rows.map((r) => r.application_name))).toEqual(new Set([`${db.schema}_worker`, `${db.schema}_gateway`]));
    // An unhandled 'error' ends a process at once; give the events time to arrive.
    await new Promise((r) => setTimeout(r, 1_500));
    expect({ worker: worker.alive(), gateway: gateway.alive() }).toEqual({ worker: true, gateway: true });
    expect(gateway.output()).toContain('governance store connection lost');
    expect(worker.output()).toContain('governance store connection lost');

    // Recovered: the approval is recorded by the gateway and the filed ticket by the worker, on fresh connections.
    const approval = await eventually(
      async () =>
        ((await http(base, 'GET', `/v1/runs/${runId}`, undefined, auth)).body.approvals as { id: string; args_hash: string }[])?.[0],
    );
    const decided = await http(
      base,
      'POST',
      `/v1/runs/${runId}/approvals/${approval.id}`,
      { decision: 'approve', args_hash: approval.args_hash },
      auth,
    );
    expect(decided.status).toBe(200);
    expect((await waitForRun(base, runId, 60_000, auth)).status).toBe('completed');
    await eventually(async () => ((await actions()).includes('tool.write') ? true : undefined), 30_000, 'the tool.write row');
    expect(await actions()).toEqual(expect.arrayContaining(['dispatch', 'approval.request', 'approval.decide', 'tool.write']));

    worker.child.kill('SIGTERM');
    gateway.child.kill('SIGTERM');
    expect((await gateway.exited).code).toBe(0);
    expect((await worker.exited).code).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await db.drop();
  }
});
