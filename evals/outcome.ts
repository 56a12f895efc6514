import type { CheckResult, RunRecord } from './assertions';

/** What the baseline says about a case now. */
export interface BaselineChange {
  /** Short, for the table: `=`, `new`, `FIXED`, `REGRESSED`, `score 0.90→0.50`, `cost +40%`. */
  change: string;
  /** Set when this change fails the eval (a pass now fails, a score below threshold, cost past the margin). */
  regression?: string;
}

/** Pass rate and score spread over `--trials` runs of one case. */
export interface TrialStats {
  trials: number;
  passed: number;
  pass_rate: number;
  score: { min: number; max: number; mean: number; stdev: number };
}

/** One case's result: verdict, score, what it spent, the run itself, and what changed against the baseline. */
export interface CaseOutcome {
  id: string;
  name: string;
  /** `file:line` of the case. */
  at: string;
  agent: string;
  verdict: 'pass' | 'fail' | 'error';
  score: number;
  checks: CheckResult[];
  steps: number;
  tokens: number;
  cost_usd: number;
  wall_ms: number;
  run?: RunRecord;
  /** Set when the case could not run at all. */
  error?: string;
  trials?: TrialStats;
  baseline?: BaselineChange;
}

/** A whole eval: every case run, and whether it gates (exit code). */
export interface EvalReport {
  started_at: string;
  mode: string;
  agents: string[];
  cases: CaseOutcome[];
  summary: { cases: number; passed: number; failed: number; errors: number; regressions: number; wall_ms: number };
}

/** Mean, min, max and population stdev of scores. */
export function spread(scores: number[]): TrialStats['score'] {
  const mean = scores.reduce((s, x) => s + x, 0) / Math.max(1, scores.length);
  const stdev = Math.sqrt(scores.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, scores.length));
  return { min: Math.min(...scores), max: Math.max(...scores), mean, stdev };
}

/** Totals over the outcomes. */
export function summarize(cases: CaseOutcome[], wallMs: number): EvalReport['summary'] {
  return {
    cases: cases.length,
    passed: cases.filter((c) => c.verdict === 'pass').length,
    failed: cases.filter((c) => c.verdict === 'fail').length,
    errors: cases.filter((c) => c.verdict === 'error').length,
    regressions: cases.filter((c) => c.baseline?.regression).length,
    wall_ms: wallMs,
  };
}
