import { replayCommand } from '../../evals/replay-gate';
import { eventually, http, startPlatform, testTemporal, waitForRun, type TestPlatform } from '../support/platform';

// `npm run replay` against histories fetched from a server: a real run of the test server replays
// against the current workflow code, and the deliberately non-deterministic copy of the workflows
// (nondeterministic-workflows.ts) is caught, naming the run and the event it diverged at.
let platform: TestPlatform;
let runId: string;
beforeAll(async () => {
  platform = await startPlatform();
  const res = await http(platform, 'POST', '/v1/runs', { agent: 'docs-researcher', task: 'How are runs replayed?' });
  runId = res.body.run_id as string;
  await waitForRun(platform, runId);
});
afterAll(async () => {
  await platform.stop();
});

async function replay(...argv: string[]): Promise<{ code: number; out: string }> {
  const { address, namespace } = testTemporal();
  let out = '';
  const code = await replayCommand([...argv, '--address', address, '--namespace', namespace], {
    out: (t) => (out += t),
    err: (t) => (out += t),
  });
  return { code, out };
}

test('a run fetched from the server replays against the current workflow code', async () => {
  const { code, out } = await replay('--run', runId);
  expect(out).toContain(`ok    ${runId}`);
  expect(out).toContain('1 replayed, 0 non-deterministic');
  expect(code).toBe(0);
});

test('a deliberately non-deterministic workflow change fails the gate with the run and the first diverging event', async () => {
  const { code, out } = await replay('--run', runId, '--workflows', require.resolve('./nondeterministic-workflows'));
  expect(code).toBe(1);
  // The broken copy starts a timer where the run's first workflow task recorded its patch marker (event 5).
  expect(out).toMatch(new RegExp(`FAIL  ${runId} \\(.+\\): non-deterministic at event 5 \\(MARKER_RECORDED\\)`));
  expect(out).toContain('1 replayed, 1 non-deterministic');
}, 60_000);

test('--query selects the histories by a visibility query', async () => {
  const { code, out } = await eventually(async () => {
    const r = await replay('--query', `WorkflowId = '${runId}'`);
    return r.out.includes('1 replayed') ? r : undefined;
  });
  expect(out).toContain(`ok    ${runId}`);
  expect(code).toBe(0);
});

test('no runs named is a usage error, not a pass', async () => {
  expect((await replay()).code).toBe(2);
});
