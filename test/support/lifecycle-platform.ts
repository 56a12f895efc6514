import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import { openAIProvider } from '../../activities/model/vendors';
import { ScriptedPlanner } from '../../activities/model/scripted';
import { createDocsSearchTool } from '../../activities/tools/docs-search';
import { ToolRegistry } from '../../activities/tools/registry';
import { createTicketCreateTool } from '../../activities/tools/ticket-create';
import { FileTicketStore } from '../../activities/tools/ticket-store';
import { defineTool } from '../../activities/tools/tool';
import { AgentRegistry } from '../../agents/registry';
import { loadSettings, PROJECT_ROOT } from '../../config/settings';
import { AgentDefinitionSchema, type AgentDefinition } from '../../contracts/agent';
import type { Approval } from '../../contracts/run';
import { startFakeLlmVendor, type FakeLlmVendor } from '../../scripts/fakes/openai-vendor';
import { eventually, http, startPlatform, type TestPlatform } from './platform';

// The platform the run-lifecycle tests (test/integration/*-lifecycle.test.ts) run on: one worker and
// gateway per test file, a fake OpenAI vendor, and as agents the real ticket-filer and docs-researcher
// plus the variants defined here (budgets, quorum, deadlines, vendor models, long and large runs).

/** Credentials (request headers) of a person on the test gateway. */
export type Credentials = Record<string, string>;

/** A running lifecycle platform and the helpers its tests drive runs with. */
export interface LifecyclePlatform {
  platform: TestPlatform;
  vendor: FakeLlmVendor;
  /** The file's scratch folder: tickets.jsonl and blobs/ (large tool outputs) live here. */
  tmp: string;
  /** The people of these tests (API keys registered on the test gateway, tenant default). */
  people: { ALICE: Credentials; CAROL: Credentials; BOB_ADMIN: Credentials; DAVE: Credentials; OPERATOR: Credentials };
  /** Starts a run of the agent (with the ticket-filer's context) and returns its id. */
  dispatch: (agent: string, task: string, extra?: Record<string, unknown>) => Promise<string>;
  /** The run as GET /v1/runs/:id returns it. */
  getRun: (runId: string, headers?: Credentials) => Promise<Record<string, unknown>>;
  /** Waits until the run has a pending approval and returns it. */
  pendingApproval: (runId: string) => Promise<Approval>;
  /** Posts a decision on an approval of the run. */
  decide: (runId: string, approvalId: string, body: Record<string, unknown>, headers: Credentials) => ReturnType<typeof http>;
  /** The tickets the run created. */
  ticketsOf: (runId: string) => ReturnType<FileTicketStore['list']>;
  stop: () => Promise<void>;
}

/** A test-only read tool that waits (honouring cancellation), so a test can cancel mid-call. */
const slowTool = defineTool({
  name: 'slow_wait',
  description: 'test tool: waits for ms milliseconds',
  input: z.object({ ms: z.number().int().min(0).max(60_000) }).strict(),
  output: z.object({ waited: z.number() }).strict(),
  side_effect: 'read',
  max_classification: 'public',
  timeout_ms: 60_000,
  max_attempts: 1,
  execute: ({ ms }, ctx) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => resolve({ output: { waited: ms } }), ms);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(t);
        reject(new Error('cancelled'));
      });
    }),
});

/** A test-only read tool whose output (about 100 KB) is too large for workflow history. */
const bigTool = defineTool({
  name: 'big_read',
  description: 'test tool: returns a large document',
  input: z.object({}).strict(),
  output: z.object({ lines: z.array(z.string()) }).strict(),
  side_effect: 'read',
  max_classification: 'public',
  timeout_ms: 10_000,
  max_attempts: 1,
  execute: async () => ({ output: { lines: Array.from({ length: 2000 }, (_, i) => `line ${i} ${'x'.repeat(40)}`) } }),
});

const loadAgent = (name: string) =>
  AgentDefinitionSchema.parse(parseYaml(readFileSync(path.join(PROJECT_ROOT, 'agents', name, 'agent.yaml'), 'utf8')));
const ticketFiler = loadAgent('ticket-filer');

function variant(name: string, patch: Partial<Record<keyof AgentDefinition, unknown>>): AgentDefinition {
  return AgentDefinitionSchema.parse({ ...ticketFiler, name, ...patch });
}
const approvalRule = (patch: Record<string, unknown>) => [{ ...ticketFiler.approvals[0], ...patch }];

const openaiAgent = (name: string, patch: Record<string, unknown> = {}) =>
  variant(name, {
    model: { provider: 'openai', name: `gpt-test-${name}`, pricing: { input_per_1k: 1, output_per_1k: 1 } },
    approvals: [],
    script: undefined,
    ...patch,
  });

