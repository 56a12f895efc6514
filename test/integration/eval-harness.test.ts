import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadModelConfig } from '../../config/models';
import { PROJECT_ROOT } from '../../config/settings';
import { readBaseline } from '../../evals/baseline';
import { evalCommand, type CommandIO } from '../../evals/cli';
import type { EvalReport } from '../../evals/outcome';
import { loadSuite, type LoadedCase } from '../../evals/suite';
import { EvalSuiteError } from '../../evals/suite';
import { openTestEvalSession, testCommandArgs } from '../support/evals';
import { openTestStore, type TestStore } from '../support/governance';
import {
  messageText,
  startFakeLlmVendor,
  toolResultsOf,
  type ChatRequestBody,
  type FakeLlmVendor,
} from '../../scripts/fakes/openai-vendor';
import type { FakeAnswer } from '../../scripts/fakes/http-vendor';

// The eval command end to end, on the test run's dev server: a model-planned agent is recorded from
// the fake OpenAI vendor into cassettes, its baseline accepted, then a worse version (a changed
// instruction that makes the model call the wrong tool) is recorded too. With the vendor stopped,
// replay keeps the good version green and fails the worse one with a readable diff against the baseline.

const tmp = mkdtempSync(path.join(process.env.TEST_TMP_DIR!, 'eval-harness-'));
const agentsDir = path.join(tmp, 'agents');
const KEY = 'sk-eval-harness-0123456789';

const agentYaml = (version: string, instructions: string) => `name: researcher
version: ${version}
owner: evals-test
description: Answers from the docs, planned by a model.
model: { provider: openai, name: gpt-eval, pricing: { input_per_1k: 0.001, output_per_1k: 0.002 } }
instructions: ${JSON.stringify(instructions)}
tools: [docs_search, ticket_create]
output_schema:
  type: object
  required: [summary, findings]
  properties: { summary: { type: string }, findings: { type: array } }
`;
const SUITE = `cases:
  - name: answers from the docs
    task: How do I dispatch a run?
    expect:
      tools: [docs_search]
      tools_never: [ticket_create]
      result:
        - { path: $.summary, contains: dispatch }
    limits: { max_cost_usd: 0.1, max_steps: 12 }
    graded:
      - name: grounded in the docs
        threshold: 0.7
        judge:
          rubric: The answer cites passages of the platform docs.
          model: { provider: openai, name: gpt-judge }
`;

/** A model that follows its instructions: searches, or (told to file tickets) files one; the judge scores citations. */
function vendorScript(body: ChatRequestBody): FakeAnswer {
  const system = body.messages[0]?.content ?? '';
  if (system.includes("You grade an AI agent's answer")) {
    const cited = messageText(body).includes('docs/');
    return { content: { type: 'final', result: { score: cited ? 0.9 : 0.2, reason: cited ? 'cites docs' : 'cites nothing' }, reason: '' } };
  }
  const observed = toolResultsOf(body).length > 0;
  if (observed) {
    const findings = messageText(body).includes('docs/') ? [{ source: 'docs/api.md', excerpt: 'POST /v1/runs' }] : [];
    return { content: { type: 'final', result: { summary: 'To dispatch a run, POST /v1/runs.', findings }, reason: 'done' } };
  }
  if (system.includes('File a ticket'))
    return { toolCalls: [{ name: 'ticket_create', args: { title: 'dispatch question', body: 'asked how to dispatch', priority: 'low' } }] };
  return { toolCalls: [{ name: 'docs_search', args: { query: 'dispatch a run', limit: 2 } }] };
}

let vendor: FakeLlmVendor;
let store: TestStore;
let vendorStopped = false;
beforeAll(async () => {
  store = await openTestStore();
  vendor = await startFakeLlmVendor();
  vendor.respondWith(vendorScript);
  mkdirSync(path.join(agentsDir, 'researcher', 'evals'), { recursive: true });
  writeFileSync(
    path.join(agentsDir, 'researcher', 'agent.yaml'),
    agentYaml('1.0.0', 'Search the platform docs with docs_search, then answer.'),
  );
  writeFileSync(
    path.join(agentsDir, 'researcher', 'agent@1.1.0.yaml'),
    agentYaml('1.1.0', 'File a ticket for every question, then answer.'),
  );
  writeFileSync(path.join(agentsDir, 'researcher', 'evals', 'docs.yaml'), SUITE);
});
afterAll(async () => {
  await store?.close();
  if (!vendorStopped) await vendor?.close();
});

