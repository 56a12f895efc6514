import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { BaselineChange, CaseOutcome } from './outcome';

const BaselineCaseSchema = z
  .object({
    verdict: z.enum(['pass', 'fail', 'error']),
    score: z.number(),
    steps: z.number(),
    tokens: z.number(),
    cost_usd: z.number(),
  })
  .strict();

/** agents/<name>/evals/baseline.json: the last accepted result of each case, and how much cost may grow. */
export const BaselineSchema = z
  .object({
    agent: z.string(),
    version: z.string(),
    /** Growth of a case's cost over its baseline that fails the eval: 0.25 is +25%. */
    cost_margin: z.number().min(0).default(0.25),
    /**
     * The same for tokens, when set. Off by default: the scripted planner's token counts are estimates of
     * what it read, so a docs edit moves them; set it for models whose cost is not priced.
     */
    token_margin: z.number().min(0).optional(),
    cases: z.record(z.string(), BaselineCaseSchema),
  })
  .strict();
export type Baseline = z.infer<typeof BaselineSchema>;

/** The baseline file of an agent's suite folder. */
export const baselineFile = (suiteDir: string) => path.join(suiteDir, 'baseline.json');

/** Reads a baseline, or undefined when the suite has none yet. */
export function readBaseline(suiteDir: string): Baseline | undefined {
  const file = baselineFile(suiteDir);
  if (!existsSync(file)) return undefined;
  const parsed = BaselineSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${file}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

const round = (x: number, digits = 6) => Number(x.toFixed(digits));

/** The baseline that accepts these outcomes (keeping the old margin). Timings stay out: they differ by machine. */
export function baselineOf(agent: string, version: string, outcomes: CaseOutcome[], previous?: Baseline): Baseline {
  const cases = Object.fromEntries(
    [...outcomes]
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((o) => [o.id, { verdict: o.verdict, score: round(o.score, 4), steps: o.steps, tokens: o.tokens, cost_usd: round(o.cost_usd) }]),
  );
  return {
    agent,
    version,
    cost_margin: previous?.cost_margin ?? 0.25,
    ...(previous?.token_margin !== undefined ? { token_margin: previous.token_margin } : {}),
    cases,
  };
}

/** Writes the baseline as stable, reviewable JSON. */
export function writeBaseline(suiteDir: string, baseline: Baseline): void {
  writeFileSync(baselineFile(suiteDir), `${JSON.stringify(baseline, null, 2)}\n`);
}

const pct = (now: number, then: number) => `${now >= then ? '+' : ''}${Math.round(((now - then) / then) * 100)}%`;

/**
 * What changed for one case against the baseline. A regression is: a case that passed now fails, a
 * graded score now below its threshold, or cost (or, with a token_margin, tokens) grown past its margin.
 */
export function compareToBaseline(o: CaseOutcome, baseline: Baseline | undefined): BaselineChange {
  const then = baseline?.cases[o.id];
  if (!then) return { change: 'new' };
  const notes: string[] = [];
  const regressions: string[] = [];
  if (then.verdict === 'pass' && o.verdict !== 'pass') {
    const failed = o.checks.filter((c) => !c.passed).map((c) => c.name);
    regressions.push(
      `passed in the baseline, now ${o.verdict}${failed.length ? ` (failed: ${failed.join(', ')})` : o.error ? ` (${o.error})` : ''}`,
    );
    notes.push('REGRESSED');
  } else if (then.verdict !== 'pass' && o.verdict === 'pass') notes.push('FIXED');
  const below = o.checks.filter((c) => c.score !== undefined && c.threshold !== undefined && c.score < c.threshold);
  if (Math.abs(o.score - then.score) >= 0.005) notes.push(`score ${then.score.toFixed(2)}→${o.score.toFixed(2)}`);
  if (below.length && then.verdict === 'pass')
    regressions.push(...below.map((c) => `${c.name} scored ${c.score!.toFixed(2)}, below its threshold ${c.threshold}`));
  const margin = baseline?.cost_margin ?? 0.25;
  if (then.cost_usd > 0 && o.cost_usd > then.cost_usd * (1 + margin)) {
    notes.push(`cost ${pct(o.cost_usd, then.cost_usd)}`);
    regressions.push(
      `cost $${o.cost_usd.toFixed(6)} is ${pct(o.cost_usd, then.cost_usd)} over the baseline's $${then.cost_usd.toFixed(6)} (margin ${margin * 100}%)`,
    );
  }
  const tokenMargin = baseline?.token_margin;
  if (then.tokens > 0 && Math.abs(o.tokens - then.tokens) / then.tokens > (tokenMargin ?? 0.25))
    notes.push(`tokens ${pct(o.tokens, then.tokens)}`);
  if (tokenMargin !== undefined && then.tokens > 0 && o.tokens > then.tokens * (1 + tokenMargin)) {
    regressions.push(
      `${o.tokens} tokens is ${pct(o.tokens, then.tokens)} over the baseline's ${then.tokens} (margin ${tokenMargin * 100}%)`,
    );
  }
  if (o.steps !== then.steps) notes.push(`steps ${then.steps}→${o.steps}`);
  return { change: notes.join(', ') || '=', ...(regressions.length ? { regression: regressions.join('; ') } : {}) };
}

/** Baseline cases the run no longer has (renamed or deleted): reported, not failed. */
export function missingFromRun(baseline: Baseline | undefined, outcomes: CaseOutcome[]): string[] {
  if (!baseline) return [];
  const ids = new Set(outcomes.map((o) => o.id));
  return Object.keys(baseline.cases).filter((id) => !ids.has(id));
}
