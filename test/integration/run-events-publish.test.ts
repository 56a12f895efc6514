// A run publishes its events through the worker's sink into the run event log (docs/events.md): every
// step's step.entered and step.ended, usage after each Plan, tool.started/ended around a tool call, and
// the terminal event last, with per-run ids that only rise.
import { RunEventStore } from '../../governance/events';
import { http, startPlatform, waitForRun, type TestPlatform } from '../support/platform';

let platform: TestPlatform;
beforeAll(async () => {
  platform = await startPlatform();
});
afterAll(async () => {
  await platform.stop();
});

test('a completed run has published each of its steps once, in order, ending with run.completed', async () => {
  const res = await http(platform, 'POST', '/v1/runs', { agent: 'docs-researcher', task: 'How do I dispatch a run?' });
  expect(res.status).toBe(202);
  const runId = res.body.run_id as string;
  const run = await waitForRun(platform, runId);
  const steps = run.steps as { index: number; type: string }[];
  const store = new RunEventStore(platform.governance.sql);
  // The sink writes after the workflow task that ended the run: wait for the terminal event to land.
  let events = await store.readRun(runId, 'default');
  while (events.at(-1)?.type !== 'run.completed') {
    await new Promise((r) => setTimeout(r, 100));
    events = await store.readRun(runId, 'default');
  }
  const seqs = events.map((e) => e.seq);
  expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
  expect(new Set(seqs).size).toBe(seqs.length);
  expect(events[0]!.type).toBe('run.started');
  expect(events.filter((e) => e.type === 'step.entered').map((e) => (e.data.step as { index: number }).index)).toEqual(
    steps.map((s) => s.index),
  );
  expect(events.filter((e) => e.type === 'step.ended').map((e) => (e.data.step as { type: string }).type)).toEqual(
    steps.map((s) => s.type),
  );
  expect(events.filter((e) => e.type === 'usage').length).toBe(steps.filter((s) => s.type === 'Plan').length);
  expect(events.filter((e) => e.type === 'tool.started').map((e) => e.data.tool)).toEqual(['docs_search']);
  expect(events.filter((e) => e.type === 'tool.ended').map((e) => e.data.ok)).toEqual([true]);
  expect(events.every((e) => e.tenant === 'default' && e.agent === 'docs-researcher')).toBe(true);
  // Another tenant reads nothing of it.
  expect(await store.readRun(runId, 'globex')).toEqual([]);
});
