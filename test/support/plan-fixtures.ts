import type { ResolvedAgent } from '../../contracts/agent';
import type { Observation, PlanRequest } from '../../contracts/run';

/** The tools of the "triager" agent the model-provider tests plan for. */
export const TRIAGER_TOOLS: ResolvedAgent['tools'] = {
  ticket_lookup: { name: 'ticket_lookup', side_effect: 'read', timeout_ms: 1000, max_attempts: 1 },
  docs_search: { name: 'docs_search', side_effect: 'read', timeout_ms: 1000, max_attempts: 1 },
};

export const TRIAGE_TASK = 'Why did my run time out?';

/** A Plan request for the triage task with a ticket in its context, after these observations. */
export function triageRequest(agent: ResolvedAgent, observations: Observation[] = []): PlanRequest {
  return {
    run_id: 'run-1',
    step: observations.length * 2 + 1,
    agent,
    task: TRIAGE_TASK,
    context: { ticket: { id: 42, title: 'timeouts' } },
    observations,
  };
}
