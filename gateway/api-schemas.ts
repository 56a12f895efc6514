import { z } from 'zod';
import { ModelCallSchema } from '../contracts/agent';

// Response shapes of the HTTP API. Request shapes live in contracts/ (they validate requests); both
// are turned into the OpenAPI document by gateway/openapi.ts, so the document cannot drift from them.

const Links = z.object({ self: z.string(), steps: z.string().optional(), temporal_ui: z.string().optional() }).passthrough();
const AgentRef = z.object({ name: z.string().optional(), version: z.string().optional() });
const Usage = z.object({ input_tokens: z.number(), output_tokens: z.number(), cost_usd: z.number() });
const Failure = z.object({ type: z.string(), message: z.string() });
const RunStatus = z.enum(['running', 'completed', 'failed', 'cancelled', 'terminated', 'timed_out']);
const StepType = z.enum(['Plan', 'ToolCall', 'Validate', 'Decide', 'HumanApproval', 'RetryFallback', 'Complete', 'Fail']);

export const StepSchema = z
  .object({
    index: z.number().int(),
    type: StepType,
    started_at: z.string(),
    ended_at: z.string().optional(),
    input_summary: z.string(),
    output_summary: z.string().optional(),
    error: Failure.optional(),
    usage: Usage.optional(),
    reason: z.string(),
    /** Plan steps: which provider and model answered, finish reason, latency, attempt (docs/models.md). */
    model: ModelCallSchema.optional(),
  })
  .passthrough();

const Evidence = z.object({ source: z.string(), excerpt: z.string() });
const Output = z
  .object({
    result: z.unknown(),
    evidence: z.array(Evidence),
    actions_taken: z.array(
      z.object({ step: z.number(), tool: z.string(), side_effect: z.enum(['read', 'write']), args: z.record(z.string(), z.unknown()) }),
    ),
    warnings: z.array(z.string()),
    completed_by: z.enum(['agent', 'human']).optional(),
  })
  .passthrough();

export const ApprovalSchema = z
  .object({
    id: z.string(),
    kind: z.enum(['tool_call', 'escalation']),
    step: z.number(),
    tool: z.string().optional(),
    args: z.record(z.string(), z.unknown()).optional(),
    args_hash: z.string().optional(),
    reason: z.string(),
    approvers: z.object({ roles: z.array(z.string()), subjects: z.array(z.string()) }),
    quorum: z.number(),
    deadline: z.string(),
    on_timeout: z.enum(['reject', 'escalate']),
    status: z.enum(['pending', 'approved', 'rejected', 'expired', 'withdrawn']),
    decisions: z.array(z.object({ approver: z.string(), decision: z.enum(['approve', 'reject']), at: z.string() }).passthrough()),
    escalations: z.number(),
  })
  .passthrough();

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    request_id: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .passthrough();

export const RunAcceptedSchema = z
  .object({ run_id: z.string(), status: RunStatus, agent: AgentRef, links: Links, replayed: z.boolean().optional() })
  .passthrough();

export const RunViewSchema = z
  .object({
    run_id: z.string(),
    agent: AgentRef,
    status: RunStatus,
    state: z.string().optional(),
    initiator: z.string().optional(),
    started_at: z.string(),
    closed_at: z.string().optional(),
    links: Links,
    steps: z.array(StepSchema),
    usage: Usage.optional(),
    approvals: z.array(ApprovalSchema).optional(),
    output: Output.optional(),
    partial_output: Output.optional(),
    error: Failure.optional(),
    warnings: z.array(z.string()).optional(),
  })
  .passthrough();

export const RunListSchema = z.object({
  runs: z.array(
    z.object({
      run_id: z.string(),
      agent: AgentRef,
      status: RunStatus,
      state: z.string().optional(),
      initiator: z.string().optional(),
      started_at: z.string().optional(),
      closed_at: z.string().optional(),
      links: Links,
    }),
  ),
  next_page_token: z.string().optional(),
});

export const StepsSchema = z.object({ run_id: z.string(), steps: z.array(StepSchema), warnings: z.array(z.string()).optional() });
export const CancelAcceptedSchema = z.object({ run_id: z.string(), status: z.literal('cancelling'), links: Links });
export const TakeoverResultSchema = z.object({ run_id: z.string(), status: z.literal('completed'), output: Output });
export const DecisionResultSchema = z.object({
  run_id: z.string(),
  approval_id: z.string(),
  status: z.enum(['pending', 'approved', 'rejected', 'expired', 'withdrawn']),
  approvals: z.number(),
  quorum: z.number(),
});
export const ApprovalListSchema = z.object({
  approvals: z.array(ApprovalSchema.extend({ run_id: z.string(), agent: AgentRef, links: z.object({ decide: z.string() }) })),
});
export const AgentListSchema = z.object({
  agents: z.array(
    z.object({
      name: z.string(),
      latest: z.string(),
      versions: z.array(z.string()),
      owner: z.string(),
      description: z.string(),
      tools: z.array(z.string()),
    }),
  ),
});
export const HealthSchema = z.object({ status: z.literal('ok') });
export const ReadySchema = z.object({ status: z.enum(['ready', 'not ready']), checks: z.record(z.string(), z.string()) });

export const AuditListSchema = z.object({
  entries: z.array(
    z
      .object({
        id: z.number(),
        at: z.string(),
        tenant: z.string(),
        principal: z.string(),
        action: z.string(),
        outcome: z.string(),
        reason: z.string(),
        rule: z.string().optional(),
        run_id: z.string().optional(),
        request_id: z.string().optional(),
        details: z.record(z.string(), z.unknown()).optional(),
      })
      .passthrough(),
  ),
});

export const BudgetStatusSchema = z.object({
  tenant: z.string(),
  day: z.string(),
  limit: z.object({ daily_cost_usd: z.number().optional(), daily_tokens: z.number().optional() }).nullable(),
  committed_usd: z.number(),
  committed_tokens: z.number(),
  remaining_usd: z.number().nullable(),
  reservations: z.object({ reserved: z.number(), settled: z.number(), denied: z.number() }),
});

export const PolicyStatusSchema = z.object({
  hash: z.string(),
  loaded_at: z.string(),
  files: z.array(z.string()),
  reloadable: z.boolean(),
  last_error: z.object({ message: z.string(), at: z.string() }).optional(),
});
export const PolicyReloadedSchema = z.object({
  hash: z.string(),
  previous_hash: z.string(),
  loaded_at: z.string(),
  files: z.array(z.string()),
});
