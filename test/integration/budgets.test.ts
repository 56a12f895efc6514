import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { openAIProvider } from '../../activities/model/vendors';
import { ScriptedPlanner } from '../../activities/model/scripted';
import { createToolRegistry } from '../../activities/tools';
import { AgentRegistry } from '../../agents/registry';
import { loadSettings } from '../../config/settings';
import { AgentDefinitionSchema, type AgentDefinition } from '../../contracts/agent';
import { ErrorCode } from '../../contracts/errors';
import type { Step } from '../../contracts/run';
import { type Reservation, type ReserveRequest } from '../../contracts/governance';
import { GovernanceStore } from '../../governance/store';
import { compilePolicy } from '../../policies/load';
import { openTestStore, type TestStore } from '../support/governance';
import { startFakeLlmVendor, toolResultsOf, type FakeLlmVendor } from '../../scripts/fakes/openai-vendor';
import { http, startPlatform, waitForRun, type TestPlatform } from '../support/platform';

// Budgets before the call: every model call first reserves its estimated cost against the tenant's
// daily budget in the governance store (PostgreSQL here), and settles with the actual usage after.
// The vendor is the fake OpenAI-compatible HTTP server; what it received is what was spent.

const PRICED = { provider: 'openai', name: 'gpt-priced', max_output_tokens: 100, pricing: { input_per_1k: 0, output_per_1k: 1 } };
// With input free and the output capped at 100 tokens at $1 per 1k, every call is estimated at exactly
// $0.10, and the fake vendor reports 100 completion tokens, so it also costs exactly $0.10.
const agent = (name: string, patch: Record<string, unknown> = {}): AgentDefinition =>
  AgentDefinitionSchema.parse({
    name,
    version: '1.0.0',
    owner: 'test',
    description: 'one model call, then the answer',
    model: PRICED,
    instructions: 'Answer.',
    tools: ['docs_search'],
    budgets: { max_steps: 10, timeout_seconds: 120 },
    script: { steps: [], finish: { summary: 'answered by the cheaper model: {{task}}' } },
    ...patch,
  });

/**
 * The real store, with outages a test can queue for reserve: the store down before the transaction,
 * or the reply lost after it committed (a worker killed, a connection cut at the wrong moment).
 */
class OutageStore extends GovernanceStore {
  outages: ('down' | 'reply-lost')[] = [];
  reserveAttempts = 0;
  override async reserve(r: ReserveRequest): Promise<Reservation> {
    this.reserveAttempts += 1;
    const outage = this.outages.shift();
    if (outage === 'down') throw new Error('connect ECONNREFUSED 127.0.0.1:5432 (injected)');
    const answer = await super.reserve(r);
    if (outage === 'reply-lost') throw new Error('Connection terminated unexpectedly (injected, after the commit)');
    return answer;
  }
}

const settings = loadSettings({});
let vendor: FakeLlmVendor;
let platform: TestPlatform;
let opened: TestStore;
let store: OutageStore;
/** What the vendor answers unless a test says otherwise: one final answer of exactly $0.10. */
const oneFinalAnswer = () => ({
  content: { type: 'final' as const, result: { answer: 42 }, reason: 'done' },
  usage: { prompt_tokens: 50, completion_tokens: 100 },
});
beforeAll(async () => {
  vendor = await startFakeLlmVendor();
  const tools = createToolRegistry({
    docsDir: settings.docsDir,
    ticketsFile: path.join(process.env.TEST_TMP_DIR!, 'budget-tickets.jsonl'),
  });
  const agents = new AgentRegistry(
    [
      agent('one-call'),
      agent('with-cheaper-fallback', { fallback: { model: { provider: 'scripted', name: 'cheap-script' } } }),
      agent('two-calls', { budgets: { max_steps: 10, timeout_seconds: 120, max_cost_usd: 0.15 } }),
    ],
    tools,
  );
  // The project's own policy files, plus one with this test's tenant budgets.
  const dir = settings.policiesDir;
  const sources = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => ({ file: f, text: readFileSync(path.join(dir, f), 'utf8') }));
  sources.push({
    file: 'test-budgets.yaml',
    text: [
      'budgets:',
      '  tenants:',
      '    ten-calls: { daily_cost_usd: 1.0 }',
      '    fallback-co: { daily_cost_usd: 0.15 }',
      '    flaky-co: { daily_cost_usd: 1.0 }',
    ].join('\n'),
  });
  const policy = compilePolicy(sources, { agents: agents.list().map((a) => a.name), tools: tools.names() });
  opened = await openTestStore();
  store = new OutageStore(opened.sql);
  platform = await startPlatform({
    audit: store,
    agents,
    tools,
    policy,
    providers: [new ScriptedPlanner(), openAIProvider({ baseUrl: vendor.url, timeoutMs: 5000 })],
  });
});
// Tests that change the vendor's answers or the store's outages leave nothing behind for the next.
beforeEach(() => {
  vendor.respondWith(oneFinalAnswer);
  store.outages = [];
});
afterAll(async () => {
  await platform?.stop();
  await vendor?.close();
  await opened?.close();
});

