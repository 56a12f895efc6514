import type { ModelProvider } from '../activities/model/provider';
import { AgentDefinitionSchema } from '../contracts/agent';
import type { CheckResult, RunRecord } from './assertions';
import { readPath } from './assertions';
import type { EvalCase, GradedCheck } from './suite';

/** Grades with a model: the providers answer the judge's Plan request (their cassettes are the judge's). */
export interface Judge {
  providers: ModelProvider[];
}

const VERDICT_SCHEMA = {
  type: 'object',
  required: ['score', 'reason'],
  properties: { score: { type: 'number', minimum: 0, maximum: 1 }, reason: { type: 'string' } },
};

/**
 * Asks the judge model for a 0..1 score of the run's result against the rubric. The judge is an
 * ordinary one-step plan request with no tools, so every vendor (and its cassettes) works unchanged.
 */
async function judgeScore(judge: Judge, g: GradedCheck & { judge: NonNullable<GradedCheck['judge']> }, c: EvalCase, run: RunRecord) {
  const provider = judge.providers.find((p) => p.name === g.judge.model.provider);
  if (!provider) throw new Error(`no judge provider "${g.judge.model.provider}"`);
  // Named after the graded agent, so its exchanges are cassettes of that agent's suite (evals/cassettes/judge/).
  const definition = AgentDefinitionSchema.parse({
    name: run.agent.name,
    version: '0.0.0-judge',
    owner: 'evals',
    description: 'Grades an agent answer against a rubric.',
    model: g.judge.model,
    instructions: `You grade an AI agent's answer. Rubric: ${g.judge.rubric}\nAnswer with a score from 0 (fails the rubric) to 1 (meets it fully) and a one-sentence reason.`,
    output_schema: VERDICT_SCHEMA,
  });
  const planned = await provider.plan({
    run_id: `judge-${run.run_id}`,
    step: 1,
    agent: { definition, tools: {} },
    task: `Grade the answer to this task: ${c.task}`,
    context: { answer: run.result, evidence: run.evidence.slice(0, 10) },
    observations: [],
    output_spec: VERDICT_SCHEMA,
  });
  if (planned.action.type !== 'final') throw new Error(`the judge asked for tool ${planned.action.tool} instead of grading`);
  const verdict = planned.action.result as { score?: unknown; reason?: unknown };
  if (typeof verdict.score !== 'number') throw new Error(`the judge answered no score: ${JSON.stringify(verdict)}`);
  return { score: Math.max(0, Math.min(1, verdict.score)), reason: typeof verdict.reason === 'string' ? verdict.reason : '' };
}

/** Scores each graded check of a case; a check passes at or above its threshold. */
export async function gradeRun(c: EvalCase, run: RunRecord, judge: Judge | undefined): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const g of c.graded) {
    let score = 0;
    let detail: string;
    if (g.keywords) {
      const { value } = readPath(run.result, g.keywords.path);
      const text = (typeof value === 'string' ? value : JSON.stringify(value ?? '')).toLowerCase();
      const found = g.keywords.words.filter((w) => text.includes(w.toLowerCase()));
      score = found.length / g.keywords.words.length;
      const missing = g.keywords.words.filter((w) => !found.includes(w));
      detail = `${found.length}/${g.keywords.words.length} keywords${missing.length ? `, missing ${JSON.stringify(missing)}` : ''}`;
    } else if (g.judge) {
      if (!judge) throw new Error('a judge check needs judge providers');
      try {
        const v = await judgeScore(judge, { ...g, judge: g.judge }, c, run);
        score = v.score;
        detail = `judge: ${v.reason}`;
      } catch (err) {
        detail = `judge failed: ${(err as Error).message}`;
      }
    } else detail = 'nothing to grade';
    out.push({ name: `graded: ${g.name}`, passed: score >= g.threshold, detail, score, threshold: g.threshold });
  }
  return out;
}

/** The case's score: the mean of its graded scores, else the share of its checks that passed. */
export function caseScore(checks: CheckResult[]): number {
  const graded = checks.filter((c) => c.score !== undefined);
  if (graded.length) return graded.reduce((s, c) => s + c.score!, 0) / graded.length;
  return checks.length ? checks.filter((c) => c.passed).length / checks.length : 1;
}
