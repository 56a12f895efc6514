// The policy engine: a pure function over a compiled policy. No I/O and no Node imports, so the same
// code runs in the gateway and inside the workflow sandbox (an ESLint rule keeps it that way).

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
  side_effect?: 'read' | 'write';
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
  approvers?: { roles: string[]; subjects: string[] };
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

export interface PolicyPrincipal {
  subject: string;
  tenant: string;
  roles: string[];
}

export interface PolicyResource {
  agent?: string;
  tool?: string;
  side_effect?: 'read' | 'write';
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
  approvers?: { roles: string[]; subjects: string[] };
}

const rank = (l: Label | undefined) => (l === undefined ? -1 : LABELS.indexOf(l));
const any = (list: string[] | undefined, value: string | undefined) =>
  list === undefined || list.includes('*') || (value !== undefined && list.includes(value));
const words = (text: string | undefined) => new Set((text ?? '').toLowerCase().match(/[a-z0-9_-]+/g) ?? []);

/** Whether every condition of `when` holds. */
export function matches(w: When, p: PolicyPrincipal, r: PolicyResource, c: PolicyContext): boolean {
  if (w.roles && !p.roles.some((x) => w.roles!.includes(x))) return false;
  if (w.not_roles && p.roles.some((x) => w.not_roles!.includes(x))) return false;
  if (!any(w.agents, r.agent)) return false;
  if (!any(w.tools, r.tool)) return false;
  if (!any(w.environments, c.environment)) return false;
  if (w.side_effect && w.side_effect !== r.side_effect) return false;
  if (w.intent_words) {
    const ws = words(r.intent);
    if (!w.intent_words.some((x) => ws.has(x))) return false;
  }
  if (w.data_above_clearance !== undefined) {
    const above = rank(c.data_classification) > rank(r.max_classification ?? 'restricted');
    if (above !== w.data_above_clearance) return false;
  }
  if (w.run_tokens_over !== undefined && !((c.run_tokens ?? 0) > w.run_tokens_over)) return false;
  if (w.run_cost_over !== undefined && !((c.run_cost_usd ?? 0) > w.run_cost_over)) return false;
  return true;
}

/**
 * Decides an action: among the rules for it that match, a deny wins, then a require_approval, then an
 * allow; with no matching rule the answer is deny. Total (always answers) and deterministic.
 */
export function decide(
  policy: Policy,
  principal: PolicyPrincipal,
  action: PolicyAction,
  resource: PolicyResource,
  context: PolicyContext,
): PolicyDecision {
  const hits = policy.rules.filter((r) => r.action === action && matches(r.when, principal, resource, context));
  const pick =
    hits.find((r) => r.effect === 'deny') ?? hits.find((r) => r.effect === 'require_approval') ?? hits.find((r) => r.effect === 'allow');
  if (!pick) return { effect: 'deny', reason: `no rule allows ${action}`, rule: 'default-deny' };
  return {
    effect: pick.effect,
    reason: `${pick.description ?? pick.id} (${pick.source})`,
    rule: pick.id,
    ...(pick.approvers ? { approvers: pick.approvers } : {}),
  };
}

/** The run limits the policy sets for an agent: the tighter of its `run` and its `agents.<name>` budgets. */
export function runBudgetFor(policy: Policy | undefined, agent: string): RunBudget {
  const all = policy?.budgets?.run ?? {};
  const own = policy?.budgets?.agents?.[agent] ?? {};
  const min = (a?: number, b?: number) => (a === undefined ? b : b === undefined ? a : Math.min(a, b));
  const out: RunBudget = {};
  const tokens = min(all.max_tokens, own.max_tokens);
  const cost = min(all.max_cost_usd, own.max_cost_usd);
  if (tokens !== undefined) out.max_tokens = tokens;
  if (cost !== undefined) out.max_cost_usd = cost;
  return out;
}

/** A tenant's daily budget: its own entry, else the '*' entry, else none. */
export function tenantBudgetFor(policy: Policy | undefined, tenant: string): TenantDailyBudget | undefined {
  const tenants = policy?.budgets?.tenants;
  if (!tenants) return undefined;
  return Object.hasOwn(tenants, tenant) ? tenants[tenant] : tenants['*'];
}
