import { RoleAuthorizer, type Action, type Authorizer, type Decision, type Resource } from '../gateway/authz';
import type { Principal } from '../gateway/principal';
import { decide, type Policy } from './engine';

/**
 * The gateway's Authorizer backed by the policy: dispatch is decided by the policy's `dispatch` rules
 * (roles → agents, reserved intents); the other actions keep their role checks until the policy has
 * rules for them.
 */
export class PolicyAuthorizer implements Authorizer {
  private readonly roles = new RoleAuthorizer();

  constructor(
    private readonly policy: Policy,
    private readonly environment: string,
  ) {}

  decide(principal: Principal, action: Action, resource: Resource = {}): Decision {
    if (action !== 'run.dispatch') return this.roles.decide(principal, action, resource);
    const d = decide(
      this.policy,
      principal,
      'dispatch',
      { ...(resource.agent ? { agent: resource.agent } : {}), ...(resource.intent ? { intent: resource.intent } : {}) },
      { environment: this.environment },
    );
    // A dispatch cannot wait for an approver (there is no run yet to wait in): only allow lets it through.
    return { allowed: d.effect === 'allow', reason: `${d.effect}: ${d.reason} [rule ${d.rule}]` };
  }
}
