import { z } from 'zod';

/** Semantic version, e.g. 1.2.0 or 2.0.0-rc.1. */
export const SemverSchema = z
  .string()
  .regex(/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$/, 'must be a semantic version like 1.0.0');

/** Agent and tool names: lower-case words joined by - or _. */
export const NameSchema = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'must be lower-case letters, digits, - or _, starting with a letter');

/** What the deterministic scripted planner does for an agent: tool calls in order, then finish. */
export const ScriptSchema = z
  .object({
    steps: z
      .array(
        z
          .object({
            tool: NameSchema,
            /** Arguments; strings may use {{task}} and {{context.<key>}} placeholders. */
            args: z.record(z.string(), z.unknown()).default({}),
          })
          .strict(),
      )
      .default([]),
    finish: z.object({ summary: z.string().min(1) }).strict(),
  })
  .strict();
export type Script = z.infer<typeof ScriptSchema>;

export const BudgetsSchema = z
  .object({
    max_steps: z.number().int().positive().max(1000).default(20),
    max_tokens: z.number().int().positive().optional(),
    max_cost_usd: z.number().positive().optional(),
    timeout_seconds: z
      .number()
      .int()
      .positive()
      .max(7 * 24 * 3600)
      .default(600),
  })
  .strict();

/** Which model plans an agent's steps. */
export const ModelSettingsSchema = z
  .object({
    /**
     * `scripted` is the deterministic, offline planner; `openai` is any vendor speaking the OpenAI
     * chat-completions protocol (endpoint and key come from the worker's environment).
     */
    provider: z.enum(['scripted', 'openai']),
    name: z.string().min(1),
    temperature: z.number().min(0).max(2).optional(),
    /** USD per 1,000 input and output tokens, for cost accounting and budgets. */
    pricing: z.object({ input_per_1k: z.number().min(0), output_per_1k: z.number().min(0) }).strict().optional(),
  })
  .strict();
export type ModelSettings = z.infer<typeof ModelSettingsSchema>;

/** An agent definition as written in agents/<name>/agent.yaml. */
export const AgentDefinitionSchema = z
  .object({
    name: NameSchema,
    version: SemverSchema,
    owner: z.string().min(1),
    description: z.string().min(1),
    model: ModelSettingsSchema,
    instructions: z.string().min(1),
    tools: z.array(NameSchema).default([]),
    budgets: BudgetsSchema.default({ max_steps: 20, timeout_seconds: 600 }),
    script: ScriptSchema.optional(),
  })
  .strict()
  .superRefine((def, ctx) => {
    if (def.model.provider === 'scripted' && !def.script) {
      ctx.addIssue({ code: 'custom', path: ['script'], message: 'the scripted provider needs a script' });
    }
    for (const [i, step] of (def.script?.steps ?? []).entries()) {
      if (!def.tools.includes(step.tool)) {
        ctx.addIssue({ code: 'custom', path: ['script', 'steps', i, 'tool'], message: `"${step.tool}" is not in the agent's tools` });
      }
    }
  });
export type AgentDefinition = z.infer<typeof AgentDefinitionSchema>;

/** The execution settings of a tool, resolved at dispatch and carried in the run input. */
export interface ToolSpec {
  name: string;
  side_effect: 'read' | 'write';
  timeout_ms: number;
  max_attempts: number;
}

/** An agent definition with its tools resolved: exactly what a run sees, recorded in its history. */
export interface ResolvedAgent {
  definition: AgentDefinition;
  tools: Record<string, ToolSpec>;
}
