import { ConfigError } from '../config/settings';

/** What a start-up step connects to: the setting that names it and what an operator should check. */
export interface Dependency {
  /** The setting(s) that point at it, e.g. `TEMPORAL_ADDRESS (127.0.0.1:7233, namespace default)`. */
  setting: string;
  /** What it is, e.g. `Temporal`. */
  name: string;
  /** What to check when it cannot be reached. */
  check: string;
}

/**
 * Runs a start-up connection and turns its failure into an error naming the setting and what to check,
 * instead of a bare `connect ECONNREFUSED 127.0.0.1:25499` that leaves the operator guessing which one.
 * With `timeoutMs`, it gives up after that long.
 */
export async function connecting<T>(dependency: Dependency, connect: () => Promise<T>, timeoutMs?: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  // Some clients retry an unreachable address for a minute or more; start-up gives up sooner.
  const deadline = new Promise<never>((_, reject) => {
    if (timeoutMs !== undefined) timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    return await Promise.race([connect(), deadline]);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${dependency.setting}: cannot connect to ${dependency.name}: ${reasonOf(err)}. ${dependency.check}`);
  } finally {
    clearTimeout(timer);
  }
}

/** The message of an error, including each cause of an AggregateError (whose own message is empty). */
export function reasonOf(err: unknown): string {
  const causes = err instanceof AggregateError ? (err.errors as unknown[]) : [err];
  return causes.map((e) => (e instanceof Error ? e.message || e.name : String(e))).join('; ');
}
