import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { FileBlobStore } from '../../activities/blob-store';
import { OpenAICompatibleProvider } from '../../activities/model/openai-compatible';
import { ScriptedPlanner } from '../../activities/model/scripted';
import { createDocsSearchTool } from '../../activities/tools/docs-search';
import { ToolRegistry } from '../../activities/tools/registry';
import { createTicketCreateTool } from '../../activities/tools/ticket-create';
import { FileTicketStore } from '../../activities/tools/ticket-store';
import { defineTool } from '../../activities/tools/tool';
import { AgentRegistry } from '../../agents/registry';
import { loadSettings, PROJECT_ROOT } from '../../config/settings';
import { AgentDefinitionSchema, type AgentDefinition } from '../../contracts/agent';
import { DecisionError, ErrorCode } from '../../contracts/errors';
import type { Approval } from '../../contracts/run';
import { parse as parseYaml } from 'yaml';
import { startFakeLlmVendor, type FakeLlmVendor } from '../support/fake-llm-vendor';
import { eventually, http, startPlatform, waitForRun, type TestPlatform } from '../support/platform';
import { runsStartedSince } from '../support/visibility';

// The run state machine end to end on the real dev server: approvals (approve, reject, edit, deadline,
// escalation, quorum, refused decisions), cancellation, manual takeover, budgets, output_spec repair
// and model fallback. One worker and gateway for the file; agents are the real ticket-filer plus
// variants defined here.

// Credentials of the people in these tests (API keys registered on the test gateway, tenant default).
let ALICE: Record<string, string>;
let CAROL: Record<string, string>;
let BOB_ADMIN: Record<string, string>;
let DAVE: Record<string, string>;
let OPERATOR: Record<string, string>;

let tmp: string;
let store: FileTicketStore;
let vendor: FakeLlmVendor;
let platform: TestPlatform;

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

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'acp-lifecycle-'));
  store = new FileTicketStore(path.join(tmp, 'tickets.jsonl'));
  vendor = await startFakeLlmVendor();
  const settings = loadSettings({});
  const tools = new ToolRegistry([createDocsSearchTool(settings.docsDir), createTicketCreateTool(store), slowTool, bigTool]);
  const openaiAgent = (name: string, patch: Record<string, unknown> = {}) =>
    variant(name, {
      model: { provider: 'openai', name: `gpt-test-${name}`, pricing: { input_per_1k: 1, output_per_1k: 1 } },
      approvals: [],
      script: undefined,
      ...patch,
    });
  const agents = new AgentRegistry(
    [
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
    ],
    tools,
  );
  platform = await startPlatform({
    agents,
    tools,
    blobDir: path.join(tmp, 'blobs'),
    providers: [new ScriptedPlanner(), new OpenAICompatibleProvider({ baseUrl: vendor.url, timeoutMs: 5000 })],
  });
  ALICE = platform.as({ subject: 'alice', roles: ['approver'] });
  CAROL = platform.as({ subject: 'carol', roles: ['approver'] });
  BOB_ADMIN = platform.as({ subject: 'bob', roles: ['admin'] });
  DAVE = platform.as({ subject: 'dave', roles: ['dispatcher'] });
  OPERATOR = platform.as({ subject: 'olga', roles: ['operator'] });
});

afterAll(async () => {
  await platform.stop();
  await vendor.close();
  rmSync(tmp, { recursive: true, force: true });
});

const ctx = { priority: 'high', details: 'disk full on db-1' };

async function dispatch(agent: string, task: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await http(platform, 'POST', '/v1/runs', { agent, task, context: ctx, ...extra });
  expect(res.status).toBe(202);
  return res.body.run_id as string;
}

async function getRun(runId: string, headers: Record<string, string> = {}) {
  return (await http(platform, 'GET', `/v1/runs/${runId}`, undefined, headers)).body;
}

/** Waits until the run has a pending approval and returns it. */
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

function decide(runId: string, approvalId: string, body: Record<string, unknown>, headers: Record<string, string>) {
  return http(platform, 'POST', `/v1/runs/${runId}/approvals/${approvalId}`, body, headers);
}

const ticketsOf = (runId: string) => store.list().then((all) => all.filter((t) => t.run_id === runId));

