import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { ScriptedPlanner } from '../../activities/model/scripted';
import { createToolRegistry } from '../../activities/tools';
import { AgentRegistry } from '../../agents/registry';
import { loadSettings } from '../../config/settings';
import { AgentDefinitionSchema } from '../../contracts/agent';
import { ErrorCode } from '../../contracts/errors';
import { capturingLogger, eventually, http, startPlatform, uniqueQueue, waitForRun, type TestPlatform } from '../support/platform';
import { runsStartedSince } from '../support/visibility';

const logs = capturingLogger('test');
let platform: TestPlatform;

beforeAll(async () => {
  // The SDK runtime is process-wide: installing the capturing logger first lets the test read the
  // lines the worker, the workflow (through sinks) and the activities write.
  platform = await startPlatform({ logger: logs.logger });
});
afterAll(async () => {
  await platform.stop();
});

async function dispatch(body: unknown) {
  return http(platform, 'POST', '/v1/runs', body);
}

describe('a run of the example agent, end to end', () => {
  let runId: string;
  let run: Record<string, unknown>;

  beforeAll(async () => {
    const res = await dispatch({ agent: 'docs-researcher', task: 'How do I dispatch a run?' });
    expect(res.status).toBe(202);
    runId = res.body.run_id as string;
    expect(res.headers.get('location')).toBe(`/v1/runs/${runId}`);
    expect(res.body.links).toMatchObject({ self: `/v1/runs/${runId}`, temporal_ui: expect.stringContaining(`/workflows/${runId}`) });
    run = await waitForRun(platform, runId);
  });

  test('completes with the agent-contract output, grounded in the docs', () => {
    expect(run.status).toBe('completed');
    expect(run.agent).toEqual({ name: 'docs-researcher', version: '1.0.0' });
    const output = run.output as Record<string, unknown>;
    expect(Object.keys(output).sort()).toEqual(['actions_taken', 'completed_by', 'evidence', 'result', 'warnings']);
    expect(output.completed_by).toBe('agent');
    const evidence = output.evidence as { source: string; excerpt: string }[];
    expect(evidence.length).toBeGreaterThan(0);
    for (const e of evidence) expect(e.source).toMatch(/^docs\/.+\.md#L\d+$/);
    expect(evidence.map((e) => e.excerpt.toLowerCase()).join(' ')).toContain('dispatch');
    expect(output.actions_taken).toEqual([
      { step: 2, tool: 'docs_search', side_effect: 'read', args: { query: 'How do I dispatch a run?', limit: 3 } },
    ]);
    expect(output.result).toMatchObject({ summary: expect.stringContaining('How do I dispatch a run?'), findings: evidence });
  });

  test('records numbered steps through the state machine', () => {
    const steps = run.steps as { index: number; type: string; reason: string; ended_at?: string }[];
    expect(steps.map((s) => [s.index, s.type])).toEqual([
      [1, 'Plan'],
      [2, 'ToolCall'],
      [3, 'Validate'],
      [4, 'Decide'],
      [5, 'Plan'],
      [6, 'Validate'],
      [7, 'Complete'],
    ]);
    for (const s of steps) {
      expect(s.reason).toBeTruthy();
      expect(s.ended_at).toBeTruthy();
    }
    expect((run.usage as { input_tokens: number }).input_tokens).toBeGreaterThan(0);
  });

  test('is findable in Temporal visibility by agent name, version and state', async () => {
    const query = `AgentName = "docs-researcher" AND AgentVersion = "1.0.0" AND RunState = "Complete" AND WorkflowId = "${runId}"`;
    const found = await eventually(async () => {
      for await (const wf of platform.client.workflow.list({ query })) return wf;
      return undefined;
    });
    expect(found.workflowId).toBe(runId);
    expect(found.type).toBe('agentRun');
    expect(found.status.name).toBe('COMPLETED');
  });

  test('every log line about the run carries its run_id', async () => {
    const expected = ['run started', 'run completed', 'plan decided', 'tool called', 'run dispatched'];
    // workflow (through the SDK sinks, which forward with a short buffer), both activities, and the gateway
    const mine = await eventually(
      async () => {
        const lines = logs.lines().filter((l) => l.run_id === runId);
        return expected.every((m) => lines.some((l) => l.message === m)) ? lines : undefined;
      },
      5000,
      `log lines ${expected.join(', ')} with run_id ${runId}`,
    );
    const workflowLine = mine.find((l) => l.message === 'run completed')!;
    expect(workflowLine).toMatchObject({ sdkComponent: 'workflow', level: 'info' });
    // SDK lines that name this workflow must use run_id, never a bare workflowId.
    expect(logs.lines().filter((l) => l.workflowId === runId)).toEqual([]);
  });
});

interface BadCase {
  name: string;
  send: () => Promise<Awaited<ReturnType<typeof http>>>;
  status: number;
  type: string;
  path?: string;
}
/** Requests POST /v1/runs must refuse with problem+json, each with the answer it should get. */
function badInputCases(target: () => TestPlatform): BadCase[] {
  const post = (body: unknown, headers?: Record<string, string>) => http(target(), 'POST', '/v1/runs', body, headers);
  return [
    { name: 'malformed JSON', send: () => post('{"agent": "docs-researcher", "task": '), status: 400, type: 'malformed-json' },
    { name: 'a missing task', send: () => post({ agent: 'docs-researcher' }), status: 400, type: 'validation-error', path: 'task' },
    {
      name: 'an empty task',
      send: () => post({ agent: 'docs-researcher', task: '   ' }),
      status: 400,
      type: 'validation-error',
      path: 'task',
    },
    {
      name: 'a wrong type deep in the body',
      send: () => post({ agent: 'docs-researcher', task: 'x', constraints: { max_steps: 'ten' } }),
      status: 400,
      type: 'validation-error',
      path: 'constraints.max_steps',
    },
    {
      name: 'an unknown field',
      send: () => post({ agent: 'docs-researcher', task: 'x', tenant: 'other' }),
      status: 400,
      type: 'validation-error',
      path: '(body)',
    },
    { name: 'an unknown agent', send: () => post({ agent: 'no-such-agent', task: 'x' }), status: 404, type: 'unknown-agent' },
    { name: 'an unknown version', send: () => post({ agent: 'docs-researcher@9.9.9', task: 'x' }), status: 404, type: 'unknown-agent' },
    {
      name: 'a wrong content type',
      send: () => post('agent=docs-researcher&task=x', { 'content-type': 'application/x-www-form-urlencoded' }),
      status: 415,
      type: 'unsupported-media-type',
    },
    {
      name: 'no content type',
      send: async () => {
        const r = await fetch(`${target().baseUrl}/v1/runs`, {
          method: 'POST',
          headers: target().auth,
          body: new Blob(['{"agent":"docs-researcher","task":"x"}']),
        });
        return { status: r.status, headers: r.headers, body: (await r.json()) as Record<string, unknown> };
      },
      status: 415,
      type: 'unsupported-media-type',
    },
    {
      name: 'an oversized body',
      send: () => post({ agent: 'docs-researcher', task: 'x', context: { blob: 'y'.repeat(300_000) } }),
      status: 413,
      type: 'payload-too-large',
    },
  ];
}

describe('bad input to POST /v1/runs gets problem+json and starts nothing', () => {
  let quiet: TestPlatform;
  beforeAll(async () => {
    quiet = await startPlatform({ taskQueue: uniqueQueue('bad-input') });
  });
  afterAll(async () => {
    await quiet.stop();
  });

  const cases = badInputCases(() => quiet);

  test.each(cases)('$name', async ({ send, status, type, path }) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.type).toBe(`urn:agent-control-plane:problem:${type}`);
    expect(res.body).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
    expect(res.headers.get('x-request-id')).toBe(res.body.request_id);
    if (path) expect((res.body.errors as { path: string }[]).map((e) => e.path)).toContain(path);
    if (type === 'unknown-agent') expect(res.body.available).toContain('docs-researcher@1.0.0');
  });

  test('no workflow was started by any of them', async () => {
    // Sent again here, so the claim holds whatever order the tests run in.
    const since = new Date();
    for (const c of cases) expect([c.name, (await c.send()).status]).toEqual([c.name, c.status]);
    expect(await runsStartedSince(quiet, since)).toEqual([]);
  });
});

