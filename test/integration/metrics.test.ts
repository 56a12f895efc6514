import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { openAIProvider } from '../../activities/model/vendors';
import { ScriptedPlanner } from '../../activities/model/scripted';
import { createDocsSearchTool } from '../../activities/tools/docs-search';
import { ToolRegistry } from '../../activities/tools/registry';
import { createTicketCreateTool } from '../../activities/tools/ticket-create';
import { FileTicketStore } from '../../activities/tools/ticket-store';
import { defineTool } from '../../activities/tools/tool';
import { AgentRegistry } from '../../agents/registry';
import { loadSettings, PROJECT_ROOT } from '../../config/settings';
import { AgentDefinitionSchema } from '../../contracts/agent';
import type { Approval } from '../../contracts/run';
import { MemoryRateLimiter } from '../../gateway/rate-limit';
import { WorkerMetrics } from '../../observability/metrics';
import { serveMetrics, type MetricsServer } from '../../observability/metrics-server';
import { compilePolicy } from '../../policies/load';
import { parse as parseYaml } from 'yaml';
import { startFakeLlmVendor, type FakeLlmVendor } from '../../scripts/fakes/openai-vendor';
import { eventually, http, startPlatform, waitForRun, type TestPlatform } from '../support/platform';
import { scratchDir } from '../support/tools';

// After a few real runs (one approved, one failed on a broken tool, one priced model call under a tenant
// budget, one dispatch denied by policy, one caller over its rate limit), both /metrics endpoints have a
// non-zero series in every family the platform declares, and the worker's also has the Temporal SDK's.

const settings = loadSettings({});
let platform: TestPlatform;
let vendor: FakeLlmVendor;
let workerMetrics: MetricsServer;

const brokenTool = defineTool({
  name: 'always_fails',
  description: 'test tool: its backend is always down',
  input: z.object({}).strict(),
  output: z.object({}).strict(),
  side_effect: 'read',
  max_classification: 'public',
  timeout_ms: 5_000,
  max_attempts: 2,
  execute: async () => {
    throw new Error('backend down');
  },
});

const loadAgent = (name: string) =>
  AgentDefinitionSchema.parse(parseYaml(readFileSync(path.join(PROJECT_ROOT, 'agents', name, 'agent.yaml'), 'utf8')));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  vendor = await startFakeLlmVendor();
  vendor.respondWith(() => ({
    content: { type: 'final' as const, result: { answer: 42 }, reason: 'done' },
    usage: { prompt_tokens: 50, completion_tokens: 100 },
  }));
  const store = new FileTicketStore(path.join(scratchDir('metrics'), 'tickets.jsonl'));
  const tools = new ToolRegistry([createDocsSearchTool(settings.docsDir), createTicketCreateTool(store), brokenTool]);
  const docs = loadAgent('docs-researcher');
  const agents = new AgentRegistry(
    [
      loadAgent('ticket-filer'),
      docs,
      AgentDefinitionSchema.parse({
        ...docs,
        name: 'broken-tool-user',
        tools: ['always_fails'],
        script: { steps: [{ tool: 'always_fails', args: {} }], finish: { summary: 'never' } },
      }),
      AgentDefinitionSchema.parse({
        ...docs,
        name: 'priced-answer',
        model: { provider: 'openai', name: 'gpt-priced', max_output_tokens: 100, pricing: { input_per_1k: 0, output_per_1k: 1 } },
        script: undefined,
        output_schema: undefined,
      }),
    ],
    tools,
  );
  const sources = readdirSync(settings.policiesDir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => ({ file: f, text: readFileSync(path.join(settings.policiesDir, f), 'utf8') }));
  sources.push({ file: 'metered.yaml', text: 'budgets:\n  tenants:\n    metered: { daily_cost_usd: 5.0 }\n' });
  const policy = compilePolicy(sources, { agents: agents.list().map((a) => a.name), tools: tools.names() });
  const sdkMetricsAddress = `127.0.0.1:${await freePort()}`;
  platform = await startPlatform({
    agents,
    tools,
    policy,
    providers: [new ScriptedPlanner(), openAIProvider({ baseUrl: vendor.url, timeoutMs: 5000 })],
    rateLimits: { limiter: new MemoryRateLimiter(), principalPerMinute: 200, tenantPerMinute: 100_000 },
    sdkMetricsAddress,
  });
  workerMetrics = await serveMetrics({ host: '127.0.0.1', port: 0, registry: platform.metrics.worker.registry, sdkMetricsAddress });
});
afterAll(async () => {
  await workerMetrics?.close();
  await platform?.stop();
  await vendor?.close();
});

