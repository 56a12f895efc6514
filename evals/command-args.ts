// The command-line parse the eval commands share: a malformed option prints the command's usage.
import type { CommandIO } from './cli';

/** `parse()`'s answer, or undefined after writing its error and `usage` to stderr (the caller exits 2). */
export function parsedOrUsage<T>(io: CommandIO, usage: string, parse: () => T): T | undefined {
  try {
    return parse();
  } catch (e) {
    io.err(`${(e as Error).message}\n${usage}\n`);
    return undefined;
  }
}

/** The options naming the Temporal server a command talks to (else TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE). */
export const TEMPORAL_OPTIONS = {
  address: { type: 'string' },
  namespace: { type: 'string' },
} as const;
