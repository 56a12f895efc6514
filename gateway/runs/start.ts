// Starting a run when Temporal may not answer: a bounded number of starts in flight, and a start whose
// outcome is unknown looked up by its run id before the caller is answered. No Express here.
import { status } from '@grpc/grpc-js';
import {
  isGrpcServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import { bulkhead, BulkheadRejectedError, type BulkheadPolicy } from 'cockatiel';
import { DEFAULT_STARTS_IN_FLIGHT } from '../../config/settings';
import { findCause } from '../../shared/errors';
import { HttpProblem } from '../problem';
import { RETRY_AFTER_SECONDS } from './outages';

/** How long the one look-up after a start of unknown outcome may take (the request's own deadline may have passed). */
export const CONFIRM_MS = 2_000;
/** What a shed dispatch tells the caller to wait, in seconds: the bound frees up within a start or two. */
export const SHED_RETRY_AFTER_SECONDS = 1;

/** A 503 that says how long to wait before retrying (the dependency middleware sets Retry-After from it). */
export class UnavailableProblem extends HttpProblem {
  constructor(
    slug: string,
    title: string,
    detail: string,
    extensions: Record<string, unknown>,
    readonly retryAfterSeconds: number,
  ) {
    super(503, slug, title, detail, extensions);
  }
}

/** gRPC codes after which a start may or may not have happened: the request may have reached Temporal. */
const UNKNOWN_OUTCOME = new Set<status>([status.DEADLINE_EXCEEDED, status.CANCELLED, status.UNAVAILABLE]);

/** Whether the error (or one of its causes) leaves it unknown whether Temporal acted on the call. */
export function outcomeUnknown(err: unknown): boolean {
  const grpc = findCause(err, isGrpcServiceError);
  return grpc !== undefined && UNKNOWN_OUTCOME.has(grpc.code);
}

/** What a start came to: started by this call, or found there after it (by this call unanswered, or by another request). */
export type StartOutcome = { started: 'now' } | { started: 'before'; found: WorkflowExecutionDescription };

/**
 * Starts runs with at most `maxInFlight` starts waiting on Temporal. Beyond it a dispatch is refused at
 * once (503 `overloaded`, Retry-After) rather than queued to wait out the deadline with the rest.
 */
export class RunStarter {
  private readonly inFlight: BulkheadPolicy;

  constructor(
    private readonly client: Client,
    maxInFlight = DEFAULT_STARTS_IN_FLIGHT,
  ) {
    this.inFlight = bulkhead(maxInFlight, 0);
  }

  /**
   * Runs `start` for the run `runId`. When the start failed in a way that leaves its outcome unknown (the
   * SDK's own retries are deduplicated by Temporal, but a start still unanswered at the deadline is not
   * known either way), or found the id taken (a racing retry with the same key), one bounded describe
   * finds out: the run is there (`before`), or the answer is a 503 naming the run id so the caller can look.
   */
  async start(runId: string, start: () => Promise<unknown>): Promise<StartOutcome> {
    try {
      return await this.inFlight.execute(async () => {
        try {
          await start();
          return { started: 'now' } as const;
        } catch (err) {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError) && !outcomeUnknown(err)) throw err;
          const found = await this.lookUp(runId, err);
          return { started: 'before', found } as const;
        }
      });
    } catch (err) {
      if (err instanceof BulkheadRejectedError) throw overloaded();
      throw err;
    }
  }

  /** The run's description after a start of unknown outcome; a 503 with the run id when it cannot be told. */
  private async lookUp(runId: string, cause: unknown): Promise<WorkflowExecutionDescription> {
    let found: WorkflowExecutionDescription | undefined;
    try {
      found = await this.client.withDeadline(Date.now() + CONFIRM_MS, () => this.client.workflow.getHandle(runId).describe());
    } catch (err) {
      // A run that is not there may still be started by the call that was cut: the caller is told to look.
      if (!outcomeUnknown(err) && !(err instanceof WorkflowNotFoundError)) throw err;
    }
    if (found) return found;
    if (cause instanceof WorkflowExecutionAlreadyStartedError) throw cause;
    throw startUnknown(runId);
  }
}

/**
 * The 503 of a start whose outcome is unknown: Temporal's outage answer (the same type and dependency
 * as any other), naming the run id the run would have so the caller can look it up.
 */
function startUnknown(runId: string): UnavailableProblem {
  return new UnavailableProblem(
    'temporal-unavailable',
    'Temporal unavailable',
    `Temporal did not answer whether run ${runId} started. GET /v1/runs/${runId} shows it if it did; ` +
      'retry with the same Idempotency-Key to get it (or start it) without ever starting it twice.',
    { dependency: 'temporal', run_id: runId, links: { self: `/v1/runs/${runId}` } },
    RETRY_AFTER_SECONDS,
  );
}

/** The 503 of a dispatch shed because the gateway already has its bound of starts in flight. */
function overloaded(): UnavailableProblem {
  return new UnavailableProblem(
    'overloaded',
    'Gateway overloaded',
    'The gateway has as many run starts waiting on Temporal as it allows; nothing was started. Retry after the delay.',
    { dependency: 'temporal' },
    SHED_RETRY_AFTER_SECONDS,
  );
}
