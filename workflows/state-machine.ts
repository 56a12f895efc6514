import type { StepType } from '../contracts/run';
import { STEP_TYPES } from '../contracts/vocabulary';

/**
 * The run's transition table: what happened in a step (the event) decides the next step. The workflow
 * only interprets this table; it never chooses a next step on its own. Pure, no I/O.
 *
 * Plan ──tool_requested──> ToolCall ──approval_required──> HumanApproval ──approved──> ToolCall
 *  │                         │  └─tool_succeeded──> Validate ──output_valid──> Decide ──continue──> Plan
 *  └─final_proposed──> Validate ──final_valid──> Complete
 * Failures go to RetryFallback, which falls back (Plan), escalates (HumanApproval) or gives up (Fail).
 * A model call the budget cannot cover is not made (budget_denied): Decide falls back to a cheaper
 * model (Plan) or gives up (Fail).
 * From any non-terminal step: budget_exceeded / cancelled → Fail, taken_over → Complete.
 */
export const RUN_EVENTS = [
  'tool_requested',
  'final_proposed',
  'model_failed',
  'model_denied',
  'budget_denied',
  'approval_required',
  'tool_denied',
  'tool_succeeded',
  'tool_failed',
  'approved',
  'rejected',
  'output_valid',
  'final_valid',
  'final_invalid_repairable',
  'final_invalid',
  'continue',
  'fallback',
  'escalate',
  'retry',
  'give_up',
  'budget_exceeded',
  'cancelled',
  'taken_over',
] as const;
export type RunEvent = (typeof RUN_EVENTS)[number];

export { STEP_TYPES };
export const TERMINAL = ['Complete', 'Fail'] as const satisfies readonly StepType[];
/** The steps that end a run. */
export type TerminalStep = (typeof TERMINAL)[number];
/** The steps that do work and report an event: each has a handler in ./steps. */
export type ActiveStep = Exclude<StepType, TerminalStep>;

/** Events every non-terminal step accepts: limits, the caller's cancel and an operator's takeover. */
const ANYWHERE: Partial<Record<RunEvent, StepType>> = { budget_exceeded: 'Fail', cancelled: 'Fail', taken_over: 'Complete' };

/** The table. A (step, event) pair not listed here is an error, not a silent no-op. */
export const TRANSITIONS: Record<StepType, Partial<Record<RunEvent, StepType>>> = {
  Plan: {
    ...ANYWHERE,
    tool_requested: 'ToolCall',
    final_proposed: 'Validate',
    model_failed: 'RetryFallback',
    model_denied: 'Fail',
    budget_denied: 'Decide',
  },
  ToolCall: {
    ...ANYWHERE,
    approval_required: 'HumanApproval',
    tool_denied: 'Fail',
    tool_succeeded: 'Validate',
    tool_failed: 'RetryFallback',
  },
  HumanApproval: { ...ANYWHERE, approved: 'ToolCall', rejected: 'Decide', retry: 'RetryFallback' },
  Validate: {
    ...ANYWHERE,
    output_valid: 'Decide',
    final_valid: 'Complete',
    final_invalid_repairable: 'Plan',
    final_invalid: 'Fail',
  },
  Decide: { ...ANYWHERE, continue: 'Plan', fallback: 'Plan', give_up: 'Fail' },
  RetryFallback: { ...ANYWHERE, retry: 'Plan', fallback: 'Plan', escalate: 'HumanApproval', give_up: 'Fail' },
  Complete: {},
  Fail: {},
};

/** A transition the table does not allow; names the step and the event. */
export class InvalidTransitionError extends Error {
  override name = 'InvalidTransitionError';
  constructor(
    readonly from: StepType,
    readonly event: RunEvent,
  ) {
    super(`no transition from ${from} on ${event}`);
  }
}

/** The next step after `event` in step `from`; throws InvalidTransitionError when the table has none. */
export function transition(from: StepType, event: RunEvent): StepType {
  const next = TRANSITIONS[from][event];
  if (next === undefined) throw new InvalidTransitionError(from, event);
  return next;
}

/** True for Complete and Fail: the run is over. */
export function isTerminal(step: StepType): step is TerminalStep {
  return (TERMINAL as readonly StepType[]).includes(step);
}