/** The series of a Prometheus text exposition: family (histogram suffixes folded), labels and value. */
function series(text: string): { family: string; labels: string; value: number }[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(l);
      if (!m) throw new Error(`not a Prometheus sample line: ${l}`);
      return { family: m[1]!.replace(/_(bucket|sum|count)$/, ''), labels: m[2] ?? '', value: Number(m[3]) };
    });
}
const scrape = async (url: string) => {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return series(await res.text());
};
const nonZero = (all: ReturnType<typeof series>, family: string) => all.filter((s) => s.family === family && s.value > 0);

/** Approved: ticket-filer waits for an approver (the worker counts it pending meanwhile), who approves. */
async function approvedRun(): Promise<void> {
  const approver = platform.as({ subject: 'alice', roles: ['approver'] });
  // Approved: ticket-filer waits for an approver, who approves.
  const filed = await http(platform, 'POST', '/v1/runs', {
    agent: 'ticket-filer',
    task: 'disk full',
    context: { priority: 'low', details: 'disk full on db-1' },
  });
  expect(filed.status).toBe(202);
  const fileRun = filed.body.run_id as string;
  const approval = await eventually(async () =>
    ((await http(platform, 'GET', `/v1/runs/${fileRun}`)).body.approvals as Approval[] | undefined)?.find((a) => a.status === 'pending'),
  );
  // While it waits, the worker counts it as pending (read from visibility, which follows the run within moments).
  await eventually(async () => {
    const waiting = await scrape(workerMetrics.url);
    return nonZero(waiting, 'acp_approvals_pending').length > 0 ? waiting : undefined;
  });
  const waiting = await scrape(workerMetrics.url);
  expect(nonZero(waiting, 'acp_approvals_pending').map((s) => [s.labels, s.value])).toEqual([['{agent="ticket-filer"}', 1]]);
  const decided = await http(
    platform,
    'POST',
    `/v1/runs/${fileRun}/approvals/${approval.id}`,
    { decision: 'approve', args_hash: approval.args_hash },
    approver,
  );
  expect(decided.status).toBe(200);
  expect((await waitForRun(platform, fileRun)).status).toBe('completed');
}

/** A failed run, a priced run under a tenant budget, a dispatch the policy denies, and a caller over the rate limit. */
async function failedPricedDeniedAndLimited(): Promise<void> {
  // Failed: the only tool's backend is down (two attempts), so the run fails.
  const broken = await http(platform, 'POST', '/v1/runs', { agent: 'broken-tool-user', task: 'try it' });
  expect((await waitForRun(platform, broken.body.run_id as string, 60_000)).status).toBe('failed');

  // A priced model call under a tenant budget: tokens, cost and a granted reservation.
  const metered = platform.as({ subject: 'meg', tenant: 'metered' });
  const priced = await http(platform, 'POST', '/v1/runs', { agent: 'priced-answer', task: 'what is it' }, metered);
  const pricedRun = await waitForRun(platform, priced.body.run_id as string, 30_000, metered);
  expect([pricedRun.status, pricedRun.error]).toEqual(['completed', undefined]);

  // Denied by policy: intents that mention admin are reserved to admins.
  const denied = await http(platform, 'POST', '/gateway/dispatch', {
    task_id: 'metrics-t1',
    intent: 'admin question about the docs',
    payload: {},
  });
  expect(denied.status).toBe(403);

  // Over the rate limit: 201 requests in a minute from one caller.
  const flood = platform.as({ subject: 'flood' });
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) {
    const batch = await Promise.all(Array.from({ length: 41 }, () => http(platform, 'GET', '/v1/agents', undefined, flood)));
    statuses.push(...batch.map((r) => r.status));
  }
  expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
}

