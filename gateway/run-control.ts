import type { TakeoverRequest } from '../contracts/run';
import { RunSearchAttributes } from '../contracts/run-search-attributes';
import { takeoverUpdate } from '../workflows/messages';
import type { Caller, Gateway } from './context';
import { auditActed } from './deferred-audit';
import { HttpProblem } from './problem';
import { updateProblem } from './runs/errors';
import { UPDATE_WAIT_MS, updateFailure, updateKey } from './runs/outages';
import type { VisibleRun } from './runs/store';
import { statusWord } from './runs/visibility';

// Ending a run from outside: cancel, and completing it by hand. No Express here: the routes
// (gateway/routes/runs-write.ts) find the caller's run and hand it over.

/** Requests the cancellation of a running run the caller may cancel (its initiator, an operator or an admin). */
export async function cancelRun(gw: Gateway, caller: Caller, { handle, desc }: VisibleRun): Promise<void> {
  const runId = handle.workflowId;
  gw.authorize(caller, 'run.cancel', { initiator: desc.typedSearchAttributes.get(RunSearchAttributes.initiator) });
  if (desc.status.name !== 'RUNNING') {
    throw new HttpProblem(409, 'run-not-active', 'Run not active', `Run ${runId} is already ${statusWord(desc.status.name)}.`);
  }
  await handle.cancel();
  // The cancellation is requested and cannot be taken back: answer it even if the store is down now
  // (its row is written once the store takes it), or the caller is told a cancel that happened failed.
  await auditActed(gw.deps, caller, {
    dedupe_key: `run.cancel:${caller.requestId}:${runId}`,
    action: 'run.cancel',
    outcome: 'requested',
    reason: 'cancelled through the API',
    run_id: runId,
  });
  gw.deps.logger.info('run cancel requested', { run_id: runId, by: caller.principal.subject });
}

/** Completes the run with the operator's result through the takeover update; the run's output is the answer. */
export async function takeOverRun(gw: Gateway, caller: Caller, { handle }: VisibleRun, request: TakeoverRequest): Promise<unknown> {
  const runId = handle.workflowId;
  gw.authorize(caller, 'run.takeover');
  const who = caller.principal;
  const args = { ...request, operator: { subject: who.subject, roles: who.roles } };
  const key = updateKey(args);
  try {
    // Bounded (no worker, no answer), and a retry of the same takeover is the same Update.
    const output = await gw.deps.client.withDeadline(Date.now() + UPDATE_WAIT_MS, () =>
      handle.executeUpdate(takeoverUpdate, { args: [args], updateId: `takeover-${key}` }),
    );
    // The run is completed: the answer says so even if the store is down now; the row (one per
    // takeover, however often it is retried) follows once the store takes it.
    await auditActed(gw.deps, caller, {
      dedupe_key: `run.takeover:${runId}:${key}`,
      action: 'run.takeover',
      outcome: 'completed',
      reason: request.reason,
      run_id: runId,
    });
    gw.deps.logger.info('run taken over', { run_id: runId, by: who.subject });
    return output;
  } catch (err) {
    const check = `GET /v1/runs/${runId} shows the run completed by the takeover, or still running`;
    throw updateProblem(err, runId) ?? (await updateFailure(gw.deps.client, err, 'takeover', check));
  }
}
