// `npm run policy:check -- --roles dispatcher --action dispatch --agent docs-researcher [--intent "..."]`
// prints the policy's decision, the rule that made it and where that rule is written (and, for a
// model call, the budgets the policy sets for that agent's runs and the tenant's day).
import { parseArgs } from 'node:util';
import { loadSettings } from '../config/settings';
import { type Label, type PolicyAction, type PolicyDecision, type RunBudget, type TenantDailyBudget } from '../contracts/policy';
import { decide, runBudgetFor, tenantBudgetFor } from '../policies/engine';
import { loadCatalog } from './runtime';

/** Decides one question from command-line arguments; exported so it can be tested without a process. */
export function policyCheck(argv: string[]): PolicyDecision & {
  policy_hash: string;
  /** For a model call: the policy's run budget for the agent and the tenant's daily budget. */
  budgets?: { run: RunBudget; tenant_daily: TenantDailyBudget | null };
} {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      subject: { type: 'string', default: 'cli' },
      tenant: { type: 'string', default: 'default' },
      roles: { type: 'string', default: '' },
      action: { type: 'string' },
      agent: { type: 'string' },
      tool: { type: 'string' },
      intent: { type: 'string' },
      env: { type: 'string' },
      'data-classification': { type: 'string' },
      'run-tokens': { type: 'string' },
      'run-cost': { type: 'string' },
    },
  });
  const action = values.action as PolicyAction | undefined;
  if (!action || !['dispatch', 'tool_call', 'model_call'].includes(action))
    throw new Error('--action must be dispatch, tool_call or model_call');
  const settings = loadSettings();
  const catalog = loadCatalog(settings);
  const { tools } = catalog;
  const policy = catalog.policy.current();
  const tool = values.tool ? tools.get(values.tool) : undefined;
  if (values.tool && !tool) throw new Error(`unknown tool ${values.tool} (known: ${tools.names().join(', ')})`);
  const decision = decide(
    policy,
    { subject: values.subject, tenant: values.tenant, roles: values.roles.split(',').filter(Boolean) },
    action,
    {
      ...(values.agent ? { agent: values.agent } : {}),
      ...(values.intent ? { intent: values.intent } : {}),
      ...(tool ? { tool: tool.name, side_effect: tool.side_effect, max_classification: tool.max_classification } : {}),
    },
    {
      environment: values.env ?? settings.environment,
      ...(values['data-classification'] ? { data_classification: values['data-classification'] as Label } : {}),
      ...(values['run-tokens'] ? { run_tokens: Number(values['run-tokens']) } : {}),
      ...(values['run-cost'] ? { run_cost_usd: Number(values['run-cost']) } : {}),
    },
  );
  const budgets =
    action === 'model_call'
      ? { budgets: { run: runBudgetFor(policy, values.agent ?? ''), tenant_daily: tenantBudgetFor(policy, values.tenant) ?? null } }
      : {};
  return { ...decision, policy_hash: policy.hash, ...budgets };
}

if (require.main === module) {
  try {
    process.stdout.write(JSON.stringify(policyCheck(process.argv.slice(2)), null, 2) + '\n');
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(2);
  }
}
