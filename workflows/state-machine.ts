import type { StepType } from '../contracts/run';
import { STEP_TYPES } from '../contracts/vocabulary';
import type { RunEvent, RunStart } from './events';

export { reasonOf, type RunEvent, type RunStart } from './events';

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
 * The table is keyed on the event's type; the event itself (./events) carries the data for the next step.
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
/** The name of an event: what the table is keyed on. */
export type RunEventType = (typeof RUN_EVENTS)[number];

// Every event of the union has a name in RUN_EVENTS and every name an event: a compile-time check.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const EVENTS_MATCH: Same<RunEvent['type'], RunEventType> = true;
void EVENTS_MATCH;

export { STEP_TYPES };
export const TERMINAL = ['Complete', 'Fail'] as const satisfies readonly StepType[];
/** The steps that end a run. */
export type TerminalStep = (typeof TERMINAL)[number];
/** The steps that do work and report an event: each has a handler in ./steps. */
export type ActiveStep = Exclude<StepType, TerminalStep>;

/** Events every non-terminal step accepts: limits, the caller's cancel and an operator's takeover. */
const ANYWHERE = { budget_exceeded: 'Fail', cancelled: 'Fail', taken_over: 'Complete' } as const;

type Table = Record<StepType, Partial<Record<RunEventType, StepType>>>;

/** The table with its literal types, from which the events each step takes and gives are derived. */
const TABLE = {
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
} as const satisfies Table;

/** The table. A (step, event) pair not listed here is an error, not a silent no-op. */
export const TRANSITIONS: Table = TABLE;

type EventOf<T> = Extract<RunEvent, { type: T }>;
/** The events a step may end with: the table's entries for it. */
export type EventFrom<S extends ActiveStep> = EventOf<keyof (typeof TABLE)[S]>;
/** The events that lead into a step (for Plan, also the start of a Temporal run). */
export type EventInto<S extends ActiveStep> =
  | EventOf<
      { [F in StepType]: { [E in keyof (typeof TABLE)[F]]: (typeof TABLE)[F][E] extends S ? E : never }[keyof (typeof TABLE)[F]] }[StepType]
    >
  | (S extends 'Plan' ? RunStart : never);

/** A transition the table does not allow; names the step and the event. */
export class InvalidTransitionError extends Error {
  override name = 'InvalidTransitionError';
  constructor(
    readonly from: StepType,
    readonly event: RunEventType,
  ) {
    super(`no transition from ${from} on ${event}`);
  }
}

/** The next step after `event` in step `from`; throws InvalidTransitionError when the table has none. */
export function transition(from: StepType, event: RunEventType): StepType {
  const next = TRANSITIONS[from][event];
  if (next === undefined) throw new InvalidTransitionError(from, event);
  return next;
}

/** True for Complete and Fail: the run is over. */
export function isTerminal(step: StepType): step is TerminalStep {
  return (TERMINAL as readonly StepType[]).includes(step);
}
