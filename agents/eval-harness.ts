import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { ModelProvider } from '../activities/model/provider';
import type { ToolRegistry } from '../activities/tools/registry';
import type { ResolvedAgent } from '../contracts/agent';
import { PlanActionSchema, type Evidence, type Observation } from '../contracts/run';

/** One eval case of an agent, as written in agents/<name>/evals.yaml. */
export const EvalCaseSchema = z
  .object({
    name: z.string().min(1),
    task: z.string().min(1),
    context: z.record(z.string(), z.unknown()).default({}),
    expect: z
      .object({
        /** Tool names the agent calls, in order. */
        tools: z.array(z.string()).optional(),
        /** Strings each of which some evidence excerpt or source must contain. */
        evidence_contains: z.array(z.string()).optional(),
        /** Strings the final result's summary must contain. */
        summary_contains: z.array(z.string()).optional(),
      })
      .strict(),
  })
  .strict();
export type EvalCase = z.infer<typeof EvalCaseSchema>;

export const EvalFileSchema = z.object({ cases: z.array(EvalCaseSchema).min(1) }).strict();

/** Reads and validates an evals.yaml file. */
export function loadEvalFile(file: string): EvalCase[] {
  return EvalFileSchema.parse(parseYaml(readFileSync(file, 'utf8'))).cases;
}

export interface EvalOutcome {
  passed: boolean;
  failures: string[];
  tools: string[];
  result: unknown;
  evidence: Evidence[];
}

/**
 * Runs one case offline: the agent's planner and its real tools in a loop, without Temporal. It checks
 * what the agent plans and what its tools return; approvals, budgets and retries belong to the
 * workflow and are covered by the integration tests, so every tool call here runs as if approved.
 */
export async function runEvalCase(agent: ResolvedAgent, provider: ModelProvider, tools: ToolRegistry, c: EvalCase): Promise<EvalOutcome> {
  const observations: Observation[] = [];
  const called: string[] = [];
  const failures: string[] = [];
  let result: unknown;
  for (let step = 1; step <= agent.definition.budgets.max_steps; step++) {
    const { action } = await provider.plan({ run_id: `eval-${c.name}`, step, agent, task: c.task, context: c.context, observations });
    const parsed = PlanActionSchema.parse(action);
    if (parsed.type === 'final') {
      result = parsed.result;
      break;
    }
    const tool = tools.get(parsed.tool);
    if (!tool || !agent.definition.tools.includes(parsed.tool)) {
      failures.push(`step ${step}: asked for a tool outside its allowlist: ${parsed.tool}`);
      break;
    }
    const args = tool.input.safeParse(parsed.args);
    if (!args.success) {
      failures.push(`step ${step}: invalid arguments for ${parsed.tool}: ${args.error.issues.map((i) => i.message).join('; ')}`);
      break;
    }
    called.push(parsed.tool);
    const out = await tool.execute(args.data, { run_id: `eval-${c.name}`, step, signal: new AbortController().signal });
    observations.push({ step, tool: parsed.tool, args: parsed.args, output: out.output, evidence: out.evidence ?? [] });
  }
  const evidence = observations.flatMap((o) => o.evidence);
  if (result === undefined && failures.length === 0) failures.push('no final answer within max_steps');
  if (c.expect.tools && JSON.stringify(called) !== JSON.stringify(c.expect.tools)) {
    failures.push(`tools: expected ${JSON.stringify(c.expect.tools)}, called ${JSON.stringify(called)}`);
  }
  for (const s of c.expect.evidence_contains ?? []) {
    if (!evidence.some((e) => e.excerpt.includes(s) || e.source.includes(s))) failures.push(`no evidence contains ${JSON.stringify(s)}`);
  }
  const summary = (result as { summary?: unknown } | undefined)?.summary;
  for (const s of c.expect.summary_contains ?? []) {
    if (typeof summary !== 'string' || !summary.includes(s)) failures.push(`summary does not contain ${JSON.stringify(s)}`);
  }
  return { passed: failures.length === 0, failures, tools: called, result, evidence };
}