describe('human approval', () => {
  test('approve: the exact call waits, the approver sees it, approves, and the ticket is created once', async () => {
    const runId = await dispatch('ticket-filer', 'Disk full on db-1');
    const approval = await pendingApproval(runId);
    expect(approval).toMatchObject({
      kind: 'tool_call',
      tool: 'ticket_create',
      quorum: 1,
      status: 'pending',
      approvers: { roles: ['approver'] },
    });
    expect(approval.args).toEqual({
      title: 'Disk full on db-1',
      body: 'Reported through the agent control plane. Context: disk full on db-1',
      priority: 'high',
    });
    expect(approval.args_hash).toMatch(/^[0-9a-f]{64}$/);

    const waiting = await getRun(runId);
    expect(waiting).toMatchObject({ status: 'running', state: 'HumanApproval' });
    expect(await ticketsOf(runId)).toEqual([]);

    // "Everything waiting for me" is one visibility query behind GET /v1/approvals.
    const mine = await eventually(async () => {
      const list = (await http(platform, 'GET', '/v1/approvals', undefined, ALICE)).body.approvals as { run_id: string }[];
      return list.find((a) => a.run_id === runId);
    });
    expect(mine).toMatchObject({ id: approval.id, args_hash: approval.args_hash, agent: { name: 'ticket-filer', version: '1.0.0' } });
    const forDave = (await http(platform, 'GET', '/v1/approvals', undefined, DAVE)).body.approvals as { run_id: string }[];
    expect(forDave.find((a) => a.run_id === runId)).toBeUndefined();

    const res = await decide(runId, approval.id, { decision: 'approve', args_hash: approval.args_hash, comment: 'go' }, ALICE);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ approval_id: approval.id, status: 'approved', approvals: 1, quorum: 1 });

    const run = await waitForRun(platform, runId);
    expect(run.status).toBe('completed');
    const tickets = await ticketsOf(runId);
    expect(tickets).toHaveLength(1);
    expect(tickets[0]).toMatchObject({ title: 'Disk full on db-1', priority: 'high' });
    const output = run.output as { actions_taken: { tool: string; side_effect: string }[] };
    expect(output.actions_taken.map((a) => [a.tool, a.side_effect])).toEqual([
      ['docs_search', 'read'],
      ['ticket_create', 'write'],
    ]);
    expect((run.steps as { type: string }[]).map((s) => s.type)).toEqual([
      'Plan',
      'ToolCall',
      'Validate',
      'Decide',
      'Plan',
      'ToolCall',
      'HumanApproval',
      'ToolCall',
      'Validate',
      'Decide',
      'Plan',
      'Validate',
      'Complete',
    ]);
  });

  test('reject: the call is not made, the run goes on and says why', async () => {
    const runId = await dispatch('ticket-filer', 'Reject me');
    const approval = await pendingApproval(runId);
    const res = await decide(
      runId,
      approval.id,
      { decision: 'reject', args_hash: approval.args_hash, comment: 'not a real incident' },
      ALICE,
    );
    expect(res.body).toMatchObject({ status: 'rejected' });
    const run = await waitForRun(platform, runId);
    expect(run.status).toBe('completed');
    expect(await ticketsOf(runId)).toEqual([]);
    const output = run.output as { warnings: string[]; actions_taken: { tool: string }[] };
    expect(output.warnings).toContain('ticket_create was not run: rejected by alice: not a real incident');
    expect(output.actions_taken.map((a) => a.tool)).toEqual(['docs_search']);
  });

  test('approve with edited arguments: the edited call runs and the edit is recorded as a diff', async () => {
    const runId = await dispatch('ticket-filer', 'Edit me');
    const approval = await pendingApproval(runId);
    const bad = await decide(
      runId,
      approval.id,
      { decision: 'approve', args_hash: approval.args_hash, edited_args: { ...approval.args, priority: 'urgent' } },
      ALICE,
    );
    expect(bad.status).toBe(400);
    expect((bad.body.errors as { path: string }[]).map((e) => e.path)).toContain('edited_args.priority');

    const edited = { ...approval.args, title: 'Edited title', priority: 'low' };
    const res = await decide(runId, approval.id, { decision: 'approve', args_hash: approval.args_hash, edited_args: edited }, ALICE);
    expect(res.body).toMatchObject({ status: 'approved' });
    await waitForRun(platform, runId);
    expect((await ticketsOf(runId)).map((t) => [t.title, t.priority])).toEqual([['Edited title', 'low']]);
    const state = await platform.client.workflow.getHandle(runId).query('state');
    const decided = (state as { approvals: Approval[] }).approvals[0]!;
    expect(decided.decisions[0]!.diff).toEqual([
      { path: 'priority', before: 'high', after: 'low' },
      { path: 'title', before: 'Edit me', after: 'Edited title' },
    ]);
  });

  test('quorum of two: one approval is not enough, the same approver cannot vote twice, a second one completes it', async () => {
    const runId = await dispatch('quorum-two', 'Needs two');
    const approval = await pendingApproval(runId);
    const first = await decide(runId, approval.id, { decision: 'approve', args_hash: approval.args_hash }, ALICE);
    expect(first.body).toMatchObject({ status: 'pending', approvals: 1, quorum: 2 });
    const again = await decide(runId, approval.id, { decision: 'approve', args_hash: approval.args_hash }, ALICE);
    expect(again.status).toBe(409);
    expect(again.body.title).toBe(DecisionError.DuplicateVote);
    expect(await ticketsOf(runId)).toEqual([]);
    const second = await decide(runId, approval.id, { decision: 'approve', args_hash: approval.args_hash }, CAROL);
    expect(second.body).toMatchObject({ status: 'approved', approvals: 2 });
    await waitForRun(platform, runId);
    expect(await ticketsOf(runId)).toHaveLength(1);
  });

  test('refused decisions get a definite 4xx and leave the run unchanged', async () => {
    const runId = await dispatch('ticket-filer', 'Refusals');
    const approval = await pendingApproval(runId);
    const historyBefore = (await platform.client.workflow.getHandle(runId).describe()).historyLength;

    const wrongApprover = await decide(runId, approval.id, { decision: 'approve', args_hash: approval.args_hash }, DAVE);
    expect([wrongApprover.status, wrongApprover.body.title]).toEqual([403, DecisionError.ApproverNotAllowed]);
    const staleHash = await decide(runId, approval.id, { decision: 'approve', args_hash: 'a'.repeat(64) }, ALICE);
    expect([staleHash.status, staleHash.body.title]).toEqual([409, DecisionError.ArgsHashMismatch]);
    const noSuch = await decide(runId, 'apr-999', { decision: 'approve', args_hash: approval.args_hash }, ALICE);
    expect([noSuch.status, noSuch.body.title]).toEqual([404, DecisionError.ApprovalNotFound]);
    const malformed = await decide(runId, approval.id, { decision: 'maybe', args_hash: approval.args_hash }, ALICE);
    expect(malformed.status).toBe(400);

    // A run that waits for no approval, and another run's approval: refused too.
    const otherRun = await dispatch('docs-researcher', 'What is a run?');
    const elsewhere = await decide(otherRun, approval.id, { decision: 'approve', args_hash: approval.args_hash }, ALICE);
    expect(elsewhere.status).toBeGreaterThanOrEqual(404);
    expect(elsewhere.status).toBeLessThan(500);

    // Validators reject without writing history; the approval is still pending.
    expect((await platform.client.workflow.getHandle(runId).describe()).historyLength).toBe(historyBefore);
    expect((await pendingApproval(runId)).decisions).toEqual([]);

    const ok = await decide(runId, approval.id, { decision: 'approve', args_hash: approval.args_hash }, ALICE);
    expect(ok.status).toBe(200);
    const late = await decide(runId, approval.id, { decision: 'reject', args_hash: approval.args_hash }, CAROL);
    expect(late.status).toBe(409);
    await waitForRun(platform, runId);
    const afterEnd = await decide(runId, approval.id, { decision: 'approve', args_hash: approval.args_hash }, CAROL);
    expect(afterEnd.status).toBe(409);
  });

  test('deadline reached with reject as the default: the call is not made', async () => {
    const runId = await dispatch('quick-reject', 'Nobody answers');
    const run = await waitForRun(platform, runId);
    expect(run.status).toBe('completed');
    expect((run.output as { warnings: string[] }).warnings).toContain('ticket_create was not run: no decision before the deadline');
    expect(await ticketsOf(runId)).toEqual([]);
  });

  test('deadline reached with escalation: the approval moves to the escalation group, who may then decide', async () => {
    const runId = await dispatch('quick-escalate', 'Escalate me');
    const approval = await pendingApproval(runId);
    const escalated = await eventually(async () => {
      const a = await pendingApproval(runId);
      return a.escalations > 0 ? a : undefined;
    });
    expect(escalated.id).toBe(approval.id);
    const byOriginal = await decide(runId, approval.id, { decision: 'approve', args_hash: approval.args_hash }, ALICE);
    expect(byOriginal.status).toBe(403);
    const byAdmin = await decide(runId, approval.id, { decision: 'approve', args_hash: approval.args_hash }, BOB_ADMIN);
    expect(byAdmin.body).toMatchObject({ status: 'approved' });
    await waitForRun(platform, runId);
    expect(await ticketsOf(runId)).toHaveLength(1);
  });
});

