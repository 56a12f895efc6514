import { mkdtempSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { CassetteSettings } from '../../activities/model/ai-sdk';
import { ScriptedPlanner } from '../../activities/model/scripted';
import { anthropicProvider, openAICompatibleProvider, openAIProvider } from '../../activities/model/vendors';
import { createToolRegistry } from '../../activities/tools';
import { AgentRegistry } from '../../agents/registry';
import { loadSettings, PROJECT_ROOT } from '../../config/settings';
import { ErrorCode } from '../../contracts/errors';
import type { Step } from '../../contracts/run';
import { startFakeAnthropicVendor, type MessagesBody } from '../support/fakes/anthropic-vendor';
import type { FakeAnswer, FakeVendor } from '../../scripts/fakes/http-vendor';
import { startFakeLlmVendor, toolResultsOf, type ChatRequestBody, type FakeLlmVendor } from '../../scripts/fakes/openai-vendor';
import { capturingLogger, eventually, http, startPlatform, waitForRun, type TestPlatform } from '../support/platform';

// Whole runs through Temporal with the example agents of agents/examples, their models served by
// the fake OpenAI and Anthropic vendors over real HTTP (a second fake OpenAI vendor plays the
// ollama-researcher's endpoint, a server without structured outputs).

const KEY = 'sk-test-models-0123456789';
const settings = loadSettings({});
const tools = createToolRegistry({
  docsDir: settings.docsDir,
  ticketsFile: path.join(process.env.TEST_TMP_DIR!, 'model-runs-tickets.jsonl'),
});
const agents = AgentRegistry.load(path.join(PROJECT_ROOT, 'agents/examples'), tools);
const FINAL = { type: 'final', result: { summary: 'Raise timeout_seconds.', findings: [] }, reason: 'the docs say so' };

/** Searches the docs first, then answers: what a real model does with the researcher's instructions. */
const openaiScript = (body: ChatRequestBody): FakeAnswer =>
  toolResultsOf(body).some((r) => r.tool === 'docs_search')
    ? { content: FINAL, usage: { prompt_tokens: 900, completion_tokens: 60 } }
    : { toolCalls: [{ name: 'docs_search', args: { query: 'run timeouts' } }], usage: { prompt_tokens: 500, completion_tokens: 20 } };
const anthropicScript = (body: MessagesBody): FakeAnswer =>
  body.messages.some((m) => Array.isArray(m.content) && m.content.some((b) => b.type === 'tool_result'))
    ? { toolCalls: [{ name: 'final_answer', args: { result: FINAL.result, reason: 'enough' } }] }
    : { content: 'Searching first.', toolCalls: [{ name: 'docs_search', args: { query: 'run timeouts' } }] };

let openai: FakeLlmVendor;
let local: FakeLlmVendor;
let anthropic: FakeVendor<MessagesBody>;
let platform: TestPlatform;
// The worker's log lines (the Temporal runtime takes the first platform's logger for the whole file).
const logs = capturingLogger('worker');
const cassetteDir = mkdtempSync(path.join(process.env.TEST_TMP_DIR!, 'model-cassettes-'));

function platformWith(cassettes?: CassetteSettings): Promise<TestPlatform> {
  return startPlatform({
    agents,
    tools,
    logger: logs.logger,
    providers: [
      new ScriptedPlanner(),
      openAIProvider({
        baseUrl: openai.url,
        apiKey: KEY,
        keyVariable: 'OPENAI_API_KEY',
        timeoutMs: 5000,
        ...(cassettes ? { cassettes } : {}),
      }),
      anthropicProvider({ baseUrl: anthropic.url, apiKey: KEY, keyVariable: 'ANTHROPIC_API_KEY', timeoutMs: 5000 }),
      openAICompatibleProvider({ ollama: { baseUrl: local.url, structuredOutputs: false } }, { timeoutMs: 5000 }),
    ],
  });
}

beforeAll(async () => {
  openai = await startFakeLlmVendor();
  local = await startFakeLlmVendor();
  anthropic = await startFakeAnthropicVendor();
  platform = await platformWith();
});
beforeEach(() => {
  openai.respondWith(openaiScript);
  anthropic.respondWith(anthropicScript);
});
afterAll(async () => {
  await platform.stop();
  await openai.close();
  await local.close();
  await anthropic.close();
});

async function run(agent: string, task: string, on = platform): Promise<Record<string, unknown>> {
  const res = await http(on, 'POST', '/v1/runs', { agent, task });
  expect(res.status).toBe(202);
  return waitForRun(on, res.body.run_id as string, 60_000);
}

test('openai: the model calls docs_search natively, the tool runs, the model answers; tokens and cost count', async () => {
  const before = openai.requests.length;
  const done = await run('openai-researcher', 'Why did my run time out?');
  expect(done.status).toBe('completed');
  expect((done.output as { result: unknown }).result).toEqual(FINAL.result);
  expect((done.steps as Step[]).map((s) => s.type)).toEqual(['Plan', 'ToolCall', 'Validate', 'Decide', 'Plan', 'Validate', 'Complete']);
  const sent = openai.requests.slice(before);
  expect(sent).toHaveLength(2);
  expect(sent[0]!.body.tools!.map((t) => t.function.name)).toEqual(['docs_search']);
  expect(sent[0]!.body.tools![0]!.function.parameters).toMatchObject({ properties: { query: { type: 'string' } }, required: ['query'] });
  // The observation goes back as the assistant's docs_search call, then its tool result.
  expect(sent[1]!.body.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool']);
  expect(toolResultsOf(sent[1]!.body)).toEqual([{ tool: 'docs_search', callId: 'step_2', content: expect.stringContaining('docs/') }]);
  // 500 + 20 and 900 + 60 tokens at $0.00015 / $0.0006 per 1k
  expect(done.usage).toEqual({ input_tokens: 1400, output_tokens: 80, cost_usd: expect.closeTo(0.000258, 9) });
});

test('anthropic: tool use, then the final_answer tool carries the answer', async () => {
  const done = await run('anthropic-researcher', 'Why did my run time out?');
  expect(done.status).toBe('completed');
  expect((done.output as { result: unknown }).result).toEqual(FINAL.result);
  const last = anthropic.requests.at(-1)!.body;
  expect(last.tools!.map((t) => t.name)).toEqual(['docs_search', 'final_answer']);
  expect(last.tools![1]!.input_schema).toMatchObject({ properties: { result: { required: ['summary', 'findings'] } } });
});

test('429 with Retry-After: 3 — Temporal retries the plan step after the delay the vendor asked for', async () => {
  openai.failNext(1, 429, { 'Retry-After': '3' });
  const before = openai.requests.length;
  const done = await run('openai-researcher', 'Rate limited?');
  expect(done.status).toBe('completed');
  const [limited, retried] = openai.requests.slice(before);
  const delay = retried!.at - limited!.at;
  process.stdout.write(`measured retry delay after Retry-After: 3 -> ${delay} ms\n`);
  // Temporal's own backoff would retry after 1 s.
  expect(delay).toBeGreaterThanOrEqual(3000);
  expect(delay).toBeLessThan(6000);
});

test('500 then success: the plan step retries, the run completes, the step records provider, model, finish reason, latency and attempt', async () => {
  openai.failNext(1, 500);
  const before = openai.requests.length;
  const done = await run('openai-researcher', 'Flaky vendor?');
  expect(done.status).toBe('completed');
  expect(openai.requests.length - before).toBe(3);
  const plans = (done.steps as Step[]).filter((s) => s.type === 'Plan');
  expect(plans[0]!.model).toEqual({
    provider: 'openai',
    model: 'gpt-4o-mini',
    finish_reason: 'tool-calls',
    latency_ms: expect.any(Number),
    attempt: 2,
    requests: 1,
    repairs: 0,
  });
  expect(plans[1]!.model).toMatchObject({ finish_reason: 'stop', attempt: 1 });
});

test("the caller's output_spec is the answer schema the model gets", async () => {
  const spec = { type: 'object', required: ['summary', 'findings', 'confidence'], properties: { confidence: { type: 'number' } } };
  const before = openai.requests.length;
  const res = await http(platform, 'POST', '/v1/runs', { agent: 'openai-researcher', task: 'With a spec', output_spec: spec });
  await waitForRun(platform, res.body.run_id as string, 60_000);
  const format = openai.requests[before]!.body.response_format!;
  expect(format.json_schema!.schema).toMatchObject({ properties: { result: spec } });
});

test('content that is not JSON: one repair turn inside the step, counted on the step, the run completes', async () => {
  let first = true;
  openai.respondWith((body) => {
    if (!first) return openaiScript(body);
    first = false;
    return { content: 'Let me think about that.', usage: { prompt_tokens: 300, completion_tokens: 7 } };
  });
  const done = await run('openai-researcher', 'Chatty model?');
  expect(done.status).toBe('completed');
  const plan = (done.steps as Step[])[0]!;
  expect(plan.model).toMatchObject({ requests: 2, repairs: 1 });
  // the unusable answer's tokens count too: 300 + 500 in, 7 + 20 out on the first Plan step
  expect(plan.usage).toMatchObject({ input_tokens: 800, output_tokens: 27 });
});

test('an answer that stays unusable fails the run, and its billed tokens still count toward usage', async () => {
  openai.respondWith(() => ({ content: 'No JSON from me.', usage: { prompt_tokens: 300, completion_tokens: 7 } }));
  const done = await run('openai-researcher', 'Hopeless model?');
  expect(done.status).toBe('failed');
  expect(done.error).toMatchObject({ type: ErrorCode.InvalidModelOutput, message: expect.stringContaining('the answer is not JSON') });
  expect(done.usage).toMatchObject({ input_tokens: 600, output_tokens: 14 });
  expect((done.steps as Step[])[0]!.model).toMatchObject({ requests: 2, repairs: 1, finish_reason: 'stop' });
});

test('openai-compatible without structured outputs: the observation goes back as the tool call and its result, one call a turn; a plan answered in text is the plan and its tokens count', async () => {
  // The researcher searches natively, then answers in text where final_answer was required (as Ollama's models do).
  local.respondWith((body) =>
    toolResultsOf(body).length > 0
      ? { content: FINAL, usage: { prompt_tokens: 1500, completion_tokens: 120 } }
      : { toolCalls: [{ name: 'docs_search', args: { query: 'run timeouts' } }], usage: { prompt_tokens: 500, completion_tokens: 20 } },
  );
  const before = local.requests.length;
  const done = await run('ollama-researcher', 'Why did my run time out?');
  expect(done.status).toBe('completed');
  expect((done.output as { result: unknown }).result).toEqual(FINAL.result);
  const sent = local.requests.slice(before);
  // No Temporal retry of the text answer: two requests, both billed.
  expect(sent).toHaveLength(2);
  expect(done.usage).toMatchObject({ input_tokens: 2000, output_tokens: 140 });
  for (const { body } of sent) expect(body).toMatchObject({ tool_choice: 'required', parallel_tool_calls: false });
  const second = sent[1]!.body.messages;
  expect(second.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool']);
  expect(second[2]).toMatchObject({
    content: null,
    tool_calls: [
      { id: 'step_2', type: 'function', function: { name: 'docs_search', arguments: JSON.stringify({ query: 'run timeouts' }) } },
    ],
  });
  expect(second[3]).toMatchObject({ role: 'tool', tool_call_id: 'step_2', content: expect.stringContaining('docs/') });
});

test('openai-compatible: prose where a tool call was required gets the repair turn inside the step, its tokens count, the run goes on', async () => {
  local.respondWith((body) => {
    const repairing = body.messages.some((m) => m.role === 'user' && m.content?.startsWith('Your answer could not be used'));
    if (toolResultsOf(body).length > 0) return { toolCalls: [{ name: 'final_answer', args: { result: FINAL.result, reason: 'found' } }] };
    return repairing
      ? { toolCalls: [{ name: 'docs_search', args: { query: 'run timeouts' } }], usage: { prompt_tokens: 600, completion_tokens: 20 } }
      : { content: 'Let me look into the docs for you.', usage: { prompt_tokens: 1500, completion_tokens: 120 } };
  });
  const before = local.requests.length;
  const done = await run('ollama-researcher', 'A chatty local model?');
  expect(done.status).toBe('completed');
  expect(local.requests.length - before).toBe(3);
  const plan = (done.steps as Step[])[0]!;
  expect(plan.model).toMatchObject({ provider: 'openai-compatible', attempt: 1, requests: 2, repairs: 1 });
  expect(plan.usage).toMatchObject({ input_tokens: 2100, output_tokens: 140 });
});

test('a failed model call is logged with its failure type and message, redacted', async () => {
  openai.failNext(1, 500);
  const done = await run('openai-researcher', 'Logged failure?');
  expect(done.status).toBe('completed');
  const line = await eventually(
    async () => logs.lines().find((l) => l.message === 'Activity failed' && l.run_id === done.run_id),
    20_000,
    'the "Activity failed" line of the run',
  );
  expect(line).toMatchObject({
    level: 'warn',
    activityType: 'plan',
    error: {
      name: 'ApplicationFailure',
      type: ErrorCode.ModelUnavailable,
      nonRetryable: false,
      message: expect.stringContaining('vendor answered 500'),
    },
  });
  expect(JSON.stringify(logs.lines())).not.toContain(KEY);
});

test('401: the run fails at once with ModelAuthFailed naming the key variable, no retries', async () => {
  anthropic.requireApiKey('sk-ant-another-key');
  const before = anthropic.requests.length;
  try {
    const done = await run('anthropic-researcher', 'Wrong key?');
    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({ type: ErrorCode.ModelAuthFailed, message: expect.stringContaining('check ANTHROPIC_API_KEY') });
    expect(anthropic.requests.length - before).toBe(1);
  } finally {
    anthropic.requireApiKey(KEY);
  }
});

test('a run recorded to cassettes replays with the vendor stopped', async () => {
  const cassettes = (mode: 'record' | 'replay'): CassetteSettings => ({ mode, dirFor: (a) => path.join(cassetteDir, a) });
  const recording = await platformWith(cassettes('record'));
  let recorded: Record<string, unknown>;
  try {
    recorded = await run('openai-researcher', 'What is a cassette?', recording);
  } finally {
    await recording.stop();
  }
  expect(recorded.status).toBe('completed');
  expect(readdirSync(path.join(cassetteDir, 'openai-researcher'))).toHaveLength(2);

  const stopped = await startFakeLlmVendor();
  await stopped.close();
  const replaying = await startPlatform({
    agents,
    tools,
    providers: [new ScriptedPlanner(), openAIProvider({ baseUrl: stopped.url, apiKey: KEY, cassettes: cassettes('replay') })],
  });
  try {
    const replayed = await run('openai-researcher', 'What is a cassette?', replaying);
    expect(replayed.status).toBe('completed');
    expect(replayed.output).toEqual(recorded.output);
    expect(replayed.usage).toEqual(recorded.usage);
    const missed = await run('openai-researcher', 'A question never recorded', replaying);
    expect(missed.status).toBe('failed');
    expect(missed.error).toMatchObject({
      type: ErrorCode.ModelCassetteMiss,
      message: expect.stringMatching(/no cassette for request [0-9a-f]{16}.*nearest recorded request/),
    });
  } finally {
    await replaying.stop();
  }
});
