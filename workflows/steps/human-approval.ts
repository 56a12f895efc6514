// HumanApproval: the run waits for approvers to decide a tool call (or an escalation of a failing run),
// escalating once on timeout where the rule says so. The decisions arrive through the approval update.
import { condition, log } from '@temporalio/workflow';
import type { ApproverSet } from '../../contracts/agent';
import type { Approval, Step } from '../../contracts/run';
import { RunSearchAttributes } from '../../contracts/search-attributes';
import { argsHash } from '../../shared/canonical';
import { escalationHash } from '../approvals';
import { summarize } from '../describe';
import type { RunContext } from '../run-context';
import type { RunEvent } from '../state-machine';

/** Shows who may decide in the run's search attributes (the approvals list finds pending runs by it); undefined clears it. */
function markPending(ctx: RunContext, set: ApproverSet | undefined): void {
  ctx.attributes.set({
    key: RunSearchAttributes.pendingApprovers,
    value: set ? [...set.roles.map((r) => `role:${r}`), ...set.subjects.map((s) => `subject:${s}`)] : null,
  });
}

/** Opens an approval, waits for its decision or deadline, and reports approved, rejected or (for an escalation) retry. */
export async function humanApproval(ctx: RunContext, reason: string): Promise<RunEvent> {
  const what = ctx.approvalFor!;
  const step = ctx.enter(
    'HumanApproval',
    reason,
    what.kind === 'tool_call'
      ? `${ctx.toolRequest!.tool} ${summarize(ctx.toolRequest!.args)}`
      : `escalation: ${ctx.lastFailure?.message ?? ''}`,
  );
  const timeoutS = what.kind === 'tool_call' ? what.rule.timeout_seconds : (ctx.def.fallback?.escalation_timeout_seconds ?? 3600);
  const approval = openApproval(ctx, step, timeoutS);
  // The run may wait here for hours: the previous model call's settlement is written now, not folded
  // into the next reservation.
  ctx.governance.flushSettlement();

  try {
    let decided = await ctx.inStep(() => condition(() => approval.status !== 'pending', timeoutS * 1000));
    if (!decided && approval.on_timeout === 'escalate' && approval.escalate_to) {
      approval.escalations += 1;
      approval.deadline = new Date(Date.now() + timeoutS * 1000).toISOString();
      markPending(ctx, approval.escalate_to);
      log.info('approval escalated', { ...ctx.labels, approval_id: approval.id });
      decided = await ctx.inStep(() => condition(() => approval.status !== 'pending', timeoutS * 1000));
    }
    if (!decided) approval.status = 'expired';
  } catch (err) {
    markPending(ctx, undefined);
    if (ctx.interrupted(err)) {
      // Nobody may decide it any more: the run was cancelled, ran out of time or was taken over.
      approval.status = 'withdrawn';
      return ctx.stopped(step);
    }
    throw err;
  }
  markPending(ctx, undefined);
  return closeApproval(ctx, step, approval);
}

/** Creates the pending approval, shows its approvers and audits the request. */
function openApproval(ctx: RunContext, step: Step, timeoutS: number): Approval {
  const what = ctx.approvalFor!;
  const req = ctx.toolRequest;
  const approval: Approval = {
    id: `apr-${step.index}`,
    kind: what.kind,
    step: step.index,
    reason:
      what.kind === 'tool_call'
        ? what.rule.reason
        : `the run keeps failing: ${ctx.lastFailure?.type ?? 'error'}: ${ctx.lastFailure?.message ?? ''}`,
    approvers: what.kind === 'tool_call' ? what.rule.approvers : ctx.def.fallback!.escalate_to!,
    quorum: what.kind === 'tool_call' ? what.rule.quorum : 1,
    deadline: new Date(Date.now() + timeoutS * 1000).toISOString(),
    on_timeout: what.kind === 'tool_call' ? what.rule.on_timeout : 'reject',
    ...(what.kind === 'tool_call' && what.rule.escalate_to ? { escalate_to: what.rule.escalate_to } : {}),
    status: 'pending',
    decisions: [],
    escalations: 0,
    ...(what.kind === 'tool_call' ? { tool: req!.tool, args: req!.args, args_hash: argsHash(req!.tool, req!.args) } : {}),
  };
  if (approval.kind === 'escalation') approval.args_hash = escalationHash(approval);
  ctx.state.approvals.push(approval);
  markPending(ctx, approval.approvers);
  log.info('approval requested', { ...ctx.labels, approval_id: approval.id, kind: approval.kind });
  ctx.governance.audit(step.index, {
    action: 'approval.request',
    outcome: 'pending',
    reason: approval.reason,
    details: {
      approval_id: approval.id,
      kind: approval.kind,
      ...(approval.tool ? { tool: approval.tool } : {}),
      args_hash: approval.args_hash,
      approvers: approval.approvers,
      quorum: approval.quorum,
      deadline: approval.deadline,
    },
  });
  return approval;
}

/** Audits the outcome of a decided or expired approval and hands it to the next step. */
function closeApproval(ctx: RunContext, step: Step, approval: Approval): RunEvent {
  const approved = approval.status === 'approved';
  // Each vote has its own row (written by the run since `approval-rows-after-accept`, before by the
  // gateway); this row is the approval's outcome, written only once the task closing it is accepted.
  ctx.governance.auditAccepted(step.index, {
    action: 'approval.close',
    outcome: approval.status,
    principal: approval.status === 'expired' ? 'system:deadline' : (approval.decisions.at(-1)?.approver ?? 'system:deadline'),
    reason: approval.status === 'expired' ? 'no decision before the deadline' : `${approval.status} (quorum ${approval.quorum})`,
    details: { approval_id: approval.id, kind: approval.kind, args_hash: approval.args_hash, escalations: approval.escalations },
  });
  ctx.lastApprovalOutcome = { kind: approval.kind, approved };
  ctx.finish(
    step,
    `${approval.status}${approval.decisions.length ? ' by ' + approval.decisions.map((d) => `${d.approver}:${d.decision}`).join(', ') : ''}`,
  );
  if (approval.kind === 'escalation') return approved ? 'retry' : 'rejected';
  const req = ctx.toolRequest!;
  if (approved) {
    ctx.toolRequest = { ...req, args: approval.args! };
    ctx.approvedHash = approval.args_hash;
    return 'approved';
  }
  const who = approval.decisions.find((d) => d.decision === 'reject');
  const why = who ? `rejected by ${who.approver}${who.comment ? `: ${who.comment}` : ''}` : 'no decision before the deadline';
  ctx.warnings.push(`${req.tool} was not run: ${why}`);
  ctx.observations.push({ step: step.index, tool: req.tool, args: req.args, output: { not_run: true, reason: why }, evidence: [] });
  return 'rejected';
}