describe('cancel and takeover', () => {
  test('cancel during a tool call: the tool is interrupted, effects already made are listed, status cancelled', async () => {
    const runId = await dispatch('no-approval-slow', 'Cancel me');
    await eventually(async () => {
      const run = await getRun(runId);
      const steps = run.steps as { type: string; input_summary: string; ended_at?: string }[] | undefined;
      return steps?.some((s) => s.type === 'ToolCall' && s.input_summary.startsWith('slow_wait') && !s.ended_at) ? true : undefined;
    });
    const res = await http(platform, 'POST', `/v1/runs/${runId}/cancel`, undefined);
    expect(res.status).toBe(202);
    const run = await waitForRun(platform, runId);
    expect(run.status).toBe('cancelled');
    const output = run.output as { actions_taken: { tool: string }[] };
    expect(output.actions_taken.map((a) => a.tool)).toEqual(['ticket_create']);
    expect(await ticketsOf(runId)).toHaveLength(1);
    const steps = run.steps as { type: string; output_summary?: string }[];
    expect(steps.at(-1)!.type).toBe('Fail');
    expect(steps.find((s) => s.type === 'ToolCall' && s.output_summary === 'interrupted')).toBeDefined();
    const again = await http(platform, 'POST', `/v1/runs/${runId}/cancel`, undefined);
    expect(again.status).toBe(409);
  });

  test('manual takeover completes a waiting run with a human-provided result; non-operators are refused', async () => {
    const runId = await dispatch('ticket-filer', 'Take me over');
    await pendingApproval(runId);
    const refused = await http(platform, 'POST', `/v1/runs/${runId}/takeover`, { result: { done: true }, reason: 'x' }, ALICE);
    expect(refused.status).toBe(403);
    const res = await http(
      platform,
      'POST',
      `/v1/runs/${runId}/takeover`,
      { result: { resolution: 'fixed by hand' }, reason: 'approver on leave' },
      OPERATOR,
    );
    expect(res.status).toBe(200);
    expect(res.body.output).toMatchObject({ result: { resolution: 'fixed by hand' }, completed_by: 'human' });
    const run = await waitForRun(platform, runId);
    expect(run.status).toBe('completed');
    expect(run.output).toMatchObject({ completed_by: 'human', warnings: ['completed by hand by olga: approver on leave'] });
    expect(await ticketsOf(runId)).toEqual([]);
  });
});

