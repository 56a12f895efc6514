import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ScriptedPlanner } from '../activities/model/scripted';
import { createToolRegistry } from '../activities/tools';
import { loadSettings, PROJECT_ROOT } from '../config/settings';
import { loadEvalFile, runEvalCase } from './eval-harness';
import { AgentRegistry } from './registry';

// Every agent's eval cases (agents/<name>/evals.yaml), run offline against the real tools: the docs
// are the project's own, tickets go to a temporary store.
const tmp = mkdtempSync(path.join(os.tmpdir(), 'acp-evals-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const settings = loadSettings({});
const tools = createToolRegistry({ docsDir: settings.docsDir, ticketsFile: path.join(tmp, 'tickets.jsonl') });
const agents = AgentRegistry.load(path.join(PROJECT_ROOT, 'agents'), tools);
const suites = readdirSync(path.join(PROJECT_ROOT, 'agents'))
  .filter((name) => existsSync(path.join(PROJECT_ROOT, 'agents', name, 'evals.yaml')))
  .map((name) => ({ name, cases: loadEvalFile(path.join(PROJECT_ROOT, 'agents', name, 'evals.yaml')) }));

test('every example agent has eval cases', () => {
  expect(suites.map((s) => s.name).sort()).toEqual(
    agents
      .list()
      .map((a) => a.name)
      .sort(),
  );
});

describe.each(suites)('$name evals', ({ name, cases }) => {
  test.each(cases)('$name', async (c) => {
    const outcome = await runEvalCase(agents.resolve(name), new ScriptedPlanner(), tools, c);
    expect(outcome.failures).toEqual([]);
  });
});
