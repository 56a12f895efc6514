import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { WorkflowFailedError } from '@temporalio/client';
import { loadSettings } from '../../config/settings';
import { compilePolicy } from '../../policies/load';
import { installTracing, RunAttr, type Tracing } from '../../observability/tracing';
import type { AgentRunInput, Approval } from '../../contracts/run';
import { Worker } from '@temporalio/worker';
import { WorkerMetrics } from '../../observability/metrics';
import { WORKFLOW_INTERCEPTOR_MODULES, workerSinks } from '../../worker/observability';
import {
  approvePending,
  capturingLogger,
  eventually,
  http,
  startPlatform,
  waitForRun,
  workflowBundle,
  type CapturedLogs,
  type TestPlatform,
} from '../support/platform';

// One real run (docs-researcher on the scripted planner: Plan → ToolCall → Plan → Validate → Complete)
// traced from the caller's traceparent through the gateway, the Temporal client, the workflow and
// every activity, into an in-memory exporter.
let p: TestPlatform;
let tracing: Tracing;
let logs: CapturedLogs;
const exporter = new InMemorySpanExporter();

beforeAll(async () => {
  tracing = installTracing({ exporter, serviceName: 'acp-test', batch: false });
  logs = capturingLogger('tracing');
  p = await startPlatform({ logger: logs.logger });
});
afterAll(async () => {
  await p?.stop();
  await tracing?.shutdown();
});

const byName = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);
const one = (spans: ReadableSpan[], name: string) => {
  const found = byName(spans, name);
  if (found.length !== 1) throw new Error(`expected one span named ${name}, found ${found.length}: ${spans.map((s) => s.name).join(', ')}`);
  return found[0]!;
};
const id = (s: ReadableSpan) => s.spanContext().spanId;
const startMs = (s: ReadableSpan) => s.startTime[0] * 1000 + s.startTime[1] / 1e6;

test('one run is one trace: gateway → client → workflow → Plan → ToolCall → Plan, with GenAI and run attributes', async () => {
  const traceId = randomBytes(16).toString('hex');
  const callerSpan = randomBytes(8).toString('hex');
  const res = await http(
    p,
    'POST',
    '/v1/runs',
    { agent: 'docs-researcher', task: 'how do approvals work' },
    { ...p.auth, traceparent: `00-${traceId}-${callerSpan}-01` },
  );
  expect(res.status).toBe(202);
  const runId = res.body.run_id as string;
  expect(res.headers.get('traceparent')).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  expect((await waitForRun(p, runId)).status).toBe('completed');

  // The workflow's spans arrive through the sink when the workflow task that ends them completes.
  const spans = await eventually(async () => {
    const all = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    return all.some((s) => s.name === 'RunWorkflow:agentRun') ? all : undefined;
  });

  const server = one(spans, 'POST /v1/runs');
  expect(server.parentSpanId).toBe(callerSpan);
  expect(res.headers.get('traceparent')).toContain(id(server));
  const start = one(spans, 'StartWorkflow:agentRun');
  expect(start.parentSpanId).toBe(id(server));
  const workflow = one(spans, 'RunWorkflow:agentRun');
  expect(workflow.parentSpanId).toBe(id(start));

  // The activities the run scheduled, in order, each under the workflow span; each ran under its StartActivity span.
  const scheduled = spans.filter((s) => s.name.startsWith('StartActivity:')).sort((a, b) => startMs(a) - startMs(b));
  for (const s of scheduled) expect(s.parentSpanId).toBe(id(workflow));
  const calls = scheduled.map((s) => s.name.replace('StartActivity:', '')).filter((n) => n === 'plan' || n === 'callTool');
  expect(calls).toEqual(['plan', 'callTool', 'plan']);
  const ran = spans.filter((s) => s.name.startsWith('RunActivity:'));
  expect(ran).toHaveLength(scheduled.length);
  for (const r of ran) expect(scheduled.map(id)).toContain(r.parentSpanId);

  // Model calls: GenAI semantic conventions, under their plan activity.
  const planRuns = byName(ran, 'RunActivity:plan');
  const chats = byName(spans, 'chat docs-researcher-script');
  expect(chats).toHaveLength(2);
  for (const chat of chats) {
    expect(planRuns.map(id)).toContain(chat.parentSpanId);
    expect(chat.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'scripted',
      'gen_ai.request.model': 'docs-researcher-script',
      'gen_ai.response.model': expect.any(String),
      'gen_ai.usage.input_tokens': expect.any(Number),
      'gen_ai.usage.output_tokens': expect.any(Number),
    });
    expect(chat.attributes['gen_ai.response.finish_reasons']).toEqual([expect.any(String)]);
  }

  // The tool call: name, adapter kind, side-effect class and the policy decision that allowed it.
  const tool = one(spans, 'execute_tool docs_search');
  expect(one(ran, 'RunActivity:callTool').spanContext().spanId).toBe(tool.parentSpanId);
  expect(tool.attributes).toMatchObject({
    'gen_ai.tool.name': 'docs_search',
    'acp.tool.kind': 'typescript',
    'acp.tool.side_effect': 'read',
    'acp.policy.effect': 'allow',
    'acp.policy.rule': expect.any(String),
  });

  // Every span of the run, in both halves of the platform, says whose run it is.
  for (const s of spans) {
    expect([s.name, s.attributes[RunAttr.runId]]).toEqual([s.name, runId]);
    expect([s.name, s.attributes[RunAttr.agent], s.attributes[RunAttr.agentVersion], s.attributes[RunAttr.tenant]]).toEqual([
      s.name,
      'docs-researcher',
      '1.0.0',
      'default',
    ]);
  }
});

