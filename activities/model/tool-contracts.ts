import { z } from 'zod';
import type { ResolvedAgent, ToolSpec } from '../../contracts/agent';
import type { ToolDefinition } from '../tools/tool';

/** What the model is told about a tool: its description and the JSON Schema of its arguments. */
export type ToolContract = Required<Pick<ToolSpec, 'description' | 'input_schema'>>;

/**
 * A tool's contract from its definition: the JSON Schema of what its zod input schema accepts (the
 * input side, so defaulted fields are optional). Parts JSON Schema cannot express become `{}` rather
 * than failing the whole agent.
 */
export function toolContract(tool: Pick<ToolDefinition, 'description' | 'input'>): ToolContract {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(tool.input, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { description: tool.description, input_schema: schema };
}

/**
 * The agent with every tool's contract filled in. Runs started before tool contracts were part of the
 * resolved agent carry none in their history; their contracts come from this worker's registry.
 */
export function withToolContracts(
  agent: ResolvedAgent,
  lookup: (name: string) => Pick<ToolDefinition, 'description' | 'input'> | undefined,
): ResolvedAgent {
  const missing = Object.values(agent.tools).filter((t) => t.description === undefined || t.input_schema === undefined);
  if (missing.length === 0) return agent;
  const tools = { ...agent.tools };
  for (const spec of missing) {
    const tool = lookup(spec.name);
    if (tool) tools[spec.name] = { ...toolContract(tool), ...spec };
  }
  return { ...agent, tools };
}
