import path from 'node:path';
import { FileBlobStore } from '../../activities/blob-store';
import { startLifecyclePlatform, type LifecyclePlatform } from '../support/lifecycle-platform';
import { eventually, waitForRun, type TestPlatform } from '../support/platform';

// Runs longer than one history (continue-as-new) and tool outputs too large for history, on the real dev server.

let lifecycle: LifecyclePlatform;
let platform: TestPlatform;
let tmp: string;
let dispatch: LifecyclePlatform['dispatch'];

beforeAll(async () => {
  lifecycle = await startLifecyclePlatform();
  ({ platform, tmp, dispatch } = lifecycle);
});

afterAll(async () => {
  await lifecycle.stop();
});

describe('long runs and large outputs', () => {
  test('a run longer than steps_per_history continues-as-new and keeps every step, numbered without gaps', async () => {
    const runId = await dispatch('long-runner', 'continue');
    const run = await waitForRun(platform, runId);
    expect(run.status).toBe('completed');
    const steps = run.steps as { index: number; type: string }[];
    expect(steps.map((s) => s.index)).toEqual(steps.map((_, i) => i + 1));
    expect(steps.filter((s) => s.type === 'ToolCall')).toHaveLength(4);
    expect((run.output as { actions_taken: unknown[] }).actions_taken).toHaveLength(4);
    const executions = await eventually(async () => {
      const ids: string[] = [];
      for await (const wf of platform.client.workflow.list({ query: `WorkflowId = "${runId}"` })) ids.push(wf.runId);
      return ids.length >= 3 ? ids : undefined;
    });
    expect(new Set(executions).size).toBe(executions.length);
  });

  test('a tool output over the inline limit stays out of history: a preview and a reference to the full output', async () => {
    const runId = await dispatch('big-output', 'big');
    const run = await waitForRun(platform, runId);
    expect(run.status).toBe('completed');
    const desc = await platform.client.workflow.getHandle(runId).describe();
    expect(Number(desc.raw.workflowExecutionInfo?.historySizeBytes)).toBeLessThan(40_000);
    const history = JSON.stringify(await platform.client.workflow.getHandle(runId).fetchHistory());
    expect(history).not.toContain('line 1999');
    const state = await platform.client.workflow.getHandle(runId).query<{ steps: { type: string; output_summary?: string }[] }>('state');
    const toolStep = state.steps.find((s) => s.type === 'ToolCall')!;
    const ref = /blob:sha256:[0-9a-f]{64}/.exec(toolStep.output_summary ?? '')?.[0];
    expect(ref).toBeDefined();
    const blob = (await new FileBlobStore(path.join(tmp, 'blobs')).get(ref!)) as { lines: string[] };
    expect(blob.lines).toHaveLength(2000);
  });
});
