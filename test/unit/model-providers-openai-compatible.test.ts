import { openAICompatibleProvider } from '../../activities/model/vendors';
import { startFakeLlmVendor } from '../support/fake-llm-vendor';
import { agentFor, request } from '../support/model-provider-fixtures';

// The openai-compatible provider (named endpoints) over real HTTP against the fake vendor (test/support/fake-llm-vendor.ts).

describe('openai-compatible (named endpoints)', () => {
  test('the endpoint named by the agent is called, with its own key; without structured outputs the answer goes as final_answer', async () => {
    const vendor = await startFakeLlmVendor();
    try {
      vendor.respondWith(() => ({ toolCalls: [{ name: 'final_answer', args: { result: { answer: 'local' }, reason: 'done' } }] }));
      const provider = openAICompatibleProvider({
        local: { baseUrl: vendor.url, apiKey: 'local-key-1234', keyVariable: 'LOCAL_KEY', structuredOutputs: false },
      });
      const result = await provider.plan(request(agentFor({ provider: 'openai-compatible', endpoint: 'local', name: 'llama3.1' })));
      const { body, authorization } = vendor.requests[0]!;
      expect(authorization).toBe('Bearer local-key-1234');
      expect(body.model).toBe('llama3.1');
      expect(body.response_format).toBeUndefined();
      expect(body.tools!.map((t) => t.function.name)).toEqual(['ticket_lookup', 'docs_search', 'final_answer']);
      expect(body.tool_choice).toBe('required');
      expect(result.action).toEqual({ type: 'final', result: { answer: 'local' }, reason: 'done' });
      expect(result.model).toBe('openai-compatible/llama3.1');
    } finally {
      await vendor.close();
    }
  });
});
