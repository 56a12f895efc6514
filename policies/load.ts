import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseYamlText } from '../config/yaml-file';
import { AuthoredApproverSetSchema, SideEffectSchema } from '../contracts/agent';
import type { Policy, PolicyBudgets, Rule } from '../contracts/policy';

const names = z.array(z.string().min(1)).min(1);
const WhenSchema = z
  .object({
    roles: names.optional(),
    not_roles: names.optional(),
    agents: names.optional(),
    tools: names.optional(),
    environments: z
      .array(z.enum(['dev', 'staging', 'prod']))
      .min(1)
      .optional(),
    side_effect: SideEffectSchema.optional(),
    destructive: z.boolean().optional(),
    intent_words: z
      .array(z.string().regex(/^[a-z0-9_-]+$/, 'must be a lower-case word'))
      .min(1)
      .optional(),
    data_above_clearance: z.boolean().optional(),
    run_tokens_over: z.number().int().min(0).optional(),
    run_cost_over: z.number().min(0).optional(),
  })
  .strict();

const RuleSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case words joined by -'),
    description: z.string().min(1).optional(),
    action: z.enum(['dispatch', 'tool_call', 'model_call']),
    when: WhenSchema.default({}),
    effect: z.enum(['allow', 'deny', 'require_approval']),
    approvers: AuthoredApproverSetSchema.optional(),
  })
  .strict()
  .refine((r) => r.effect !== 'require_approval' || r.approvers, { message: 'require_approval needs approvers', path: ['approvers'] });

const RunBudgetSchema = z
  .object({ max_tokens: z.number().int().positive().optional(), max_cost_usd: z.number().positive().optional() })
  .strict();
const BudgetsSchema = z
  .object({
    /** Every run, whatever the agent. */
    run: RunBudgetSchema.optional(),
    /** Per agent, per run. */
    agents: z.record(z.string(), RunBudgetSchema).optional(),
    /** Per tenant ('*' for any tenant without its own entry), per UTC day. */
    tenants: z
      .record(
        z.string().min(1),
        z.object({ daily_cost_usd: z.number().positive().optional(), daily_tokens: z.number().int().positive().optional() }).strict(),
      )
      .optional(),
  })
  .strict();

const FileSchema = z.object({ rules: z.array(RuleSchema).default([]), budgets: BudgetsSchema.optional() }).strict();

/** A policy file that cannot be used; the message names the file, the line and the reason. */
export class PolicyError extends Error {
  override name = 'PolicyError';
}

/** What the policy may refer to, so a rule naming a missing agent or tool fails at load. */
export interface PolicyCatalog {
  agents: string[];
  tools: string[];
}

/** Compiles policy sources (name → YAML text) into a Policy; throws PolicyError with file:line. */
export function compilePolicy(sources: { file: string; text: string }[], catalog: PolicyCatalog): Policy {
  const rules: Rule[] = [];
  const ids = new Set<string>();
  const budgets: PolicyBudgets = {};
  /** Where each budget entry was set, so a second file setting it again is an error naming both. */
  const budgetSources = new Map<string, string>();
  for (const { file, text } of sources) {
    const { data, at: where } = parseYamlText(file, text, FileSchema, (message) => new PolicyError(message));
    data.rules.forEach((r, i) => {
      const at = where(['rules', i]);
      if (ids.has(r.id)) throw new PolicyError(`${at}: rule id "${r.id}" is used twice`);
      ids.add(r.id);
      for (const [key, known] of [
        ['agents', catalog.agents],
        ['tools', catalog.tools],
      ] as const) {
        const missing = (r.when[key] ?? []).filter((x) => x !== '*' && !known.includes(x));
        if (missing.length)
          throw new PolicyError(`${where(['rules', i, 'when', key])}: rule "${r.id}" names unknown ${key}: ${missing.join(', ')}`);
      }
      rules.push({ ...r, source: at });
    });
    const b = data.budgets;
    if (b) {
      const claim = (key: string, at: string) => {
        const before = budgetSources.get(key);
        if (before) throw new PolicyError(`${at}: budgets.${key} is already set at ${before}`);
        budgetSources.set(key, at);
      };
      if (b.run) {
        claim('run', where(['budgets', 'run']));
        budgets.run = b.run;
      }
      for (const [agent, limit] of Object.entries(b.agents ?? {})) {
        const at = where(['budgets', 'agents', agent]);
        if (!catalog.agents.includes(agent)) throw new PolicyError(`${at}: budgets.agents names unknown agent: ${agent}`);
        claim(`agents.${agent}`, at);
        (budgets.agents ??= {})[agent] = limit;
      }
      for (const [tenant, limit] of Object.entries(b.tenants ?? {})) {
        claim(`tenants.${tenant}`, where(['budgets', 'tenants', tenant]));
        (budgets.tenants ??= {})[tenant] = limit;
      }
    }
  }
  const hash = createHash('sha256')
    .update(sources.map((s) => `${s.file}\n${s.text}`).join('\n\0\n'))
    .digest('hex');
  return { rules, ...(Object.keys(budgets).length ? { budgets } : {}), hash };
}

/** Loads every *.yaml file of a folder (in name order) as one policy. */
export function loadPolicyDir(dir: string, catalog: PolicyCatalog): Policy {
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  if (files.length === 0) throw new PolicyError(`${dir}: no policy files (*.yaml)`);
  return compilePolicy(
    files.map((f) => ({ file: path.join(path.basename(dir), f), text: readFileSync(path.join(dir, f), 'utf8') })),
    catalog,
  );
}
