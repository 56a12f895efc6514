import { ApplicationFailure } from '@temporalio/common';
import { OpenAICompatibleProvider } from '../../activities/model/openai-compatible';
import { AgentDefinitionSchema, type ResolvedAgent } from '../../contracts/agent';
import { ErrorCode } from '../../contracts/errors';
import { PlanActionSchema, type Observation, type PlanRequest } from '../../contracts/run';
import { TRIAGE_TASK, TRIAGER_TOOLS, triageRequest } from '../support/plan-fixtures';
import { startFakeLlmVendor, type FakeLlmVendor } from '../support/fake-llm-vendor';

// Over real HTTP against the test fake of a hosted LLM vendor (test/support/fake-llm-vendor.ts).

const KEY = 'sk-test-0123456789abcdef';

const definition = AgentDefinitionSchema.parse({
  name: 'triager',
  version: '1.0.0',
  owner: 'support',
  description: 'Looks up a ticket, then searches the docs.',
  model: { provider: 'openai', name: 'gpt-test', temperature: 0.2, pricing: { input_per_1k: 0.5, output_per_1k: 1.5 } },
  instructions: 'Triage the ticket. Cite the docs you used.',
  tools: ['ticket_lookup', 'docs_search'],
});

const agent: ResolvedAgent = { definition, tools: TRIAGER_TOOLS };
const TASK = TRIAGE_TASK;
const request = (observations: Observation[] = [], a: ResolvedAgent = agent): PlanRequest => triageRequest(a, observations);

const observation: Observation = {
  step: 2,
  tool: 'ticket_lookup',
  args: { id: '42' },
  output: { status: 'open', note: 'Run timed out after 600 s' },
  evidence: [{ source: 'ticket/42', excerpt: 'Run timed out after 600 s' }],
};

let vendor: FakeLlmVendor;
beforeEach(async () => {
  vendor = await startFakeLlmVendor();
});
afterEach(async () => {
  await vendor.close();
});

const provider = (options: { apiKey?: string; timeoutMs?: number } = {}) =>
  new OpenAICompatibleProvider({ baseUrl: vendor.url, apiKey: KEY, ...options });

