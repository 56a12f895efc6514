import { openAIProvider } from '../../activities/model/vendors';
import type { ModelCall, ResolvedAgent } from '../../contracts/agent';
import { ErrorCode } from '../../contracts/errors';
import type { Usage } from '../../contracts/run';
import { startFakeLlmVendor, type FakeLlmVendor } from '../../scripts/fakes/openai-vendor';
import { agentFor, failureOf, KEY, observation, openaiAgent, request, SPEC } from '../support/model-provider-fixtures';
import { TRIAGE_TASK } from '../support/plan-fixtures';

// The OpenAI provider (chat completions) over real HTTP against the fake vendor (scripts/fakes/openai-vendor.ts):
// the request it sends, how answers become actions, repairs, and how each vendor error is classified.

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

let vendor: FakeLlmVendor;
beforeEach(async () => {
  vendor = await startFakeLlmVendor();
});
afterEach(async () => {
  await vendor.close();
});
const provider = (o: { timeoutMs?: number; apiKey?: string } = {}) =>
  openAIProvider({ baseUrl: vendor.url, apiKey: KEY, keyVariable: 'OPENAI_API_KEY', ...o });

describe('openai (chat completions): the request it sends', () => {
  test('the model gets the tool contracts as native tools and output_spec as the answer schema; a tool call comes back as the action', async () => {
    vendor.respondWith(() => ({
      toolCalls: [{ name: 'docs_search', args: { query: 'timeouts' } }],
      usage: { prompt_tokens: 1200, completion_tokens: 300 },
    }));
    const result = await provider().plan(request(openaiAgent, [observation]));
    const { body, authorization } = vendor.requests[0]!;
    expect(authorization).toBe(`Bearer ${KEY}`);
    expect(body.model).toBe('gpt-test');
    expect(body.temperature).toBe(0.2);
    expect(body.tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'ticket_lookup',
          description: 'Look a ticket up by id.',
          parameters: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
        },
      },
      {
        type: 'function',
        function: {
          name: 'docs_search',
          description: 'Search the docs.',
          parameters: {
            type: 'object',
            properties: {
              query: { type: 'string', minLength: 1, description: 'What to look for' },
              limit: { type: 'integer', default: 3, minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
            },
            required: ['query'],
            additionalProperties: false,
          },
        },
      },
    ]);
    expect(body.response_format).toEqual({
      type: 'json_schema',
      json_schema: expect.objectContaining({
        name: 'final_answer',
        strict: false,
        schema: expect.objectContaining({ properties: expect.objectContaining({ result: SPEC }) }),
      }),
    });
    expect(body.parallel_tool_calls).toBe(false);
    // The observation goes back as the vendor's models are trained on it: the assistant's call, then its tool result.
    expect(body.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool']);
    expect(body.messages[0]!.content).toContain('Triage the ticket. Cite the docs you used.');
    expect(body.messages[1]!.content).toContain(TRIAGE_TASK);
    expect(body.messages[2]).toMatchObject({
      content: null,
      tool_calls: [{ id: 'step_2', type: 'function', function: { name: 'ticket_lookup', arguments: JSON.stringify({ id: '42' }) } }],
    });
    expect(body.messages[3]).toEqual({ role: 'tool', tool_call_id: 'step_2', content: JSON.stringify(observation.output) });
    expect(result.action).toEqual({ type: 'tool_call', tool: 'docs_search', args: { query: 'timeouts' }, reason: '' });
    expect(result.model).toBe('openai/gpt-test');
    expect(result.usage).toEqual({ input_tokens: 1200, output_tokens: 300, cost_usd: expect.closeTo(1.05, 10) });
    expect(result.call).toMatchObject<Partial<ModelCall>>({
      provider: 'openai',
      model: 'gpt-test',
      finish_reason: 'tool-calls',
      attempt: 1,
      requests: 1,
      repairs: 0,
    });
  });

  test("a configured MCP tool's dotted name reaches the vendor as a legal function name, and its call maps back", async () => {
    const name = 'memory.search_nodes';
    const dotted: ResolvedAgent = {
      definition: { ...openaiAgent.definition, tools: [name] },
      tools: { [name]: { ...openaiAgent.tools.docs_search!, name } },
    };
    vendor.respondWith(() => ({ toolCalls: [{ name: 'memory__search_nodes', args: { query: 'db-1' } }] }));
    const result = await provider().plan(request(dotted));
    const sent = (vendor.requests[0]!.body.tools ?? []).map((t) => t.function.name);
    // OpenAI refuses function names outside ^[a-zA-Z0-9_-]+$ (a 400 for every run of the agent).
    expect(sent).toEqual(['memory__search_nodes']);
    expect(result.action).toEqual({ type: 'tool_call', tool: name, args: { query: 'db-1' }, reason: '' });
  });
});