describe('budgets', () => {
  test('max_tokens: the run fails before the next step once the tokens are spent', async () => {
    const runId = await dispatch('docs-researcher', 'Tokens', { constraints: { max_tokens: 10 } });
    const run = await waitForRun(platform, runId);
    expect(run.error).toEqual({ type: ErrorCode.BudgetExceeded, message: 'budget_exceeded: max_tokens' });
    expect((run.steps as { type: string }[]).map((s) => s.type)).toEqual(['Plan', 'Fail']);
  });

  test('max_cost_usd: priced vendor tokens count toward the cost budget', async () => {
    vendor.respondWith(() => ({
      content: { type: 'tool_call', tool: 'docs_search', args: { query: 'runs' }, reason: 'look' },
      usage: { prompt_tokens: 1000, completion_tokens: 1000 },
    }));
    try {
      const runId = await dispatch('vendor-priced', 'Cost', { constraints: { max_cost_usd: 1.5 } });
      const run = await waitForRun(platform, runId);
      expect(run.error).toEqual({ type: ErrorCode.BudgetExceeded, message: 'budget_exceeded: max_cost_usd' });
      expect((run.usage as { cost_usd: number }).cost_usd).toBeCloseTo(2, 5);
    } finally {
      vendor.respondWith(() => ({}));
    }
  });

  test('timeout_seconds: the deadline timer interrupts a run waiting for approval, whose approval is withdrawn', async () => {
    const runId = await dispatch('ticket-filer', 'Too slow', { constraints: { timeout_seconds: 2 } });
    const run = await waitForRun(platform, runId);
    expect(run.error).toEqual({ type: ErrorCode.BudgetExceeded, message: 'budget_exceeded: timeout_seconds' });
    expect((run.steps as { type: string }[]).at(-2)!.type).toBe('HumanApproval');
    expect((run.approvals as Approval[]).map((a) => a.status)).toEqual(['withdrawn']);
  });

  test("a caller's constraints tighten the agent's budgets but never loosen them", async () => {
    // tight-budget allows 2 steps; asking for 100 still stops the run at 2.
    const run = await waitForRun(platform, await dispatch('tight-budget', 'Loosen?', { constraints: { max_steps: 100 } }));
    expect(run.error).toEqual({ type: ErrorCode.BudgetExceeded, message: 'budget_exceeded: max_steps' });
    expect((run.steps as unknown[]).length).toBe(3);
  });
});