test('both /metrics endpoints have non-zero series for every family after approved, failed and denied runs', async () => {
  await approvedRun();
  await failedPricedDeniedAndLimited();

  const gateway = await scrape(`${platform.baseUrl}/metrics`);
  for (const family of [
    'acp_gateway_requests_total',
    'acp_gateway_request_duration_seconds',
    'acp_gateway_rate_limited_total',
    'acp_runs_started_total',
    'acp_policy_decisions_total',
  ]) {
    expect([family, nonZero(gateway, family).length > 0]).toEqual([family, true]);
  }
  expect(nonZero(gateway, 'acp_policy_decisions_total').map((s) => s.labels)).toContainEqual(
    '{action="run.dispatch",effect="deny",rule="admin-intents-reserved"}',
  );
  expect(nonZero(gateway, 'acp_gateway_requests_total').map((s) => s.labels)).toContainEqual(
    '{route="/v1/runs/:id",method="GET",status="200"}',
  );

  // The worker's step observations arrive through a sink after each workflow task: poll for the last run's.
  const worker = await eventually(async () => {
    const all = await scrape(workerMetrics.url);
    return nonZero(all, 'acp_runs_finished_total').length >= 2 ? all : undefined;
  });
  for (const family of [
    'acp_runs_finished_total',
    'acp_step_duration_seconds',
    'acp_model_calls_total',
    'acp_model_tokens_total',
    'acp_model_cost_usd_total',
    'acp_tool_calls_total',
    'acp_tool_errors_total',
    'acp_tool_retries_total',
    'acp_tool_call_duration_seconds',
    'acp_tool_circuit_state',
    'acp_approval_wait_seconds',
    'acp_policy_decisions_total',
    'acp_budget_reservations_total',
  ]) {
    expect([family, nonZero(worker, family).length > 0]).toEqual([family, true]);
  }
  const finished = nonZero(worker, 'acp_runs_finished_total').map((s) => s.labels);
  expect(finished).toContainEqual('{agent="ticket-filer",version="1.0.0",outcome="completed"}');
  expect(finished).toContainEqual('{agent="broken-tool-user",version="1.0.0",outcome="failed"}');
  expect(nonZero(worker, 'acp_tool_errors_total').map((s) => s.labels)).toContainEqual('{tool="always_fails",error_type="Error"}');
  expect(nonZero(worker, 'acp_approval_wait_seconds').map((s) => s.labels)).toContainEqual('{agent="ticket-filer",outcome="approved"}');
  // The approval was decided: nothing is pending any more.
  expect(worker.filter((s) => s.family === 'acp_approvals_pending' && s.value !== 0)).toEqual([]);
  const decisions = nonZero(worker, 'acp_policy_decisions_total').map((s) => s.labels);
  // Model calls are counted as model_call decisions, never as tool_call ones.
  expect(decisions).toContainEqual('{action="model_call",effect="allow",rule="models-allowed"}');
  expect(decisions.filter((l) => l.includes('action="tool_call"') && l.includes('models-allowed'))).toEqual([]);
  // ticket_create waited for the approval ticket-filer's definition demands: a require_approval, not an allow.
  expect(decisions).toContainEqual('{action="tool_call",effect="require_approval",rule="agent.approvals"}');
  // The Temporal SDK's own worker metrics are on the same endpoint.
  expect(worker.filter((s) => s.family.startsWith('temporal_') && s.value > 0).length).toBeGreaterThan(0);
  // Labels stay bounded: no run id anywhere.
  for (const s of [...gateway, ...worker]) expect(s.labels).not.toMatch(/run-[0-9a-f]{8}-/);
});

test('acp_approvals_pending survives a worker restart during the wait and never goes below zero', async () => {
  const filed = await http(platform, 'POST', '/v1/runs', {
    agent: 'ticket-filer',
    task: 'disk full again',
    context: { priority: 'low', details: 'disk full on db-3' },
  });
  const runId = filed.body.run_id as string;
  const approval = await eventually(async () =>
    ((await http(platform, 'GET', `/v1/runs/${runId}`)).body.approvals as Approval[] | undefined)?.find((a) => a.status === 'pending'),
  );
  // A new worker process: fresh metrics that never saw the approval open.
  await platform.stopWorker();
  const restarted = new WorkerMetrics();
  platform.metrics.worker = restarted;
  await platform.startWorker();
  const pending = async () =>
    (await restarted.registry.getSingleMetric('acp_approvals_pending')!.get()).values.filter((v) => v.labels.agent === 'ticket-filer');
  expect((await eventually(async () => ((await pending()).length > 0 ? pending() : undefined))).map((v) => v.value)).toEqual([1]);
  const decided = await http(
    platform,
    'POST',
    `/v1/runs/${runId}/approvals/${approval.id}`,
    { decision: 'approve', args_hash: approval.args_hash },
    platform.as({ subject: 'alice', roles: ['approver'] }),
  );
  expect(decided.status).toBe(200);
  expect((await waitForRun(platform, runId, 60_000)).status).toBe('completed');
  await eventually(async () => ((await pending()).length === 0 ? true : undefined));
  expect((await restarted.registry.getSingleMetric('acp_approvals_pending')!.get()).values.every((v) => v.value >= 0)).toBe(true);
});
