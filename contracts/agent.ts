import { z } from 'zod';

/** Semantic version, e.g. 1.2.0 or 2.0.0-rc.1. */
export const SemverSchema = z
  .string()
  .regex(/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$/, 'must be a semantic version like 1.0.0');

/** Agent and tool names: lower-case words joined by - or _. */
export const NameSchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9_-]{0,62}(\.[a-z][a-z0-9_-]{0,62})?$/,
    'must be lower-case letters, digits, - or _, starting with a letter (one . may join an MCP instance and its tool)',
  );

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
    /** Steps one Temporal run records before the run continues-as-new (keeps histories small). */
    steps_per_history: z.number().int().min(2).max(10_000).default(200),
  })
  .strict();

/**
 * Who answers an agent's Plan steps. `scripted` is the deterministic offline planner (it does not
 * reason); the others are model vendors reached through the Vercel AI SDK. `openai-compatible` is any
 * server speaking OpenAI's chat-completions protocol (Ollama, vLLM, LM Studio, LiteLLM, Azure OpenAI),
 * named by `endpoint` in config/model-endpoints.yaml.
 */
export const PROVIDER_KINDS = ['scripted', 'openai', 'anthropic', 'google', 'openai-compatible'] as const;
export const ProviderKindSchema = z.enum(PROVIDER_KINDS);
export type ProviderKind = z.infer<typeof ProviderKindSchema>;

/** Whether a tool only reads or may change something; the policy and the approval rules turn on it. */
export const SideEffectSchema = z.enum(['read', 'write']);
export type SideEffect = z.infer<typeof SideEffectSchema>;

/** USD per 1,000 input and output tokens, for cost accounting and budgets. */
export const PricingSchema = z.object({ input_per_1k: z.number().min(0), output_per_1k: z.number().min(0) }).strict();
export type Pricing = z.infer<typeof PricingSchema>;

/** Which model plans an agent's steps. */
export const ModelSettingsSchema = z
  .object({
    provider: ProviderKindSchema,
    name: z.string().min(1),
    /** For `openai-compatible`: the named endpoint (base URL and key variable) in config/model-endpoints.yaml. */
    endpoint: NameSchema.optional(),
    temperature: z.number().min(0).max(2).optional(),
    /**
     * The most output tokens one call may produce; sent to the vendor, and the output part of the cost
     * reserved against the tenant's daily budget before each call (1024 when unset).
     */
    max_output_tokens: z.number().int().positive().max(1_000_000).optional(),
    pricing: PricingSchema.optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.provider === 'openai-compatible' && !m.endpoint) {
      ctx.addIssue({
        code: 'custom',
        path: ['endpoint'],
        message: 'openai-compatible needs an endpoint named in config/model-endpoints.yaml',
      });
    }
    if (m.provider !== 'openai-compatible' && m.endpoint) {
      ctx.addIssue({ code: 'custom', path: ['endpoint'], message: `endpoint applies only to openai-compatible, not ${m.provider}` });
    }
  });
export type ModelSettings = z.infer<typeof ModelSettingsSchema>;

/** Who may decide: any listed role, or any listed subject (as a run carries and the API shows it). */
export const ApproverSetSchema = z.object({ roles: z.array(z.string().min(1)), subjects: z.array(z.string().min(1)) });
export type ApproverSet = z.infer<typeof ApproverSetSchema>;

/**
 * An approver set as an agent or a policy file writes it: either list may be left out, not both,
 * since an approval nobody may decide can only time out.
 */
export const AuthoredApproverSetSchema = z
  .object({ roles: ApproverSetSchema.shape.roles.default([]), subjects: ApproverSetSchema.shape.subjects.default([]) })
  .strict()
  .refine((a) => a.roles.length + a.subjects.length > 0, 'name at least one role or subject');

/** A tool call that must wait for people before it runs. */
export const ApprovalRuleSchema = z
  .object({
    tool: NameSchema,
    reason: z.string().min(1),
    approvers: AuthoredApproverSetSchema,
    /** How many distinct approvers must approve (a single reject vetoes). */
    quorum: z.number().int().min(1).max(10).default(1),
    timeout_seconds: z
      .number()
      .int()
      .positive()
      .max(30 * 24 * 3600)
      .default(3600),
    /** At the deadline: reject the call, or hand it to `escalate_to` for one more period. */
    on_timeout: z.enum(['reject', 'escalate']).default('reject'),
    escalate_to: AuthoredApproverSetSchema.optional(),
  })
  .strict()
  .refine((r) => r.on_timeout !== 'escalate' || r.escalate_to, {
    message: 'on_timeout: escalate needs escalate_to',
    path: ['escalate_to'],
  });
export type ApprovalRule = z.infer<typeof ApprovalRuleSchema>;