const today = () => new Date().toISOString().slice(0, 10);
const stepsOf = (run: Record<string, unknown>) => run.steps as Step[];

test('20 concurrent runs against a tenant budget that allows exactly 10 model calls make exactly 10', async () => {
  const auth = platform.as({ subject: 'burst', tenant: 'ten-calls' });
  const before = vendor.requests.length;
  const started = await Promise.all(
    Array.from({ length: 20 }, (_, i) => http(platform, 'POST', '/v1/runs', { agent: 'one-call', task: `question ${i}` }, auth)),
  );
  expect(started.map((r) => r.status)).toEqual(Array(20).fill(202));
  const runs = await Promise.all(started.map((r) => waitForRun(platform, r.body.run_id as string, 60_000, auth)));

  // What the vendor received is the proof: exactly 10 calls, no more.
  expect(vendor.requests.length - before).toBe(10);
  const completed = runs.filter((r) => r.status === 'completed');
  const failed = runs.filter((r) => r.status === 'failed');
  expect(completed).toHaveLength(10);
  expect(failed).toHaveLength(10);
  for (const run of failed) {
    expect(run.error).toMatchObject({
      type: ErrorCode.BudgetExceeded,
      message: expect.stringMatching(/^budget_exceeded: tenant_daily_cost/),
    });
    // The call was not made: Plan recorded the denial without usage, Decide had no cheaper model, Fail.
    expect(stepsOf(run).map((s) => s.type)).toEqual(['Plan', 'Decide', 'Fail']);
    expect(stepsOf(run)[0]).toMatchObject({ error: { type: ErrorCode.BudgetExceeded } });
    expect(stepsOf(run)[0]!.usage).toBeUndefined();
  }
  const day = await platform.governance.budgetDay('ten-calls', today());
  expect(day).toMatchObject({ committed_usd: 1, reservations: { settled: 10, denied: 10, reserved: 0 } });

  // Every denial is in the audit ledger, with the rule and the run.
  const rows = await platform.governance.list({ tenant: 'ten-calls', limit: 1000 });
  const denials = rows.filter((r) => r.action === 'budget.reserve');
  expect(denials).toHaveLength(10);
  expect(new Set(denials.map((r) => r.run_id))).toEqual(new Set(failed.map((r) => r.run_id)));
  for (const row of denials) {
    expect(row).toMatchObject({
      outcome: 'denied',
      rule: 'budgets.tenants.ten-calls',
      principal: 'burst',
      trace_id: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
  }
  expect(rows.filter((r) => r.action === 'dispatch' && r.outcome === 'accepted')).toHaveLength(20);

  // The tenant sees where it stands through the API.
  const budget = await http(platform, 'GET', '/v1/budget', undefined, auth);
  expect(budget.body).toMatchObject({
    tenant: 'ten-calls',
    day: today(),
    limit: { daily_cost_usd: 1 },
    committed_usd: 1,
    remaining_usd: 0,
    reservations: { settled: 10, denied: 10, reserved: 0 },
  });
}, 120_000);

test('when the tenant budget cannot cover the model, a cheaper fallback model answers instead', async () => {
  const auth = platform.as({ subject: 'frugal', tenant: 'fallback-co' });
  const before = vendor.requests.length;
  const first = await http(platform, 'POST', '/v1/runs', { agent: 'with-cheaper-fallback', task: 'first' }, auth);
  expect((await waitForRun(platform, first.body.run_id as string, 30_000, auth)).status).toBe('completed');
  expect(vendor.requests.length - before).toBe(1);

  // $0.10 of $0.15 is committed: the priced model no longer fits, the scripted one costs nothing.
  const second = await http(platform, 'POST', '/v1/runs', { agent: 'with-cheaper-fallback', task: 'second' }, auth);
  const run = await waitForRun(platform, second.body.run_id as string, 30_000, auth);
  expect(run.status).toBe('completed');
  expect(vendor.requests.length - before).toBe(1);
  expect(stepsOf(run).map((s) => s.type)).toEqual(['Plan', 'Decide', 'Plan', 'Validate', 'Complete']);
  expect(stepsOf(run)[1]!.output_summary).toMatch(/cheaper scripted\/cheap-script/);
  const output = run.output as { result: { summary: string }; warnings: string[] };
  expect(output.result.summary).toBe('answered by the cheaper model: second');
  expect(output.warnings).toEqual([
    expect.stringMatching(/could not cover openai\/gpt-priced .*fell back to the cheaper scripted\/cheap-script/),
  ]);
  expect(await platform.governance.budgetDay('fallback-co', today())).toMatchObject({
    committed_usd: 0.1,
    reservations: { settled: 1, denied: 1 },
  });
}, 60_000);

test("the run's own cost budget is checked before the call, not after the money is spent", async () => {
  vendor.respondWith((body) =>
    toolResultsOf(body).some((r) => r.tool === 'docs_search')
      ? { content: { type: 'final', result: { answer: 'two' }, reason: 'done' }, usage: { prompt_tokens: 50, completion_tokens: 100 } }
      : {
          content: { type: 'tool_call', tool: 'docs_search', args: { query: 'budgets' }, reason: 'look it up' },
          usage: { prompt_tokens: 50, completion_tokens: 100 },
        },
  );
  const before = vendor.requests.length;
  const res = await http(platform, 'POST', '/v1/runs', { agent: 'two-calls', task: 'needs two calls' });
  const run = await waitForRun(platform, res.body.run_id as string);
  // $0.10 spent, the next call would need up to $0.10 more, the run may spend $0.15: not called.
  expect(vendor.requests.length - before).toBe(1);
  expect(run.status).toBe('failed');
  expect(run.error).toMatchObject({ type: ErrorCode.BudgetExceeded, message: expect.stringMatching(/^budget_exceeded: max_cost_usd/) });
  expect(run.usage).toMatchObject({ cost_usd: 0.1 });
}, 60_000);

test('a reservation whose reply was lost, then a store that is down, still counts the call once', async () => {
  const auth = platform.as({ subject: 'unlucky', tenant: 'flaky-co' });
  const before = vendor.requests.length;
  vendor.respondWith(() => ({ content: { type: 'final', result: { answer: 1 }, reason: 'done' }, usage: { completion_tokens: 100 } }));
  store.reserveAttempts = 0;
  store.outages = ['reply-lost', 'down'];
  const res = await http(platform, 'POST', '/v1/runs', { agent: 'one-call', task: 'through an outage' }, auth);
  const run = await waitForRun(platform, res.body.run_id as string, 60_000, auth);
  expect(run.status).toBe('completed');
  // At least three attempts: committed but unanswered, refused, then answered from the first one's
  // row (a local activity may run once more when its workflow task is retried: at least once).
  expect(store.reserveAttempts).toBeGreaterThanOrEqual(3);
  expect(vendor.requests.length - before).toBe(1);
  expect(await platform.governance.budgetDay('flaky-co', today())).toMatchObject({
    committed_usd: 0.1,
    reservations: { settled: 1, reserved: 0, denied: 0 },
  });
}, 60_000);
