import { cpSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { openAIProvider } from '../../activities/model/vendors';
import { createToolRegistry } from '../../activities/tools';
import { AgentRegistry } from '../../agents/registry';
import { loadModelConfig } from '../../config/models';
import { loadSettings, PROJECT_ROOT } from '../../config/settings';
import { captureCommand } from '../../evals/capture';
import { evalCommand } from '../../evals/cli';
import type { EvalReport } from '../../evals/outcome';
import { testCommandArgs } from '../support/evals';
import { openTestStore } from '../support/governance';
import { startFakeLlmVendor, toolResultsOf, type ChatRequestBody } from '../../scripts/fakes/openai-vendor';
import type { FakeAnswer } from '../../scripts/fakes/http-vendor';
import { http, startPlatform, testTemporal, waitForRun } from '../support/platform';

// From production to eval case: a run of the OpenAI researcher on the test server (its model the fake
// OpenAI vendor) is captured from its Temporal history into a case and plan cassettes; with the vendor
// stopped, `npm run eval` replays the case offline and it passes.

const KEY = 'sk-capture-0123456789';
const tmp = mkdtempSync(path.join(process.env.TEST_TMP_DIR!, 'eval-capture-'));
const agentsDir = path.join(tmp, 'agents');
cpSync(path.join(PROJECT_ROOT, 'agents/examples/openai-researcher/agent.yaml'), path.join(agentsDir, 'openai-researcher/agent.yaml'));

const script = (body: ChatRequestBody): FakeAnswer =>
  toolResultsOf(body).some((r) => r.tool === 'docs_search')
    ? { content: { type: 'final', result: { summary: 'POST /v1/runs starts a run.', findings: [] }, reason: 'found it' } }
    : { toolCalls: [{ name: 'docs_search', args: { query: 'dispatch a run' } }] };

test('a captured run replays as an eval case with the vendor stopped', async () => {
  const vendor = await startFakeLlmVendor();
  vendor.respondWith(script);
  const tools = createToolRegistry({ docsDir: loadSettings({}).docsDir, ticketsFile: path.join(tmp, 'tickets.jsonl') });
  const platform = await startPlatform({
    agents: AgentRegistry.load(agentsDir, tools),
    tools,
    providers: [openAIProvider({ baseUrl: vendor.url, apiKey: KEY })],
  });
  let runId: string;
  try {
    const res = await http(platform, 'POST', '/v1/runs', { agent: 'openai-researcher', task: 'How do I dispatch a run?' });
    runId = res.body.run_id as string;
    expect((await waitForRun(platform, runId)).status).toBe('completed');
  } finally {
    await platform.stop();
    await vendor.close();
  }
  const { address, namespace } = testTemporal();
  const suite = path.join(agentsDir, 'openai-researcher', 'evals');
  let out = '';
  const io = { out: (t: string) => (out += t), err: (t: string) => (out += t) };
  expect(await captureCommand(['--run', runId, '--to', suite, '--address', address, '--namespace', namespace], io)).toBe(0);
  expect(readdirSync(path.join(suite, 'cassettes', 'plan'))).toHaveLength(2);
  const caseText = readFileSync(
    path.join(
      suite,
      readdirSync(suite).find((f) => f.endsWith('.yaml'))!,
    ),
    'utf8',
  );
  expect(caseText).toContain('task: How do I dispatch a run?');
  expect(caseText).toMatch(/tools:\n\s+- docs_search/);

  const store = await openTestStore();
  const { args, session } = await testCommandArgs(store.store);
  const reportDir = mkdtempSync(path.join(tmp, 'report-'));
  const code = await evalCommand(['openai-researcher', ...args, '--agents-dir', agentsDir, '--report-dir', reportDir], {
    ...io,
    // The vendor is stopped: anything not answered from the plan cassettes would fail the case.
    session: { ...session, modelConfig: loadModelConfig({ OPENAI_BASE_URL: vendor.url, OPENAI_API_KEY: KEY }, agentsDir) },
  });
  await store.close();
  const report = JSON.parse(readFileSync(path.join(reportDir, 'report.json'), 'utf8')) as EvalReport;
  expect(report.cases.map((c) => [c.verdict, c.checks.filter((x) => !x.passed)])).toEqual([['pass', []]]);
  expect(report.cases[0]!.run!.steps.filter((s) => s.type === 'Plan').map((s) => s.model?.cassette)).toEqual(['replayed', 'replayed']);
  expect(code).toBe(0);
}, 120_000);
