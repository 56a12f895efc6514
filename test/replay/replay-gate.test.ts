import { replayCommand } from '../../evals/replay-gate';
import { approvePending, eventually, http, startPlatform, testTemporal, waitForRun, type TestPlatform } from '../support/platform';

// `npm run replay` against histories fetched from a server: a real run of the test server replays
// against the current workflow code, and the deliberately non-deterministic copy of the workflows
// (nondeterministic-workflows.ts) is caught, naming the run and the event it diverged at.
let platform: TestPlatform;
let runId: string;
let approvedRunId: string;
beforeAll(async () => {
  platform = await startPlatform();
  const res = await http(platform, 'POST', '/v1/runs', { agent: 'docs-researcher', task: 'How are runs replayed?' });
  runId = res.body.run_id as string;
  const filed = await http(platform, 'POST', '/v1/runs', {
    agent: 'ticket-filer',
    task: 'disk full',
    context: { priority: 'low', details: 'disk full on db-1' },
  });
  approvedRunId = filed.body.run_id as string;
  expect((await approvePending(platform, approvedRunId, 'alice')).decided.status).toBe(200);
  await waitForRun(platform, runId);
  expect((await waitForRun(platform, approvedRunId)).status).toBe('completed');
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

// The gate bundles the workflows as the worker does, with its workflow interceptors: without the
// OpenTelemetry interceptors an approved run diverged at its update ("Update machine does not handle
// this event … TimerCanceled").
test('a run that waited for an approval replays with the code the gate bundles itself', async () => {
  const { code, out } = await replay('--run', approvedRunId);
  expect(out).toContain(`ok    ${approvedRunId}`);
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
