import { ApplicationFailure } from '@temporalio/common';

/**
 * Failure types of the configured adapters, beside the platform's ErrorCode values. Each is raised
 * non-retryable (a retry cannot change the answer) and does not count against a circuit breaker.
 */
export const AdapterFailure = {
  /** The target refused the request (a 4xx other than 408 and 429). */
  HttpStatus: 'HttpStatus',
  /** A request or redirect would reach a host or address the instance does not allow. */
  SsrfDenied: 'SsrfDenied',
  /** The response is larger than the instance's max_response_bytes (http) or max_bytes (sql). */
  ResponseTooLarge: 'ResponseTooLarge',
  /** The database rejected the query (syntax, permissions, a write in a read-only transaction). */
  SqlRejected: 'SqlRejected',
  /** The `sql` argument of an allow_select instance is not a single SELECT. */
  SqlNotSelect: 'SqlNotSelect',
  /** The `sql` argument calls a function with effects or host access (set_config, pg_read_file, lo_import...). */
  SqlDenied: 'SqlDenied',
} as const;

/** A non-retryable failure of one of the {@link AdapterFailure} types. */
export function adapterFailure(
  type: (typeof AdapterFailure)[keyof typeof AdapterFailure],
  message: string,
  details?: unknown,
): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, ...(details === undefined ? {} : { details: [details] }) });
}

/** Whether a failure is one a retry cannot fix (so it says nothing about the backend's health). */
export function isNonRetryable(err: unknown): boolean {
  return err instanceof ApplicationFailure && err.nonRetryable === true;
}

/**
 * Runs `work` with a signal that aborts on the caller's signal or after `timeoutMs`. A timeout becomes
 * a plain (retryable) error naming the limit; a caller's abort is rethrown as its reason.
 */
export async function withTimeout<T>(
  what: string,
  timeoutMs: number,
  signal: AbortSignal,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  signal.throwIfAborted();
  const timer = AbortSignal.timeout(timeoutMs);
  const both = AbortSignal.any([signal, timer]);
  try {
    return await work(both);
  } catch (err) {
    if (signal.aborted) throw (signal.reason as Error | undefined) ?? err;
    if (timer.aborted) throw new Error(`${what} timed out after ${timeoutMs} ms`, { cause: err });
    throw err;
  }
}
