import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/settings';
import { loadEvalFile, runEvalCase } from '../test/support/eval-harness';
import { startPlatform, type TestPlatform } from '../test/support/platform';

// Every agent's eval cases (agents/<name>/evals.yaml), run as production runs them: the real gateway,
// the agentRun workflow on the test Temporal server and a real worker with the agents as defined in
// agents/ (their scripts, tools and approval rules). The docs are the project's own; tickets go to the
// platform's scratch folder.
const suites = readdirSync(path.join(PROJECT_ROOT, 'agents'))
  .filter((name) => existsSync(path.join(PROJECT_ROOT, 'agents', name, 'evals.yaml')))
  .map((name) => ({ name, cases: loadEvalFile(path.join(PROJECT_ROOT, 'agents', name, 'evals.yaml')) }));

let platform: TestPlatform;
beforeAll(async () => {
  platform = await startPlatform();
});
afterAll(async () => {
  await platform.stop();
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
  test.each(cases)('$name', async (c) => {
    const outcome = await runEvalCase(platform, name, c);
    expect(outcome.failures).toEqual([]);
  });
});
