import { openAICompatibleProvider } from '../../activities/model/vendors';
import { startFakeLlmVendor, toolResultsOf, type FakeLlmVendor } from '../../scripts/fakes/openai-vendor';
import { agentFor, observation, request } from '../support/model-provider-fixtures';

// The openai-compatible provider (named endpoints) over real HTTP against the fake vendor (scripts/fakes/openai-vendor.ts).

let vendor: FakeLlmVendor;
beforeEach(async () => {
  vendor = await startFakeLlmVendor();
});
afterEach(async () => {
  await vendor.close();
});
/** An endpoint without structured outputs (Ollama, LM Studio, LiteLLM as shipped): the answer schema is a required final_answer tool. */
const local = () =>
  openAICompatibleProvider({
    local: { baseUrl: vendor.url, apiKey: 'local-key-1234', keyVariable: 'LOCAL_KEY', structuredOutputs: false },
  });
const agent = agentFor({ provider: 'openai-compatible', endpoint: 'local', name: 'llama3.1' });

describe('openai-compatible (named endpoints): requests', () => {
  test('the endpoint named by the agent is called, with its own key; without structured outputs the answer goes as final_answer', async () => {
    vendor.respondWith(() => ({ toolCalls: [{ name: 'final_answer', args: { result: { answer: 'local' }, reason: 'done' } }] }));
    const result = await local().plan(request(agent));
    const { body, authorization } = vendor.requests[0]!;
    expect(authorization).toBe('Bearer local-key-1234');
    expect(body.model).toBe('llama3.1');
    expect(body.response_format).toBeUndefined();
    expect(body.tools!.map((t) => t.function.name)).toEqual(['ticket_lookup', 'docs_search', 'final_answer']);
    expect(body.tool_choice).toBe('required');
    expect(body.parallel_tool_calls).toBe(false);
    expect(result.action).toEqual({ type: 'final', result: { answer: 'local' }, reason: 'done' });
    expect(result.model).toBe('openai-compatible/llama3.1');
  });

  test('observations go back as the assistant tool call and its tool result', async () => {
    vendor.respondWith(() => ({ toolCalls: [{ name: 'docs_search', args: { query: 'timeouts' } }] }));
    await local().plan(request(agent, [observation]));
    const { body } = vendor.requests[0]!;
    expect(body.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool']);
    expect(body.messages[1]!.content).not.toContain('ticket_lookup');
    expect(body.messages[2]!.tool_calls).toEqual([
      { id: 'step_2', type: 'function', function: { name: 'ticket_lookup', arguments: JSON.stringify(observation.args) } },
    ]);
    expect(toolResultsOf(body)).toEqual([{ tool: 'ticket_lookup', callId: 'step_2', content: JSON.stringify(observation.output) }]);
  });
});

describe('openai-compatible (named endpoints): a plan answered outside the required tool call', () => {
  test('a plan answered in text instead of the required tool call is the plan, and its billed tokens and cost count', async () => {
    const plans = [
      { type: 'final', result: { answer: 'as text' }, reason: 'done' },
      // the final_answer arguments alone, fenced, as models write them
      '```json\n{"result": {"answer": "as text"}, "reason": "done"}\n```',
      // a tool call spelled out in text, as llama-family models do without native calling
      { name: 'docs_search', parameters: { query: 'timeouts' } },
    ];
    const actions = [];
    for (const content of plans) {
      vendor.respondWith(() => ({ content, usage: { prompt_tokens: 1500, completion_tokens: 120 } }));
      const before = vendor.requests.length;
      const result = await local().plan(request(agent));
      expect(vendor.requests.length - before).toBe(1);
      // $0.5 and $1.5 per 1k tokens: 0.75 + 0.18
      expect(result.usage).toEqual({ input_tokens: 1500, output_tokens: 120, cost_usd: expect.closeTo(0.93, 10) });
      expect(result.call).toMatchObject({ requests: 1, repairs: 0, finish_reason: 'stop' });
      actions.push(result.action);
    }
    expect(actions).toEqual([
      { type: 'final', result: { answer: 'as text' }, reason: 'done' },
      { type: 'final', result: { answer: 'as text' }, reason: 'done' },
      { type: 'tool_call', tool: 'docs_search', args: { query: 'timeouts' }, reason: '' },
    ]);
  });

  test('prose instead of the required tool call gets the repair turn, and both requests count', async () => {
    vendor.respondWith((body) =>
      body.messages.length === 2
        ? { content: 'I think the run timed out because of the limit.', usage: { prompt_tokens: 1500, completion_tokens: 120 } }
        : {
            toolCalls: [{ name: 'final_answer', args: { result: { answer: 'limit' }, reason: 'repaired' } }],
            usage: { prompt_tokens: 1700, completion_tokens: 30 },
          },
    );
    const result = await local().plan(request(agent));
    expect(result.action).toEqual({ type: 'final', result: { answer: 'limit' }, reason: 'repaired' });
    expect(result.usage).toEqual({ input_tokens: 3200, output_tokens: 150, cost_usd: expect.closeTo(1.825, 10) });
    expect(result.call).toMatchObject({ requests: 2, repairs: 1 });
    const repair = vendor.requests[1]!.body.messages;
    expect(repair.slice(2)).toEqual([
      { role: 'assistant', content: 'I think the run timed out because of the limit.' },
      {
        role: 'user',
        content: expect.stringMatching(
          /^Your answer could not be used: the answer is not JSON.*Call exactly one of the tools, or final_answer/,
        ),
      },
    ]);
  });
});
