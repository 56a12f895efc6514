import type { Client } from '@temporalio/client';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { dependencyProblem, RETRY_AFTER_SECONDS, TEMPORAL_REQUEST_MS } from '../runs/outages';
import { UnavailableProblem } from '../runs/start';

/**
 * Runs the rest of the request inside a gRPC deadline, so Temporal being down answers in seconds rather
 * than after the SDK's ~20 s of retries. Calls that need longer (an Update) set their own deadline.
 */
export function temporalDeadline(client: Client, ms = TEMPORAL_REQUEST_MS): RequestHandler {
  return (_req, res, next) => {
    void client.withDeadline(
      Date.now() + ms,
      () =>
        new Promise<void>((resolve) => {
          res.once('close', resolve);
          next();
        }),
    );
  };
}

/** Turns a dependency outage into its 503 with Retry-After; other errors go on to the problem handler. */
export function dependencyErrors(): ErrorRequestHandler {
  return (err: unknown, _req, res, next) => {
    if (err instanceof UnavailableProblem) {
      res.set('Retry-After', String(err.retryAfterSeconds));
      next(err);
      return;
    }
    const problem = dependencyProblem(err);
    if (problem) res.set('Retry-After', String(RETRY_AFTER_SECONDS));
    next(problem ?? err);
  };
}
