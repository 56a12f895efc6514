import { checkResultExpectation, checkRun, readPath, type RunRecord } from '../../evals/assertions';
import { compareToBaseline, type Baseline } from '../../evals/baseline';
import { caseScore } from '../../evals/graded';
import type { CaseOutcome } from '../../evals/outcome';
import { EvalCaseSchema } from '../../evals/suite';

const result = { summary: 'Found 2 passages about runs', findings: [{ source: 'docs/api.md#L3', excerpt: 'POST /v1/runs' }], n: 4 };

test('readPath reads keys, indexes and lengths, and says when a path is missing', () => {
  expect(readPath(result, '$')).toEqual({ found: true, value: result });
  expect(readPath(result, '$.findings[0].source')).toEqual({ found: true, value: 'docs/api.md#L3' });
  expect(readPath(result, '$.findings.length')).toEqual({ found: true, value: 1 });
  expect(readPath(result, '$.findings[3]').found).toBe(false);
  expect(readPath(result, '$.nope.deeper').found).toBe(false);
});

test('result expectations: equals, contains, matches, ranges, exists', () => {
  const at = (e: Record<string, unknown>) => checkResultExpectation(result, { path: '$.summary', ...e });
  expect(at({ contains: 'passages' })).toEqual([]);
  expect(at({ contains: 'tickets' })).toEqual(['$.summary: "Found 2 passages about runs" does not contain "tickets"']);
  expect(at({ matches: '^Found \\d+' })).toEqual([]);
  expect(at({ matches: '^Lost' })).toEqual(['$.summary: "Found 2 passages about runs" does not match /^Lost/']);
  expect(checkResultExpectation(result, { path: '$.n', min: 1, max: 3 })).toEqual(['$.n: 4 is outside [1, 3]']);
  expect(checkResultExpectation(result, { path: '$.n', equals: 4 })).toEqual([]);
  expect(checkResultExpectation(result, { path: '$.findings', contains: 'POST /v1/runs' })).toEqual([]);
  expect(checkResultExpectation(result, { path: '$.gone', exists: false })).toEqual([]);
  expect(checkResultExpectation(result, { path: '$.gone', equals: 1 })).toEqual(['$.gone is missing']);
});

const run: RunRecord = {
  run_id: 'r',
  agent: { name: 'a', version: '1.0.0' },
  status: 'completed',
  result,
  evidence: [{ source: 'docs/api.md#L3', excerpt: 'POST /v1/runs' }],
  actions_taken: [{ step: 2, tool: 'docs_search', side_effect: 'read', args: {} }],
  warnings: ['output repaired once'],
  steps: Array.from({ length: 7 }, (_, i) => ({ index: i + 1, type: 'Plan', started_at: '', input_summary: '', reason: '' })),
  approvals: [],
  usage: { input_tokens: 900, output_tokens: 100, cost_usd: 0.002 },
  wall_ms: 1500,
  problems: [],
};

test('checkRun names each failed assertion: trajectory, steps, warnings, limits', () => {
  const c = EvalCaseSchema.parse({
    name: 'x',
    task: 't',
    expect: { tools: ['ticket_create'], tools_include: ['docs_search'], tools_never: ['docs_search'], steps: { max: 5 }, warnings: [] },
    limits: { max_cost_usd: 0.001, max_tokens: 500, max_wall_seconds: 1 },
  });
  const failed = checkRun(c, run, undefined).filter((x) => !x.passed);
  expect(failed.map((f) => `${f.name}: ${f.detail}`)).toEqual([
    'tools in order: expected ["ticket_create"], called ["docs_search"]',
    'tools never: called ["docs_search"]',
    'steps: 7 steps, expected [0, 5]',
    'warnings: unexpected warning "output repaired once"',
    'limits: cost $0.002 > $0.001; 1000 tokens > 500; 1500 ms > 1 s',
  ]);
});

test('the result is checked against the output_spec', () => {
  const c = EvalCaseSchema.parse({ name: 'x', task: 't', output_spec: { type: 'object', required: ['answer'] } });
  expect(checkRun(c, run, undefined).find((x) => x.name === 'output_spec')).toMatchObject({ passed: false });
});

const outcome = (o: Partial<CaseOutcome>): CaseOutcome => ({
  id: 's/c',
  name: 'c',
  at: 'f:1',
  agent: 'a@1.0.0',
  verdict: 'pass',
  score: 1,
  checks: [],
  steps: 7,
  tokens: 1000,
  cost_usd: 0.01,
  wall_ms: 1,
  ...o,
});
const baseline: Baseline = {
  agent: 'a',
  version: '1.0.0',
  cost_margin: 0.25,
  cases: { 's/c': { verdict: 'pass', score: 1, steps: 7, tokens: 1000, cost_usd: 0.01 } },
};

test('the baseline: a pass that now fails, cost past the margin and a graded score below threshold are regressions', () => {
  expect(compareToBaseline(outcome({}), baseline)).toEqual({ change: '=' });
  expect(compareToBaseline(outcome({ cost_usd: 0.012, tokens: 1200 }), baseline)).toEqual({ change: '=' });
  expect(compareToBaseline(outcome({ id: 'other' }), baseline)).toEqual({ change: 'new' });
  const failed = compareToBaseline(
    outcome({ verdict: 'fail', score: 0.5, checks: [{ name: 'graded: q', passed: false, detail: 'meh', score: 0.5, threshold: 0.8 }] }),
    baseline,
  );
  expect(failed.change).toBe('REGRESSED, score 1.00→0.50');
  expect(failed.regression).toBe('passed in the baseline, now fail (failed: graded: q); graded: q scored 0.50, below its threshold 0.8');
  expect(compareToBaseline(outcome({ cost_usd: 0.02 }), baseline)).toEqual({
    change: 'cost +100%',
    regression: "cost $0.020000 is +100% over the baseline's $0.010000 (margin 25%)",
  });
  expect(
    compareToBaseline(outcome({ verdict: 'pass' }), { ...baseline, cases: { 's/c': { ...baseline.cases['s/c']!, verdict: 'fail' } } })
      .change,
  ).toBe('FIXED');
});

test('a case scores the mean of its graded checks, else the share of checks passed', () => {
  expect(
    caseScore([
      { name: 'a', passed: true, detail: '' },
      { name: 'b', passed: false, detail: '' },
    ]),
  ).toBe(0.5);
  expect(
    caseScore([
      { name: 'g', passed: true, detail: '', score: 0.9, threshold: 0.5 },
      { name: 'b', passed: false, detail: '' },
    ]),
  ).toBe(0.9);
});
