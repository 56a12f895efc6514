import { z } from 'zod';
import { LABELS, type Label, type Policy } from './policy';
import { ApproverSetSchema, ModelCallSchema, NameSchema, SideEffectSchema, type ResolvedAgent } from './agent';
import { IDEMPOTENCY_KEY, RUN_ID, RUN_STATUSES, STEP_TYPES } from './vocabulary';
import type { Actor, Initiator } from './principal';

/** Data-classification labels, lowest to highest. */
export const ClassificationSchema = z.enum(LABELS);

/** Per-run limits the caller may set; the agent's budgets apply where these are absent. */
export const ConstraintsSchema = z
  .object({
    timeout_seconds: z
      .number()
      .int()
      .positive()
      .max(7 * 24 * 3600)
      .optional(),
    max_steps: z.number().int().positive().max(1000).optional(),
    max_tokens: z.number().int().positive().optional(),
    max_cost_usd: z.number().positive().optional(),
    /** Resources the run may touch (interpreted by policies). */
    scope: z.array(z.string().min(1).max(200)).max(100).optional(),
  })
  .strict();
export type Constraints = z.infer<typeof ConstraintsSchema>;

/** Agent reference: `name` (latest version) or `name@version`. */
export const AgentRefSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,62}(@[0-9A-Za-z.+-]{1,64})?$/, 'must be an agent name, optionally with @version, e.g. docs-researcher@1.0.0');

/** The body of `POST /v1/runs`. */
export const RunRequestSchema = z
  .object({
    agent: AgentRefSchema,
    task: z.string().trim().min(1, 'must not be empty').max(20_000),
    context: z.record(z.string(), z.unknown()).default({}),
    constraints: ConstraintsSchema.default({}),
    /** A JSON Schema the final result must satisfy. */
    output_spec: z.record(z.string(), z.unknown()).optional(),
    /** The data-classification label of each context field; unlabelled fields count as internal. */
    context_labels: z.record(z.string(), ClassificationSchema).optional(),
  })
  .strict();
export type RunRequest = z.infer<typeof RunRequestSchema>;

export const StepTypeSchema = z.enum(STEP_TYPES);
export type StepType = z.infer<typeof StepTypeSchema>;

export const RunStatusSchema = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof RunStatusSchema>;

export const IdempotencyKeySchema = z.string().regex(IDEMPOTENCY_KEY, 'must be 1-200 characters of A-Z a-z 0-9 . _ : -');
export const RunIdSchema = z.string().regex(RUN_ID, 'must be a run id');
/** A principal's subject, as filters name it. */
export const SubjectSchema = z.string().regex(/^[A-Za-z0-9._@:-]{1,128}$/, 'must be a subject');

export const UsageSchema = z.object({ input_tokens: z.number(), output_tokens: z.number(), cost_usd: z.number() });
export type Usage = z.infer<typeof UsageSchema>;

/** Why a step or a run failed. */
export const FailureSchema = z.object({ type: z.string(), message: z.string() });

/** One numbered step of a run, as recorded by the workflow. */
export const StepSchema = z.object({
  index: z.number().int(),
  type: StepTypeSchema,
  /** Workflow time, ISO. */
  started_at: z.string(),
  ended_at: z.string().optional(),
  input_summary: z.string(),
  output_summary: z.string().optional(),
  error: FailureSchema.optional(),
  usage: UsageSchema.optional(),
  /** The policy decision that let this step happen (or stopped it). */
  policy: z.object({ effect: z.string(), rule: z.string(), reason: z.string() }).optional(),
  /** Why the run moved to this step. */
  reason: z.string(),
  /** Plan steps: which provider and model answered, why it stopped, latency and attempts (docs/models.md). */
  model: ModelCallSchema.optional(),
});
export type Step = z.infer<typeof StepSchema>;