async function run(argv: string[], url: string): Promise<{ code: number; out: string; report: EvalReport }> {
  const { args, session } = await testCommandArgs(store.store);
  const reportDir = mkdtempSync(path.join(tmp, 'report-'));
  let out = '';
  const io: CommandIO = {
    out: (t) => (out += t),
    err: () => undefined,
    session: { ...session, modelConfig: loadModelConfig({ OPENAI_BASE_URL: url, OPENAI_API_KEY: KEY }, agentsDir) },
  };
  const code = await evalCommand([...argv, ...args, '--agents-dir', agentsDir, '--report-dir', reportDir], io);
  const report = JSON.parse(readFileSync(path.join(reportDir, 'report.json'), 'utf8')) as EvalReport;
  return { code, out, report };
}

test('a worse agent version fails its suite against the baseline, replayed from cassettes with the vendor stopped', async () => {
  const recorded = await run(['researcher@1.0.0', '--record', '--update-baseline'], vendor.url);
  expect(recorded.code).toBe(0);
  expect(readBaseline(path.join(agentsDir, 'researcher', 'evals'))?.cases['docs/answers from the docs']).toMatchObject({
    verdict: 'pass',
    score: 0.9,
  });
  await run(['researcher@1.1.0', '--record'], vendor.url);
  const cassettes = path.join(agentsDir, 'researcher', 'evals', 'cassettes');
  // Two plan calls per version, and one judge call each.
  expect(readdirSync(cassettes).filter((f) => f.endsWith('.json'))).toHaveLength(4);
  expect(readdirSync(path.join(cassettes, 'judge'))).toHaveLength(2);
  const sent = vendor.requests.length;
  const stopped = vendor.url;
  await vendor.close();
  vendorStopped = true;

  const good = await run(['researcher@1.0.0'], stopped);
  expect(good.code).toBe(0);
  expect(good.report.cases.map((c) => [c.verdict, c.baseline?.change])).toEqual([['pass', '=']]);

  const worse = await run(['researcher@1.1.0'], stopped);
  expect(worse.code).toBe(1);
  expect(worse.report.summary).toMatchObject({ failed: 1, regressions: 1 });
  // The diff a person reads: which checks failed, and that it passed before.
  expect(worse.out).toMatch(/researcher@1\.1\.0 docs\/answers from the docs\s+FAIL\s+0\.20.*REGRESSED, score 0\.90→0\.20/);
  expect(worse.out).toContain('tools in order: expected ["docs_search"], called ["ticket_create"]');
  expect(worse.out).toContain('tools never: called ["ticket_create"]');
  expect(worse.out).toContain('graded: grounded in the docs: judge: cites nothing');
  expect(worse.out).toContain('vs baseline: passed in the baseline, now fail');

  const compared = await run(['--compare', 'researcher@1.0.0', 'researcher@1.1.0'], stopped);
  expect(compared.code).toBe(1);
  expect(compared.out).toMatch(/docs\/answers from the docs\s+PASS 0\.90.*FAIL 0\.20.*pass→fail/);
  // Nothing reached the (stopped) vendor while replaying.
  expect(vendor.requests.length).toBe(sent);

  // A baseline that cost half as much: the same run is now +100%, past the 25% margin.
  const file = path.join(agentsDir, 'researcher', 'evals', 'baseline.json');
  const accepted = JSON.parse(readFileSync(file, 'utf8')) as { cases: Record<string, { cost_usd: number }> };
  accepted.cases['docs/answers from the docs']!.cost_usd /= 2;
  writeFileSync(file, JSON.stringify(accepted));
  const costly = await run(['researcher@1.0.0'], stopped);
  expect(costly.code).toBe(1);
  expect(costly.report.cases[0]).toMatchObject({ verdict: 'pass', baseline: { change: 'cost +100%' } });
  expect(costly.out).toMatch(/vs baseline: cost \$0\.\d+ is \+100% over the baseline's \$0\.\d+ \(margin 25%\)/);
}, 180_000);

test('the reports: JUnit XML with the failure, HTML with the trajectory', async () => {
  const { args, session } = await testCommandArgs(store.store);
  const reportDir = mkdtempSync(path.join(tmp, 'docs-report-'));
  const suiteCopy = path.join(tmp, 'docs-agents');
  cpSync(path.join(PROJECT_ROOT, 'agents', 'docs-researcher'), path.join(suiteCopy, 'docs-researcher'), { recursive: true });
  // One expectation the agent does not meet, so the reports carry a failure.
  writeFileSync(
    path.join(suiteCopy, 'docs-researcher', 'evals', 'wrong.yaml'),
    "cases:\n  - name: wrong tool\n    task: How do I dispatch a run?\n    expect: { tools: [ticket_create], result: [{ path: $.summary, equals: 'nope' }] }\n",
  );
  const code = await evalCommand(['docs-researcher', ...args, '--agents-dir', suiteCopy, '--report-dir', reportDir], {
    out: () => undefined,
    err: () => undefined,
    session,
  });
  expect(code).toBe(1);
  const junit = readFileSync(path.join(reportDir, 'junit.xml'), 'utf8');
  expect(junit).toContain('<testsuite name="docs-researcher@1.0.0" tests="3" failures="1" errors="0"');
  expect(junit).toContain('tools in order: expected [&quot;ticket_create&quot;], called [&quot;docs_search&quot;]');
  expect(junit).toContain('$.summary: expected &quot;nope&quot;');
  const html = readFileSync(path.join(reportDir, 'report.html'), 'utf8');
  expect(html).toContain('<td>ToolCall</td>');
  expect(html).toMatch(/<summary><span class="fail">FAIL<\/span> docs-researcher@1\.0\.0 — wrong\/wrong tool/);
  expect(html).not.toMatch(/<script|https?:\/\//);
}, 120_000);

test('a suite file with a mistake fails with its file and line', () => {
  const dir = path.join(tmp, 'bad-agents', 'x', 'evals');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'a.yaml'), 'cases:\n  - name: one\n    task: t\n    expect:\n      tools: docs_search\n');
  expect(() => loadSuite(path.join(tmp, 'bad-agents'), 'x')).toThrow(EvalSuiteError);
  expect(() => loadSuite(path.join(tmp, 'bad-agents'), 'x')).toThrow(/a\.yaml:5: cases\.0\.expect\.tools: /);
});

