// One handler per step type that does work: the interpreter in ../agent-run picks it by the step's name
// and hands it the event that led there.
import type { RunContext } from '../run-context';
import type { ActiveStep, EventFrom, EventInto } from '../state-machine';
import { decide } from './decide';
import { humanApproval } from './human-approval';
import { plan } from './plan';
import { retryFallback } from './retry-fallback';
import { toolCall } from './tool-call';
import { validate } from './validate';

/** A step's work: it records its step in the context, reads what it needs from the event, and reports the event that ends it. */
export type StepHandler<S extends ActiveStep> = (ctx: RunContext, event: EventInto<S>) => Promise<EventFrom<S>> | EventFrom<S>;

/** The handler of every step that is not an ending (Complete and Fail are the interpreter's own). */
export const STEP_HANDLERS: { [S in ActiveStep]: StepHandler<S> } = {
  Plan: plan,
  ToolCall: toolCall,
  HumanApproval: humanApproval,
  Validate: validate,
  Decide: decide,
  RetryFallback: retryFallback,
};
