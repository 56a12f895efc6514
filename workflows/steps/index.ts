// One handler per step type that does work: the interpreter in ../agent-run picks it by the step's name.
import type { RunContext } from '../run-context';
import type { ActiveStep, RunEvent } from '../state-machine';
import { decide } from './decide';
import { humanApproval } from './human-approval';
import { plan } from './plan';
import { retryFallback } from './retry-fallback';
import { toolCall } from './tool-call';
import { validate } from './validate';

/** A step's work: it records its step in the context and reports the event that ends it. */
export type StepHandler = (ctx: RunContext, reason: string) => Promise<RunEvent> | RunEvent;

/** The handler of every step that is not an ending (Complete and Fail are the interpreter's own). */
export const STEP_HANDLERS: Record<ActiveStep, StepHandler> = {
  Plan: plan,
  ToolCall: toolCall,
  HumanApproval: humanApproval,
  Validate: validate,
  Decide: decide,
  RetryFallback: retryFallback,
};
