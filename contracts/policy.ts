// Shapes of the policy: rules, budgets, decisions. The engine (policies/engine.ts) decides over them;
// the run input carries a compiled Policy as its snapshot.
import type { ApproverSet, SideEffect } from './agent';

/** Data-classification labels, lowest to highest. */
export const LABELS = ['public', 'internal', 'confidential', 'restricted'] as const;
export type Label = (typeof LABELS)[number];
export type Effect = 'allow' | 'deny' | 'require_approval';
export type PolicyAction = 'dispatch' | 'tool_call' | 'model_call';

/** Conditions of a rule; all present ones must hold. */
export interface When {
  roles?: string[];
  not_roles?: string[];
  agents?: string[];
  tools?: string[];
  environments?: string[];
  side_effect?: SideEffect;
  /** The tool is marked destructive (an MCP tool's destructiveHint); false matches tools that are not. */
  destructive?: boolean;
  intent_words?: string[];
  /** The data sent is labelled higher than the tool may receive. */
  data_above_clearance?: boolean;
  run_tokens_over?: number;
  run_cost_over?: number;
}

export interface Rule {
  id: string;
  description?: string;
  action: PolicyAction;
  when: When;
  effect: Effect;
  approvers?: ApproverSet;
  /** Where it was written, for reasons and debugging: file:line. */
  source: string;
}

/** Token and cost limits of one run. */
export interface RunBudget {
  max_tokens?: number;
  max_cost_usd?: number;
}

/** Limits of one tenant per UTC day, reserved before each model call in the governance store. */
export interface TenantDailyBudget {
  daily_cost_usd?: number;
  daily_tokens?: number;
}

/** The policy's budgets: for every run, per agent (per run), and per tenant per day ('*' is any tenant). */
export interface PolicyBudgets {
  run?: RunBudget;
  agents?: Record<string, RunBudget>;
  tenants?: Record<string, TenantDailyBudget>;
}

/** A compiled policy: rules in file order, budgets, and the hash of the sources they came from. */
export interface Policy {
  rules: Rule[];
  budgets?: PolicyBudgets;
  hash: string;
}

export interface PolicyResource {
  agent?: string;
  tool?: string;
  side_effect?: SideEffect;
  /** Whether the tool is marked destructive. */
  destructive?: boolean;
  /** The highest label the tool may receive. */
  max_classification?: Label;
  intent?: string;
}

export interface PolicyContext {
  environment: string;
  /** The highest label of the data this call would send. */
  data_classification?: Label;
  run_tokens?: number;
  run_cost_usd?: number;
}

export interface PolicyDecision {
  effect: Effect;
  reason: string;
  /** The id of the deciding rule, or `default-deny`. */
  rule: string;
  approvers?: ApproverSet;
}
