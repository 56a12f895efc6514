// The one tool path: what the ToolCall activity and `npm run tool` both run, so a tool behaves the same
// from a run and from the command line.
import { ApplicationFailure } from '@temporalio/common';
import { ErrorCode } from '../../contracts/errors';
import type { Evidence } from '../../contracts/run';
import { describeIssues } from '../../shared/errors';
import type { ToolContext, ToolDefinition } from './tool';

/** Wraps the tool's own work, e.g. in a span and heartbeats (the activity); by default it just runs it. */
export type AroundExecute = <T>(execute: () => Promise<T>) => Promise<T>;

/**
 * Runs a tool once: arguments checked against its input schema (nothing reaches the target otherwise),
 * then its guarded execute (SSRF guard, timeout, breaker, bulkhead), then the output checked against
 * its output schema. Failures are typed `ApplicationFailure`s; once `ctx.signal` has aborted, whatever
 * the tool threw is reported as the signal's reason (the activity's is the SDK's CancelledFailure).
 */
export async function runTool(
  tool: ToolDefinition,
  args: unknown,
  ctx: ToolContext,
  around: AroundExecute = (execute) => execute(),
): Promise<{ output: unknown; evidence: Evidence[] }> {
  const parsed = tool.input.safeParse(args);
  if (!parsed.success) {
    throw ApplicationFailure.create({
      type: ErrorCode.ToolInputInvalid,
      message: `arguments for ${tool.name} are invalid: ${describeIssues(parsed.error)}`,
      nonRetryable: true,
    });
  }
  let result: Awaited<ReturnType<typeof tool.execute>>;
  try {
    result = await around(() => tool.execute(parsed.data, ctx));
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason ?? err;
    throw err;
  }
  const { output, evidence = [] } = result;
  const checked = tool.output.safeParse(output);
  if (!checked.success) {
    throw ApplicationFailure.create({
      type: ErrorCode.ToolOutputInvalid,
      message: `${tool.name} returned output that fails its schema: ${describeIssues(checked.error)}`,
      nonRetryable: true,
    });
  }
  return { output: checked.data, evidence };
}
