import { DecisionError } from '../../contracts/errors';
import type { Approval } from '../../contracts/run';
import { startLifecyclePlatform, type Credentials, type LifecyclePlatform } from '../support/lifecycle-platform';
import { eventually, http, waitForRun, type TestPlatform } from '../support/platform';

// Human approval of a tool call end to end on the real dev server: approve, reject, edit, quorum,
// refused decisions, and deadlines that reject or escalate.

let lifecycle: LifecyclePlatform;
let platform: TestPlatform;
let ALICE: Credentials;
let CAROL: Credentials;
let BOB_ADMIN: Credentials;
let DAVE: Credentials;
let dispatch: LifecyclePlatform['dispatch'];
let getRun: LifecyclePlatform['getRun'];
let pendingApproval: LifecyclePlatform['pendingApproval'];
let decide: LifecyclePlatform['decide'];
let ticketsOf: LifecyclePlatform['ticketsOf'];

beforeAll(async () => {
  lifecycle = await startLifecyclePlatform();
  ({ platform, dispatch, getRun, pendingApproval, decide, ticketsOf } = lifecycle);
  ({ ALICE, CAROL, BOB_ADMIN, DAVE } = lifecycle.people);
});

afterAll(async () => {
  await lifecycle.stop();
});

describe('human approval: approve', () => {
  test('approve: the exact call waits, the approver sees it, approves, and the ticket is created once', async () => {
    const runId = await dispatch('ticket-filer', 'Disk full on db-1');
    const approval = await pendingApproval(runId);
    expect(approval).toMatchObject({
      kind: 'tool_call',
      tool: 'ticket_create',
      quorum: 1,
      status: 'pending',
      approvers: { roles: ['approver'] },
    });
    expect(approval.args).toEqual({
      title: 'Disk full on db-1',
      body: 'Reported through the agent control plane. Context: disk full on db-1',
      priority: 'high',
    });
    expect(approval.args_hash).toMatch(/^[0-9a-f]{64}$/);

    const waiting = await getRun(runId);
    expect(waiting).toMatchObject({ status: 'running', state: 'HumanApproval' });
    expect(await ticketsOf(runId)).toEqual([]);

    // "Everything waiting for me" is one visibility query behind GET /v1/approvals.
    const mine = await eventually(async () => {
      const list = (await http(platform, 'GET', '/v1/approvals', undefined, ALICE)).body.approvals as { run_id: string }[];
      return list.find((a) => a.run_id === runId);
    });
    expect(mine).toMatchObject({ id: approval.id, args_hash: approval.args_hash, agent: { name: 'ticket-filer', version: '1.0.0' } });
    const forDave = (await http(platform, 'GET', '/v1/approvals', undefined, DAVE)).body.approvals as { run_id: string }[];
    expect(forDave.find((a) => a.run_id === runId)).toBeUndefined();

    const res = await decide(runId, approval.id, { decision: 'approve', args_hash: approval.args_hash, comment: 'go' }, ALICE);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ approval_id: approval.id, status: 'approved', approvals: 1, quorum: 1 });

    const run = await waitForRun(platform, runId);
    expect(run.status).toBe('completed');
    const tickets = await ticketsOf(runId);
    expect(tickets).toHaveLength(1);
    expect(tickets[0]).toMatchObject({ title: 'Disk full on db-1', priority: 'high' });
    const output = run.output as { actions_taken: { tool: string; side_effect: string }[] };
    expect(output.actions_taken.map((a) => [a.tool, a.side_effect])).toEqual([
      ['docs_search', 'read'],
      ['ticket_create', 'write'],
    ]);
    expect((run.steps as { type: string }[]).map((s) => s.type)).toEqual([
      'Plan',
      'ToolCall',
      'Validate',
      'Decide',
      'Plan',
      'ToolCall',
      'HumanApproval',
      'ToolCall',
      'Validate',
      'Decide',
      'Plan',
      'Validate',
      'Complete',
    ]);
  });
});

