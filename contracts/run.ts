import { z } from 'zod';
import { LABELS, type Label, type Policy } from './policy';
import type { ModelCall, ResolvedAgent } from './agent';

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

/** Who asked for the run; comes from the credential, never from the body. */
export interface Initiator {
  subject: string;
  tenant: string;
  /** The initiator's roles, which the policy sees on every check of the run. */
  roles?: string[];
}

/** What a run carries into its next Temporal run when it continues-as-new. */
export interface RunCarry {
  steps: Step[];
  usage: Usage;
  observations: Observation[];
  actions: ActionTaken[];
  warnings: string[];
  approvals: Approval[];
  repairs: number;
  fallback_used: boolean;
  /** How many times this run has continued-as-new. */
  generation: number;
}

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

export type StepType = 'Plan' | 'ToolCall' | 'Validate' | 'Decide' | 'HumanApproval' | 'RetryFallback' | 'Complete' | 'Fail';
export type RunStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'terminated' | 'timed_out';

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
}

/** One numbered step of a run, as recorded by the workflow. */
export interface Step {
  index: number;
  type: StepType;
  /** Workflow time, ISO. */
  started_at: string;
  ended_at?: string;
  input_summary: string;
  output_summary?: string;
  error?: { type: string; message: string };
  usage?: Usage;
  /** The policy decision that let this step happen (or stopped it). */
  policy?: { effect: string; rule: string; reason: string };
  /** Why the run moved to this step. */
  reason: string;
  /** Plan steps: which provider and model answered, why it stopped, latency and attempts. */
  model?: ModelCall;
}

export interface Evidence {
  /** Where it came from, e.g. docs/architecture.md#L12. */
  source: string;
  excerpt: string;
}

export interface ActionTaken {
  step: number;
  tool: string;
  side_effect: 'read' | 'write';
  args: Record<string, unknown>;
}

/** A principal as the workflow sees it: who, and with which roles. */
export interface Actor {
  subject: string;
  roles: string[];
}

export interface ApprovalDecision {
  approver: string;
  decision: 'approve' | 'reject';
  comment?: string;
  /** Workflow time, ISO. */
  at: string;
  /** Set when the approver approved with edited arguments. */
  edited_args?: Record<string, unknown>;
  /** The edit, field by field. */
  diff?: { path: string; before: unknown; after: unknown }[];
}

/**
 * A first-class approval: bound to one exact tool call (tool + hash of its canonical arguments), or
 * an escalation of a failing run, with who may decide, a quorum, a deadline and what the deadline does.
 */
export interface Approval {
  id: string;
  kind: 'tool_call' | 'escalation';
  step: number;
  tool?: string;
  args?: Record<string, unknown>;
  args_hash?: string;
  reason: string;
  approvers: { roles: string[]; subjects: string[] };
  quorum: number;
  /** Workflow time, ISO. */
  deadline: string;
  on_timeout: 'reject' | 'escalate';
  escalate_to?: { roles: string[]; subjects: string[] };
  /** `withdrawn`: the run was cancelled, timed out or taken over while the approval was pending. */
  status: 'pending' | 'approved' | 'rejected' | 'expired' | 'withdrawn';
  decisions: ApprovalDecision[];
  escalations: number;
}

/** The body an approver sends; the gateway adds who they are. */
export const ApprovalDecisionRequestSchema = z
  .object({
    decision: z.enum(['approve', 'reject']),
    /** The hash shown with the approval: proves the approver saw these exact arguments. */
    args_hash: z.string().regex(/^[0-9a-f]{64}$/, 'must be the 64-hex-digit args_hash of the pending approval'),
    comment: z.string().max(2000).optional(),
    /** Approve with these arguments instead (only with decision approve, only for tool calls). */
    edited_args: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .refine((d) => d.decision === 'approve' || d.edited_args === undefined, {
    message: 'edited_args only go with approve',
    path: ['edited_args'],
  });
export type ApprovalDecisionRequest = z.infer<typeof ApprovalDecisionRequestSchema>;

/** The approval update's argument: the decision plus the approver, from the credential. */
export interface ApprovalUpdateInput extends ApprovalDecisionRequest {
  approval_id: string;
  approver: Actor;
}

export interface ApprovalUpdateResult {
  approval_id: string;
  status: Approval['status'];
  approvals: number;
  quorum: number;
}

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

/** What the `state` query returns while a run is going and after it ends. */
export interface RunState {
  status: RunStatus;
  current: StepType;
  agent: { name: string; version: string };
  steps: Step[];
  usage: Usage;
  approvals: Approval[];
  /** The output so far (complete once the run has ended). */
  output: Pick<AgentRunOutput, 'result' | 'evidence' | 'actions_taken' | 'warnings'> & { completed_by?: 'agent' | 'human' };
}

/** The agent contract's output. */
export interface AgentRunOutput {
  status: RunStatus;
  result: unknown;
  evidence: Evidence[];
  actions_taken: ActionTaken[];
  warnings: string[];
  usage: Usage;
  steps: Step[];
  approvals?: Approval[];
  error?: { type: string; message: string };
  /** `human` when an operator completed the run by manual takeover. */
  completed_by?: 'agent' | 'human';
}

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

/** What a tool call produced, as the planner sees it on the next Plan step. */
export interface Observation {
  step: number;
  tool: string;
  args: Record<string, unknown>;
  output: unknown;
  evidence: Evidence[];
}

export interface PlanRequest {
  run_id: string;
  step: number;
  agent: ResolvedAgent;
  task: string;
  context: Record<string, unknown>;
  observations: Observation[];
  /** The JSON Schema of the final answer (the caller's output_spec, else the agent's output_schema). */
  output_spec?: Record<string, unknown>;
}

export interface PlanResult {
  action: PlanAction;
  model: string;
  usage: Usage;
  /** How the call went (absent in histories recorded before the AI SDK providers). */
  call?: ModelCall;
}

export interface ToolCallRequest {
  run_id: string;
  step: number;
  /** For log labels. */
  agent: { name: string; version: string };
  tool: string;
  args: Record<string, unknown>;
}

export interface ToolCallResult {
  output: unknown;
  evidence: Evidence[];
}

/** Query parameters of `GET /v1/runs`. */
export const ListRunsQuerySchema = z
  .object({
    agent: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,62}$/, 'must be an agent name')
      .optional(),
    version: z
      .string()
      .regex(/^[0-9A-Za-z.+-]{1,64}$/, 'must be a version')
      .optional(),
    state: z.enum(['Plan', 'ToolCall', 'Validate', 'Decide', 'HumanApproval', 'RetryFallback', 'Complete', 'Fail']).optional(),
    status: z.enum(['running', 'completed', 'failed', 'cancelled', 'terminated', 'timed_out']).optional(),
    initiator: z
      .string()
      .regex(/^[A-Za-z0-9._@:-]{1,128}$/, 'must be a subject')
      .optional(),
    awaiting_approval: z.enum(['true', 'false']).optional(),
    started_after: z.iso.datetime({ offset: true }).optional(),
    started_before: z.iso.datetime({ offset: true }).optional(),
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
    task_id: z.string().regex(/^[A-Za-z0-9._:-]{1,200}$/, 'must be 1-200 characters of A-Z a-z 0-9 . _ : -'),
    intent: z.string().trim().min(1).max(2000),
    /** `agent`, `task`, `context`, `constraints`, `output_spec`, as in POST /v1/runs. */
    payload: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();
export type WorkRequest = z.infer<typeof WorkRequestSchema>;
