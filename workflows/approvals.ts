// Who may decide an approval and which votes count: pure, used by the run (its update validator and
// handler) and by the gateway (the approvals list), so both answer alike.
import type { ApproverSet } from '../contracts/agent';
import type { Actor } from '../contracts/principal';
import type { Approval } from '../contracts/run';
import { argsHash } from '../shared/canonical';

/** Whether the actor is one of the set's subjects or holds one of its roles. */
export function mayDecide(actor: Actor, set: ApproverSet): boolean {
  return set.subjects.includes(actor.subject) || actor.roles.some((r) => set.roles.includes(r));
}

/** Who may decide the approval now: its escalation approvers once it has been escalated, else its approvers. */
export function decidersOf(approval: Approval): ApproverSet {
  return approval.escalations > 0 && approval.escalate_to ? approval.escalate_to : approval.approvers;
}

/** The set of subjects whose approve votes count toward the quorum (votes since the last edit). */
export function currentApprovers(approval: Approval): Set<string> {
  const since = approval.decisions.map((d) => Boolean(d.edited_args)).lastIndexOf(true);
  return new Set(
    approval.decisions
      .slice(Math.max(since, 0))
      .filter((d) => d.decision === 'approve')
      .map((d) => d.approver),
  );
}

/** Escalations bind to the failure they escalate, so a decision cannot land on a later escalation. */
export function escalationHash(approval: Approval): string {
  return argsHash(`escalation:${approval.id}`, { reason: approval.reason });
}
