// Outages of Temporal or of every worker, as answers a caller can act on: how long a request may wait,
// and the 503 that names what did not answer. No Express here (gateway/middleware/temporal.ts wires it).
import { createHash } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { isGrpcServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { canonicalJson } from '../../shared/canonical';
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
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (isGrpcServiceError(e)) return e;
  }
  return undefined;
}

/** A 503 problem naming the dependency that did not answer, or undefined for any other error. */
export function dependencyProblem(err: unknown): HttpProblem | undefined {
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