describe('reading runs', () => {
  test('an unknown run id is a 404 problem', async () => {
    const res = await http(platform, 'GET', `/v1/runs/run-${randomUUID()}`);
    expect(res.status).toBe(404);
    expect(res.body.type).toBe('urn:agent-control-plane:problem:run-not-found');
  });

  test('an id with path tricks is a 404, not an error', async () => {
    const res = await http(platform, 'GET', '/v1/runs/..%2F..%2Fetc%2Fpasswd');
    expect(res.status).toBe(404);
  });

  test('GET /v1/agents lists the example agent with its owner and tools', async () => {
    const res = await http(platform, 'GET', '/v1/agents');
    expect(res.status).toBe(200);
    expect(res.body.agents).toContainEqual(
      expect.objectContaining({
        name: 'docs-researcher',
        latest: '1.0.0',
        versions: ['1.0.0'],
        owner: 'platform-team',
        tools: ['docs_search'],
      }),
    );
  });
});

describe('durability and failure', () => {
  test('a run dispatched while no worker polls waits, shows as running, and completes once one starts', async () => {
    const late = await startPlatform({ withWorker: false });
    try {
      const res = await http(late, 'POST', '/v1/runs', { agent: 'docs-researcher', task: 'What is the task queue?' });
      expect(res.status).toBe(202);
      const runId = res.body.run_id as string;
      // It waits: for a while (not just the instant after dispatch) it shows as running, and no
      // worker has picked up its first workflow task.
      const until = Date.now() + 3_000;
      while (Date.now() < until) {
        expect((await http(late, 'GET', `/v1/runs/${runId}`)).body.status).toBe('running');
        await new Promise((r) => setTimeout(r, 250));
      }
      const history = await late.client.workflow.getHandle(runId).fetchHistory();
      const types = (history.events ?? []).map((e) => e.eventType);
      expect(types).toContain(temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
      expect(types).not.toContain(temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED);
      await late.startWorker();
      const run = await waitForRun(late, runId);
      expect(run.status).toBe('completed');
    } finally {
      await late.stop();
    }
  });

  // A run stopped by max_steps keeping its partial steps is proven in test/workflow/agent-run.test.ts.
  test('a tool call with arguments its schema rejects fails the run, naming the tool and field', async () => {
    const settings = loadSettings({});
    const tools = createToolRegistry(settings);
    const broken = AgentDefinitionSchema.parse({
      name: 'broken-args',
      version: '0.1.0',
      owner: 'tests',
      description: 'asks docs_search for a limit it does not allow',
      model: { provider: 'scripted', name: 'broken' },
      instructions: 'none',
      tools: ['docs_search'],
      script: { steps: [{ tool: 'docs_search', args: { query: 'x', limit: 99 } }], finish: { summary: 'never' } },
    });
    const own = await startPlatform({ agents: new AgentRegistry([broken], tools), tools, providers: [new ScriptedPlanner()] });
    try {
      const res = await http(own, 'POST', '/v1/runs', { agent: 'broken-args', task: 'anything' });
      const run = await waitForRun(own, res.body.run_id as string);
      expect(run.status).toBe('failed');
      expect(run.error).toMatchObject({ type: ErrorCode.ToolInputInvalid, message: expect.stringMatching(/docs_search.*limit/) });
      const steps = run.steps as { type: string; error?: { type: string } }[];
      expect(steps.map((s) => s.type)).toEqual(['Plan', 'ToolCall', 'RetryFallback', 'Fail']);
      expect(steps[1]!.error?.type).toBe(ErrorCode.ToolInputInvalid);
    } finally {
      await own.stop();
    }
  });
});
