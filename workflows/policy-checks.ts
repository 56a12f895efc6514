// The policy as the run consults it before a model or tool call: the decision, and the data label of
// the arguments it is asked about. Pure.
import { LABELS, type Label, type PolicyAction, type PolicyDecision, type PolicyResource } from '../contracts/policy';
import type { AgentRunInput, Usage } from '../contracts/run';
import { decide as decidePolicy } from '../policies/engine';

/** The policy's decision for a call, or undefined when the run has no policy (runs started before it). */
export function checkPolicy(
  input: AgentRunInput,
  usage: Usage,
  action: PolicyAction,
  resource: PolicyResource,
  dataLabel?: Label,
): PolicyDecision | undefined {
  return input.policy
    ? decidePolicy(
        input.policy,
        { subject: input.initiator.subject, tenant: input.initiator.tenant, roles: input.initiator.roles ?? [] },
        action,
        resource,
        {
          environment: input.environment ?? 'dev',
          ...(dataLabel ? { data_classification: dataLabel } : {}),
          run_tokens: usage.input_tokens + usage.output_tokens,
          run_cost_usd: usage.cost_usd,
        },
      )
    : undefined;
}

/** The highest label of the context fields whose values the arguments carry. */
export function dataLabelOf(input: AgentRunInput, args: Record<string, unknown>): Label | undefined {
  const json = JSON.stringify(args);
  let highest: Label | undefined;
  for (const [field, label] of Object.entries(input.context_labels ?? {})) {
    const value = input.context[field];
    if (value === undefined || value === null || value === '') continue;
    const needle = typeof value === 'string' ? JSON.stringify(value).slice(1, -1) : JSON.stringify(value);
    if (json.includes(needle) && (highest === undefined || LABELS.indexOf(label) > LABELS.indexOf(highest))) highest = label;
  }
  return highest;
}
