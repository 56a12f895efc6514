// What the run says about values and errors: short summaries for step rows, the state query and logs,
// and the failures it reports.
import { ApplicationFailure } from '@temporalio/workflow';
import type { DecisionError } from '../contracts/errors';
import { findCause, rootCause } from '../shared/errors';

/** The value as text, cut to `max` characters. */
export function summarize(value: unknown, max = 200): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/** The type and message of an error, from the ApplicationFailure under Temporal's wrappers when there is one. */
export function failureOf(err: unknown): { type: string; message: string } {
  const failure = findCause(err, isApplicationFailure);
  if (failure) return { type: failure.type ?? 'ApplicationFailure', message: failure.message };
  const cause = rootCause(err);
  return { type: (cause as Error)?.name ?? 'Error', message: (cause as Error)?.message ?? String(cause) };
}

/** Whether a value is an ApplicationFailure (a type guard for findCause). */
export function isApplicationFailure(e: unknown): e is ApplicationFailure {
  return e instanceof ApplicationFailure;
}

/** A refused decision or takeover: the update's caller gets it as the error, and the run is untouched. */
export function decisionError(type: DecisionError, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}
