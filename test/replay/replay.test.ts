import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { PROJECT_ROOT } from '../../config/settings';
import { workflowBundle } from '../support/platform';

// Histories of real runs (recorded with `npm run histories:record`) replayed against today's workflow
// code: a change that would break runs already in flight fails here, in CI, before it ships.
const DIR = path.join(PROJECT_ROOT, 'test', 'histories');
const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();
const histories = () =>
  files.map((f) => ({
    workflowId: f.replace(/\.json$/, ''),
    history: JSON.parse(readFileSync(path.join(DIR, f), 'utf8')) as unknown,
  }));
const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

// v1-*: recorded by the code before runs wrote audit rows and checked budgets before each model call
// (both patched in workflows/workflow-run.ts); they prove runs started by that code still replay.
// v1-priced-cost-budget is a priced run under max_cost_usd that the unpatched check would replay
// differently. v2-*: recorded by the code before `lean-history` (workflows/workflow-run.ts), which
// upserted the run's search attributes once per step and settled each model call in its own local
// activity. Of those, the ones before model-unusable-answer were recorded before a model answer that
// fails validation counted its usage (patched in workflows/steps/plan.ts): v2-model-fallback proves a
// model failure recorded by that code still replays. The unprefixed ones are recorded from the current
// code; budgeted-run reserves before every model call, so a settlement rides along with a reservation.
// v3-*: approval paths recorded before `approval-rows-after-accept` (workflows/workflow-run.ts), when
// the gateway wrote each decision's row and the run wrote approval rows through local activities; the
// unprefixed approval-approved, approval-rejected and cancelled are recorded under it.
// approval-refused-then-approved: a vote refused by the update's validator before the accepted one,
// recorded by test/workflow/refused-update-replay.test.ts (RECORD_HISTORY=1) with workflows/sdk-flags.ts.
const V3 = ['approval-approved', 'approval-rejected', 'cancelled'];
const PATHS = ['approval-approved', 'approval-rejected', 'cancelled', 'docs-researcher', 'model-fallback'];
const V2 = [...PATHS, 'budget-fallback', 'model-unusable-answer'];
test('the committed histories cover the approval, refused vote, rejection, fallback, cancellation, budget, unusable-answer and plain paths', () => {
  expect(files).toEqual(
    [
      ...V2,
      'budgeted-run',
      'approval-refused-then-approved',
      ...PATHS.map((p) => `v1-${p}`),
      'v1-priced-cost-budget',
      ...V2.map((p) => `v2-${p}`),
      ...V3.map((p) => `v3-${p}`),
    ]
      .map((p) => `${p}.json`)
      .sort(),
  );
});

test('every committed history replays against the current workflow code', async () => {
  const results = [];
  for await (const r of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories())) results.push(r);
  expect(results.map((r) => [r.workflowId, r.error?.message])).toEqual(files.map((f) => [f.replace(/\.json$/, ''), undefined]));
});

test('a deliberately non-deterministic change is caught', async () => {
  const broken = await bundleWorkflowCode({ workflowsPath: require.resolve('./nondeterministic-workflows'), logger: quiet });
  const results = [];
  for await (const r of Worker.runReplayHistories({ workflowBundle: broken }, histories())) results.push(r);
  expect(results).toHaveLength(files.length);
  for (const r of results) expect(r.error).toBeInstanceOf(DeterminismViolationError);
});
