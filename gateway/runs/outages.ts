// Outages of Temporal or of every worker, as answers a caller can act on: how long a request may wait,
// and the 503 that names what did not answer. No Express here (gateway/middleware/temporal.ts wires it).
import { createHash } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { isGrpcServiceError, WorkflowUpdateRPCTimeoutOrCancelledError, type Client } from '@temporalio/client';
import { canonicalJson } from '../../shared/canonical';
import { findCause } from '../../shared/errors';
import { HttpProblem } from '../problem';

/** How long a request may wait on Temporal: every call (the SDK's retries included) ends by then. */
export const TEMPORAL_REQUEST_MS = 5_000;
/** How long an approval or a takeover waits for a worker to take it (a Temporal Update needs one). */
export const UPDATE_WAIT_MS = 10_000;
/** The id part of an Update made from these arguments: the same request again is the same Update, which Temporal runs once. */
export function updateKey(args: unknown): string {
  return createHash('sha256').update(canonicalJson(args)).digest('hex');
}

/** What a 503 tells a client to wait before retrying, in seconds. */
export const RETRY_AFTER_SECONDS = 5;

/** gRPC codes that mean Temporal did not answer, with how a 503 says it. */
const OUTAGE_CODES = new Map<status, string>([
  [status.UNAVAILABLE, 'unavailable'],
  [status.DEADLINE_EXCEEDED, 'no answer in time'],
  [status.CANCELLED, 'the call was cancelled before an answer'],
]);

/** The error, or the first of its causes, that is a gRPC service error. */
function grpcCause(err: unknown): { code: status; details?: string } | undefined {
  return findCause(err, isGrpcServiceError);
}

/** How long the gateway waits for Temporal's answer when it asks whether Temporal itself is there. */
const PROBE_MS = 2_000;

/**
 * An Update (an approval decision, a takeover) sent but not answered: whether it took effect is
 * unknown. `dependency` is what failed: Temporal itself, or the workers (Temporal answered, no worker
 * took the Update in time). `check` says how the caller learns the outcome.
 */
export class UpdateOutcomeUnknown extends Error {
  constructor(
    readonly dependency: 'temporal' | 'worker',
    readonly what: string,
    readonly check: string,
    options: { cause: unknown },
  ) {
    super(`${what}: outcome unknown (${dependency} did not answer)`, options);
  }
}

/**
 * Sorts the failure of an Update that got no answer: when Temporal does not answer a short probe
 * either, the fault is Temporal's (it went down mid-Update), not the workers'; the SDK reports both
 * as a timed-out Update, and naming the workers would send an operator the wrong way. Any other
 * error is returned as it is.
 */
export async function updateFailure(client: Client, err: unknown, what: string, check: string): Promise<unknown> {
  const unanswered = err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || grpcOutage(err) !== undefined;
  if (!unanswered) return err;
  // Always asked: the SDK wraps the deadline of an Update no worker took in the same gRPC error as a
  // Temporal that stopped answering.
  let temporalDown = false;
  try {
    await client.withDeadline(Date.now() + PROBE_MS, () => client.connection.workflowService.getSystemInfo({}));
  } catch (probe) {
    temporalDown = grpcOutage(probe) !== undefined;
  }
  return new UpdateOutcomeUnknown(temporalDown ? 'temporal' : 'worker', what, check, { cause: err });
}

/** What an Update's unknown outcome tells the caller: which dependency failed, that the outcome is unknown and how to check. */
function unknownOutcomeProblem(err: UpdateOutcomeUnknown): HttpProblem {
  const how = `Whether it took effect is unknown: ${err.check}. Retrying is safe (a takeover is the same Update, a decision cannot count twice).`;
  return err.dependency === 'temporal'
    ? new HttpProblem(
        503,
        'temporal-unavailable',
        'Temporal unavailable: outcome unknown',
        `Temporal stopped answering while the ${err.what} was on its way to the run. ${how}`,
        { dependency: 'temporal', outcome: 'unknown' },
      )
    : new HttpProblem(
        503,
        'worker-unavailable',
        'No worker took the request: outcome unknown',
        `Temporal answers, but no worker took the ${err.what} within ${UPDATE_WAIT_MS / 1000} s. Temporal keeps it for the run while ` +
          `the run is open and the server stays up, so it may still take effect when a worker is back. ${how}`,
        { dependency: 'worker', outcome: 'unknown' },
      );
}

/** The gRPC code of an error (or of its causes) that means Temporal did not answer. */
function grpcOutage(err: unknown): status | undefined {
  const grpc = grpcCause(err);
  return grpc && OUTAGE_CODES.has(grpc.code) ? grpc.code : undefined;
}

/** A 503 problem naming the dependency that did not answer, or undefined for any other error. */
export function dependencyProblem(err: unknown): HttpProblem | undefined {
  if (err instanceof UpdateOutcomeUnknown) return unknownOutcomeProblem(err);
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
    return new HttpProblem(
      503,
      'worker-unavailable',
      'No worker took the request',
      `No worker took it within ${UPDATE_WAIT_MS / 1000} s. Temporal keeps it for the run: it takes effect when a worker is back ` +
        'unless the run has ended. Retrying is safe (a takeover is the same Update, a decision cannot count twice); GET the run to see its effect.',
      { dependency: 'worker' },
    );
  }
  const grpc = grpcCause(err);
  // CANCELLED: the call was cut before Temporal answered (seen under overload, as the frontend sheds
  // calls): the caller cannot know whether it took effect, exactly as with a deadline, so it is a 503 too.
  const why = grpc && OUTAGE_CODES.get(grpc.code);
  if (why) {
    return new HttpProblem(
      503,
      'temporal-unavailable',
      'Temporal unavailable',
      `Temporal did not answer (${why}); nothing was changed by this request unless its run says so. Retry later (with the same Idempotency-Key for a dispatch).`,
      { dependency: 'temporal' },
    );
  }
  return undefined;
}