test('every state transition is one log line with the run id, the step and the trace and span ids', async () => {
  const res = await http(p, 'POST', '/v1/runs', { agent: 'docs-researcher', task: 'what is a policy' });
  const runId = res.body.run_id as string;
  const run = await waitForRun(p, runId);
  const steps = run.steps as { index: number; type: string }[];
  const traceId = /^00-([0-9a-f]{32})-/.exec(res.headers.get('traceparent')!)![1]!;
  const lines = await eventually(async () => {
    const found = logs.lines().filter((l) => l.message === 'step started' && l.run_id === runId);
    return found.length === steps.length ? found : undefined;
  });
  expect(lines.map((l) => [l.step, l.step_type])).toEqual(steps.map((s) => [s.index, s.type]));
  for (const l of lines) {
    expect(l.trace_id).toBe(traceId);
    expect(l.span_id).toMatch(/^[0-9a-f]{16}$/);
  }
});

test('an approval wait is a span under the workflow, with who may decide and how it ended', async () => {
  const res = await http(p, 'POST', '/v1/runs', {
    agent: 'ticket-filer',
    task: 'disk full',
    context: { priority: 'low', details: 'disk full on db-1' },
  });
  const runId = res.body.run_id as string;
  const traceId = /^00-([0-9a-f]{32})-/.exec(res.headers.get('traceparent')!)![1]!;
  const { decided } = await approvePending(p, runId, 'alice');
  expect(decided.status).toBe(200);
  expect((await waitForRun(p, runId)).status).toBe('completed');
  const spans = await eventually(async () => {
    const all = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    return all.some((s) => s.name === 'RunWorkflow:agentRun') ? all : undefined;
  });
  const wait = one(spans, 'approval wait');
  expect(wait.parentSpanId).toBe(id(one(spans, 'RunWorkflow:agentRun')));
  expect(wait.attributes).toMatchObject({
    'acp.approval.status': 'approved',
    'acp.approval.approvers': ['role:approver'],
    'acp.approval.decided_by': ['alice'],
    [RunAttr.runId]: runId,
    [RunAttr.agent]: 'ticket-filer',
  });
  // The approver's request is its own trace: the gateway's span, the client's update, the workflow's handler.
  const decisionTrace = /^00-([0-9a-f]{32})-/.exec(decided.headers.get('traceparent')!)![1]!;
  const decision = await eventually(async () => {
    const all = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === decisionTrace);
    return all.some((s) => s.name === 'HandleUpdate:decideApproval') ? all : undefined;
  });
  const startUpdate = one(decision, 'StartWorkflowUpdate:decideApproval');
  expect(startUpdate.parentSpanId).toBe(id(one(decision, 'POST /v1/runs/:id/approvals/:approval_id')));
  expect(one(decision, 'HandleUpdate:decideApproval').parentSpanId).toBe(id(startUpdate));
});

