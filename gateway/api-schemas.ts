import { z } from 'zod';
import {
  ApprovalSchema,
  ApprovalUpdateResultSchema,
  FailureSchema,
  InstantSchema,
  RunIdSchema,
  RunOutputSchema,
  RunStatusSchema,
  StepSchema,
  SubjectSchema,
  UsageSchema,
} from '../contracts/run';

// Shapes of the HTTP API that are the gateway's own: its answers (built from the run's schemas in
// contracts/run.ts) and the query strings of the governance routes. The routes declare them, and the
// OpenAPI document is generated from those declarations.

/** Links of a run in API answers (gw.links builds them). */
export const RunLinksSchema = z.object({ self: z.string(), steps: z.string(), temporal_ui: z.string().optional() });
const Links = RunLinksSchema;
const AgentRef = z.object({ name: z.string().optional(), version: z.string().optional() });

export const ProblemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  instance: z.string().optional(),
  request_id: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

export const RunAcceptedSchema = z.object({
  run_id: z.string(),
  status: RunStatusSchema,
  agent: AgentRef,
  links: Links,
  replayed: z.boolean().optional(),
  /** What the caller should know about the run's prospects, e.g. that no worker polls its task queue yet. */
  warnings: z.array(z.string()).optional(),
});

/** A run as a list shows it. */
export const RunSummarySchema = z.object({
  run_id: z.string(),
  agent: AgentRef,
  status: RunStatusSchema,
  state: z.string().optional(),
  initiator: z.string().optional(),
  started_at: z.string().optional(),
  closed_at: z.string().optional(),
  links: Links,
});

export const RunViewSchema = RunSummarySchema.extend({
  started_at: z.string(),
  steps: z.array(StepSchema),
  usage: UsageSchema.optional(),
  approvals: z.array(ApprovalSchema).optional(),
  output: RunOutputSchema.optional(),
  partial_output: RunOutputSchema.optional(),
  error: FailureSchema.optional(),
  warnings: z.array(z.string()).optional(),
});

export const RunListSchema = z.object({ runs: z.array(RunSummarySchema), next_page_token: z.string().optional() });
export const StepsSchema = z.object({ run_id: z.string(), steps: z.array(StepSchema), warnings: z.array(z.string()).optional() });
export const CancelAcceptedSchema = z.object({ run_id: z.string(), status: z.literal('cancelling'), links: Links });
export const TakeoverResultSchema = z.object({ run_id: z.string(), status: z.literal('completed'), output: RunOutputSchema });
export const DecisionResultSchema = ApprovalUpdateResultSchema.omit({ recorded: true }).extend({ run_id: z.string() });
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

/** Query parameters of `GET /v1/audit`. */
export const AuditQuerySchema = z
  .object({
    run_id: RunIdSchema.optional(),
    principal: SubjectSchema.optional(),
    since: InstantSchema.optional(),
    until: InstantSchema.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

/** Query parameters of `GET /v1/budget`. */
export const BudgetQuerySchema = z.object({ day: z.iso.date().optional() }).strict();

export const AuditListSchema = z.object({
  entries: z.array(
    z.object({
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
    }),
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
