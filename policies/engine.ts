// The policy engine: a pure function over a compiled policy. No I/O and no Node imports, so the same
// code runs in the gateway and inside the workflow sandbox (an ESLint rule keeps it that way).

import {
  LABELS,
  type Label,
  type Policy,
  type PolicyAction,
  type PolicyContext,
  type PolicyDecision,
  type PolicyResource,
  type RunBudget,
  type TenantDailyBudget,
  type When,
} from '../contracts/policy';
import type { Principal } from '../contracts/principal';

const rank = (l: Label | undefined) => (l === undefined ? -1 : LABELS.indexOf(l));
const any = (list: string[] | undefined, value: string | undefined) =>
  list === undefined || list.includes('*') || (value !== undefined && list.includes(value));
const words = (text: string | undefined) => new Set((text ?? '').toLowerCase().match(/[a-z0-9_-]+/g) ?? []);

/** Whether every condition of `when` holds. */
export function matches(w: When, p: Principal, r: PolicyResource, c: PolicyContext): boolean {
  if (w.roles && !p.roles.some((x) => w.roles!.includes(x))) return false;
  if (w.not_roles && p.roles.some((x) => w.not_roles!.includes(x))) return false;
  if (!any(w.agents, r.agent)) return false;
  if (!any(w.tools, r.tool)) return false;
  if (!any(w.environments, c.environment)) return false;
  if (w.side_effect && w.side_effect !== r.side_effect) return false;
  if (w.destructive !== undefined && (r.destructive === true) !== w.destructive) return false;
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
  principal: Principal,
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