export const EvidenceSchema = z.object({
  /** Where it came from, e.g. docs/architecture.md#L12. */
  source: z.string(),
  excerpt: z.string(),
});
export type Evidence = z.infer<typeof EvidenceSchema>;

export const ActionTakenSchema = z.object({
  step: z.number(),
  tool: z.string(),
  side_effect: SideEffectSchema,
  args: z.record(z.string(), z.unknown()),
});
export type ActionTaken = z.infer<typeof ActionTakenSchema>;

export const ApprovalDecisionSchema = z.object({
  approver: z.string(),
  decision: z.enum(['approve', 'reject']),
  comment: z.string().optional(),
  /** Workflow time, ISO. */
  at: z.string(),
  /** Set when the approver approved with edited arguments. */
  edited_args: z.record(z.string(), z.unknown()).optional(),
  /** The edit, field by field. */
  diff: z.array(z.object({ path: z.string(), before: z.unknown(), after: z.unknown() })).optional(),
});
export type ApprovalDecision = z.infer<typeof ApprovalDecisionSchema>;

/** `withdrawn`: the run was cancelled, timed out or taken over while the approval was pending. */
export const ApprovalStatusSchema = z.enum(['pending', 'approved', 'rejected', 'expired', 'withdrawn']);

/**
 * A first-class approval: bound to one exact tool call (tool + hash of its canonical arguments), or
 * an escalation of a failing run, with who may decide, a quorum, a deadline and what the deadline does.
 */
export const ApprovalSchema = z.object({
  id: z.string(),
  kind: z.enum(['tool_call', 'escalation']),
  step: z.number(),
  tool: z.string().optional(),
  args: z.record(z.string(), z.unknown()).optional(),
  args_hash: z.string().optional(),
  reason: z.string(),
  approvers: ApproverSetSchema,
  quorum: z.number(),
  /** Workflow time, ISO. */
  deadline: z.string(),
  on_timeout: z.enum(['reject', 'escalate']),
  escalate_to: ApproverSetSchema.optional(),
  status: ApprovalStatusSchema,
  decisions: z.array(ApprovalDecisionSchema),
  escalations: z.number(),
});
export type Approval = z.infer<typeof ApprovalSchema>;

/** What a tool call produced, as the planner sees it on the next Plan step. */
export const ObservationSchema = z.object({
  step: z.number(),
  tool: z.string(),
  args: z.record(z.string(), z.unknown()),
  output: z.unknown(),
  evidence: z.array(EvidenceSchema),
});
export type Observation = z.infer<typeof ObservationSchema>;

/** What a run carries into its next Temporal run when it continues-as-new. */
export const RunCarrySchema = z.object({
  steps: z.array(StepSchema),
  usage: UsageSchema,
  observations: z.array(ObservationSchema),
  actions: z.array(ActionTakenSchema),
  warnings: z.array(z.string()),
  approvals: z.array(ApprovalSchema),
  repairs: z.number(),
  fallback_used: z.boolean(),
  /** How many times this run has continued-as-new. */
  generation: z.number(),
});
export type RunCarry = z.infer<typeof RunCarrySchema>;

// The run input embeds the resolved agent and the compiled policy, whose shapes contracts/agent.ts and
// contracts/policy.ts declare as interfaces; it stays an interface until those have schemas.
/** The one input object of the agentRun workflow (continue-as-new carries it forward). */
export interface AgentRunInput {
  agent: ResolvedAgent;
  task: string;
  context: Record<string, unknown>;
  constraints: Constraints;
  output_spec?: Record<string, unknown>;
  initiator: Initiator;
  /** ISO time the gateway accepted the request. */
  requested_at: string;
  /** Set only by continue-as-new. */
  carry?: RunCarry;
  /** The policy snapshot the run is checked against (absent: no policy checks), and its environment. */
  policy?: Policy;
  environment?: string;
  /** The effective label of each context field (the higher of declared and claimed). */
  context_labels?: Record<string, Label>;
  /** The W3C trace id of the request that started the run; the run's audit rows carry it. */
  trace_id?: string;
}

