import type { PlanRequest, PlanResult } from '../../contracts/run';

/**
 * A model behind the Plan step. Implementations return structured data only; the plan activity
 * validates it against PlanActionSchema before the workflow sees it.
 */
export interface ModelProvider {
  /** Matches `model.provider` in agent definitions. */
  readonly name: string;
  plan(request: PlanRequest, signal?: AbortSignal): Promise<PlanResult>;
}

/** A rough token count (4 characters a token) for providers that cannot measure their own. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
