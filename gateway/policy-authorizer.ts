import { RoleAuthorizer, type Action, type Authorizer, type Decision, type Resource } from './authz';
import type { Principal } from '../contracts/principal';
import { decide } from '../policies/engine';
import { currentPolicy, type PolicyLike } from '../policies/reloadable';

/**
 * The gateway's Authorizer backed by the policy: dispatch is decided by the policy's `dispatch` rules
 * (roles → agents, reserved intents); the other actions keep their role checks until the policy has
 * rules for them. Given a PolicySource (the gateway's ReloadablePolicy), each decision reads the policy
 * in force at that moment, so a reload applies to the next request.
 */
export class PolicyAuthorizer implements Authorizer {
  private readonly roles = new RoleAuthorizer();

  constructor(
    private readonly policy: PolicyLike,
    private readonly environment: string,
  ) {}

  decide(principal: Principal, action: Action, resource: Resource = {}): Decision {
    if (action !== 'run.dispatch') return this.roles.decide(principal, action, resource);
    const d = decide(
      currentPolicy(this.policy),
      principal,
      'dispatch',
      { ...(resource.agent ? { agent: resource.agent } : {}), ...(resource.intent ? { intent: resource.intent } : {}) },
      { environment: this.environment },
    );
    // A dispatch cannot wait for an approver (there is no run yet to wait in): only allow lets it through.
    return { allowed: d.effect === 'allow', reason: `${d.effect}: ${d.reason} [rule ${d.rule}]`, rule: d.rule };
  }
}