const DecisionBodySchema = z
  .object({
    decision: z.enum(['approve', 'reject']),
    /** The hash shown with the approval: proves the approver saw these exact arguments. */
    args_hash: z.string().regex(/^[0-9a-f]{64}$/, 'must be the 64-hex-digit args_hash of the pending approval'),
    comment: z.string().max(2000).optional(),
    /** Approve with these arguments instead (only for tool calls); ignored with reject. */
    edited_args: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

/**
 * The body an approver sends; the gateway adds who they are. A reject is a reject whatever arguments
 * come with it: refusing the body would turn an approver's clear "no" into a 400 to retry, and the run
 * records a rejection without them anyway. So edited_args may come with either decision, as the
 * document says, and a reject drops them here, before the argument check, the update and the audit row.
 */
export const ApprovalDecisionRequestSchema = DecisionBodySchema.transform((d): z.infer<typeof DecisionBodySchema> => {
  if (d.decision === 'approve') return d;
  const { edited_args, ...rest } = d;
  void edited_args;
  return rest;
});
export type ApprovalDecisionRequest = z.infer<typeof ApprovalDecisionRequestSchema>;

/** The approval update's argument: the decision plus the approver, from the credential. */
export interface ApprovalUpdateInput extends ApprovalDecisionRequest {
  approval_id: string;
  approver: Actor;
  /** The gateway request (and its trace) that carried the decision, for the row the run writes of it. */
  request_id?: string;
  trace_id?: string;
}

export const ApprovalUpdateResultSchema = z.object({
  approval_id: z.string(),
  status: ApprovalStatusSchema,
  approvals: z.number(),
  quorum: z.number(),
  /** True when the run has written the decision's `approval.decide` audit row itself (runs started before it did not). */
  recorded: z.boolean().optional(),
});
export type ApprovalUpdateResult = z.infer<typeof ApprovalUpdateResultSchema>;

/** The body of a manual takeover. */
export const TakeoverRequestSchema = z
  .object({
    result: z.unknown().refine((v) => v !== undefined, 'is required'),
    reason: z.string().trim().min(1).max(2000),
  })
  .strict();
export type TakeoverRequest = z.infer<typeof TakeoverRequestSchema>;

export interface TakeoverUpdateInput extends TakeoverRequest {
  operator: Actor;
}

/** Who finished the run: `human` when an operator completed it by manual takeover. */
const CompletedBySchema = z.enum(['agent', 'human']);

/** The output of a run as far as it got (complete once the run has ended). */
export const RunOutputSchema = z.object({
  result: z.unknown(),
  evidence: z.array(EvidenceSchema),
  actions_taken: z.array(ActionTakenSchema),
  warnings: z.array(z.string()),
  completed_by: CompletedBySchema.optional(),
});

/** What the `state` query returns while a run is going and after it ends. */
export const RunStateSchema = z.object({
  status: RunStatusSchema,
  current: StepTypeSchema,
  agent: z.object({ name: z.string(), version: z.string() }),
  steps: z.array(StepSchema),
  usage: UsageSchema,
  approvals: z.array(ApprovalSchema),
  output: RunOutputSchema,
});
export type RunState = z.infer<typeof RunStateSchema>;

/** The agent contract's output. */
export const AgentRunOutputSchema = RunOutputSchema.extend({
  status: RunStatusSchema,
  usage: UsageSchema,
  steps: z.array(StepSchema),
  approvals: z.array(ApprovalSchema).optional(),
  error: FailureSchema.optional(),
});
export type AgentRunOutput = z.infer<typeof AgentRunOutputSchema>;

/** A tool request or a final answer: the only things a model may return. */
export const PlanActionSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('tool_call'),
      tool: z.string().min(1),
      args: z.record(z.string(), z.unknown()),
      reason: z.string().default(''),
    })
    .strict(),
  z
    .object({
      type: z.literal('final'),
      result: z.unknown(),
      reason: z.string().default(''),
    })
    .strict(),
]);
export type PlanAction = z.infer<typeof PlanActionSchema>;

