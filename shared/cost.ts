// What a model call may cost, estimated before it is made. Pure and deterministic: the workflow uses it
// to reserve against the tenant's daily budget and to check the run's own cost budget before the call.
import type { ModelSettings, Pricing } from '../contracts/agent';

/** The output tokens assumed for a model without `max_output_tokens`. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 1024;

export interface CallEstimate {
  tokens: number;
  cost_usd: number;
}

/** Rounds to the nano-dollar the governance store keeps (NUMERIC(20, 9)). */
export const nanoUsd = (usd: number): number => Math.round(usd * 1e9) / 1e9;

/**
 * The estimate of one call: its prompt at about 4 characters a token, plus the most output the model
 * may produce, priced with the model's pricing (zero without one).
 */
export function estimateCall(model: ModelSettings, promptChars: number): CallEstimate {
  const input = Math.ceil(promptChars / 4);
  const output = model.max_output_tokens ?? DEFAULT_MAX_OUTPUT_TOKENS;
  return { tokens: input + output, cost_usd: nanoUsd(priceUsd(model.pricing, input, output)) };
}

/** What so many input and output tokens cost at a model's pricing (zero without one), unrounded. */
export function priceUsd(pricing: Pricing | undefined, input: number, output: number): number {
  return pricing ? (input / 1000) * pricing.input_per_1k + (output / 1000) * pricing.output_per_1k : 0;
}
