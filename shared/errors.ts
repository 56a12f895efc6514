// Pure helpers for reading errors: the chain of causes an error wraps, and zod issues as one line.
// Sandbox-safe (no Node built-ins), so workflows, activities and the gateway can share them.
import type { z } from 'zod';

/** How deep a cause chain is followed: guards against a cycle of causes. */
const MAX_DEPTH = 8;

/** The error and each cause it wraps (`.cause`), outermost first, at most a few deep. */
export function* causeChain(err: unknown): Generator<unknown> {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < MAX_DEPTH; depth++) {
    yield e;
    e = (e as { cause?: unknown }).cause;
  }
}

/** The first error of the chain (the error itself, then its causes) that `match` accepts. */
export function findCause<T>(err: unknown, match: (e: unknown) => e is T): T | undefined;
export function findCause(err: unknown, match: (e: unknown) => boolean): unknown;
export function findCause(err: unknown, match: (e: unknown) => boolean): unknown {
  for (const e of causeChain(err)) if (match(e)) return e;
  return undefined;
}

/** The innermost error of the chain: what went wrong first, under every wrapper. */
export function rootCause(err: unknown): unknown {
  let last: unknown = err;
  for (const e of causeChain(err)) last = e;
  return last;
}

/** A zod error's issues as one line, each as `path: message` (`(root)` for the value itself). */
export function describeIssues(error: { issues: readonly z.core.$ZodIssue[] }): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}
