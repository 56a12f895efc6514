// The run's effective limits: a caller's constraints and the policy's run budget can only tighten the
// agent's own budgets. Pure.
import type { AgentRunInput, Usage } from '../contracts/run';
import { runBudgetFor, tenantBudgetFor } from '../policies/engine';

/** The limits one run is held to. */
export interface RunLimits {
  max_steps: number;
  max_tokens: number | undefined;
  max_cost_usd: number | undefined;
  timeout_seconds: number;
}

const tighter = (caller: number | undefined, agent: number | undefined) =>
  caller === undefined ? agent : agent === undefined ? caller : Math.min(caller, agent);

/** The tightest of the caller's constraints, the agent's budgets and the policy's run budget for the agent. */
export function effectiveLimits(input: AgentRunInput): RunLimits {
  const def = input.agent.definition;
  const policyRun = runBudgetFor(input.policy, def.name);
  return {
    max_steps: tighter(input.constraints.max_steps, def.budgets.max_steps)!,
    max_tokens: tighter(tighter(input.constraints.max_tokens, def.budgets.max_tokens), policyRun.max_tokens),
    max_cost_usd: tighter(tighter(input.constraints.max_cost_usd, def.budgets.max_cost_usd), policyRun.max_cost_usd),
    timeout_seconds: tighter(input.constraints.timeout_seconds, def.budgets.timeout_seconds)!,
  };
}

/** The initiating tenant's daily budget under the run's policy, if it has one. */
export function tenantLimit(input: AgentRunInput): ReturnType<typeof tenantBudgetFor> {
  return tenantBudgetFor(input.policy, input.initiator.tenant);
}

/** The first limit the run is over (by steps taken and usage so far), or undefined. */
export function exceededLimit(limits: RunLimits, steps: number, usage: Usage): 'max_steps' | 'max_tokens' | 'max_cost_usd' | undefined {
  return steps >= limits.max_steps
    ? 'max_steps'
    : limits.max_tokens !== undefined && usage.input_tokens + usage.output_tokens > limits.max_tokens
      ? 'max_tokens'
      : limits.max_cost_usd !== undefined && usage.cost_usd > limits.max_cost_usd
        ? 'max_cost_usd'
        : undefined;
}