/** What the planner is asked; the resolved agent is an interface of contracts/agent.ts. */
export interface PlanRequest {
  run_id: string;
  step: number;
  agent: ResolvedAgent;
  task: string;
  context: Record<string, unknown>;
  /** The context's labels, so the worker hides confidential and restricted values from its logs and spans. */
  context_labels?: Record<string, Label>;
  observations: Observation[];
  /** The JSON Schema of the final answer (the caller's output_spec, else the agent's output_schema). */
  output_spec?: Record<string, unknown>;
}

export const PlanResultSchema = z.object({
  action: PlanActionSchema,
  model: z.string(),
  usage: UsageSchema,
  /** How the call went (absent in histories recorded before the AI SDK providers). */
  call: ModelCallSchema.optional(),
});
export type PlanResult = z.infer<typeof PlanResultSchema>;

export const ToolCallRequestSchema = z.object({
  run_id: z.string(),
  step: z.number(),
  /** For log labels. */
  agent: z.object({ name: z.string(), version: z.string() }),
  tool: z.string(),
  args: z.record(z.string(), z.unknown()),
  /** The policy decision that let the call happen, for the tool's span (absent in older histories). */
  policy: z.object({ effect: z.string(), rule: z.string() }).optional(),
});
export type ToolCallRequest = z.infer<typeof ToolCallRequestSchema>;

export const ToolCallResultSchema = z.object({ output: z.unknown(), evidence: z.array(EvidenceSchema) });
export type ToolCallResult = z.infer<typeof ToolCallResultSchema>;

/**
 * An instant in a query parameter: RFC 3339 with any offset the format allows (up to ±23:59), read as
 * the instant it names and passed on in UTC, since PostgreSQL refuses offsets beyond ±15:59. Years
 * 0001-9999 only (year 0000 east of UTC is an instant before year 1, which neither the ledger nor
 * Temporal's visibility store holds). Digits past the millisecond are kept.
 */
export const InstantSchema = z.iso
  .datetime({ offset: true })
  .transform((text) => {
    const utc = new Date(text).toISOString();
    const fraction = /\.(\d{4,})/.exec(text)?.[1];
    return fraction ? utc.replace(/\.\d{3}Z$/, `.${fraction}Z`) : utc;
  })
  .refine((utc) => /^\d{4}-/.test(utc) && !utc.startsWith('0000-'), 'must be an instant between years 0001 and 9999 (UTC)');

/** Query parameters of `GET /v1/runs`. */
export const ListRunsQuerySchema = z
  .object({
    agent: NameSchema.optional(),
    version: z
      .string()
      .regex(/^[0-9A-Za-z.+-]{1,64}$/, 'must be a version')
      .optional(),
    state: StepTypeSchema.optional(),
    status: RunStatusSchema.optional(),
    initiator: SubjectSchema.optional(),
    awaiting_approval: z.enum(['true', 'false']).optional(),
    started_after: InstantSchema.optional(),
    started_before: InstantSchema.optional(),
    page_size: z.coerce.number().int().min(1).max(100).default(20),
    page_token: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,4096}$/, 'must be a page_token from a previous page')
      .optional(),
  })
  .strict();
export type ListRunsQuery = z.infer<typeof ListRunsQuerySchema>;

/** The founding blueprint's request, accepted by `POST /gateway/dispatch`. */
export const WorkRequestSchema = z
  .object({
    /** The caller's id for this task; used as the idempotency key. */
    task_id: IdempotencyKeySchema,
    intent: z.string().trim().min(1).max(2000),
    /** `agent`, `task`, `context`, `constraints`, `output_spec`, as in POST /v1/runs. */
    payload: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();
export type WorkRequest = z.infer<typeof WorkRequestSchema>;
