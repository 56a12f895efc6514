import type { PlanRequest, PlanResult } from '../../contracts/run';

/** What the plan activity tells a provider about the attempt it runs in. */
export interface PlanCallInfo {
  /** Temporal's attempt number (1 for the first). */
  attempt: number;
  /** The longest next-retry delay a vendor's Retry-After may ask for: the plan step's timeout. */
  retryCapMs: number;
}

/**
 * A model behind the Plan step. Implementations return structured data only; the plan activity
 * validates it against PlanActionSchema before the workflow sees it.
 */
export interface ModelProvider {
  /** Matches `model.provider` in agent definitions. */
  readonly name: string;
  /** The next action of the run in `request`; `signal` is the activity's cancellation. */
  plan(request: PlanRequest, signal?: AbortSignal, info?: PlanCallInfo): Promise<PlanResult>;
}

/** A rough token count (4 characters a token) for providers that cannot measure their own. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
