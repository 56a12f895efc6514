import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createToolRegistry } from '../activities/tools';
import type { ToolRegistry } from '../activities/tools/registry';
import { loadSettings, PROJECT_ROOT } from '../config/settings';
import { loadEvalFile, runEvalCase } from '../test/support/eval-harness';
import { startPlatform, type TestPlatform } from '../test/support/platform';
import { startStatusServer, type StatusServer } from './incident-investigator/status-server';

// Every agent's eval cases (agents/<name>/evals.yaml), run as production runs them: the real gateway,
// the agentRun workflow on the test Temporal server and a real worker with the agents as defined in
// agents/ (their scripts, tools and approval rules). The docs are the project's own; tickets and the
// knowledge graph go to a temporary folder, and the incident agent's status API is the example status
// server on a free port.
const suites = readdirSync(path.join(PROJECT_ROOT, 'agents'))
  .filter((name) => existsSync(path.join(PROJECT_ROOT, 'agents', name, 'evals.yaml')))
  .map((name) => ({ name, cases: loadEvalFile(path.join(PROJECT_ROOT, 'agents', name, 'evals.yaml')) }));

const tmp = mkdtempSync(path.join(os.tmpdir(), 'acp-evals-'));
let status: StatusServer;
let tools: ToolRegistry;
let platform: TestPlatform;
beforeAll(async () => {
  status = await startStatusServer();
  tools = createToolRegistry({
    docsDir: loadSettings({}).docsDir,
    ticketsFile: path.join(tmp, 'tickets.jsonl'),
    memoryFile: path.join(tmp, 'memory.jsonl'),
    env: { STATUS_URL: status.url },
  });
  await tools.discover();
  platform = await startPlatform({ tools });
}, 180_000);
afterAll(async () => {
  await platform?.stop();
  await tools?.close();
  await status?.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('every example agent has eval cases', () => {
  expect(suites.map((s) => s.name).sort()).toEqual(
    platform.agents
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
      const outcome = await runEvalCase(platform, name, c);
      expect(outcome.failures).toEqual([]);
    },
    180_000,
  );
});