function lifecycleAgents(): AgentDefinition[] {
  return [
    ticketFiler,
    loadAgent('docs-researcher'),
    variant('tight-budget', { approvals: [], budgets: { max_steps: 2, timeout_seconds: 600, steps_per_history: 200 } }),
    variant('quorum-two', { approvals: approvalRule({ quorum: 2 }) }),
    variant('quick-reject', { approvals: approvalRule({ timeout_seconds: 2, on_timeout: 'reject' }) }),
    variant('quick-escalate', {
      approvals: approvalRule({ timeout_seconds: 2, on_timeout: 'escalate', escalate_to: { roles: ['admin'] } }),
    }),
    variant('no-approval-slow', {
      approvals: [],
      tools: ['docs_search', 'ticket_create', 'slow_wait'],
      script: {
        steps: [
          { tool: 'ticket_create', args: { title: '{{task}}', body: 'b', priority: 'low' } },
          { tool: 'slow_wait', args: { ms: 30_000 } },
        ],
        finish: { summary: 'never' },
      },
    }),
    openaiAgent('vendor-repair', { max_repairs: 1 }),
    openaiAgent('vendor-fallback', {
      model_max_attempts: 2,
      fallback: { model: { provider: 'scripted', name: 'fallback-script' } },
      script: { steps: [], finish: { summary: 'answered by the fallback: {{task}}' } },
    }),
    openaiAgent('vendor-priced'),
    openaiAgent('vendor-escalate', { model_max_attempts: 1, fallback: { escalate_to: { roles: ['operator'] } } }),
    variant('long-runner', {
      approvals: [],
      budgets: { max_steps: 60, timeout_seconds: 600, steps_per_history: 5 },
      script: {
        steps: ['one', 'two', 'three', 'four'].map((q) => ({ tool: 'docs_search', args: { query: `{{task}} ${q}` } })),
        finish: { summary: 'searched four times' },
      },
    }),
    variant('big-output', {
      approvals: [],
      tools: ['big_read'],
      script: { steps: [{ tool: 'big_read', args: {} }], finish: { summary: 'read a big thing' } },
    }),
  ];
}

const ctx = { priority: 'high', details: 'disk full on db-1' };

/** Starts the fake vendor and a platform (worker and gateway) with the lifecycle agents; call in beforeAll. */
export async function startLifecyclePlatform(): Promise<LifecyclePlatform> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'acp-lifecycle-'));
  const store = new FileTicketStore(path.join(tmp, 'tickets.jsonl'));
  const vendor = await startFakeLlmVendor();
  const settings = loadSettings({});
  const tools = new ToolRegistry([createDocsSearchTool(settings.docsDir), createTicketCreateTool(store), slowTool, bigTool]);
  const agents = new AgentRegistry(lifecycleAgents(), tools);
  const platform = await startPlatform({
    agents,
    tools,
    blobDir: path.join(tmp, 'blobs'),
    providers: [new ScriptedPlanner(), openAIProvider({ baseUrl: vendor.url, timeoutMs: 5000 })],
  });
  const people = {
    ALICE: platform.as({ subject: 'alice', roles: ['approver'] }),
    CAROL: platform.as({ subject: 'carol', roles: ['approver'] }),
    BOB_ADMIN: platform.as({ subject: 'bob', roles: ['admin'] }),
    DAVE: platform.as({ subject: 'dave', roles: ['dispatcher'] }),
    OPERATOR: platform.as({ subject: 'olga', roles: ['operator'] }),
  };

  async function dispatch(agent: string, task: string, extra: Record<string, unknown> = {}): Promise<string> {
    const res = await http(platform, 'POST', '/v1/runs', { agent, task, context: ctx, ...extra });
    expect(res.status).toBe(202);
    return res.body.run_id as string;
  }

  async function getRun(runId: string, headers: Credentials = {}) {
    return (await http(platform, 'GET', `/v1/runs/${runId}`, undefined, headers)).body;
  }

  async function pendingApproval(runId: string): Promise<Approval> {
    return eventually(
      async () => {
        const run = await getRun(runId);
        return (run.approvals as Approval[] | undefined)?.find((a) => a.status === 'pending');
      },
      20_000,
      `a pending approval on ${runId}`,
    );
  }

  function decide(runId: string, approvalId: string, body: Record<string, unknown>, headers: Credentials) {
    return http(platform, 'POST', `/v1/runs/${runId}/approvals/${approvalId}`, body, headers);
  }

  const ticketsOf = (runId: string) => store.list().then((all) => all.filter((t) => t.run_id === runId));

  async function stop(): Promise<void> {
    await platform.stop();
    await vendor.close();
    rmSync(tmp, { recursive: true, force: true });
  }

  return { platform, vendor, tmp, people, dispatch, getRun, pendingApproval, decide, ticketsOf, stop };
}
