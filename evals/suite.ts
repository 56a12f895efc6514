import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ModelSettingsSchema } from '../contracts/agent';
import { ConstraintsSchema } from '../contracts/run';
import { readYamlFile } from '../config/yaml-file';

/** A suite file that cannot be used; the message starts with `file:line:`. */
export class EvalSuiteError extends Error {
  override name = 'EvalSuiteError';
}

/** A JSON path into the result: `$`, `$.a.b`, `$.items[0].name`, `$.items.length`. */
const JsonPathSchema = z
  .string()
  .regex(/^\$(\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\])*$/, 'must be a JSON path like $.summary or $.findings[0].source');

/** One expectation on a value of the result, found by its JSON path. */
export const ResultExpectationSchema = z
  .object({
    path: JsonPathSchema,
    equals: z.unknown().optional(),
    /** A string the value (or, for an array, one of its items as JSON) contains. */
    contains: z.string().optional(),
    /** A regular expression the string value matches. */
    matches: z.string().optional(),
    /** A numeric range (inclusive). */
    min: z.number().optional(),
    max: z.number().optional(),
    /** The path exists (true) or does not (false). */
    exists: z.boolean().optional(),
  })
  .strict()
  .refine(
    (e) => ['equals', 'contains', 'matches', 'min', 'max', 'exists'].some((k) => k in e),
    'needs one of equals, contains, matches, min, max, exists',
  )
  .refine((e) => {
    if (e.matches === undefined) return true;
    try {
      new RegExp(e.matches);
      return true;
    } catch {
      return false;
    }
  }, 'matches is not a valid regular expression');
export type ResultExpectation = z.infer<typeof ResultExpectationSchema>;

const JudgeSchema = z
  .object({
    /** What a good answer does; the judge answers a score from 0 to 1 against it. */
    rubric: z.string().min(1),
    /** The grading model (openai or openai-compatible); its exchanges are cassettes under evals/cassettes/judge/. */
    model: ModelSettingsSchema,
  })
  .strict();

/** A check that scores 0..1 and passes at or above its threshold. */
export const GradedCheckSchema = z
  .object({
    name: z.string().min(1),
    threshold: z.number().min(0).max(1).default(1),
    /** Score: the fraction of these strings the value at `path` (JSON) contains. */
    keywords: z
      .object({ path: JsonPathSchema.default('$'), words: z.array(z.string().min(1)).min(1) })
      .strict()
      .optional(),
    judge: JudgeSchema.optional(),
  })
  .strict()
  .refine((g) => (g.keywords ? 1 : 0) + (g.judge ? 1 : 0) === 1, 'a graded check needs exactly one of keywords, judge');
export type GradedCheck = z.infer<typeof GradedCheckSchema>;

export const CaseApprovalSchema = z
  .object({
    decision: z.enum(['approve', 'reject']),
    edited_args: z.record(z.string(), z.unknown()).optional(),
    comment: z.string().optional(),
  })
  .strict();
export type CaseApproval = z.infer<typeof CaseApprovalSchema>;

const ToolListSchema = z.array(z.string().min(1));

/** What a case asserts about its run. */
export const ExpectSchema = z
  .object({
    status: z.enum(['completed', 'failed', 'cancelled']).default('completed'),
    /** The failure type of a failed run (e.g. BudgetExceeded). */
    error_type: z.string().optional(),
    /** Check the result against the case's output_spec (else the agent's output_schema). */
    output_spec: z.boolean().default(true),
    result: z.array(ResultExpectationSchema).default([]),
    /** Tools called, exactly and in order. */
    tools: ToolListSchema.optional(),
    /** Tools that must be among those called, in any order. */
    tools_include: ToolListSchema.optional(),
    /** Tools that must never be called. */
    tools_never: ToolListSchema.optional(),
    /** Strings some evidence excerpt or source must contain. */
    evidence_contains: z.array(z.string()).optional(),
    /** The number of recorded steps, exactly or as a range. */
    steps: z
      .union([
        z.number().int().min(0),
        z.object({ min: z.number().int().min(0).optional(), max: z.number().int().min(0).optional() }).strict(),
      ])
      .optional(),
    /** The approvals the run asked for, by tool, in order. */
    approvals: ToolListSchema.optional(),
    /** Strings each of which some warning must contain; `[]` means no warnings at all. */
    warnings: z.array(z.string()).optional(),
  })
  .strict();
