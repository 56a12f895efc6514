import type { z } from 'zod';
import type { SideEffect } from '../../contracts/agent';
import type { Evidence } from '../../contracts/run';
import { LABELS, type Label } from '../../contracts/policy';

/** The data-classification labels (declared once, in contracts/policy.ts). */
export const CLASSIFICATIONS = LABELS;
export type Classification = Label;

/** What the example write tools share: a write that may receive internal data, 10 s, three attempts. */
export const LOCAL_WRITE_TOOL = { side_effect: 'write', max_classification: 'internal', timeout_ms: 10_000, max_attempts: 3 } as const;

export interface ToolContext {
  run_id: string;
  step: number;
  signal: AbortSignal;
}

/**
 * A tool the platform can call: schemas for what goes in and out, its side-effect class, the highest
 * data classification it may receive, and its timeout and retry settings. Usable without an LLM:
 * `execute` is a plain async function.
 */
export interface ToolDefinition<I = unknown, O = unknown> {
  name: string;
  /** Where the tool comes from: a configured adapter kind, or `typescript` (the default) for defineTool. */
  kind?: 'typescript' | 'http' | 'sql' | 'mcp';
  description: string;
  input: z.ZodType<I>;
  output: z.ZodType<O>;
  side_effect: SideEffect;
  /** The tool may destroy or overwrite data (an MCP server's destructiveHint); policy rules match it with `destructive: true`. */
  destructive?: boolean;
  max_classification: Classification;
  timeout_ms: number;
  max_attempts: number;
  execute(args: I, ctx: ToolContext): Promise<{ output: O; evidence?: Evidence[] }>;
}

/** Erases a definition's type parameters for the registry; callers validate with its schemas. */
export function defineTool<I, O>(tool: ToolDefinition<I, O>): ToolDefinition {
  return tool;
}
