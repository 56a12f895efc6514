// What a configured MCP server says about its tools (tools/list), turned into what the platform checks:
// zod schemas for arguments and results, a side-effect class, and whether the name is usable.
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { NameSchema, type SideEffect } from '../../../contracts/agent';

/** A tool as its server listed it. */
export interface Discovered {
  description: string;
  input: z.ZodType;
  output: z.ZodType;
  annotations: Tool['annotations'];
}

/** Arguments of a tool whose schema is not known (yet): any object; the server has the last word. */
export const ANY_ARGS = z.record(z.string(), z.unknown());

/** A listed tool's schemas; a JSON Schema zod cannot use falls back to "any object" (the server still checks). */
export function discovered(tool: Tool): Discovered {
  let input: z.ZodType;
  let output: z.ZodType;
  try {
    input = z.fromJSONSchema(tool.inputSchema as never);
    output = tool.outputSchema ? z.fromJSONSchema(tool.outputSchema as never) : z.unknown();
  } catch {
    input = ANY_ARGS;
    output = z.unknown();
  }
  return { description: tool.description ?? tool.title ?? tool.name, input, output, annotations: tool.annotations };
}

/**
 * The side effect of a tool of an `expose: '*'` server, from the server's annotations as the MCP
 * specification defines them: `readOnlyHint: true` is a read, anything else a write; a write is
 * destructive unless the server says `destructiveHint: false` (the specification's default is true).
 * The hints are the server's word, not a guarantee: list a tool under `expose` to decide yourself.
 */
export function sideEffectOf(annotations: Tool['annotations']): { side_effect: SideEffect; destructive: boolean } {
  if (annotations?.readOnlyHint === true) return { side_effect: 'read', destructive: false };
  return { side_effect: 'write', destructive: annotations?.destructiveHint !== false };
}

/** Why a tool name of a server cannot be a platform tool name, or undefined when it can. */
export function invalidName(instance: string, tool: string): string | undefined {
  const checked = NameSchema.safeParse(`${instance}.${tool}`);
  return checked.success ? undefined : (checked.error.issues[0]?.message ?? 'not a valid tool name');
}
