import { anthropicProvider } from '../../activities/model/vendors';
import { ErrorCode } from '../../contracts/errors';
import { startFakeAnthropicVendor } from '../support/fakes/anthropic-vendor';
import { agentFor, failureOf, KEY, observation, request, SPEC } from '../support/model-provider-fixtures';

// The Anthropic provider over real HTTP against the fake vendor (test/support/fakes/anthropic-vendor.ts).

describe('anthropic (messages with tool use)', () => {
  test('tools and a final_answer tool carrying output_spec; tool_use comes back as the action; usage and cost', async () => {
    const vendor = await startFakeAnthropicVendor();
    try {
      vendor.requireApiKey(KEY);
      vendor.respondWith(() => ({
        content: 'Looking it up.',
        toolCalls: [{ name: 'ticket_lookup', args: { id: '42' } }],
        usage: { prompt_tokens: 1000, completion_tokens: 100 },
      }));
      const agent = agentFor({ provider: 'anthropic', name: 'claude-test' });
      const provider = anthropicProvider({ baseUrl: vendor.url, apiKey: KEY, keyVariable: 'ANTHROPIC_API_KEY' });
      const result = await provider.plan(request(agent));
      const { body } = vendor.requests[0]!;
      expect(body.tools!.map((t) => t.name)).toEqual(['ticket_lookup', 'docs_search', 'final_answer']);
      expect(body.tools![1]!.input_schema).toMatchObject({ properties: { query: { type: 'string' } }, required: ['query'] });
      expect(body.tools![2]!.input_schema).toMatchObject({ properties: { result: SPEC }, required: ['result', 'reason'] });
      expect(body.tool_choice).toEqual({ type: 'any', disable_parallel_tool_use: true });
      expect(body.max_tokens).toBe(1024);
      expect(result.action).toEqual({ type: 'tool_call', tool: 'ticket_lookup', args: { id: '42' }, reason: 'Looking it up.' });
      expect(result.usage).toEqual({ input_tokens: 1000, output_tokens: 100, cost_usd: expect.closeTo(0.65, 10) });

      vendor.respondWith(() => ({ toolCalls: [{ name: 'final_answer', args: { result: { answer: 'raise it' }, reason: 'enough' } }] }));
      expect((await provider.plan(request(agent))).action).toEqual({ type: 'final', result: { answer: 'raise it' }, reason: 'enough' });

      vendor.respondWith(() => ({ status: 429, headers: { 'retry-after': '7' } }));
      expect(await failureOf(provider.plan(request(agent)))).toMatchObject({ type: ErrorCode.ModelUnavailable, nextRetryDelay: 7000 });
      vendor.respondWith(() => ({ status: 400, error: 'prompt is too long: 210000 tokens > 200000 maximum' }));
      expect(await failureOf(provider.plan(request(agent)))).toMatchObject({ type: ErrorCode.ModelContextTooLong, nonRetryable: true });
      const wrongKey = anthropicProvider({ baseUrl: vendor.url, apiKey: 'sk-ant-wrong-key', keyVariable: 'ANTHROPIC_API_KEY' });
      const auth = await failureOf(wrongKey.plan(request(agent)));
      expect(auth).toMatchObject({ type: ErrorCode.ModelAuthFailed, nonRetryable: true });
      expect(auth.message).toContain('check ANTHROPIC_API_KEY');
    } finally {
      await vendor.close();
    }
  });

  test('an observation goes back as tool_use and tool_result; prose where a tool was required gets the repair turn and counts', async () => {
    const vendor = await startFakeAnthropicVendor();
    try {
      vendor.respondWith((body) =>
        body.messages.length === 3
          ? { content: 'The ticket says it timed out.', usage: { prompt_tokens: 1000, completion_tokens: 100 } }
          : {
              toolCalls: [{ name: 'final_answer', args: { result: { answer: 'timeout' }, reason: 'r' } }],
              usage: { prompt_tokens: 1200, completion_tokens: 20 },
            },
      );
      const agent = agentFor({ provider: 'anthropic', name: 'claude-test' });
      const provider = anthropicProvider({ baseUrl: vendor.url, apiKey: KEY, keyVariable: 'ANTHROPIC_API_KEY' });
      const result = await provider.plan(request(agent, [observation]));
      const { messages } = vendor.requests[0]!.body;
      expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
      expect(messages[1]!.content).toEqual([
        expect.objectContaining({ type: 'tool_use', id: 'step_2', name: 'ticket_lookup', input: observation.args }),
      ]);
      expect(messages[2]!.content).toEqual([
        expect.objectContaining({ type: 'tool_result', tool_use_id: 'step_2', content: JSON.stringify(observation.output) }),
      ]);
      expect(result.action).toEqual({ type: 'final', result: { answer: 'timeout' }, reason: 'r' });
      expect(result.call).toMatchObject({ requests: 2, repairs: 1 });
      expect(result.usage).toMatchObject({ input_tokens: 2200, output_tokens: 120 });
    } finally {
      await vendor.close();
    }
  });
});
