import { PROJECT_ROOT } from '../config/settings';
import path from 'node:path';
import { readBaseline } from '../evals/baseline';
import type { EvalSession } from '../evals/session';
import { agentsWithSuites, loadSuite } from '../evals/suite';
import { openTestEvalSession } from '../test/support/evals';
import { openTestStore, type TestStore } from '../test/support/governance';

// Every agent's suite (agents/<name>/evals/*.yaml) run by the eval library `npm run eval` uses: the
// agentRun workflow on the test Temporal server, a real worker with the agents, tools and policy of
// this repository (write tools to a scratch folder), model answers from cassettes, and each case
// compared with its committed baseline (agents/<name>/evals/baseline.json).
const agentsDir = path.join(PROJECT_ROOT, 'agents');
const suites = agentsWithSuites(agentsDir).map((name) => loadSuite(agentsDir, name));

let session: EvalSession;
let store: TestStore;
beforeAll(async () => {
  store = await openTestStore();
  session = await openTestEvalSession({ agentsDir, governance: store.store });
}, 180_000);
afterAll(async () => {
  await session?.close();
  await store?.close();
});

test('every agent has an eval suite and a baseline', () => {
  expect(suites.map((s) => s.agent)).toEqual(
    session.agents
      .list()
      .map((a) => a.name)
      .sort(),
  );
  for (const s of suites) expect(readBaseline(s.dir)).toBeDefined();
});

describe.each(suites)('$agent evals', (suite) => {
  // The incident agent's first SQL call opens the embedded PGlite (initdb in WASM), which can take a while.
  test.each(suite.cases)(
    '$id',
    async (lc) => {
      const outcome = await session.runCase(suite.agent, lc, readBaseline(suite.dir));
      expect({ error: outcome.error, failed: outcome.checks.filter((c) => !c.passed) }).toEqual({ error: undefined, failed: [] });
      expect(outcome.baseline?.regression).toBeUndefined();
      expect(outcome.baseline?.change).not.toBe('new');
    },
    180_000,
  );
});
