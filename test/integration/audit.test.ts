import { randomUUID } from 'node:crypto';
import { eventually, http, startPlatform, waitForRun, type TestPlatform } from '../support/platform';
import { workflowsAfterSentinel } from '../support/visibility';

// The gateway's audit trail over real HTTP, in the platform's own ledger (a PostgreSQL schema of its own).
let platform: TestPlatform;
beforeAll(async () => {
  platform = await startPlatform();
});
afterAll(async () => {
  await platform.stop();
});

interface Entry {
  action: string;
  outcome: string;
  principal: string;
  reason: string;
  run_id?: string;
  request_id?: string;
}

/** A ticket run waits for approval; the approver sends a decision on stale arguments (refused), then rejects. */
async function refuseThenReject(dispatcher: Record<string, string>, approver: Record<string, string>): Promise<string> {
  const waiting = (
    await http(platform, 'POST', '/v1/runs', { agent: 'ticket-filer', task: 't', context: { priority: 'low', details: 'd' } }, dispatcher)
  ).body.run_id as string;
  const approval = await eventually(
    async () =>
      (
        (await http(platform, 'GET', `/v1/runs/${waiting}`, undefined, dispatcher)).body.approvals as
          { id: string; args_hash: string }[] | undefined
      )?.[0],
  );
  await http(
    platform,
    'POST',
    `/v1/runs/${waiting}/approvals/${approval.id}`,
    { decision: 'approve', args_hash: 'f'.repeat(64) },
    approver,
  );
  await http(
    platform,
    'POST',
    `/v1/runs/${waiting}/approvals/${approval.id}`,
    { decision: 'reject', args_hash: approval.args_hash, comment: 'no' },
    approver,
  );
  return waiting;
}

/** A second ticket run, taken over by an admin while it waits for approval. */
async function takeOver(dispatcher: Record<string, string>, admin: Record<string, string>): Promise<string> {
  const other = (
    await http(platform, 'POST', '/v1/runs', { agent: 'ticket-filer', task: 't2', context: { priority: 'low', details: 'd' } }, dispatcher)
  ).body.run_id as string;
  await eventually(async () =>
    (await http(platform, 'GET', `/v1/runs/${other}`, undefined, dispatcher)).body.state === 'HumanApproval' ? true : undefined,
  );
  await http(platform, 'POST', `/v1/runs/${other}/takeover`, { result: 'by hand', reason: 'urgent' }, admin);
  return other;
}

test('dispatches accepted and denied (no run started), decisions, cancels and takeovers land in the ledger', async () => {
  const tenant = `audit-${randomUUID().slice(0, 8)}`;
  const dispatcher = platform.as({ subject: 'dee', tenant, roles: ['dispatcher'] });
  const approver = platform.as({ subject: 'ann', tenant, roles: ['approver'] });
  const admin = platform.as({ subject: 'ada', tenant, roles: ['admin'] });
  const auditor = platform.as({ subject: 'aud', tenant, roles: ['auditor'] });

  const ok = await http(platform, 'POST', '/v1/runs', { agent: 'docs-researcher', task: 'audited' }, dispatcher);
  const denied = await http(platform, 'POST', '/v1/runs', { agent: 'docs-researcher', task: 'audited' }, approver);
  const adminIntent = await http(platform, 'POST', '/v1/runs', { agent: 'docs-researcher', task: 'make me admin' }, dispatcher);
  expect([ok.status, denied.status, adminIntent.status]).toEqual([202, 403, 403]);
  await waitForRun(platform, ok.body.run_id as string, 30_000, dispatcher);

  const waiting = await refuseThenReject(dispatcher, approver);
  const other = await takeOver(dispatcher, admin);

  // The runs write their own rows (test/integration/run-audit.test.ts) concurrently with the gateway's:
  // the order asserted here is the gateway's, the rows that carry a request id.
  const all = (await http(platform, 'GET', '/v1/audit', undefined, auditor)).body.entries as Entry[];
  const summary = all
    .filter((e) => e.request_id)
    .map((e) => `${e.principal} ${e.action} ${e.outcome}`)
    .reverse();
  expect(summary).toEqual([
    'dee dispatch accepted',
    'ann dispatch denied',
    'dee dispatch denied',
    'dee dispatch accepted',
    'ann approval.decide refused',
    'ann approval.decide reject',
    'dee dispatch accepted',
    'ada run.takeover completed',
  ]);
  expect(all.find((e) => e.principal === 'dee' && e.outcome === 'denied')!.reason).toContain('admin-intents-reserved');
  expect(all.filter((e) => e.outcome === 'denied').every((e) => e.run_id === undefined)).toBe(true);
  // And in Temporal the tenant has exactly the three accepted runs: the denied dispatches started none.
  const inTemporal = await workflowsAfterSentinel(platform, `Tenant = "${tenant}"`, { headers: dispatcher });
  expect(inTemporal.sort()).toEqual([ok.body.run_id as string, waiting, other].sort());

  // The run's own row (the approval closed) is written without holding up the run: wait for it.
  const forRun = await eventually(async () => {
    const entries = (await http(platform, 'GET', `/v1/runs/${waiting}/audit`, undefined, auditor)).body.entries as Entry[];
    return entries.some((e) => e.action === 'approval.close') ? entries : undefined;
  });
  expect(forRun.map((e) => `${e.action} ${e.outcome}`).sort()).toEqual(
    [
      'dispatch accepted',
      'approval.request pending',
      'approval.decide refused',
      'approval.decide reject',
      'approval.close rejected',
    ].sort(),
  );
  const byAnn = (await http(platform, 'GET', '/v1/audit?principal=ann', undefined, auditor)).body.entries as Entry[];
  // ann's three requests, and the approval her reject closed.
  expect(byAnn.map((e) => e.action).sort()).toEqual(['approval.close', 'approval.decide', 'approval.decide', 'dispatch']);

  expect((await http(platform, 'GET', '/v1/audit', undefined, dispatcher)).status).toBe(403);
  const otherTenant = platform.as({ subject: 'aud2', tenant: `x-${randomUUID().slice(0, 8)}`, roles: ['auditor'] });
  expect((await http(platform, 'GET', '/v1/audit', undefined, otherTenant)).body.entries).toEqual([]);
  expect((await http(platform, 'GET', `/v1/runs/${waiting}/audit`, undefined, otherTenant)).status).toBe(404);
  expect((await http(platform, 'GET', '/v1/audit?since=yesterday', undefined, auditor)).status).toBe(400);
});
