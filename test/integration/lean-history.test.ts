import { readdirSync, readFileSync } from 'node:fs';
import { loadSettings } from '../../config/settings';
import { compilePolicy } from '../../policies/load';
import { createToolRegistry } from '../../activities/tools';
import { AgentRegistry } from '../../agents/registry';
import { historyStats, runUpserts } from '../../temporal/history';
import { http, startPlatform, waitForRun, type TestPlatform } from '../support/platform';
import path from 'node:path';

// Runs started under `lean-history` write the run's search attributes once per workflow task, only
// when a value changed, and fold each model call's budget settlement into the next reservation: the
// history of a real run shows it (docs/changing-workflows.md).

const settings = loadSettings({});
let platform: TestPlatform;
beforeAll(async () => {
  const tools = createToolRegistry({ docsDir: settings.docsDir, ticketsFile: path.join(process.env.TEST_TMP_DIR!, 'lean-tickets.jsonl') });
  const agents = AgentRegistry.load(settings.agentsDir, tools);
  const sources = readdirSync(settings.policiesDir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => ({ file: f, text: readFileSync(path.join(settings.policiesDir, f), 'utf8') }));
  sources.push({ file: 'lean-budgets.yaml', text: 'budgets:\n  tenants:\n    lean-metered: { daily_tokens: 1000000 }\n' });
  platform = await startPlatform({
    agents,
    tools,
    policy: compilePolicy(sources, { agents: agents.list().map((a) => a.name), tools: tools.names() }),
  });
});
afterAll(async () => {
  await platform?.stop();
});

const run = async (auth: Record<string, string>, agent: string, task: string) => {
  const res = await http(platform, 'POST', '/v1/runs', { agent, task, context: {} }, auth);
  expect(res.status).toBe(202);
  const runId = res.body.run_id as string;
  await waitForRun(platform, runId, 30_000, auth);
  return historyStats(await platform.client.workflow.getHandle(runId).fetchHistory());
};

test('the example run upserts its state once per workflow task, only when it changed', async () => {
  const stats = await run(platform.auth, 'docs-researcher', 'How do I dispatch a run?');
  const upserts = runUpserts(stats);
  // Plan (set by the gateway at start) → ToolCall → Validate, Decide, Plan in one task → Validate, Complete in one task.
  expect(upserts.map((u) => u.attributes)).toEqual([{ RunState: 'ToolCall' }, { RunState: 'Plan' }, { RunState: 'Complete' }]);
  const tasks = upserts.map((u) => u.task);
  expect(new Set(tasks).size).toBe(tasks.length);
  // One patch marker and its TemporalChangeVersion upsert for each of the four patches evaluated at start
  // (audit-rows-from-runs, budgets-before-call, lean-history, approval-rows-after-accept).
  expect(stats.markers.patch).toBe(4);
  expect(stats.upserts).toHaveLength(7);
});

test('a run whose every model call reserves settles the previous call inside the next reservation', async () => {
  const auth = platform.as({ subject: 'lena', tenant: 'lean-metered' });
  const stats = await run(auth, 'docs-researcher', 'How do I dispatch a run?');
  // Two model calls: two reservations; the first call's settlement rode along with the second reservation,
  // only the last one is a local activity of its own.
  expect(stats.markers.reserveBudget).toBe(2);
  expect(stats.markers.settleBudget).toBe(1);
  const day = await platform.governance.budgetDay('lean-metered', new Date().toISOString().slice(0, 10));
  expect(day.reservations).toEqual({ reserved: 0, settled: 2, denied: 0 });
});
