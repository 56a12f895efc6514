import { z } from 'zod';
import { ToolConfigError } from '../config-file';
import type { ToolGuards } from '../breaker';
import type { Logger } from '../../../observability/logger';
import type { Resolver } from './ssrf';

/** What an adapter needs to turn one configured instance into tools. */
export interface BuildContext {
  /** The configuration file and the instance's line, for errors found while building. */
  file: string;
  line: (path: (string | number)[]) => number;
  /** Where the instance sits in its file (`['tools', 3]`). */
  at: (string | number)[];
  guards: ToolGuards;
  /** Environment variables for secret headers. */
  vars: Record<string, string | undefined>;
  /** The tools folder: relative paths in the configuration start here. */
  dir: string;
  /** Shutdown hooks (connection pools, dispatchers, server processes) the registry runs at close. */
  closers: (() => Promise<void>)[];
  /** For what an operator should know but that does not stop the worker (an MCP tool left out, and why). */
  logger: Pick<Logger, 'warn' | 'info'>;
  /** Replaces DNS for the HTTP adapter's SSRF guard (tests point names at private addresses). */
  resolver?: Resolver;
}

/** A zod schema from a JSON Schema in the configuration; a schema zod cannot use is a configuration error. */
export function schemaFrom(ctx: BuildContext, key: string, schema: Record<string, unknown>): z.ZodType {
  try {
    return z.fromJSONSchema(schema);
  } catch (err) {
    throw new ToolConfigError(ctx.file, ctx.line([...ctx.at, key]), `${key} is not a usable JSON Schema: ${(err as Error).message}`);
  }
}

/** The values of secret headers, read from the environment once at start; a missing variable is an error on its line. */
export function secretHeaders(
  ctx: BuildContext,
  key: string,
  specs: Record<string, { env: string; prefix: string }>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [header, { env, prefix }] of Object.entries(specs)) {
    const value = ctx.vars[env];
    if (!value) {
      throw new ToolConfigError(
        ctx.file,
        ctx.line([...ctx.at, key, header]),
        `environment variable ${env} (for header ${header}) is not set: export it before starting the worker`,
      );
    }
    out[header] = `${prefix}${value}`;
  }
  return out;
}
