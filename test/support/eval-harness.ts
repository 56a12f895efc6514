import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { ActionTaken, Approval, Evidence } from '../../contracts/run';
import { eventually, http, type TestPlatform } from './platform';

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

/** An evals.yaml file: at least one case. */
export const EvalFileSchema = z.object({ cases: z.array(EvalCaseSchema).min(1) }).strict();

/** Reads and validates an evals.yaml file. */
export function loadEvalFile(file: string): EvalCase[] {
  return EvalFileSchema.parse(parseYaml(readFileSync(file, 'utf8'))).cases;
}

export interface EvalOutcome {
  passed: boolean;
  failures: string[];
  run: Record<string, unknown>;
  tools: string[];
  result: unknown;
  evidence: Evidence[];
}

/**
 * Runs one case the way production runs it: dispatched over HTTP to the agentRun workflow on the test
 * Temporal server, executed by the platform's real worker with the agent's real planner and tools.
 * Approvals the run asks for on the way are granted by an approver (the evals judge what the agent
 * does; approval rules have their own tests), so a write tool still goes through the whole gate.
 */
export async function runEvalCase(platform: TestPlatform, agent: string, c: EvalCase): Promise<EvalOutcome> {
  const approver = platform.as({ subject: 'eval-approver', roles: ['approver'] });
  const res = await http(platform, 'POST', '/v1/runs', { agent, task: c.task, context: c.context });
  if (res.status !== 202) throw new Error(`dispatch of eval case ${c.name} answered ${res.status}: ${JSON.stringify(res.body)}`);
  const runId = res.body.run_id as string;
  const run = await eventually(
    async () => {
      const read = await http(platform, 'GET', `/v1/runs/${runId}`);
      // A 503 (Temporal slow to answer on a loaded machine) says "retry later", as it would to any client.
      if (read.status === 503) return undefined;
      if (read.status !== 200)
        throw new Error(`reading eval case ${c.name}'s run ${runId} answered ${read.status}: ${JSON.stringify(read.body)}`);
      const now = read.body;
      if (now.status !== 'running') return now;
      for (const a of (now.approvals as Approval[] | undefined) ?? []) {
        if (a.status !== 'pending') continue;
        await http(platform, 'POST', `/v1/runs/${runId}/approvals/${a.id}`, { decision: 'approve', args_hash: a.args_hash }, approver);
      }
      return undefined;
    },
    60_000,
    `eval case ${c.name} (run ${runId}) to finish`,
  );
  const output = (run.output ?? {}) as { result?: unknown; evidence?: Evidence[]; actions_taken?: ActionTaken[] };
  const tools = (output.actions_taken ?? []).map((a) => a.tool);
  const evidence = output.evidence ?? [];
  const failures: string[] = [];
  if (run.status !== 'completed') failures.push(`run ${String(run.status)}: ${JSON.stringify(run.error)}`);
  if (c.expect.tools && JSON.stringify(tools) !== JSON.stringify(c.expect.tools)) {
    failures.push(`tools: expected ${JSON.stringify(c.expect.tools)}, called ${JSON.stringify(tools)}`);
  }
  for (const s of c.expect.evidence_contains ?? []) {
    if (!evidence.some((e) => e.excerpt.includes(s) || e.source.includes(s))) failures.push(`no evidence contains ${JSON.stringify(s)}`);
  }
  const summary = (output.result as { summary?: unknown } | undefined)?.summary;
  for (const s of c.expect.summary_contains ?? []) {
    if (typeof summary !== 'string' || !summary.includes(s)) failures.push(`summary does not contain ${JSON.stringify(s)}`);
  }
  return { passed: failures.length === 0, failures, run, tools, result: output.result, evidence };
}
