import type { Approval } from '../../contracts/run';
import { replayCommand } from '../../evals/replay-gate';
import { approvePending, eventually, http, startPlatform, testTemporal, waitForRun, type TestPlatform } from '../support/platform';

// `npm run replay` against histories fetched from a server: a real run of the test server replays
// against the current workflow code, and the deliberately non-deterministic copy of the workflows
// (nondeterministic-workflows.ts) is caught, naming the run and the event it diverged at.
let platform: TestPlatform;
let runId: string;
/** ticket-filer runs that asked for an approval: approved, rejected, and one still waiting (parked). */
const ticketRuns: Record<'approved' | 'rejected' | 'parked', string> = { approved: '', rejected: '', parked: '' };

async function fileTicket(): Promise<string> {
  const filed = await http(platform, 'POST', '/v1/runs', {
    agent: 'ticket-filer',
    task: 'disk full',
    context: { priority: 'low', details: 'disk full on db-1' },
  });
  return filed.body.run_id as string;
}

beforeAll(async () => {
  platform = await startPlatform();
  const res = await http(platform, 'POST', '/v1/runs', { agent: 'docs-researcher', task: 'How are runs replayed?' });
  runId = res.body.run_id as string;
  [ticketRuns.approved, ticketRuns.rejected, ticketRuns.parked] = await Promise.all([fileTicket(), fileTicket(), fileTicket()]);
  expect((await approvePending(platform, ticketRuns.approved, 'alice')).decided.status).toBe(200);
  const asked = await eventually(async () =>
    ((await http(platform, 'GET', `/v1/runs/${ticketRuns.rejected}`)).body.approvals as Approval[] | undefined)?.find(
      (a) => a.status === 'pending',
    ),
  );
  const rejected = await http(
    platform,
    'POST',
    `/v1/runs/${ticketRuns.rejected}/approvals/${asked.id}`,
    { decision: 'reject', args_hash: asked.args_hash, comment: 'not now' },
    platform.as({ subject: 'alice', roles: ['approver'] }),
  );
  expect(rejected.status).toBe(200);
  await eventually(async () =>
    ((await http(platform, 'GET', `/v1/runs/${ticketRuns.parked}`)).body.approvals as Approval[] | undefined)?.find(
      (a) => a.status === 'pending',
    ),
  );
  await waitForRun(platform, runId);
  expect((await waitForRun(platform, ticketRuns.approved)).status).toBe('completed');
  await waitForRun(platform, ticketRuns.rejected);
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
test.each(['approved', 'rejected', 'parked'] as const)(
  'a run whose approval was %s replays with the code the gate bundles itself',
  async (which) => {
    const { code, out } = await replay('--run', ticketRuns[which]);
    expect(out).toContain(`ok    ${ticketRuns[which]}`);
    expect(code).toBe(0);
  },
);

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
