import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';
import { ErrorCode } from '../../contracts/errors';
import type { Evidence } from '../../contracts/run';
import type { ToolContext, ToolDefinition } from './tool';

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/**
 * Runs a tool once as the ToolCall activity does, without Temporal: arguments checked against its
 * input schema (nothing reaches the target otherwise), then its guarded execute (SSRF guard, timeout,
 * breaker, bulkhead), then the output checked against its output schema. Failures are the same typed
 * `ApplicationFailure`s the activity raises.
 */
export async function runToolOnce(
  tool: ToolDefinition,
  args: unknown,
  ctx: ToolContext,
): Promise<{ output: unknown; evidence: Evidence[] }> {
  const parsed = tool.input.safeParse(args);
  if (!parsed.success) {
    throw ApplicationFailure.create({
      type: ErrorCode.ToolInputInvalid,
      message: `arguments for ${tool.name} are invalid: ${describeIssues(parsed.error)}`,
      nonRetryable: true,
    });
  }
  const { output, evidence = [] } = await tool.execute(parsed.data, ctx);
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
