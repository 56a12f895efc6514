import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ScriptedPlanner } from '../../activities/model/scripted';
import { createDocsSearchTool } from '../../activities/tools/docs-search';
import { ToolRegistry } from '../../activities/tools/registry';
import { PROJECT_ROOT } from '../../config/settings';
import { AgentDefinitionSchema } from '../../contracts/agent';
import { PlanActionSchema, type Evidence, type Observation } from '../../contracts/run';
import { parse as parseYaml } from 'yaml';
import { AgentRegistry } from '../registry';

// The agent's own eval, without Temporal: the planner/tool loop the workflow runs, over a docs folder
// whose answer is known, so the test checks what the agent returns rather than what the docs say today.

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
beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'acp-docs-researcher-'));
  mkdirSync(path.join(root, 'docs'));
  writeFileSync(path.join(root, 'docs', 'architecture.md'), ARCHITECTURE);
  writeFileSync(path.join(root, 'docs', 'logging.md'), LOGGING);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Runs the agent to its final answer the way the agentRun workflow does: plan, call the tool, repeat. */
async function runAgent(task: string) {
  const tools = new ToolRegistry([createDocsSearchTool(path.join(root, 'docs'), root)]);
  const definition = AgentDefinitionSchema.parse(
    parseYaml(readFileSync(path.join(PROJECT_ROOT, 'agents', 'docs-researcher', 'agent.yaml'), 'utf8')),
  );
  const agent = new AgentRegistry([definition], tools).resolve('docs-researcher');
  const planner = new ScriptedPlanner();
  const observations: Observation[] = [];
  const calls: { tool: string; args: Record<string, unknown> }[] = [];
  for (let step = 1; step <= agent.definition.budgets.max_steps; step++) {
    const { action } = await planner.plan({ run_id: 'eval-1', step, agent, task, context: {}, observations });
    expect(PlanActionSchema.safeParse(action).success).toBe(true);
    if (action.type === 'final') return { result: action.result as FinalResult, calls };
    expect(Object.keys(agent.tools)).toContain(action.tool);
    const tool = tools.get(action.tool)!;
    const args = tool.input.parse(action.args);
    const { output, evidence = [] } = await tool.execute(args, { run_id: 'eval-1', step, signal: new AbortController().signal });
    expect(tool.output.safeParse(output).success).toBe(true);
    calls.push({ tool: action.tool, args: action.args });
    observations.push({ step, tool: action.tool, args: action.args, output, evidence });
  }
  throw new Error(`docs-researcher did not finish within ${agent.definition.budgets.max_steps} steps`);
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