describe('output_spec and fallback', () => {
  const spec = { type: 'object', required: ['answer'], properties: { answer: { type: 'string', minLength: 3 } } };

  test('a violating final answer gets one repair through Plan and then passes', async () => {
    vendor.respondWith((body) => {
      const sawViolation = body.messages.some((m) => m.content.includes('output_spec'));
      return { content: { type: 'final', result: sawViolation ? { answer: 'fixed' } : { answer: 1 }, reason: 'r' } };
    });
    try {
      const runId = await dispatch('vendor-repair', 'Repair', { output_spec: spec });
      const run = await waitForRun(platform, runId);
      expect(run.status).toBe('completed');
      expect((run.output as { result: unknown }).result).toEqual({ answer: 'fixed' });
      expect((run.steps as { type: string }[]).map((s) => s.type)).toEqual(['Plan', 'Validate', 'Plan', 'Validate', 'Complete']);
    } finally {
      vendor.respondWith(() => ({}));
    }
  });

  test('a final answer that stays invalid fails the run naming the violated path', async () => {
    const runId = await dispatch('docs-researcher', 'Never valid', { output_spec: spec });
    const run = await waitForRun(platform, runId);
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ type: ErrorCode.OutputSpecViolation, message: expect.stringContaining('"answer"') });
    // one Validate for the tool output, then the answer, its repair, and the repaired answer again
    expect((run.steps as { type: string }[]).filter((s) => s.type === 'Validate')).toHaveLength(3);
  });

  test('when the model vendor keeps failing, the agent falls back to its fallback model', async () => {
    vendor.respondWith(() => ({ status: 500, error: 'overloaded' }));
    try {
      const runId = await dispatch('vendor-fallback', 'Fallback please');
      const run = await waitForRun(platform, runId);
      expect(run.status).toBe('completed');
      expect((run.output as { result: { summary: string } }).result.summary).toBe('answered by the fallback: Fallback please');
      expect((run.output as { warnings: string[] }).warnings[0]).toMatch(
        /model openai\/gpt-test-vendor-fallback failed \(ModelUnavailable\); fell back to scripted\/fallback-script/,
      );
      expect((run.steps as { type: string }[]).map((s) => s.type)).toEqual(['Plan', 'RetryFallback', 'Plan', 'Validate', 'Complete']);
      expect(vendor.requests.filter((r) => r.body.model === 'gpt-test-vendor-fallback').length).toBe(2);
    } finally {
      vendor.respondWith(() => ({}));
    }
  });
});

describe('agent schemas', () => {
  test("a context that fails the agent's input_schema is a 400 naming the field, and starts nothing", async () => {
    const since = new Date();
    const res = await http(platform, 'POST', '/v1/runs', {
      agent: 'ticket-filer',
      task: 'x',
      context: { priority: 'urgent', details: 'y' },
    });
    expect(res.status).toBe(400);
    expect((res.body.errors as { path: string }[]).map((e) => e.path)).toContain('context.priority');
    expect(await runsStartedSince(platform, since)).toEqual([]);
  });

  test('an output_spec that is not a usable JSON Schema is a 400', async () => {
    const res = await http(platform, 'POST', '/v1/runs', {
      agent: 'docs-researcher',
      task: 'x',
      output_spec: { type: 'no-such-type' },
    });
    expect(res.status).toBe(400);
    expect((res.body.errors as { path: string }[]).map((e) => e.path)).toEqual(['output_spec']);
  });
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

describe('escalation', () => {
  test('when the model keeps failing and there is no fallback model, a human decides; a rejection ends the run', async () => {
    vendor.respondWith(() => ({ status: 503, error: 'down' }));
    try {
      const runId = await dispatch('vendor-escalate', 'Escalate');
      const approval = await pendingApproval(runId);
      expect(approval).toMatchObject({ kind: 'escalation', approvers: { roles: ['operator'] } });
      expect(approval.reason).toContain('ModelUnavailable');
      const res = await decide(
        runId,
        approval.id,
        { decision: 'reject', args_hash: approval.args_hash, comment: 'vendor is down' },
        OPERATOR,
      );
      expect(res.status).toBe(200);
      const run = await waitForRun(platform, runId);
      expect(run.status).toBe('failed');
      expect(run.error).toMatchObject({ type: ErrorCode.ModelUnavailable, message: expect.stringContaining('gave up after escalation') });
      expect((run.steps as { type: string }[]).map((s) => s.type)).toEqual(['Plan', 'RetryFallback', 'HumanApproval', 'Decide', 'Fail']);
    } finally {
      vendor.respondWith(() => ({}));
    }
  });
});
