import { status } from '@grpc/grpc-js';
import { ApplicationFailure } from '@temporalio/common';
import {
  isGrpcDeadlineError,
  isGrpcServiceError,
  QueryNotRegisteredError,
  ServiceError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { DecisionError } from '../../contracts/errors';
import { findCause } from '../../shared/errors';
import { HttpProblem } from '../problem';

// Temporal's and gRPC's errors, turned into answers a caller can act on. No Express here.

/** The HTTP status for each reason a decision or takeover is refused. */
const DECISION_STATUS: Record<DecisionError, number> = {
  [DecisionError.ApprovalNotFound]: 404,
  [DecisionError.ApprovalNotPending]: 409,
  [DecisionError.ArgsHashMismatch]: 409,
  [DecisionError.ApproverNotAllowed]: 403,
  [DecisionError.DuplicateVote]: 409,
  [DecisionError.InvalidEdit]: 400,
  [DecisionError.RunNotActive]: 409,
};

const kebab = (s: string) => s.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();

/** A missing run, and equally another tenant's run: the caller cannot tell them apart. */
export const runNotFound = (runId: string): HttpProblem =>
  new HttpProblem(404, 'run-not-found', 'Run not found', `No run with id ${JSON.stringify(runId)}.`);

/** Turns a refused update (validator) or an update on a closed run into a definite HTTP answer. */
export function updateProblem(err: unknown, runId: string): HttpProblem | undefined {
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
    const code = DECISION_STATUS[err.cause.type as DecisionError];
    if (code) return new HttpProblem(code, kebab(err.cause.type!), err.cause.type!, err.cause.message);
  }
  if (err instanceof WorkflowNotFoundError) {
    return new HttpProblem(409, 'run-not-active', 'Run not active', `Run ${runId} has ended; it takes no more decisions.`);
  }
  return undefined;
}

/** The server refused the request's arguments (e.g. a page token it never issued). */
export function isInvalidArgument(err: unknown): boolean {
  return isGrpcServiceError(err) && err.code === status.INVALID_ARGUMENT;
}

/** Why a state query got no answer: no worker took it in time, or the query itself failed. */
export type QueryFailure = { kind: 'no-worker' } | { kind: 'failed'; message: string };

/**
 * Sorts a failed state query. A deadline means no worker answered in time (none polling, or all busy);
 * anything else (a run that does not know the query, a workflow task that keeps failing, a server
 * error) is a different fault, and blaming a missing worker would send the operator the wrong way.
 *
 * `deadlinePassed` says the query's own deadline had passed when it failed. The server holds the same
 * deadline (gRPC sends it along) and, when it expires first, resets the stream: grpc-js reports that
 * as CANCELLED "Call cancelled", not DEADLINE_EXCEEDED (seen on a loaded machine, where the client's
 * timer fires late). Nothing else cancels a state query, so CANCELLED past the deadline is the same
 * "no worker answered in time"; CANCELLED before it is a cut call and stays a failure.
 */
export function queryFailure(err: unknown, deadlinePassed = false): QueryFailure {
  if (isGrpcDeadlineError(err)) return { kind: 'no-worker' };
  if (deadlinePassed && findCause(err, isGrpcServiceError)?.code === status.CANCELLED) return { kind: 'no-worker' };
  if (err instanceof QueryNotRegisteredError) return { kind: 'failed', message: `the run does not answer the state query: ${err.message}` };
  const cause = err instanceof ServiceError && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return { kind: 'failed', message: `${err instanceof Error ? err.message : String(err)}${cause}` };
}

/** The warning a run view carries when its state query got no answer. */
export function queryWarning(failure: QueryFailure): string {
  return failure.kind === 'no-worker'
    ? 'no worker answered the state query; is a worker polling the task queue?'
    : `the state query failed: ${failure.message}`;
}
