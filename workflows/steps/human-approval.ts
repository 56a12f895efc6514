// HumanApproval: the run waits for approvers to decide a tool call (or an escalation of a failing run),
// escalating once on timeout where the rule says so. The decisions arrive through the approval update.
import type { ApproverSet } from '../../contracts/agent';
import type { Approval, Step } from '../../contracts/run';
import { RunSearchAttributes } from '../../contracts/run-search-attributes';
import { argsHash } from '../../shared/canonical';
import { escalationHash } from '../approvals';
import { summarize } from '../describe';
import type { RunContext } from '../run-context';
import { reasonOf, type EventFrom, type EventInto } from '../state-machine';

type Asked = EventInto<'HumanApproval'>;

/** Shows who may decide in the run's search attributes (the approvals list finds pending runs by it); undefined clears it. */
function markPending(ctx: RunContext, set: ApproverSet | undefined): void {
  ctx.services.attributes.set({
    key: RunSearchAttributes.pendingApprovers,
    value: set ? [...set.roles.map((r) => `role:${r}`), ...set.subjects.map((s) => `subject:${s}`)] : null,
  });
}

/** Opens an approval, waits for its decision or deadline, and reports approved, rejected or (for an escalation) retry. */
export async function humanApproval(ctx: RunContext, event: Asked): Promise<EventFrom<'HumanApproval'>> {
  const step = ctx.enter(
    'HumanApproval',
    reasonOf(event),
    event.type === 'approval_required' ? `${event.request.tool} ${summarize(event.request.args)}` : `escalation: ${event.failure.message}`,
  );
  const timeoutS =
    event.type === 'approval_required' ? event.ask.rule.timeout_seconds : (ctx.def.fallback?.escalation_timeout_seconds ?? 3600);
  const approval = openApproval(ctx, step, event, timeoutS);
  // The run may wait here for hours: the previous model call's settlement is written now, not folded
  // into the next reservation.
  ctx.services.governance.flushSettlement();

  try {
    let decided = await ctx.inStep(() => ctx.services.condition(() => approval.status !== 'pending', timeoutS * 1000));
    if (!decided && approval.on_timeout === 'escalate' && approval.escalate_to) {
      approval.escalations += 1;
      approval.deadline = new Date(Date.now() + timeoutS * 1000).toISOString();
      markPending(ctx, approval.escalate_to);
      ctx.services.log.info('approval escalated', { ...ctx.labels, approval_id: approval.id });
      decided = await ctx.inStep(() => ctx.services.condition(() => approval.status !== 'pending', timeoutS * 1000));
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
  return closeApproval(ctx, step, event, approval);
}

/** Creates the pending approval, shows its approvers and audits the request. */
function openApproval(ctx: RunContext, step: Step, event: Asked, timeoutS: number): Approval {
  // Key order as before: approvals are carried across continue-as-new and shown by the state query.
  const rule = event.type === 'approval_required' ? event.ask.rule : undefined;
  const req = event.type === 'approval_required' ? event.request : undefined;
  const failure = event.type === 'escalate' ? event.failure : undefined;
  const approval: Approval = {
    id: `apr-${step.index}`,
    kind: rule ? 'tool_call' : 'escalation',
    step: step.index,
    reason: rule ? rule.reason : `the run keeps failing: ${failure!.type}: ${failure!.message}`,
    approvers: rule ? rule.approvers : ctx.def.fallback!.escalate_to!,
    quorum: rule ? rule.quorum : 1,
    deadline: new Date(Date.now() + timeoutS * 1000).toISOString(),
    on_timeout: rule ? rule.on_timeout : 'reject',
    ...(rule?.escalate_to ? { escalate_to: rule.escalate_to } : {}),
    status: 'pending',
    decisions: [],
    escalations: 0,
    ...(req ? { tool: req.tool, args: req.args, args_hash: argsHash(req.tool, req.args) } : {}),
  };
  if (approval.kind === 'escalation') approval.args_hash = escalationHash(approval);
  ctx.ledger.state.approvals.push(approval);
  markPending(ctx, approval.approvers);
  ctx.services.log.info('approval requested', { ...ctx.labels, approval_id: approval.id, kind: approval.kind });
  ctx.services.governance.audit(step.index, {
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
function closeApproval(ctx: RunContext, step: Step, event: Asked, approval: Approval): EventFrom<'HumanApproval'> {
  const approved = approval.status === 'approved';
  // Each vote has its own row (written by the run since `approval-rows-after-accept`, before by the
  // gateway); this row is the approval's outcome, written only once the task closing it is accepted.
  ctx.services.governance.auditAccepted(step.index, {
    action: 'approval.close',
    outcome: approval.status,
    principal: approval.status === 'expired' ? 'system:deadline' : (approval.decisions.at(-1)?.approver ?? 'system:deadline'),
    reason: approval.status === 'expired' ? 'no decision before the deadline' : `${approval.status} (quorum ${approval.quorum})`,
    details: { approval_id: approval.id, kind: approval.kind, args_hash: approval.args_hash, escalations: approval.escalations },
  });
  ctx.finish(
    step,
    `${approval.status}${approval.decisions.length ? ' by ' + approval.decisions.map((d) => `${d.approver}:${d.decision}`).join(', ') : ''}`,
  );
  if (event.type === 'escalate') {
    return approved ? { type: 'retry', failure: event.failure } : { type: 'rejected', kind: 'escalation', failure: event.failure };
  }
  const req = event.request;
  // An approver may have edited the arguments: the tool runs with the approved ones.
  if (approved) return { type: 'approved', request: { ...req, args: approval.args! }, approvedHash: approval.args_hash };
  const who = approval.decisions.find((d) => d.decision === 'reject');
  const why = who ? `rejected by ${who.approver}${who.comment ? `: ${who.comment}` : ''}` : 'no decision before the deadline';
  ctx.ledger.warnings.push(`${req.tool} was not run: ${why}`);
  ctx.ledger.observations.push({ step: step.index, tool: req.tool, args: req.args, output: { not_run: true, reason: why }, evidence: [] });
  return { type: 'rejected', kind: 'tool_call' };
}