test('an approval the case does not answer fails the case instead of hanging', async () => {
  const session = await openTestEvalSession({ governance: store.store });
  try {
    const suite = loadSuite(path.join(PROJECT_ROOT, 'agents'), 'ticket-filer');
    const filed = suite.cases.find((c) => c.case.name === 'files a ticket for a stuck run')!;
    const unanswered: LoadedCase = { ...filed, case: { ...filed.case, approvals: [] } };
    const outcome = await session.runCase('ticket-filer', unanswered, undefined);
    expect(outcome.verdict).toBe('fail');
    expect(outcome.checks.find((c) => c.name === 'status')?.detail).toContain(
      'the run asked for approval of ticket_create (step 7) and the case has no answer left',
    );
  } finally {
    await session.close();
  }
}, 120_000);

test('--trials against a live model reports the pass rate and the score spread', async () => {
  const live = await startFakeLlmVendor();
  // The second of three runs of the case strays to the wrong tool: a flaky model.
  let plans = 0;
  live.respondWith((body) => {
    const answer = vendorScript(body);
    const first = answer.toolCalls?.[0]?.name === 'docs_search';
    if (first && ++plans === 2) return { toolCalls: [{ name: 'ticket_create', args: { title: 't', body: 'b', priority: 'low' } }] };
    return answer;
  });
  try {
    const { code, out, report } = await run(['researcher@1.0.0', '--live', '--trials', '3'], live.url);
    expect(code).toBe(1);
    expect(report.cases[0]!.trials).toEqual({
      trials: 3,
      passed: 2,
      pass_rate: 2 / 3,
      score: { min: 0.2, max: 0.9, mean: expect.closeTo(2 / 3, 5), stdev: expect.closeTo(0.33, 2) },
    });
    expect(out).toMatch(/researcher@1\.0\.0 docs\/answers from the docs\s+FAIL 2\/3\s+0\.67±0\.33/);
  } finally {
    await live.close();
  }
}, 120_000);
