// How the run calls its activities: timeouts, retries and cancellation per kind of call.
import { ActivityCancellationType, type ActivityOptions, type LocalActivityOptions } from '@temporalio/workflow';
import type { AgentDefinition, ModelSettings, ToolSpec } from '../contracts/agent';
import { NON_RETRYABLE } from '../contracts/errors';

/** A model call: retried up to the agent's own limit; a cancel waits for the vendor call to stop. */
export function planOptions(def: AgentDefinition, model: ModelSettings): ActivityOptions {
  return {
    startToCloseTimeout: '2 minutes',
    heartbeatTimeout: '30 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '30s',
      maximumAttempts: def.model_max_attempts,
      nonRetryableErrorTypes: [...NON_RETRYABLE],
    },
    summary: `plan with ${model.provider}/${model.name}`,
  };
}

/** A tool call, within the tool's own timeout and attempts; heartbeats show a hung backend within 10 seconds. */
export function toolOptions(spec: ToolSpec): ActivityOptions {
  return {
    startToCloseTimeout: spec.timeout_ms,
    heartbeatTimeout: Math.max(2000, Math.min(spec.timeout_ms, 10_000)),
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: spec.max_attempts, nonRetryableErrorTypes: [...NON_RETRYABLE] },
    summary: `${spec.side_effect} tool ${spec.name}`,
  };
}

/**
 * The governance store, through local activities: short database calls run by this worker without a
 * round trip through the task queue (they are markers in the history). A store that is down makes
 * the run wait (and retry) rather than spend blind.
 */
export const GOVERNANCE_OPTIONS: LocalActivityOptions = {
  startToCloseTimeout: '30 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: [...NON_RETRYABLE] },
  summary: 'governance store',
};

/**
 * Audit rows that may exist only if the workflow task that writes them is accepted (a decision the
 * run took, the outcome of an approval): a regular activity, scheduled by the task's completion. A
 * local activity runs before the task completes, so a task that is then lost (Temporal down
 * mid-update) leaves its row behind for a decision that never took effect.
 */
export const ACCEPTED_AUDIT_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: [...NON_RETRYABLE] },
  summary: 'governance store: audit row',
};

/**
 * Settling runs even while the run is being cancelled, but gives up after about five minutes of a
 * store that does not answer: the reservation then keeps counting at its estimate (the safe side)
 * and the run can still end.
 */
export const SETTLING_OPTIONS: LocalActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 12 },
  summary: 'governance store: settle',
};
