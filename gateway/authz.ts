import { ADMIN_ROLES, AUDITOR_ROLES, DISPATCHER_ROLES, OPERATOR_ROLES } from '../contracts/vocabulary';
import type { Principal } from '../contracts/principal';

/** What a caller wants to do. */
export type Action =
  | 'run.dispatch'
  | 'run.read'
  | 'run.cancel'
  | 'run.takeover'
  | 'approval.list'
  | 'approval.decide'
  | 'agent.list'
  | 'audit.read'
  | 'policy.read'
  | 'policy.reload'
  | 'budget.read';

/** What the action is about (fields as known to the gateway). */
export interface Resource {
  agent?: string;
  /** What the caller asks for in words (a run's task, a WorkRequest's intent). */
  intent?: string;
  /** Subject that started the run. */
  initiator?: string;
}

export interface Decision {
  allowed: boolean;
  reason: string;
  /** The policy rule that decided, when a policy did (it lands in the audit ledger and the 403). */
  rule?: string;
}

/**
 * The one authorization interface of the gateway. PolicyAuthorizer (gateway/policy-authorizer.ts)
 * decides dispatch by the policy's rules and the other actions by RoleAuthorizer's fixed role checks;
 * a gateway given no authorizer uses RoleAuthorizer for all. Tenant isolation is not decided here:
 * another tenant's resources are never found (404) in the first place.
 */
export interface Authorizer {
  decide(principal: Principal, action: Action, resource?: Resource): Decision;
}

const has = (p: Principal, ...roles: readonly string[]) => p.roles.some((r) => roles.includes(r));
const either = (roles: readonly string[]) => roles.join(' or ');

/** Fixed role checks: dispatcher/admin dispatch; the initiator or an operator/admin cancel; operators/admins take over. */
export class RoleAuthorizer implements Authorizer {
  decide(principal: Principal, action: Action, resource: Resource = {}): Decision {
    switch (action) {
      case 'run.dispatch':
        return has(principal, ...DISPATCHER_ROLES)
          ? { allowed: true, reason: `role ${either(DISPATCHER_ROLES)}` }
          : { allowed: false, reason: `dispatching ${resource.agent ?? 'an agent'} needs the role ${either(DISPATCHER_ROLES)}` };
      case 'run.cancel':
        return principal.subject === resource.initiator || has(principal, ...OPERATOR_ROLES)
          ? { allowed: true, reason: 'initiator, operator or admin' }
          : { allowed: false, reason: 'only the initiator of the run, an operator or an admin may cancel it' };
      case 'run.takeover':
        return has(principal, ...OPERATOR_ROLES)
          ? { allowed: true, reason: `role ${either(OPERATOR_ROLES)}` }
          : { allowed: false, reason: `taking over a run needs the role ${either(OPERATOR_ROLES)}` };
      case 'audit.read':
        return has(principal, ...AUDITOR_ROLES)
          ? { allowed: true, reason: `role ${either(AUDITOR_ROLES)}` }
          : { allowed: false, reason: `reading the audit ledger needs the role ${either(AUDITOR_ROLES)}` };
      case 'policy.read':
        return has(principal, ...AUDITOR_ROLES)
          ? { allowed: true, reason: `role ${either(AUDITOR_ROLES)}` }
          : { allowed: false, reason: `reading the policy status needs the role ${either(AUDITOR_ROLES)}` };
      case 'policy.reload':
        return has(principal, ...ADMIN_ROLES)
          ? { allowed: true, reason: `role ${either(ADMIN_ROLES)}` }
          : { allowed: false, reason: `reloading the policy needs the role ${either(ADMIN_ROLES)}` };
      case 'run.read':
      case 'budget.read': // the caller's own tenant's spend: what explains a budget_exceeded run
      case 'agent.list':
      case 'approval.list':
      case 'approval.decide': // who may decide is the approval's own approver set, checked by the run
        return { allowed: true, reason: 'any principal of the tenant' };
    }
  }
}
