import type { Approval, ApprovalDecisionRequest } from '../contracts/run';
import { currentApprovers, decidersOf, mayDecide } from '../workflows/approvals';
import { approvalUpdate } from '../workflows/messages';
import type { Caller, Gateway } from './context';
import { auditActed } from './deferred-audit';
import type { Principal } from '../contracts/principal';
import { validationProblem } from './problem';
import { updateProblem } from './runs/errors';
import { UPDATE_WAIT_MS, updateFailure } from './runs/outages';
import { mapLimit } from './runs/pool';
import type { VisibleRun } from './runs/store';

// The approvals a caller may decide, and deciding one. No Express here: the routes
// (gateway/routes/approvals.ts) find the caller's run and hand over the parsed decision.

/** Runs listed by `GET /v1/approvals` at most, and how many of them are queried at once. */
const MAX_RUNS = 100;
const QUERIES_AT_ONCE = 8;

/** The pending approvals of the caller's tenant that `who` may decide and has not yet voted on, each with its decide link. */
export async function pendingApprovalsFor(gw: Gateway, who: Principal) {
  const keys = [...who.roles.map((r) => `role:${r}`), `subject:${who.subject}`];
  const ids = await gw.runs.awaitingApproval(keys, who.tenant, MAX_RUNS);
  const perRun = await mapLimit(ids, QUERIES_AT_ONCE, async (runId) => {
    const answer = await gw.runs.tryQueryState(gw.runs.client.workflow.getHandle(runId));
    if ('failure' in answer) {
      // Closed or unreachable since the listing: it will not take a decision now, so it is left out,
      // but a failure other than a missing worker is a fault someone should see.
      if (answer.failure.kind === 'failed')
        gw.deps.logger.warn('approvals: state query failed', { run_id: runId, error: answer.failure.message });
      return [];
    }
    const { state } = answer;
    // Votes count from the last edit on (an edit resets earlier approvals), as the run counts them.
    const mine = (a: Approval) => a.status === 'pending' && mayDecide(who, decidersOf(a)) && !currentApprovers(a).has(who.subject);
    return state.approvals
      .filter(mine)
      .map((a) => ({ run_id: runId, agent: state.agent, ...a, links: { decide: `/v1/runs/${runId}/approvals/${a.id}` } }));
  });
  return perRun.flat();
}

/** A 400 unless edited arguments are valid for the approval's tool: they must be before they reach the run. */
async function checkEditedArgs(gw: Gateway, { handle }: VisibleRun, approvalId: string, edited: unknown): Promise<void> {
  const state = await gw.runs.queryState(handle);
  const approval = state.approvals.find((a) => a.id === approvalId);
  const tool = approval?.tool ? gw.deps.tools.get(approval.tool) : undefined;
  const checked = tool?.input.safeParse(edited);
  if (tool && checked && !checked.success)
    throw validationProblem(checked.error, { prefix: 'edited_args', title: `edited_args are invalid for ${tool.name}` });
}

/**
 * Sends the caller's decision to the run through the approval update (bounded: no worker, no answer)
 * and answers what the run made of it. A refusal by the run is audited here and changes nothing.
 */
export async function decideApproval(gw: Gateway, caller: Caller, run: VisibleRun, approvalId: string, decision: ApprovalDecisionRequest) {
  const runId = run.handle.workflowId;
  const who = caller.principal;
  if (decision.edited_args) await checkEditedArgs(gw, run, approvalId, decision.edited_args);
  try {
    const args = {
      ...decision,
      approval_id: approvalId,
      approver: { subject: who.subject, roles: who.roles },
      request_id: caller.requestId,
      trace_id: caller.traceId,
    };
    // A retry of a decision that was applied meanwhile is refused as a duplicate vote by the run, so it cannot count twice.
    const { recorded, ...result } = await gw.deps.client.withDeadline(Date.now() + UPDATE_WAIT_MS, () =>
      run.handle.executeUpdate(approvalUpdate, { args: [args] }),
    );
    // The run writes the decision's row itself when it accepts it (so a decision that takes effect has
    // one whatever this request was told). Runs started before it did record nothing: their row is the
    // gateway's, written even if the store is down now.
    if (!recorded) {
      await auditActed(gw.deps, caller, {
        dedupe_key: `approval.decide:${caller.requestId}:${approvalId}`,
        action: 'approval.decide',
        outcome: decision.decision,
        reason: decision.comment ?? decision.decision,
        run_id: runId,
        details: { approval_id: approvalId, status: result.status, edited: Boolean(decision.edited_args) },
      });
    }
    gw.deps.logger.info('approval decision', { run_id: runId, approval_id: approvalId, by: who.subject, decision: decision.decision });
    return { run_id: runId, ...result };
  } catch (err) {
    throw await decisionFailure(gw, caller, runId, approvalId, err);
  }
}

/**
 * What a failed decision answers. Refused by the run (or the run has ended): nothing changed, and the
 * refusal is the gateway's to record. An unknown outcome is not recorded here: if the decision takes
 * effect, the run records it.
 */
async function decisionFailure(gw: Gateway, caller: Caller, runId: string, approvalId: string, err: unknown): Promise<unknown> {
  const problem = updateProblem(err, runId);
  if (problem) {
    await gw.audit(caller, {
      action: 'approval.decide',
      outcome: 'refused',
      reason: problem.detail,
      run_id: runId,
      details: { approval_id: approvalId },
    });
    return problem;
  }
  return updateFailure(
    gw.deps.client,
    err,
    'decision',
    `GET /v1/runs/${runId} lists the approval's decisions, and GET /v1/runs/${runId}/audit shows its approval.decide row once the run has taken it`,
  );
}
