import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { createDocsSearchTool } from '../../activities/tools/docs-search';
import { ToolRegistry } from '../../activities/tools/registry';
import { PROJECT_ROOT } from '../../config/settings';
import { AgentDefinitionSchema } from '../../contracts/agent';
import type { ActionTaken, Evidence } from '../../contracts/run';
import { http, startPlatform, waitForRun, type TestPlatform } from '../../test/support/platform';
import { AgentRegistry } from '../registry';

// The agent's own eval, through the real code path: its agent.yaml as written, dispatched over HTTP to
// the agentRun workflow on the test Temporal server and run by a real worker, over a docs folder whose
// answer is known, so the test checks what the agent returns rather than what the docs say today.

const ARCHITECTURE = [
  '# Architecture', // 1
  '', // 2
  'The platform is a Temporal workflow per run.', // 3
  '', // 4
  '## Dispatch', // 5
  '', // 6
  'To dispatch a run, POST /v1/runs to the gateway with the agent and the task;', // 7
  'the gateway starts an agentRun workflow and answers 202 with the run id.', // 8
].join('\n');
const LOGGING = '# Logging\n\nEvery process writes JSON lines with the service name.\n';

interface FinalResult {
  summary: string;
  findings: Evidence[];
}

let root: string;
let platform: TestPlatform;
beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'acp-docs-researcher-'));
  mkdirSync(path.join(root, 'docs'));
  writeFileSync(path.join(root, 'docs', 'architecture.md'), ARCHITECTURE);
  writeFileSync(path.join(root, 'docs', 'logging.md'), LOGGING);
  const tools = new ToolRegistry([createDocsSearchTool(path.join(root, 'docs'), root)]);
  const definition = AgentDefinitionSchema.parse(
    parseYaml(readFileSync(path.join(PROJECT_ROOT, 'agents', 'docs-researcher', 'agent.yaml'), 'utf8')),
  );
  platform = await startPlatform({ agents: new AgentRegistry([definition], tools), tools });
});
afterAll(async () => {
  await platform?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** Runs the agent to its final answer as production does: a run of the agentRun workflow. */
async function runAgent(task: string) {
  const res = await http(platform, 'POST', '/v1/runs', { agent: 'docs-researcher', task });
  expect(res.status).toBe(202);
  const run = await waitForRun(platform, res.body.run_id as string, 60_000);
  expect(run.status).toBe('completed');
  const output = run.output as { result: FinalResult; actions_taken: ActionTaken[] };
  return { result: output.result, calls: output.actions_taken.map((a) => ({ tool: a.tool, args: a.args })) };
}

describe('docs-researcher eval', () => {
  test('answers "How do I dispatch a run?" citing the dispatch passage, in one docs_search call', async () => {
    const task = 'How do I dispatch a run?';
    const { result, calls } = await runAgent(task);

    expect(calls).toEqual([{ tool: 'docs_search', args: { query: task, limit: 3 } }]);
    expect(result.summary).toContain(task);
    expect(result.summary).toContain(`Found ${result.findings.length} passages`);
    expect(result.findings[0]).toEqual({
      source: 'docs/architecture.md#L7',
      excerpt:
        'To dispatch a run, POST /v1/runs to the gateway with the agent and the task; the gateway starts an agentRun workflow and answers 202 with the run id.',
    });
    expect(result.findings.map((f) => f.source)).not.toContain('docs/logging.md#L3');
  });

  test('a question the docs do not answer finishes with no findings, still after one search', async () => {
    const { result, calls } = await runAgent('kubernetes helm chart');
    expect(calls).toHaveLength(1);
    expect(result).toEqual({ summary: 'Found 0 passages in the platform docs about: kubernetes helm chart', findings: [] });
  });
});
