import { Pool } from 'pg';
import { freePort } from '../../temporal/dev-server';
import { GovernanceStore, migrate, pgSql } from '../../governance/store';
import { eventually, http, startPlatform, waitForRun, type TestPlatform } from '../support/platform';
import { pgSchema } from '../support/processes';
import { pgProxy, type PgProxy } from '../../scripts/fakes/pg-proxy';

// Issue #9, point 2: with the governance store unreachable, an action that took effect is answered as
// such (202 for a started run, 200 for an applied decision), so a client does not retry it into a
// duplicate, and its audit row is written once the store is back: the ledger ends complete.
jest.setTimeout(180_000);

let platform: TestPlatform;
let db: Awaited<ReturnType<typeof pgSchema>>;
let proxy: PgProxy;
beforeAll(async () => {
  db = await pgSchema();
  const port = await freePort();
  proxy = pgProxy(port);
  await proxy.up();
  const pool = new Pool({
    connectionString: `postgres://postgres@127.0.0.1:${port}/test?options=${encodeURIComponent(`-c search_path=${db.schema}`)}`,
    connectionTimeoutMillis: 1_000,
  });
  pool.on('error', () => undefined); // connections the proxy cuts (governance/open.ts does the same)
  const sql = pgSql(pool);
  await migrate(sql);
  platform = await startPlatform({ audit: new GovernanceStore(sql) });
});
afterAll(async () => {
  await platform?.stop();
  proxy?.down();
  await db?.drop();
});

/** The run's rows of an action, read directly from PostgreSQL (not through the proxy). */
const rows = async (runId: string, action: string) =>
  (
    await db.admin.query<{ outcome: string }>(`SELECT outcome FROM ${db.schema}.audit_ledger WHERE run_id = $1 AND action = $2`, [
      runId,
      action,
    ])
  ).rows;

test('a dispatch while the store is down answers 202 for the started run; its dispatch row is recorded once the store is back', async () => {
  proxy.down();
  const res = await http(platform, 'POST', '/v1/runs', { agent: 'docs-researcher', task: 'store down' });
  expect(res.status).toBe(202);
  const runId = res.body.run_id as string;
  expect(await rows(runId, 'dispatch')).toEqual([]);
  await proxy.up();
  await eventually(async () => ((await rows(runId, 'dispatch')).length > 0 ? true : undefined), 30_000, 'the dispatch row');
  expect(await rows(runId, 'dispatch')).toEqual([{ outcome: 'accepted' }]);
  expect((await waitForRun(platform, runId, 60_000)).status).toBe('completed');
});

test('an approval while the store is down answers what happened (200, approved); the ticket is filed and the decision row follows', async () => {
  const res = await http(platform, 'POST', '/v1/runs', {
    agent: 'ticket-filer',
    task: 'disk full',
    context: { priority: 'low', details: 'd' },
  });
  const runId = res.body.run_id as string;
  const approval = await eventually(
    async () =>
      ((await http(platform, 'GET', `/v1/runs/${runId}`)).body.approvals as { id: string; args_hash: string; status: string }[])?.[0],
    60_000,
  );
  proxy.down();
  const approver = platform.as({ subject: 'alice', roles: ['approver'] });
  const decided = await http(
    platform,
    'POST',
    `/v1/runs/${runId}/approvals/${approval.id}`,
    { decision: 'approve', args_hash: approval.args_hash },
    approver,
  );
  expect(decided.status).toBe(200);
  expect(decided.body).toMatchObject({ run_id: runId, status: 'approved' });
  await proxy.up();
  const run = await waitForRun(platform, runId, 90_000);
  expect(run.status).toBe('completed');
  await eventually(async () => ((await rows(runId, 'approval.decide')).length > 0 ? true : undefined), 30_000, 'the decision row');
  expect(await rows(runId, 'approval.decide')).toEqual([{ outcome: 'approve' }]);
});

/** A ticket-filer run parked on its approval (the store up), ready to be cancelled or taken over. */
const parkedRun = async (task: string) => {
  const res = await http(platform, 'POST', '/v1/runs', { agent: 'ticket-filer', task, context: { priority: 'low', details: 'd' } });
  const runId = res.body.run_id as string;
  await eventually(async () => ((await http(platform, 'GET', `/v1/runs/${runId}`)).body.approvals as unknown[])?.[0], 60_000);
  return runId;
};

test('a cancel while the store is down answers 202 for the cancellation that happened; its row follows once the store is back', async () => {
  const runId = await parkedRun('cancel with the store down');
  proxy.down();
  // Before: the cancellation took effect and the request answered 500 (its row was awaited after it).
  const res = await http(platform, 'POST', `/v1/runs/${runId}/cancel`);
  expect(res.status).toBe(202);
  expect(res.body).toMatchObject({ run_id: runId, status: 'cancelling' });
  await proxy.up();
  expect((await waitForRun(platform, runId, 90_000)).status).toBe('cancelled');
  await eventually(async () => ((await rows(runId, 'run.cancel')).length > 0 ? true : undefined), 30_000, 'the cancel row');
  expect(await rows(runId, 'run.cancel')).toEqual([{ outcome: 'requested' }]);
});

test('a takeover while the store is down answers 200 for the run it completed; its row follows once the store is back, once', async () => {
  const runId = await parkedRun('takeover with the store down');
  const operator = platform.as({ subject: 'ops', roles: ['operator'] });
  const takeover = { result: 'done by hand', reason: 'store drill' };
  proxy.down();
  const res = await http(platform, 'POST', `/v1/runs/${runId}/takeover`, takeover, operator);
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ run_id: runId, status: 'completed', output: { result: 'done by hand' } });
  await proxy.up();
  expect((await waitForRun(platform, runId, 90_000)).status).toBe('completed');
  await eventually(async () => ((await rows(runId, 'run.takeover')).length > 0 ? true : undefined), 30_000, 'the takeover row');
  expect(await rows(runId, 'run.takeover')).toEqual([{ outcome: 'completed' }]);
});