test('a run started without the gateway (the CLI, the Web UI) still has its run id on the workflow and activity spans', async () => {
  const runId = `run-direct-${randomBytes(6).toString('hex')}`;
  const input: AgentRunInput = {
    agent: p.agents.resolve('docs-researcher'),
    task: 'how do approvals work',
    context: {},
    constraints: {},
    initiator: { subject: 'cli-user', tenant: 'default', roles: ['dispatcher'] },
    requested_at: new Date().toISOString(),
  };
  const handle = await p.client.workflow.start('agentRun', {
    taskQueue: p.taskQueue,
    workflowId: runId,
    args: [input],
    memo: { agent: 'docs-researcher', agent_version: '1.0.0' },
  });
  await handle.result();
  const spans = await eventually(async () => {
    const all = exporter.getFinishedSpans().filter((s) => s.attributes[RunAttr.runId] === runId);
    return all.some((s) => s.name === 'RunWorkflow:agentRun') ? all : undefined;
  });
  expect(spans.filter((s) => s.name === 'RunActivity:plan').length).toBe(2);
  expect(spans.some((s) => s.name === 'execute_tool docs_search')).toBe(true);
});

test('replaying a traced run (a worker restart, a cache eviction) exports no span and moves no metric again', async () => {
  const traceId = randomBytes(16).toString('hex');
  const res = await http(
    p,
    'POST',
    '/v1/runs',
    { agent: 'docs-researcher', task: 'replay me' },
    { ...p.auth, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
  );
  const runId = res.body.run_id as string;
  expect((await waitForRun(p, runId)).status).toBe('completed');
  const ofRun = () => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
  const before = (await eventually(async () => (ofRun().some((s) => s.name === 'RunWorkflow:agentRun') ? ofRun() : undefined))).length;

  const history = await p.client.workflow.getHandle(runId).fetchHistory();
  const metrics = new WorkerMetrics();
  await Worker.runReplayHistory(
    {
      workflowBundle: await workflowBundle(),
      interceptors: { workflowModules: WORKFLOW_INTERCEPTOR_MODULES },
      sinks: workerSinks(metrics),
    },
    history,
    runId,
  );
  // The replay ran the same workflow code with the same interceptors and sinks: Temporal calls no sink
  // while replaying, so the trace keeps its spans once and the step metrics count the run once.
  expect(ofRun()).toHaveLength(before);
  expect((await metrics.registry.getSingleMetric('acp_step_duration_seconds')!.get()).values.every((v) => v.value === 0)).toBe(true);
});

/** The Markdown the Temporal Web UI shows for a run (the SDK's metadata query). */
async function uiDetails(runId: string): Promise<string> {
  const meta = await p.client.workflow.getHandle(runId).query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  return meta.currentDetails ?? '';
}

test("a policy-denied tool call is an error span with the decision; the failed run's workflow span is an error with error.type", async () => {
  const runId = `run-denied-${randomBytes(6).toString('hex')}`;
  const policiesDir = loadSettings({}).policiesDir;
  const policy = compilePolicy(
    [
      { file: 'default.yaml', text: readFileSync(path.join(policiesDir, 'default.yaml'), 'utf8') },
      {
        file: 'deny-docs.yaml',
        text: 'rules:\n  - id: no-docs-search\n    description: test\n    action: tool_call\n    when: { tools: [docs_search] }\n    effect: deny\n',
      },
    ],
    { agents: ['docs-researcher'], tools: ['docs_search'] },
  );
  const input: AgentRunInput = {
    agent: p.agents.resolve('docs-researcher'),
    task: 'how do approvals work',
    context: {},
    constraints: {},
    initiator: { subject: 'cli-user', tenant: 'default', roles: ['dispatcher'] },
    requested_at: new Date().toISOString(),
    policy,
  };
  const handle = await p.client.workflow.start('agentRun', {
    taskQueue: p.taskQueue,
    workflowId: runId,
    args: [input],
    memo: { agent: 'docs-researcher', agent_version: '1.0.0' },
  });
  await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
  const spans = await eventually(async () => {
    const all = exporter.getFinishedSpans().filter((s) => s.attributes[RunAttr.runId] === runId);
    return all.some((s) => s.name === 'RunWorkflow:agentRun') ? all : undefined;
  });
  const workflow = one(spans, 'RunWorkflow:agentRun');
  expect(workflow.status.code).toBe(SpanStatusCode.ERROR);
  expect(workflow.attributes['error.type']).toBe('PolicyDenied');
  const denied = one(spans, 'execute_tool docs_search');
  expect(denied.parentSpanId).toBe(id(workflow));
  expect(denied.status).toMatchObject({ code: SpanStatusCode.ERROR, message: expect.stringContaining('policy denied docs_search') });
  expect(denied.attributes).toMatchObject({
    'gen_ai.tool.name': 'docs_search',
    'acp.policy.effect': 'deny',
    'acp.policy.rule': 'no-docs-search',
    'error.type': 'PolicyDenied',
  });
  // No tool activity ran.
  expect(byName(spans, 'RunActivity:callTool')).toEqual([]);

  // The Web UI's details of the failed run say what failed, where and by which rule.
  const details = await uiDetails(runId);
  expect(details).toContain('· failed ·');
  expect(details).toContain('**Error:** PolicyDenied: policy denied docs_search');
  expect(details).toMatch(/\*\*Failed at:\*\* step \d+ ToolCall · tool `docs_search` · rule `no-docs-search` \(deny\)/);
});

test("a cancelled run's workflow span is an error with error.type Cancelled", async () => {
  const res = await http(p, 'POST', '/v1/runs', {
    agent: 'ticket-filer',
    task: 'disk full',
    context: { priority: 'low', details: 'disk full on db-1' },
  });
  const runId = res.body.run_id as string;
  const traceId = /^00-([0-9a-f]{32})-/.exec(res.headers.get('traceparent')!)![1]!;
  await eventually(async () =>
    ((await http(p, 'GET', `/v1/runs/${runId}`)).body.approvals as Approval[] | undefined)?.find((a) => a.status === 'pending'),
  );
  expect((await http(p, 'POST', `/v1/runs/${runId}/cancel`, {})).status).toBeLessThan(300);
  expect((await waitForRun(p, runId)).status).toBe('cancelled');
  const spans = await eventually(async () => {
    const all = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    return all.some((s) => s.name === 'RunWorkflow:agentRun') ? all : undefined;
  });
  const workflow = one(spans, 'RunWorkflow:agentRun');
  expect(workflow.status.code).toBe(SpanStatusCode.ERROR);
  expect(workflow.attributes['error.type']).toBe('Cancelled');
});

test('the Web UI details of an approved run name who decided', async () => {
  const res = await http(p, 'POST', '/v1/runs', {
    agent: 'ticket-filer',
    task: 'disk full',
    context: { priority: 'low', details: 'disk full on db-2' },
  });
  const runId = res.body.run_id as string;
  const { approval, decided } = await approvePending(p, runId, 'bob');
  expect(decided.status).toBe(200);
  expect((await waitForRun(p, runId)).status).toBe('completed');
  expect(await uiDetails(runId)).toContain(`**Approval ${approval.id}:** approved · \`bob\` approved`);
});
