import { isDeepStrictEqual } from 'node:util';
import type { ActionTaken, Approval, Evidence, RunStatus, Step, Usage } from '../contracts/run';
import { checkOutputSpec } from '../shared/output-spec';
import type { EvalCase, ResultExpectation } from './suite';

/** What one eval run did, as the assertions read it. */
export interface RunRecord {
  run_id: string;
  agent: { name: string; version: string };
  status: RunStatus;
  error?: { type: string; message: string };
  result: unknown;
  evidence: Evidence[];
  actions_taken: ActionTaken[];
  warnings: string[];
  steps: Step[];
  approvals: Approval[];
  usage: Usage;
  wall_ms: number;
  /** Problems of the harness itself (an approval the case had no answer for). */
  problems: string[];
}

/** One assertion's outcome; graded checks carry a score and their threshold. */
export interface CheckResult {
  name: string;
  passed: boolean;
  detail: string;
  score?: number;
  threshold?: number;
}

const show = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));

/** Reads `$.a.b[0].c` (and `.length` of an array or string) from a value. */
export function readPath(value: unknown, jsonPath: string): { found: boolean; value: unknown } {
  let at: unknown = value;
  for (const [, key, index] of jsonPath.slice(1).matchAll(/\.([^.[]+)|\[(\d+)\]/g)) {
    if (key === 'length' && (Array.isArray(at) || typeof at === 'string')) {
      at = at.length;
      continue;
    }
    if (index !== undefined) {
      if (!Array.isArray(at) || Number(index) >= at.length) return { found: false, value: undefined };
      at = at[Number(index)];
    } else {
      if (at === null || typeof at !== 'object' || Array.isArray(at) || !Object.hasOwn(at, key!)) return { found: false, value: undefined };
      at = (at as Record<string, unknown>)[key!];
    }
  }
  return { found: true, value: at };
}

/** The problems of one result expectation (empty when it holds). */
export function checkResultExpectation(result: unknown, e: ResultExpectation): string[] {
  const { found, value } = readPath(result, e.path);
  const out: string[] = [];
  if (e.exists !== undefined && e.exists !== found) out.push(e.exists ? `${e.path} is missing` : `${e.path} exists: ${show(value)}`);
  if (!found) {
    if (e.exists === undefined) out.push(`${e.path} is missing`);
    return out;
  }
  if ('equals' in e && !isDeepStrictEqual(value, e.equals)) out.push(`${e.path}: expected ${show(e.equals)}, got ${show(value)}`);
  if (e.contains !== undefined) {
    const hay = Array.isArray(value)
      ? value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)))
      : [typeof value === 'string' ? value : JSON.stringify(value)];
    if (!hay.some((h) => h.includes(e.contains!))) out.push(`${e.path}: ${show(value)} does not contain ${show(e.contains)}`);
  }
  if (e.matches !== undefined && (typeof value !== 'string' || !new RegExp(e.matches).test(value)))
    out.push(`${e.path}: ${show(value)} does not match /${e.matches}/`);
  if (e.min !== undefined || e.max !== undefined) {
    if (typeof value !== 'number') out.push(`${e.path}: ${show(value)} is not a number`);
    else if ((e.min !== undefined && value < e.min) || (e.max !== undefined && value > e.max))
      out.push(`${e.path}: ${value} is outside [${e.min ?? '-∞'}, ${e.max ?? '∞'}]`);
  }
  return out;
}

const check = (name: string, problems: string[], ok: string): CheckResult => ({
  name,
  passed: problems.length === 0,
  detail: problems.length ? problems.join('; ') : ok,
});

/**
 * Every deterministic assertion of a case against what its run did: status, result (output_spec and
 * JSON paths), trajectory, approvals, warnings and limits. `agentSchema` is the agent's output_schema.
 */