describe('human approval: reject, edit and quorum', () => {
  test('reject: the call is not made, the run goes on and says why', async () => {
    const runId = await dispatch('ticket-filer', 'Reject me');
    const approval = await pendingApproval(runId);
    const res = await decide(
      runId,
      approval.id,
      { decision: 'reject', args_hash: approval.args_hash, comment: 'not a real incident' },
      ALICE,
    );
    expect(res.body).toMatchObject({ status: 'rejected' });
    const run = await waitForRun(platform, runId);
    expect(run.status).toBe('completed');
    expect(await ticketsOf(runId)).toEqual([]);
    const output = run.output as { warnings: string[]; actions_taken: { tool: string }[] };
    expect(output.warnings).toContain('ticket_create was not run: rejected by alice: not a real incident');
    expect(output.actions_taken.map((a) => a.tool)).toEqual(['docs_search']);
  });

  test('approve with edited arguments: the edited call runs and the edit is recorded as a diff', async () => {
    const runId = await dispatch('ticket-filer', 'Edit me');
    const approval = await pendingApproval(runId);
    const bad = await decide(
      runId,
      approval.id,
      { decision: 'approve', args_hash: approval.args_hash, edited_args: { ...approval.args, priority: 'urgent' } },
      ALICE,
    );
    expect(bad.status).toBe(400);
    expect((bad.body.errors as { path: string }[]).map((e) => e.path)).toContain('edited_args.priority');

    const edited = { ...approval.args, title: 'Edited title', priority: 'low' };
    const res = await decide(runId, approval.id, { decision: 'approve', args_hash: approval.args_hash, edited_args: edited }, ALICE);
    expect(res.body).toMatchObject({ status: 'approved' });
    await waitForRun(platform, runId);
    expect((await ticketsOf(runId)).map((t) => [t.title, t.priority])).toEqual([['Edited title', 'low']]);
    const state = await platform.client.workflow.getHandle(runId).query('state');
    const decided = (state as { approvals: Approval[] }).approvals[0]!;
    expect(decided.decisions[0]!.diff).toEqual([
      { path: 'priority', before: 'high', after: 'low' },
      { path: 'title', before: 'Edit me', after: 'Edited title' },
    ]);
  });

  test('quorum of two: one approval is not enough, the same approver cannot vote twice, a second one completes it', async () => {
    const runId = await dispatch('quorum-two', 'Needs two');
    const approval = await pendingApproval(runId);
    const first = await decide(runId, approval.id, { decision: 'approve', args_hash: approval.args_hash }, ALICE);
    expect(first.body).toMatchObject({ status: 'pending', approvals: 1, quorum: 2 });
    const again = await decide(runId, approval.id, { decision: 'approve', args_hash: approval.args_hash }, ALICE);
    expect(again.status).toBe(409);
    expect(again.body.title).toBe(DecisionError.DuplicateVote);
    expect(await ticketsOf(runId)).toEqual([]);
    const second = await decide(runId, approval.id, { decision: 'approve', args_hash: approval.args_hash }, CAROL);
    expect(second.body).toMatchObject({ status: 'approved', approvals: 2 });
    await waitForRun(platform, runId);
    expect(await ticketsOf(runId)).toHaveLength(1);
  });
});

describe('human approval: refused decisions and deadlines', () => {
  test('refused decisions get a definite 4xx and leave the run unchanged', async () => {
    const runId = await dispatch('ticket-filer', 'Refusals');
    const approval = await pendingApproval(runId);
    const historyBefore = (await platform.client.workflow.getHandle(runId).describe()).historyLength;

    const wrongApprover = await decide(runId, approval.id, { decision: 'approve', args_hash: approval.args_hash }, DAVE);
    expect([wrongApprover.status, wrongApprover.body.title]).toEqual([403, DecisionError.ApproverNotAllowed]);
    const staleHash = await decide(runId, approval.id, { decision: 'approve', args_hash: 'a'.repeat(64) }, ALICE);
    expect([staleHash.status, staleHash.body.title]).toEqual([409, DecisionError.ArgsHashMismatch]);
    const noSuch = await decide(runId, 'apr-999', { decision: 'approve', args_hash: approval.args_hash }, ALICE);
    expect([noSuch.status, noSuch.body.title]).toEqual([404, DecisionError.ApprovalNotFound]);
    const malformed = await decide(runId, approval.id, { decision: 'maybe', args_hash: approval.args_hash }, ALICE);
    expect(malformed.status).toBe(400);

    // A run that waits for no approval, and another run's approval: refused too.
    const otherRun = await dispatch('docs-researcher', 'What is a run?');
    const elsewhere = await decide(otherRun, approval.id, { decision: 'approve', args_hash: approval.args_hash }, ALICE);
    expect(elsewhere.status).toBeGreaterThanOrEqual(404);
    expect(elsewhere.status).toBeLessThan(500);

    // Validators reject without writing history; the approval is still pending.
    expect((await platform.client.workflow.getHandle(runId).describe()).historyLength).toBe(historyBefore);
    expect((await pendingApproval(runId)).decisions).toEqual([]);

    const ok = await decide(runId, approval.id, { decision: 'approve', args_hash: approval.args_hash }, ALICE);
    expect(ok.status).toBe(200);
    const late = await decide(runId, approval.id, { decision: 'reject', args_hash: approval.args_hash }, CAROL);
    expect(late.status).toBe(409);
    await waitForRun(platform, runId);
    const afterEnd = await decide(runId, approval.id, { decision: 'approve', args_hash: approval.args_hash }, CAROL);
    expect(afterEnd.status).toBe(409);
  });

  test('deadline reached with reject as the default: the call is not made', async () => {
    const runId = await dispatch('quick-reject', 'Nobody answers');
    const run = await waitForRun(platform, runId);
    expect(run.status).toBe('completed');
    expect((run.output as { warnings: string[] }).warnings).toContain('ticket_create was not run: no decision before the deadline');
    expect(await ticketsOf(runId)).toEqual([]);
  });

  test('deadline reached with escalation: the approval moves to the escalation group, who may then decide', async () => {
    const runId = await dispatch('quick-escalate', 'Escalate me');
    const approval = await pendingApproval(runId);
    const escalated = await eventually(async () => {
      const a = await pendingApproval(runId);
      return a.escalations > 0 ? a : undefined;
    });
    expect(escalated.id).toBe(approval.id);
    const byOriginal = await decide(runId, approval.id, { decision: 'approve', args_hash: approval.args_hash }, ALICE);
    expect(byOriginal.status).toBe(403);
    const byAdmin = await decide(runId, approval.id, { decision: 'approve', args_hash: approval.args_hash }, BOB_ADMIN);
    expect(byAdmin.body).toMatchObject({ status: 'approved' });
    await waitForRun(platform, runId);
    expect(await ticketsOf(runId)).toHaveLength(1);
  });
});
