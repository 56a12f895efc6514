// The approval update as the run answers it: the validator refuses a bad decision without touching the
// run; the handler records a vote and closes the approval once its quorum is met. Who may decide and
// which votes count are the pure rules in ./approvals.
import { log } from '@temporalio/workflow';
import { DecisionError } from '../contracts/errors';
import type { ApprovalUpdateInput, ApprovalUpdateResult, RunState } from '../contracts/run';
import { argsHash, diffArgs } from '../shared/canonical';
import { currentApprovers, decidersOf, mayDecide } from './approvals';
import { decisionError } from './describe';
import type { RunGovernance } from './run-governance';

/** The part of the run an approval decision reads and changes. */
export interface ApprovalsOfRun {
  runId: string;
  labels: Record<string, string>;
  state: RunState;
  governance: Pick<RunGovernance, 'rowsAfterAccept' | 'auditAccepted'>;
}

/** Refuses a decision on an unknown or closed approval, by someone who may not decide, on other arguments, twice, or an edit where none is allowed. */
export function validateApprovalDecision(run: ApprovalsOfRun, u: ApprovalUpdateInput): void {
  const approval = run.state.approvals.find((a) => a.id === u.approval_id);
  if (!approval) throw decisionError(DecisionError.ApprovalNotFound, `run ${run.runId} has no approval ${u.approval_id}`);
  if (approval.status !== 'pending')
    throw decisionError(DecisionError.ApprovalNotPending, `approval ${u.approval_id} is already ${approval.status}`);
  const allowed = decidersOf(approval);
  if (!mayDecide(u.approver, allowed)) {
    throw decisionError(DecisionError.ApproverNotAllowed, `${u.approver.subject} may not decide approval ${u.approval_id}`);
  }
  if (approval.args_hash !== undefined && u.args_hash !== approval.args_hash) {
    throw decisionError(
      DecisionError.ArgsHashMismatch,
      `args_hash does not match the pending call (it is ${approval.args_hash}); reload the approval`,
    );
  }
  if (currentApprovers(approval).has(u.approver.subject)) {
    throw decisionError(DecisionError.DuplicateVote, `${u.approver.subject} has already approved ${u.approval_id}`);
  }
  if (u.edited_args && approval.kind !== 'tool_call') {
    throw decisionError(DecisionError.InvalidEdit, 'only tool-call approvals take edited arguments');
  }
}

/** Records a validated decision: a reject closes the approval, an edit restarts the count, enough approvals close it as approved. */
export function decideApproval(run: ApprovalsOfRun, u: ApprovalUpdateInput): ApprovalUpdateResult {
  const approval = run.state.approvals.find((a) => a.id === u.approval_id)!;
  const vote = { approver: u.approver.subject, decision: u.decision, comment: u.comment, at: new Date().toISOString() };
  if (u.decision === 'reject') {
    approval.decisions.push(vote);
    approval.status = 'rejected';
  } else if (u.edited_args) {
    const diff = diffArgs(approval.args, u.edited_args);
    approval.decisions.push({ ...vote, edited_args: u.edited_args, diff });
    approval.args = u.edited_args;
    approval.args_hash = argsHash(approval.tool!, u.edited_args);
  } else {
    approval.decisions.push(vote);
  }
  const approvals = currentApprovers(approval).size;
  if (approval.status === 'pending' && approvals >= approval.quorum) approval.status = 'approved';
  log.info('approval decided', { ...run.labels, approval_id: approval.id, approver: u.approver.subject, decision: u.decision });
  const result = { approval_id: approval.id, status: approval.status, approvals, quorum: approval.quorum };
  if (!run.governance.rowsAfterAccept) return result;
  // The run records the decision it took: the row exists exactly when the decision took effect,
  // whatever the caller was told (a 503 after an unknown outcome, a drain cutting the answer).
  run.governance.auditAccepted(
    approval.step,
    {
      action: 'approval.decide',
      outcome: u.decision,
      principal: u.approver.subject,
      reason: u.comment ?? u.decision,
      ...(u.request_id ? { request_id: u.request_id } : {}),
      ...(u.trace_id ? { trace_id: u.trace_id } : {}),
      details: { approval_id: approval.id, status: approval.status, edited: Boolean(u.edited_args) },
    },
    `approval.decide/${approval.decisions.length}`,
  );
  return { ...result, recorded: true };
}