/** What the run does when the model or a tool keeps failing after its retries. */
export const FallbackSchema = z
  .object({
    /** Another model to plan with (once) when the primary model fails. */
    model: ModelSettingsSchema.optional(),
    /** People who decide (retry or give up) when the fallback failed too. */
    escalate_to: AuthoredApproverSetSchema.optional(),
    escalation_timeout_seconds: z.number().int().positive().default(3600),
  })
  .strict();

/** An agent definition as written in agents/<name>/agent.yaml. */
export const AgentDefinitionSchema = z
  .object({
    name: NameSchema,
    version: SemverSchema,
    owner: z.string().min(1),
    description: z.string().min(1),
    model: ModelSettingsSchema,
    instructions: z.string().min(1),
    /** Words of a blueprint WorkRequest intent that route it to this agent (POST /gateway/dispatch). */
    intents: z.array(z.string().regex(/^[a-z0-9_-]+$/)).default([]),
    tools: z.array(NameSchema).default([]),
    budgets: BudgetsSchema.default({ max_steps: 20, timeout_seconds: 600, steps_per_history: 200 }),
    /** Attempts per model call before the fallback takes over. */
    model_max_attempts: z.number().int().min(1).max(10).default(3),
    /** Times the model may repair a final answer that violates the caller's output_spec. */
    max_repairs: z.number().int().min(0).max(5).default(1),
    /** JSON Schema the request's `context` must satisfy (checked by the gateway, 400 otherwise). */
    input_schema: z.record(z.string(), z.unknown()).optional(),
    /** JSON Schema every final result must satisfy, unless the caller sends its own output_spec. */
    output_schema: z.record(z.string(), z.unknown()).optional(),
    approvals: z.array(ApprovalRuleSchema).default([]),
    fallback: FallbackSchema.optional(),
    script: ScriptSchema.optional(),
  })
  .strict()
  .superRefine((def, ctx) => {
    if (def.model.provider === 'scripted' && !def.script) {
      ctx.addIssue({ code: 'custom', path: ['script'], message: 'the scripted provider needs a script' });
    }
    if (def.fallback?.model?.provider === 'scripted' && !def.script) {
      ctx.addIssue({ code: 'custom', path: ['fallback', 'model'], message: 'a scripted fallback needs a script' });
    }
    for (const [i, rule] of def.approvals.entries()) {
      if (!def.tools.includes(rule.tool)) {
        ctx.addIssue({ code: 'custom', path: ['approvals', i, 'tool'], message: `"${rule.tool}" is not in the agent's tools` });
      }
    }
    for (const [i, step] of (def.script?.steps ?? []).entries()) {
      if (!def.tools.includes(step.tool)) {
        ctx.addIssue({ code: 'custom', path: ['script', 'steps', i, 'tool'], message: `"${step.tool}" is not in the agent's tools` });
      }
    }
  });
export type AgentDefinition = z.infer<typeof AgentDefinitionSchema>;

/** The execution settings and the contract of a tool, resolved at dispatch and carried in the run input. */
export interface ToolSpec {
  name: string;
  side_effect: SideEffect;
  /** The tool may destroy or overwrite data (absent: not known to, e.g. every TypeScript tool). */
  destructive?: boolean;
  /** The highest data label the tool may receive. */
  max_classification?: 'public' | 'internal' | 'confidential' | 'restricted';
  timeout_ms: number;
  max_attempts: number;
  /** What the tool does, as the model reads it (absent in runs started before tool contracts). */
  description?: string;
  /** JSON Schema of the tool's arguments, from its zod schema (absent in runs started before tool contracts). */
  input_schema?: Record<string, unknown>;
}

/** An agent definition with its tools resolved: exactly what a run sees, recorded in its history. */
export interface ResolvedAgent {
  definition: AgentDefinition;
  tools: Record<string, ToolSpec>;
}

/** What one Plan step's model call was: recorded on the step, so a fallback or a repair is visible. */
export const ModelCallSchema = z
  .object({
    provider: ProviderKindSchema,
    /** The model that answered, as the vendor named it (can differ from the requested alias). */
    model: z.string(),
    /** Why the model stopped: stop, tool-calls, length, content-filter, error, other. */
    finish_reason: z.string(),
    /** Wall time of the vendor requests of this attempt, repair turn included. */
    latency_ms: z.number().int().min(0),
    /** Temporal's attempt number of the plan activity (1 unless a retryable vendor error came first). */
    attempt: z.number().int().min(1),
    /** Vendor requests this attempt made: 1, or 2 with a repair turn. */
    requests: z.number().int().min(1),
    /** Repair turns spent on an answer that was not JSON or not a valid action (counts against max_repairs). */
    repairs: z.number().int().min(0),
    /** Set when the answer came from, or was written to, a cassette. */
    cassette: z.enum(['recorded', 'replayed']).optional(),
  })
  .strict();
export type ModelCall = z.infer<typeof ModelCallSchema>;
