import { approvalUpdate } from '../../workflows/messages';
import type { AuditRow } from '../../contracts/governance';
import { startLifecyclePlatform, type LifecyclePlatform } from '../support/lifecycle-platform';
import { eventually, waitForRun } from '../support/platform';

// Issue #20, point 9: decisions that took effect without a 200 (after a 503, or cut by a drain) had no
// approval.decide row, because the gateway wrote it after the answer; and a rolled-back attempt left an
// approval.close row for a decision that never took effect. The run now writes both rows itself, through
// an activity Temporal schedules only once the workflow task that took the decision is accepted.
jest.setTimeout(120_000);

let lifecycle: LifecyclePlatform;
beforeAll(async () => {
  lifecycle = await startLifecyclePlatform();
});
afterAll(() => lifecycle?.stop());

const rowsOf = async (runId: string) =>
  (await lifecycle.platform.governance.list({ tenant: 'default', run_id: runId, limit: 100 })).reverse();
const approvalRows = (rows: AuditRow[]) =>
  rows.filter((r) => r.action.startsWith('approval.')).map((r) => `${r.action}:${r.outcome}:${r.principal}`);

test('a decision that reaches the run without the gateway answering has its approval.decide row, before the close', async () => {
  const runId = await lifecycle.dispatch('ticket-filer', 'Disk full on db-3');
  const approval = await lifecycle.pendingApproval(runId);
  // As a gateway that sent the Update and died (or was cut by its drain deadline) before its answer:
  // nothing but the run can record the decision.
  const handle = lifecycle.platform.client.workflow.getHandle(runId);
  const result = await handle.executeUpdate(approvalUpdate, {
    args: [
      {
        decision: 'approve',
        args_hash: approval.args_hash!,
        approval_id: approval.id,
        approver: { subject: 'alice', roles: ['approver'] },
      },
    ],
  });
  expect(result).toMatchObject({ status: 'approved', recorded: true });
  expect((await waitForRun(lifecycle.platform, runId, 60_000)).status).toBe('completed');
  const rows = await eventually(async () => {
    const all = await rowsOf(runId);
    return all.some((r) => r.action === 'approval.close') && all.some((r) => r.action === 'approval.decide') ? all : undefined;
  });
  expect(approvalRows(rows)).toEqual(['approval.request:pending:tester', 'approval.decide:approve:alice', 'approval.close:approved:alice']);
});

test('the gateway writes no second decide row; both rows come from activities the accepted workflow task scheduled', async () => {
  const runId = await lifecycle.dispatch('ticket-filer', 'Disk full on db-4');
  const approval = await lifecycle.pendingApproval(runId);
  const res = await lifecycle.decide(runId, approval.id, { decision: 'approve', args_hash: approval.args_hash }, lifecycle.people.ALICE);
  expect(res.status).toBe(200);
  expect(res.body).not.toHaveProperty('recorded');
  expect((await waitForRun(lifecycle.platform, runId, 60_000)).status).toBe('completed');
  const rows = await eventually(async () => {
    const all = await rowsOf(runId);
    return all.some((r) => r.action === 'approval.close') ? all : undefined;
  });
  const decide = rows.filter((r) => r.action === 'approval.decide');
  expect(decide).toHaveLength(1);
  // The row carries the request that brought the decision, as the gateway's row did.
  expect(decide[0]).toMatchObject({ principal: 'alice', outcome: 'approve', request_id: expect.any(String) });

  // A local activity runs inside the workflow task, before Temporal accepts it (so a task lost with the
  // server wrote its row anyway); a scheduled activity exists only once the task is in the history.
  const history = await lifecycle.platform.client.workflow.getHandle(runId).fetchHistory();
  const scheduled = (history.events ?? [])
    .map((e) => e.activityTaskScheduledEventAttributes)
    .filter((a) => a?.activityType?.name === 'recordAudit')
    .map((a) => JSON.parse(Buffer.from(a!.input!.payloads![0]!.data!).toString()) as { action: string }[])
    .flat()
    .map((r) => r.action);
  expect(scheduled.sort()).toEqual(['approval.close', 'approval.decide']);
});