export function checkRun(c: EvalCase, run: RunRecord, agentSchema: Record<string, unknown> | undefined): CheckResult[] {
  const e = c.expect;
  const out: CheckResult[] = [];
  const statusProblems =
    run.status === e.status
      ? []
      : [`expected ${e.status}, got ${run.status}${run.error ? ` (${run.error.type}: ${run.error.message})` : ''}`];
  if (e.error_type !== undefined && run.error?.type !== e.error_type)
    statusProblems.push(`expected failure ${e.error_type}, got ${run.error?.type ?? 'none'}`);
  out.push(check('status', [...run.problems, ...statusProblems], run.status));

  const spec = c.output_spec ?? agentSchema;
  if (e.output_spec && spec && run.status === 'completed') {
    const violations = checkOutputSpec(spec, run.result);
    out.push(
      check(
        'output_spec',
        violations.map((v) => `${v.path}: ${v.message}`),
        'result matches the schema',
      ),
    );
  }
  if (e.result.length)
    out.push(
      check(
        'result',
        e.result.flatMap((x) => checkResultExpectation(run.result, x)),
        `${e.result.length} expectation(s) hold`,
      ),
    );
  out.push(...trajectoryChecks(e, run));
  const limits = limitsCheck(c.limits, run);
  if (limits) out.push(limits);
  return out;
}

/** What the run did on its way: tools called, evidence, steps, approvals asked and warnings. */
function trajectoryChecks(e: EvalCase['expect'], run: RunRecord): CheckResult[] {
  const out: CheckResult[] = [];
  const tools = run.actions_taken.map((a) => a.tool);
  if (e.tools) {
    const same = isDeepStrictEqual(tools, e.tools);
    out.push(check('tools in order', same ? [] : [`expected ${show(e.tools)}, called ${show(tools)}`], show(tools)));
  }
  if (e.tools_include) {
    const missing = e.tools_include.filter((t) => !tools.includes(t));
    out.push(
      check('tools include', missing.length ? [`never called ${show(missing)} (called ${show(tools)})`] : [], show(e.tools_include)),
    );
  }
  if (e.tools_never) {
    const called = e.tools_never.filter((t) => tools.includes(t));
    out.push(check('tools never', called.length ? [`called ${show(called)}`] : [], `none of ${show(e.tools_never)}`));
  }
  if (e.evidence_contains) {
    const missing = e.evidence_contains.filter((s) => !run.evidence.some((x) => x.excerpt.includes(s) || x.source.includes(s)));
    out.push(
      check(
        'evidence',
        missing.map((s) => `no evidence contains ${show(s)}`),
        `${e.evidence_contains.length} string(s) found`,
      ),
    );
  }
  if (e.steps !== undefined) {
    const n = run.steps.length;
    const r = typeof e.steps === 'number' ? { min: e.steps, max: e.steps } : e.steps;
    const bad = (r.min !== undefined && n < r.min) || (r.max !== undefined && n > r.max);
    out.push(
      check(
        'steps',
        bad ? [`${n} steps, expected ${typeof e.steps === 'number' ? e.steps : `[${r.min ?? 0}, ${r.max ?? '∞'}]`}`] : [],
        `${n} steps`,
      ),
    );
  }
  if (e.approvals) {
    const asked = run.approvals.map((a) => a.tool ?? a.kind);
    out.push(
      check('approvals', isDeepStrictEqual(asked, e.approvals) ? [] : [`expected ${show(e.approvals)}, asked ${show(asked)}`], show(asked)),
    );
  }
  if (e.warnings) {
    const problems =
      e.warnings.length === 0
        ? run.warnings.map((w) => `unexpected warning ${show(w)}`)
        : e.warnings.filter((s) => !run.warnings.some((w) => w.includes(s))).map((s) => `no warning contains ${show(s)}`);
    out.push(check('warnings', problems, `${run.warnings.length} warning(s)`));
  }
  return out;
}

/** The case's cost, token, step and wall-time limits; none set, no check. */
function limitsCheck(l: EvalCase['limits'], run: RunRecord): CheckResult | undefined {
  const tokens = run.usage.input_tokens + run.usage.output_tokens;
  const over: string[] = [];
  if (l.max_cost_usd !== undefined && run.usage.cost_usd > l.max_cost_usd) over.push(`cost $${run.usage.cost_usd} > $${l.max_cost_usd}`);
  if (l.max_tokens !== undefined && tokens > l.max_tokens) over.push(`${tokens} tokens > ${l.max_tokens}`);
  if (l.max_steps !== undefined && run.steps.length > l.max_steps) over.push(`${run.steps.length} steps > ${l.max_steps}`);
  if (l.max_wall_seconds !== undefined && run.wall_ms > l.max_wall_seconds * 1000) over.push(`${run.wall_ms} ms > ${l.max_wall_seconds} s`);
  return Object.keys(l).length ? check('limits', over, 'within limits') : undefined;
}