describe('openai (chat completions): answers and repairs', () => {
  test('a final answer in the structured-output JSON comes back as a final action', async () => {
    vendor.respondWith(() => ({ content: { type: 'final', result: { answer: 'raise timeout_seconds' }, reason: 'docs say so' } }));
    const result = await provider().plan(request(openaiAgent));
    expect(result.action).toEqual({ type: 'final', result: { answer: 'raise timeout_seconds' }, reason: 'docs say so' });
    expect(result.call?.finish_reason).toBe('stop');
  });

  test('content that is not JSON: its tokens count, one repair turn goes back, the repaired answer is used', async () => {
    let calls = 0;
    vendor.respondWith(() =>
      ++calls === 1
        ? { content: 'Sure! I will search the docs next.', usage: { prompt_tokens: 100, completion_tokens: 10 } }
        : { toolCalls: [{ name: 'docs_search', args: { query: 'timeouts' } }], usage: { prompt_tokens: 150, completion_tokens: 20 } },
    );
    const result = await provider().plan(request(openaiAgent));
    expect(vendor.requests).toHaveLength(2);
    const repair = vendor.requests[1]!.body.messages;
    expect(repair.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(repair[2]!.content).toBe('Sure! I will search the docs next.');
    expect(repair[3]!.content).toMatch(/^Your answer could not be used: the answer is not JSON/);
    expect(result.action).toMatchObject({ type: 'tool_call', tool: 'docs_search' });
    expect(result.usage).toMatchObject({ input_tokens: 250, output_tokens: 30 });
    expect(result.call).toMatchObject({ requests: 2, repairs: 1 });
  });

  test('an answer that stays unusable fails non-retryably, and the failure carries the billed usage of both requests', async () => {
    vendor.respondWith(() => ({ content: 'still prose', usage: { prompt_tokens: 100, completion_tokens: 10 } }));
    const failure = await failureOf(provider().plan(request(openaiAgent)));
    expect(failure.type).toBe(ErrorCode.InvalidModelOutput);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('after a repair turn still gave an unusable answer: the answer is not JSON: still prose');
    const [detail] = failure.details as [{ usage: Usage; call: ModelCall }];
    expect(detail.usage).toEqual({ input_tokens: 200, output_tokens: 20, cost_usd: expect.closeTo(0.13, 10) });
    expect(detail.call).toMatchObject({ requests: 2, repairs: 1 });
  });

  test('with max_repairs 0 there is no repair turn', async () => {
    vendor.respondWith(() => ({ content: { type: 'wrong' } }));
    const failure = await failureOf(provider().plan(request(agentFor({ provider: 'openai', name: 'gpt-test' }, { max_repairs: 0 }))));
    expect(vendor.requests).toHaveLength(1);
    expect(failure.message).toContain('the answer is not a valid action');
  });
});

describe('openai (chat completions): vendor errors', () => {
  test('429 with Retry-After is retryable and asks Temporal for that delay, capped by the step timeout', async () => {
    vendor.respondWith(() => ({ status: 429, headers: { 'retry-after': '3' } }));
    const failure = await failureOf(provider().plan(request(openaiAgent)));
    expect(failure).toMatchObject({ type: ErrorCode.ModelUnavailable, nonRetryable: false, nextRetryDelay: 3000 });
    expect(failure.message).toContain('429');
    vendor.respondWith(() => ({ status: 429, headers: { 'retry-after': '600' } }));
    const capped = await failureOf(provider().plan(request(openaiAgent), undefined, { attempt: 2, retryCapMs: 120_000 }));
    expect(capped.nextRetryDelay).toBe(120_000);
    expect(capped.message).toContain('capped from 600000 ms');
  });

  test.each([500, 503])('%i is retryable without a vendor delay; the next request succeeds', async (status) => {
    vendor.failNext(1, status);
    const failure = await failureOf(provider().plan(request(openaiAgent)));
    expect(failure).toMatchObject({ type: ErrorCode.ModelUnavailable, nonRetryable: false });
    expect(failure.nextRetryDelay).toBeUndefined();
    expect((await provider().plan(request(openaiAgent))).action.type).toBe('final');
  });

  test('401 is ModelAuthFailed, non-retryable, names the key variable, never the key', async () => {
    vendor.requireApiKey('sk-the-right-one');
    const failure = await failureOf(provider().plan(request(openaiAgent)));
    expect(failure).toMatchObject({ type: ErrorCode.ModelAuthFailed, nonRetryable: true });
    expect(failure.message).toContain('401');
    expect(failure.message).toContain('check OPENAI_API_KEY');
    expect(failure.message).not.toContain(KEY);
  });

  test('a vendor message echoing the key is redacted', async () => {
    vendor.respondWith(() => ({ status: 403, error: `Key ${KEY} may not use gpt-test.` }));
    const failure = await failureOf(provider().plan(request(openaiAgent)));
    expect(failure.type).toBe(ErrorCode.ModelAuthFailed);
    expect(failure.message).toContain('Key [redacted] may not use gpt-test.');
  });

  test('a context-length error is ModelContextTooLong, non-retryable, saying what to change', async () => {
    vendor.respondWith(() => ({
      status: 400,
      errorCode: 'context_length_exceeded',
      error: "This model's maximum context length is 128000 tokens. However, your messages resulted in 130512 tokens.",
    }));
    const failure = await failureOf(provider().plan(request(openaiAgent)));
    expect(failure).toMatchObject({ type: ErrorCode.ModelContextTooLong, nonRetryable: true });
    expect(failure.message).toMatch(/fewer or smaller observations.*larger window/);
  });

  test('404 and other 400s are ModelRequestInvalid, non-retryable', async () => {
    vendor.respondWith(() => ({ status: 404, error: 'The model `gpt-nope` does not exist' }));
    const notFound = await failureOf(provider().plan(request(openaiAgent)));
    expect(notFound).toMatchObject({ type: ErrorCode.ModelRequestInvalid, nonRetryable: true });
    expect(notFound.message).toContain('check model.name');
    vendor.respondWith(() => ({ status: 400, error: "Unsupported value: 'temperature'" }));
    expect(await failureOf(provider().plan(request(openaiAgent)))).toMatchObject({
      type: ErrorCode.ModelRequestInvalid,
      nonRetryable: true,
    });
  });
});

describe('openai (chat completions): timeouts, unreachable vendors and aborts', () => {
  test('a vendor slower than the timeout is ModelUnavailable, retryable, and the request is dropped', async () => {
    vendor.respondWith(() => ({ delayMs: 5_000 }));
    const started = Date.now();
    const failure = await failureOf(provider({ timeoutMs: 200 }).plan(request(openaiAgent)));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(failure).toMatchObject({ type: ErrorCode.ModelUnavailable, nonRetryable: false });
    expect(failure.message).toContain('200 ms');
    await waitFor(() => vendor.requests[0]?.disconnected === true);
  });

  test('an unreachable vendor is ModelUnavailable, retryable', async () => {
    const gone = await startFakeLlmVendor();
    await gone.close();
    const failure = await failureOf(openAIProvider({ baseUrl: gone.url, apiKey: KEY }).plan(request(openaiAgent)));
    expect(failure).toMatchObject({ type: ErrorCode.ModelUnavailable, nonRetryable: false });
    expect(failure.message).toContain('ECONNREFUSED');
  });

  test('aborting the signal rejects with the abort reason, not a vendor error; no key sends no Authorization', async () => {
    vendor.respondWith(() => ({ delayMs: 5_000 }));
    const controller = new AbortController();
    const reason = new Error('activity cancelled');
    const plan = openAIProvider({ baseUrl: vendor.url }).plan(request(openaiAgent), controller.signal);
    await waitFor(() => vendor.requests.length === 1);
    expect(vendor.requests[0]!.authorization).toBeUndefined();
    controller.abort(reason);
    await expect(plan).rejects.toBe(reason);
  });
});
