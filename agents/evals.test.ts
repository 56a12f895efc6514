import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ScriptedPlanner } from '../activities/model/scripted';
import { createToolRegistry } from '../activities/tools';
import type { ToolRegistry } from '../activities/tools/registry';
import { startStatusServer, type StatusServer } from './incident-investigator/status-server';
import { loadSettings, PROJECT_ROOT } from '../config/settings';
import { loadEvalFile, runEvalCase } from './eval-harness';
import { AgentRegistry } from './registry';

// Every agent's eval cases (agents/<name>/evals.yaml), run offline against the real tools: the docs
// are the project's own, tickets and the knowledge graph go to a temporary folder, and the incident
// agent's status API is the example status server on a free port.
const tmp = mkdtempSync(path.join(os.tmpdir(), 'acp-evals-'));
const settings = loadSettings({});
let status: StatusServer;
let tools: ToolRegistry;
let agents: AgentRegistry;
beforeAll(async () => {
  status = await startStatusServer();
  tools = createToolRegistry({
    docsDir: settings.docsDir,
    ticketsFile: path.join(tmp, 'tickets.jsonl'),
    memoryFile: path.join(tmp, 'memory.jsonl'),
    env: { STATUS_URL: status.url },
  });
  await tools.discover();
  agents = AgentRegistry.load(path.join(PROJECT_ROOT, 'agents'), tools);
}, 60_000);
afterAll(async () => {
  await tools.close();
  await status.close();
  rmSync(tmp, { recursive: true, force: true });
});
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
  // The incident agent's first SQL call opens the embedded PGlite (initdb in WASM), which can take a while.
  test.each(cases)(
    '$name',
    async (c) => {
      const outcome = await runEvalCase(agents.resolve(name), new ScriptedPlanner(), tools, c);
      expect(outcome.failures).toEqual([]);
    },
    180_000,
  );
});