export type Expect = z.infer<typeof ExpectSchema>;

/** Upper bounds on what one run may spend. */
export const LimitsSchema = z
  .object({
    max_cost_usd: z.number().min(0).optional(),
    max_tokens: z.number().int().min(0).optional(),
    max_steps: z.number().int().min(0).optional(),
    max_wall_seconds: z.number().positive().optional(),
  })
  .strict();

/** One eval case, as written in agents/<name>/evals/*.yaml. */
export const EvalCaseSchema = z
  .object({
    name: z.string().min(1),
    task: z.string().min(1),
    context: z.record(z.string(), z.unknown()).default({}),
    constraints: ConstraintsSchema.default({}),
    output_spec: z.record(z.string(), z.unknown()).optional(),
    /** The answers to the approvals the run asks for, in order; an approval with no answer left fails the case. */
    approvals: z.array(CaseApprovalSchema).default([]),
    expect: ExpectSchema.default({ status: 'completed', output_spec: true, result: [] }),
    limits: LimitsSchema.default({}),
    graded: z.array(GradedCheckSchema).default([]),
  })
  .strict();
export type EvalCase = z.infer<typeof EvalCaseSchema>;

/** A suite file: one or more cases. */
export const SuiteFileSchema = z
  .object({ description: z.string().optional(), cases: z.array(EvalCaseSchema).min(1) })
  .strict()
  .superRefine((s, ctx) => {
    const seen = new Set<string>();
    for (const [i, c] of s.cases.entries()) {
      if (seen.has(c.name)) ctx.addIssue({ code: 'custom', path: ['cases', i, 'name'], message: `case name "${c.name}" is used twice` });
      seen.add(c.name);
    }
  });

/** A case with where it came from: `id` is `<file stem>/<case name>`, stable for baselines. */
export interface LoadedCase {
  id: string;
  file: string;
  /** `file:line` of the case. */
  at: string;
  case: EvalCase;
}

/** An agent's suite: every case of its evals/*.yaml, in file-name order. */
export interface AgentSuite {
  agent: string;
  dir: string;
  cases: LoadedCase[];
}

/** The folder of an agent's suite. */
export function suiteDir(agentsDir: string, agent: string): string {
  return path.join(agentsDir, agent, 'evals');
}

/** Loads and validates agents/<agent>/evals/*.yaml; throws EvalSuiteError with file:line. */
export function loadSuite(agentsDir: string, agent: string): AgentSuite {
  const dir = suiteDir(agentsDir, agent);
  if (!existsSync(dir)) throw new EvalSuiteError(`${agent} has no eval suite (${dir} does not exist)`);
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  if (files.length === 0) throw new EvalSuiteError(`${dir} has no *.yaml suite files`);
  const cases: LoadedCase[] = [];
  for (const f of files) {
    const file = path.join(dir, f);
    const { data, at } = readYamlFile(file, SuiteFileSchema, (message) => new EvalSuiteError(message));
    const stem = f.replace(/\.ya?ml$/, '');
    data.cases.forEach((c, i) => cases.push({ id: `${stem}/${c.name}`, file, at: at(['cases', i]), case: c }));
  }
  return { agent, dir, cases };
}

/** The agents under agentsDir that have a suite folder. */
export function agentsWithSuites(agentsDir: string): string[] {
  if (!existsSync(agentsDir)) return [];
  return readdirSync(agentsDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(suiteDir(agentsDir, e.name)))
    .map((e) => e.name)
    .sort();
}
