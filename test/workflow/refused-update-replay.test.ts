// A run whose first update is refused by its validator (a stale vote) and whose next one is accepted
// must replay: a worker restart, a query after the run left the cache and `npm run replay` all replay
// its history. With SDK 1.24.0's OpenTelemetry workflow interceptors it did not (docs/testing.md):
// the refused update's speculative workflow task was the first to use SDK flag 6, the server dropped
// that task, and the flag never reached the history. workflows/sdk-flags.ts uses the flag in the run's
// first workflow task instead.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { PROJECT_ROOT } from '../../config/settings';
import { argsHash } from '../../shared/canonical';
import type { agentRun } from '../../workflows';
import { approvalUpdate } from '../../workflows/messages';
import { workflowBundle } from '../support/platform';
import { answer, closeEnv, openEnv, pendingApproval, runAgent } from './agent-run-harness';

const RULE = { tool: 'ticket_create', reason: 'writes a ticket', approvers: { roles: ['approver'], subjects: [] } };
const ticket = answer({ type: 'tool_call', tool: 'ticket_create', args: { title: 't' }, reason: 'file it' });
const final = answer({ type: 'final', result: 'filed', reason: 'done' });

beforeAll(openEnv);
afterAll(closeEnv);

test('a vote refused before the first accepted one leaves a history that replays', async () => {
  let run: WorkflowHandle<typeof agentRun> | undefined;
  const ended = await runAgent({
    def: { approvals: [RULE] },
    plan: async (_req, n) => (n === 1 ? ticket : final),
    callTool: async () => ({ output: { id: 'T-9' }, evidence: [] }),
    during: async (handle) => {
      run = handle;
      const pending = await pendingApproval(handle);
      const vote = { approval_id: pending.id, decision: 'approve' as const, approver: { subject: 'bob', roles: ['approver'] } };
      const stale = argsHash('ticket_create', { title: 'something else' });
      await expect(handle.executeUpdate(approvalUpdate, { args: [{ ...vote, args_hash: stale }] })).rejects.toThrow(
        WorkflowUpdateFailedError,
      );
      await expect(handle.executeUpdate(approvalUpdate, { args: [{ ...vote, args_hash: pending.args_hash! }] })).resolves.toMatchObject({
        status: 'approved',
      });
    },
  });
  expect(ended.output?.actions_taken).toEqual([expect.objectContaining({ tool: 'ticket_create' })]);
  const history = await run!.fetchHistory();
  // `RECORD_HISTORY=1` keeps it as test/histories/approval-refused-then-approved.json (replayed by replay.test.ts).
  if (process.env.RECORD_HISTORY === '1')
    writeFileSync(path.join(PROJECT_ROOT, 'test', 'histories', 'approval-refused-then-approved.json'), historyToJSON(history));
  await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, run!.workflowId)).resolves.toBeUndefined();
});
