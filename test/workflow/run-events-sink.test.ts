// Watching costs the run nothing, also when the event store does not answer: the SDK awaits every sink
// function before it completes the workflow task, so a sink that handed it the store's (retried) write
// stalled the run for as long as the store was away (the store-outage drill saw approvals time out).
import type { NewRunEvent } from '../../contracts/events';
import { answer, closeEnv, openEnv, runAgent } from './agent-run-harness';

beforeAll(openEnv);
afterAll(closeEnv);

test('a run completes while the event store never answers a write, and its events were handed to it', async () => {
  const handed: NewRunEvent[] = [];
  const hanging = {
    append: (events: NewRunEvent[]) => {
      handed.push(...events);
      return new Promise<number>(() => {});
    },
  };
  const ended = await runAgent({
    events: hanging,
    plan: async (_req, n) =>
      n === 1
        ? answer({ type: 'tool_call', tool: 'lookup', args: { q: 'x' }, reason: 'to look' })
        : answer({ type: 'final', result: 'found', reason: 'done' }),
    callTool: async () => ({ output: { hit: 1 }, evidence: [] }),
  });
  expect(ended.output?.result).toBe('found');
  // Only the first batch reached the store: later ones wait behind it, in order, off the run's path.
  expect(handed.map((e) => e.type)).toContain('run.started');
});