/** Awaits a plan that must fail with an ApplicationFailure and returns it. */
async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err: unknown = await promise.then(
    () => new Error('expected the plan to fail'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('OpenAICompatibleProvider', () => {
  test('posts a chat completion with the model, bearer key, JSON response format, instructions, tools and observations', async () => {
    await provider().plan(request([observation]));
    expect(vendor.requests).toHaveLength(1);
    const { body, authorization } = vendor.requests[0]!;
    expect(authorization).toBe(`Bearer ${KEY}`);
    expect(body.model).toBe('gpt-test');
    expect(body.temperature).toBe(0.2);
    expect(body.response_format).toEqual({ type: 'json_object' });
    expect(body.messages.map((m) => m.role)).toEqual(['system', 'user']);

    const [system, user] = body.messages.map((m) => m.content);
    expect(system).toContain('Triage the ticket. Cite the docs you used.');
    expect(system).toContain('ticket_lookup, docs_search');
    expect(system).toContain('{"type":"tool_call","tool":');
    expect(system).toContain('{"type":"final","result":');

    expect(user).toContain(TASK);
    expect(user).toContain(JSON.stringify({ ticket: { id: 42, title: 'timeouts' } }));
    expect(user).toContain('Step 2: tool ticket_lookup');
    expect(user).toContain(JSON.stringify(observation.args));
    expect(user).toContain(JSON.stringify(observation.output));
  });

  test('truncates a huge observation output and sends no Authorization header without a key', async () => {
    const huge: Observation = { ...observation, output: { text: 'x'.repeat(50_000) } };
    await provider({ apiKey: undefined }).plan(request([huge]));
    const { body, authorization } = vendor.requests[0]!;
    expect(authorization).toBeUndefined();
    const user = body.messages[1]!.content;
    expect(user.length).toBeLessThan(10_000);
    expect(user).toContain('[truncated, 50011 characters in all]');
  });

  test('a tool_call answer comes back as the action, with the vendor-reported usage and its cost from pricing', async () => {
    const answer = { type: 'tool_call', tool: 'docs_search', args: { query: 'timeouts' }, reason: 'need the docs' };
    vendor.respondWith(() => ({ content: answer, usage: { prompt_tokens: 1200, completion_tokens: 300 } }));
    const result = await provider().plan(request([observation]));
    expect(result.action).toEqual(answer);
    expect(result.model).toBe('openai/gpt-test');
    expect(result.usage.input_tokens).toBe(1200);
    expect(result.usage.output_tokens).toBe(300);
    // 1.2 * 0.5 + 0.3 * 1.5
    expect(result.usage.cost_usd).toBeCloseTo(1.05, 10);
    expect(PlanActionSchema.parse(result.action)).toEqual(answer);
  });

  test('a final answer comes back as the action (the fake echoes the user message by default), usage as the vendor counted it', async () => {
    const result = await provider().plan(request());
    expect(result.action.type).toBe('final');
    const echo = (result.action as { result: { echo: string } }).result.echo;
    expect(echo).toBe(vendor.requests[0]!.body.messages[1]!.content);
    const sent = vendor.requests[0]!.body.messages.map((m) => m.content).join('');
    expect(result.usage.input_tokens).toBe(Math.ceil(sent.length / 4));
    expect(result.usage.output_tokens).toBeGreaterThan(0);
    expect(result.usage.cost_usd).toBeCloseTo((result.usage.input_tokens * 0.5 + result.usage.output_tokens * 1.5) / 1000, 12);
  });

  test('without pricing the cost is 0; JSON that is not a valid action is returned for the plan activity to reject', async () => {
    const unpriced: ResolvedAgent = { ...agent, definition: { ...definition, model: { provider: 'openai', name: 'gpt-free' } } };
    vendor.respondWith(() => ({ content: { answer: 42 } }));
    const result = await provider().plan(request([], unpriced));
    expect(vendor.requests[0]!.body.model).toBe('gpt-free');
    expect(vendor.requests[0]!.body).not.toHaveProperty('temperature');
    expect(result.usage.cost_usd).toBe(0);
    expect(result.action).toEqual({ answer: 42 });
    expect(PlanActionSchema.safeParse(result.action).success).toBe(false);
  });

  test('401 is ModelAuthFailed, non-retryable, with the status and vendor message but never the key', async () => {
    vendor.requireApiKey('sk-the-right-one');
    const failure = await failureOf(provider().plan(request()));
    expect(failure.type).toBe(ErrorCode.ModelAuthFailed);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('401');
    expect(failure.message).toContain('Incorrect API key provided.');
    expect(failure.message).not.toContain(KEY);
  });

  test('a vendor message echoing the key is redacted; 403 is ModelAuthFailed too', async () => {
    vendor.respondWith(() => ({ status: 403, error: `Key ${KEY} may not use gpt-test.` }));
    const failure = await failureOf(provider().plan(request()));
    expect(failure.type).toBe(ErrorCode.ModelAuthFailed);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('403');
    expect(failure.message).toContain('Key [redacted] may not use gpt-test.');
    expect(failure.message).not.toContain(KEY);
  });

  test('400 is ModelRequestInvalid, non-retryable, with the vendor message', async () => {
    vendor.respondWith(() => ({ status: 400, error: "'response_format' of type 'json_object' is not supported with this model." }));
    const failure = await failureOf(provider().plan(request()));
    expect(failure.type).toBe(ErrorCode.ModelRequestInvalid);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('400');
    expect(failure.message).toContain("'response_format' of type 'json_object' is not supported");
  });

  test.each([500, 503, 429, 408])('%i is ModelUnavailable and retryable; the next request succeeds', async (status) => {
    vendor.failNext(1, status);
    const failure = await failureOf(provider().plan(request()));
    expect(failure.type).toBe(ErrorCode.ModelUnavailable);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toContain(String(status));
    const retried = await provider().plan(request());
    expect(retried.action.type).toBe('final');
    expect(vendor.requests).toHaveLength(2);
  });

  test('content that is not JSON is InvalidModelOutput, non-retryable', async () => {
    vendor.respondWith(() => ({ content: 'Sure! I will search the docs next.' }));
    const failure = await failureOf(provider().plan(request()));
    expect(failure.type).toBe(ErrorCode.InvalidModelOutput);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('Sure! I will search the docs next.');
  });

  test('a vendor slower than timeoutMs is ModelUnavailable, retryable, and the request is dropped', async () => {
    vendor.respondWith(() => ({ delayMs: 5_000 }));
    const started = Date.now();
    const failure = await failureOf(provider({ timeoutMs: 200 }).plan(request()));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(failure.type).toBe(ErrorCode.ModelUnavailable);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toContain('200 ms');
    await waitFor(() => vendor.requests[0]?.disconnected === true);
  });

  test('an unreachable vendor is ModelUnavailable, retryable', async () => {
    const gone = await startFakeLlmVendor();
    await gone.close();
    const failure = await failureOf(new OpenAICompatibleProvider({ baseUrl: `${gone.url}/`, apiKey: KEY }).plan(request()));
    expect(failure.type).toBe(ErrorCode.ModelUnavailable);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toContain(gone.url);
    expect(failure.message).toContain('ECONNREFUSED');
    expect(failure.message).not.toContain(KEY);
  });

  test('aborting the signal stops the request in flight and rejects with the abort reason, not a vendor error', async () => {
    vendor.respondWith(() => ({ delayMs: 5_000 }));
    const controller = new AbortController();
    const reason = new Error('activity cancelled');
    const started = Date.now();
    const plan = provider().plan(request(), controller.signal);
    await waitFor(() => vendor.requests.length === 1);
    controller.abort(reason);
    await expect(plan).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(2_000);
    await waitFor(() => vendor.requests[0]!.disconnected);
  });

  test('an already aborted signal sends nothing', async () => {
    const reason = new Error('cancelled before start');
    await expect(provider().plan(request(), AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(vendor.requests).toHaveLength(0);
  });
});
